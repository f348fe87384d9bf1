import Foundation

extension Contract {
    /// Every command `actor` could successfully run now, found by trying each one on a copy.
    public func availableCommands(for actor: Participant, at now: Date) -> [CommandSuggestion] {
        var found: [CommandSuggestion] = []
        func offer(_ command: ChatCommand, _ template: String, _ summary: String) {
            if case .success = apply(command, by: actor, at: now) {
                found.append(CommandSuggestion(template: template, summary: summary, movesMoney: command.movesMoney))
            }
        }
        let sample = AmountParser.example(in: currency).minorUnits
        offer(.addMilestone(MilestoneDraft(amount: sample, description: "x")), "/milestone add <amount> <description>", "propose a new milestone")
        offer(.requestMilestone(MilestoneDraft(amount: sample, description: "x")), "/milestone request <amount> <description>", "ask the buyer for a milestone")
        for milestone in milestones {
            let m = milestone.number
            let amount = money(milestone.amount)
            let held = money(milestone.held)
            offer(.approve(.number(m)), "/approve \(m)", "accept \(m): \(milestone.description), \(amount)")
            offer(.fund(.number(m)), "/fund \(m)", "pay \(amount) into the hold for \(m)")
            offer(.submit(.number(m), note: nil), "/submit \(m)", "deliver \(m) for review")
            offer(.release(.number(m)), "/release \(m)", "pay the freelancer \(held) for \(m)")
            offer(.revise(.number(m), feedback: "x"), "/revise \(m) <feedback>", "send \(m) back for changes")
            offer(.cancel(.number(m)), "/cancel \(m)", "return \(held) for \(m) to the buyer")
            offer(.dispute(.number(m), reason: "x"), "/dispute \(m) <reason>", "freeze \(held) for a moderator")
            offer(.resolve(.number(m), .release, note: "x"), "/resolve \(m) release <note>", "pay \(held) to the freelancer")
            offer(.resolve(.number(m), .refund, note: "x"), "/resolve \(m) refund <note>", "return \(held) to the buyer")
            if milestone.held > 1 {
                offer(.resolve(.number(m), .split(toFreelancer: 1), note: "x"), "/resolve \(m) split <amount> <note>", "pay part of \(held) to the freelancer, return the rest")
            }
            offer(.editMilestone(.number(m), MilestoneChanges(description: milestone.description + " (edited)")), "/milestone edit \(m) amount <amount>", "change \(m)'s terms")
            offer(.deleteMilestone(.number(m)), "/milestone delete \(m)", "remove \(m)")
        }
        offer(.goLive, "/golive", "make the contract live")
        offer(.endContract(reason: nil), "/endcontract <reason>", "ask to end the contract")
        offer(.answerEndRequest(accept: true), "/endcontract accept", "end the contract; funded milestones are refunded")
        offer(.answerEndRequest(accept: false), "/endcontract decline", "keep the contract going")
        offer(.stop, "/stop", "stop the order here; it cannot resume")
        offer(.complete, "/complete", "mark the contract complete")
        offer(.review(stars: 5, text: "x"), "/review <1-5> <text>", "rate the other side")
        return found
    }

    /// The private answer to `/help [topic]`.
    public func help(for actor: Participant, topic: String?, at now: Date) -> String {
        if let topic, !topic.isEmpty {
            guard let reference = CommandReference.named(topic) else {
                return "There is no command called \(topic). Type /help to see what you can do now."
            }
            return "\(reference.syntax): \(reference.summary). Example: \(reference.example)"
        }
        let available = availableCommands(for: actor, at: now)
        var lines = ["You are the \(actor.role) here (\(policy.name) rules). What you can do now:"]
        if available.isEmpty { lines.append("  nothing needs you right now; chat away") }
        for suggestion in available { lines.append("  \(suggestion.template): \(suggestion.summary)") }
        lines.append("Any time: /status, /help <command>.")
        return lines.joined(separator: "\n")
    }

    /// The private answer to `/status`.
    public func statusText(at now: Date) -> String {
        var lines = ["\(title) (\(phase.rawValue), \(policy.name) rules, \(currency.code)). Held now: \(money(held))."]
        if milestones.isEmpty { lines.append("No milestones yet.") }
        for milestone in milestones {
            var line = "\(milestone.number) \(milestone.description): \(money(milestone.amount)), \(milestone.state.name.replacingOccurrences(of: "_", with: " "))"
            if milestone.held > 0 { line += ", \(money(milestone.held)) held" }
            if milestone.released > 0 { line += ", \(money(milestone.released)) paid" }
            if milestone.refunded > 0 { line += ", \(money(milestone.refunded)) refunded" }
            if let due = milestone.dueDate { line += ", due \(due)" }
            if let allowance = milestone.revisionAllowance { line += ", revisions \(milestone.revisionsUsed)/\(allowance)" }
            if case .submitted(let submission) = milestone.state, let ends = submission.reviewEnds, let period = policy.reviewPeriod {
                line += "; review ends \(ContractEvent.timeText(ends)), then \(ContractEvent.outcomeText(period.outcome))"
            }
            lines.append(line)
        }
        if let request = endRequest {
            lines.append("The buyer asked to end the contract; the freelancer has until \(ContractEvent.timeText(request.answerBy)) to answer.")
        }
        return lines.joined(separator: "\n")
    }
}
