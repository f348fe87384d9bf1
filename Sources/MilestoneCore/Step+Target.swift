/// Finding the milestone a command is about.
extension Step {
    /// The index of the milestone `ref` names. When it is `.implied`, the only milestone for which
    /// `eligible` holds; otherwise a rejection that lists the candidates.
    func target(
        _ ref: MilestoneRef, _ command: String, doing verb: String, eligible: (Milestone) -> Bool
    ) throws(Rejection) -> Int {
        switch ref {
        case .number(let number):
            guard let index = contract.milestones.firstIndex(where: { $0.number == number }) else {
                throw Rejection(.unknownMilestone, "there is no milestone \(number); \(inventory)",
                    suggestion: contract.milestones.isEmpty ? nil : "Type /status to see them.")
            }
            return index
        case .implied:
            let candidates = contract.milestones.indices.filter { eligible(contract.milestones[$0]) }
            if candidates.count == 1 { return candidates[0] }
            if candidates.isEmpty {
                throw Rejection(.unknownMilestone, "no milestone can be \(verb) now; \(inventory)",
                    suggestion: "Type /status to see where each milestone is.")
            }
            let names = candidates.map { contract.milestones[$0].number.description }
            throw Rejection(.unknownMilestone, "more than one milestone can be \(verb): \(names.joined(separator: ", "))",
                suggestion: "Name one: \(command) \(names[0])")
        }
    }

    /// `this contract has M1-M3`, `this contract has M1, M3 and M4`, `this contract has no milestones yet`.
    var inventory: String {
        let numbers = contract.milestones.map(\.number.rawValue)
        guard let first = numbers.first, let last = numbers.last else {
            return "this contract has no milestones yet"
        }
        if numbers.count == 1 { return "this contract has only M\(first)" }
        if numbers == Array(first...last) { return "this contract has M\(first)-M\(last)" }
        let names = numbers.map { "M\($0)" }
        return "this contract has \(names.dropLast().joined(separator: ", ")) and \(names.last!)"
    }

    /// A plain description of where a milestone is, for rejections: `M1 is already funded ($500.00 held)`.
    func whereIs(_ milestone: Milestone) -> String {
        let m = milestone.number
        switch milestone.state {
        case .proposed(let awaiting, let requested):
            return requested ? "\(m) is a request waiting for the buyer" : "\(m) is waiting for the \(awaiting)'s approval"
        case .agreed: return "\(m) is agreed but not funded yet"
        case .funded: return "\(m) is funded (\(money(milestone.held)) held) and in progress"
        case .submitted: return "\(m) has been submitted and is waiting for the buyer's review"
        case .revisionRequested: return "\(m) is back with the freelancer for a revision"
        case .disputed: return "\(m) is in dispute; a moderator decides"
        case .released: return "\(m) was already released"
        case .refunded: return "\(m) was already refunded"
        case .split: return "\(m) was already settled by a moderator"
        case .cancelled: return "\(m) was deleted"
        }
    }
}
