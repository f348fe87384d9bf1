import Foundation

/// A moment the contract must react to without anyone typing: the core asks for these to be armed or
/// cancelled, storage keeps them, and a scheduler fires them back into `Contract.fire(_:at:)`.
public enum DeadlineKind: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The review period after a submission passes.
    case reviewEnds(MilestoneNumber)
    /// A reminder to both parties `daysBefore` days before the review period passes.
    case reviewReminder(MilestoneNumber, daysBefore: Int)
    /// A reminder the day before a milestone is due.
    case dueReminder(MilestoneNumber)
    /// The freelancer's time to answer an end-contract request runs out.
    case endRequestAnswer
    /// An open offer on a milestone lapses unanswered.
    case offerLapses(MilestoneNumber)
    /// An open offer to cancel the whole contract lapses unanswered.
    case cancellationLapses
    /// Double-blind reviews are shown to both sides.
    case reviewsReveal
    /// The other party's time to respond to a dispute runs out.
    case disputeResponse(DisputeScope)
    /// A reminder to the other party a day before that.
    case disputeResponseReminder(DisputeScope)

    /// A stable key for storage: `review_ends:M1`, `review_reminder:M1:3`, `due_reminder:M2`, `end_request_answer`.
    public var key: String {
        switch self {
        case .reviewEnds(let number): "review_ends:\(number)"
        case .reviewReminder(let number, let days): "review_reminder:\(number):\(days)"
        case .dueReminder(let number): "due_reminder:\(number)"
        case .endRequestAnswer: "end_request_answer"
        case .offerLapses(let number): "offer_lapses:\(number)"
        case .reviewsReveal: "reviews_reveal"
        case .cancellationLapses: "cancellation_lapses"
        case .disputeResponse(let scope): "dispute_response:\(scope)"
        case .disputeResponseReminder(let scope): "dispute_response_reminder:\(scope)"
        }
    }

    public var description: String { key }

    public init?(key: String) {
        let parts = key.split(separator: ":")
        func milestone(_ index: Int) -> MilestoneNumber? {
            guard parts.count > index, parts[index].hasPrefix("M"), let value = Int(parts[index].dropFirst()) else { return nil }
            return MilestoneNumber(value)
        }
        switch parts.first {
        case "review_ends": guard parts.count == 2, let m = milestone(1) else { return nil }; self = .reviewEnds(m)
        case "review_reminder":
            guard parts.count == 3, let m = milestone(1), let days = Int(parts[2]) else { return nil }
            self = .reviewReminder(m, daysBefore: days)
        case "due_reminder": guard parts.count == 2, let m = milestone(1) else { return nil }; self = .dueReminder(m)
        case "end_request_answer": guard parts.count == 1 else { return nil }; self = .endRequestAnswer
        case "offer_lapses": guard parts.count == 2, let m = milestone(1) else { return nil }; self = .offerLapses(m)
        case "reviews_reveal": guard parts.count == 1 else { return nil }; self = .reviewsReveal
        case "cancellation_lapses": guard parts.count == 1 else { return nil }; self = .cancellationLapses
        case "dispute_response", "dispute_response_reminder":
            guard parts.count == 2 else { return nil }
            let scope: DisputeScope
            if parts[1] == "contract" { scope = .contract } else if let m = milestone(1) { scope = .milestone(m) } else { return nil }
            self = parts[0] == "dispute_response" ? .disputeResponse(scope) : .disputeResponseReminder(scope)
        default: return nil
        }
    }

    var milestone: MilestoneNumber? {
        switch self {
        case .reviewEnds(let m), .reviewReminder(let m, _), .dueReminder(let m), .offerLapses(let m): m
        case .disputeResponse(.milestone(let m)), .disputeResponseReminder(.milestone(let m)): m
        case .disputeResponse(.contract), .disputeResponseReminder(.contract): nil
        case .endRequestAnswer, .reviewsReveal, .cancellationLapses: nil
        }
    }
}

public struct Deadline: Hashable, Sendable, Codable {
    public var kind: DeadlineKind
    public var at: Date

    public init(kind: DeadlineKind, at: Date) {
        self.kind = kind
        self.at = at
    }
}

public enum DeadlineChange: Hashable, Sendable {
    case arm(Deadline)
    case cancel(DeadlineKind)
}
