import Foundation

extension ContractEvent {
    /// The system message the bot posts for this event: `Buyer funded M1: $500.00 is now held`.
    public var text: String {
        switch self {
        case .milestoneAdded(let m, let by, let amount, let description, let due, let awaiting):
            return "\(by.title) added \(m): \(description), \(amount)\(Self.dueText(due))."
                + (awaiting.map { " Waiting for the \($0)'s approval: /approve \(m)" } ?? "")
        case .milestoneRequested(let m, let amount, let description):
            return "Freelancer requested \(m): \(description), \(amount). The buyer can /fund \(m) or /approve \(m), or decline with /milestone delete \(m)."
        case .milestoneEdited(let m, let by, let amount, let description, let due, let awaiting):
            return "\(by.title) changed \(m) to: \(description), \(amount)\(Self.dueText(due))."
                + (awaiting.map { " The \($0) needs to approve it again: /approve \(m)" } ?? "")
        case .milestoneDeleted(let m, let by):
            return "\(by.title) deleted \(m)."
        case .milestoneApproved(let m, let by):
            return "\(by.title) approved \(m)."
        case .milestoneFunded(let m, let amount, let automatic):
            return automatic
                ? "Buyer was charged for \(m): \(amount) is now held."
                : "Buyer funded \(m): \(amount) is now held."
        case .workSubmitted(let m, let note, let reviewEnds, let outcome):
            var text = "Freelancer submitted \(m) for review" + (note.map { ": \($0.hasSuffix(".") ? String($0.dropLast()) : $0)." } ?? ".")
            if let reviewEnds, let outcome {
                text += " If the buyer does not act by \(Self.timeText(reviewEnds)), \(m) is \(Self.outcomeText(outcome))."
            }
            return text
        case .revisionRequested(let m, let feedback, let used, let allowance):
            let count = allowance.map { " (revision \(used) of \($0))" } ?? ""
            return "Buyer asked for a revision of \(m)\(count): \(feedback)"
        case .milestoneReleased(let m, let amount, let automatic):
            return automatic
                ? "The review period for \(m) passed: \(amount) was released to the freelancer."
                : "Buyer released \(m): \(amount) was paid to the freelancer."
        case .milestoneCancelled(let m, let by, let refunded):
            return "\(by.title) cancelled \(m): \(refunded) was returned to the buyer."
        case .disputeOpened(let m, let by, let reason, let held):
            return "\(by.title) opened a dispute on \(m): \(reason). \(held) stays held until a moderator decides; clocks are stopped."
        case .disputeResolved(let m, let ruling, let released, let refunded, let note):
            let outcome: String
            switch ruling {
            case .release: outcome = "\(released) released to the freelancer"
            case .refund: outcome = "\(refunded) refunded to the buyer"
            case .split: outcome = "\(released) released to the freelancer and \(refunded) refunded to the buyer"
            }
            return "Moderator resolved the dispute on \(m): \(outcome). Note: \(note)"
        case .offerMade(let m, let by, let terms, let held, let lapsesAt):
            let other = by.counterparty?.rawValue ?? "other side"
            let what: String
            switch terms {
            case .release(let amount):
                let rest = held.minorUnits - amount
                what = "release \(Money(minorUnits: amount, currency: held.currency)) of \(m) to the freelancer" + (rest > 0 ? " and refund the remaining \(Money(minorUnits: rest, currency: held.currency)) to the buyer" : "")
            case .refund: what = "refund the \(held) held for \(m) to the buyer"
            case .extend(let due): what = "move \(m)'s due date to \(due)"
            case .cancelContract(let reason, _): what = "cancel the contract: \(reason)"
            }
            return "\(by.title) offers to \(what). The \(other) can /offer accept \(m) or /offer decline \(m) until \(Self.timeText(lapsesAt)); the offer can be withdrawn with /offer withdraw \(m)."
        case .offerAccepted(let m, let by, let terms, let released, let refunded):
            switch terms {
            case .extend(let due):
                return "\(by.title) accepted the offer: \(m) is now due \(due)."
            case .cancelContract:
                return "\(by.title) accepted the offer to cancel the contract."
            case .release, .refund:
                var parts: [String] = []
                if released.minorUnits > 0 { parts.append("\(released) released to the freelancer") }
                if refunded.minorUnits > 0 { parts.append("\(refunded) refunded to the buyer") }
                return "\(by.title) accepted the offer on \(m): \(parts.joined(separator: " and ")). \(m) is settled" + "; any dispute on it is closed."
            }
        case .offerDeclined(let m, let by):
            return "\(by.title) declined the offer on \(m). Nothing changed."
        case .offerWithdrawn(let m, let by):
            return "\(by.title) withdrew the offer on \(m). Nothing changed."
        case .offerLapsed(let m):
            return "The offer on \(m) was not answered in time and lapsed. Nothing changed."
        case .cancellationOffered(let by, let reason, let held, let lapsesAt):
            let other = by.counterparty?.rawValue ?? "other side"
            let money = held.minorUnits > 0 ? " and refund the \(held) held to the buyer" : ""
            return "\(by.title) offers to cancel the whole contract\(money): \(reason). The \(other) can /offer accept contract or /offer decline contract until \(Self.timeText(lapsesAt)); the offer can be withdrawn with /offer withdraw contract."
        case .cancellationAccepted(let by, let refunded, let cancelled, let completed):
            var parts = ["\(by.title) accepted the offer to cancel the contract."]
            if refunded.minorUnits > 0 { parts.append("\(refunded) refunded to the buyer.") }
            if !cancelled.isEmpty { parts.append("Cancelled: \(cancelled.map(\.description).joined(separator: ", ")).") }
            parts.append(completed ? "A milestone was paid, so the contract is complete." : "Nothing was paid: the contract is cancelled.")
            return parts.joined(separator: " ")
        case .cancellationDeclined(let by):
            return "\(by.title) declined the offer to cancel the contract. Nothing changed."
        case .cancellationWithdrawn(let by):
            return "\(by.title) withdrew the offer to cancel the contract. Nothing changed."
        case .cancellationLapsed:
            return "The offer to cancel the contract was not answered in time and lapsed. Nothing changed."
        case .bonusPaid(let m, let amount, let note):
            return "Buyer paid the freelancer a bonus of \(amount) (recorded as \(m)): \(note)"
        case .responseRequested(let scope, let from, let by):
            let about = scope == .contract ? "the dispute about the contract" : "the dispute on \(scope)"
            return "The \(from) is asked to respond to \(about) by \(Self.timeText(by)): /evidence \(scope) <your side>. Both sides can add statements and evidence until a moderator rules."
        case .evidenceAdded(let scope, let by, let text, let isResponse):
            return "\(by.title) \(isResponse ? "responded to" : "added to") the case on \(scope == .contract ? "the contract" : scope.description): \(text)"
        case .caseTaken(let scope, let moderator):
            return "Moderator \(moderator) is handling the dispute on \(scope == .contract ? "the contract" : scope.description)."
        case .responseReminder(let scope, let from, let by):
            return "Reminder: the \(from) has until \(Self.timeText(by)) to respond to the dispute on \(scope == .contract ? "the contract" : scope.description): /evidence \(scope) <your side>."
        case .noResponse(let scope, let from, let decided, let released, let refunded):
            let what = scope == .contract ? "the contract" : scope.description
            guard decided else {
                return "The \(from) did not respond to the dispute on \(what) in time. The case goes to a moderator, flagged: no response."
            }
            var moved: [String] = []
            if released.minorUnits > 0 { moved.append("\(released) released to the freelancer") }
            if refunded.minorUnits > 0 { moved.append("\(refunded) refunded to the buyer") }
            return "The \(from) did not respond to the dispute on \(what) in time, so, as this platform's rules say, it is decided for the other side" + (moved.isEmpty ? "." : ": \(moved.joined(separator: " and ")).")
        case .contractDisputeOpened(let by, let reason):
            return "\(by.title) opened a dispute about the contract: \(reason). A moderator will review the conversation and decide; the other side can answer here."
        case .contractDisputeResolved(let note):
            return "Moderator ruled on the dispute about the contract: \(note)"
        case .orderPlaced(let first, let amount):
            return "Buyer placed the order: \(first) (\(amount)) is charged now, and each next milestone when the buyer starts it. From now on the seller's changes to the milestones wait for the buyer's /approve."
        case .contractLive:
            return "Buyer made the contract live. Approved milestones can now be paid."
        case .orderStopped(let cancelled):
            let list = cancelled.isEmpty ? "" : " \(Self.list(cancelled)) will not start."
            return "Buyer stopped the order after the accepted milestones.\(list) It cannot be resumed."
        case .orderStoppedByItself(let after, let cancelled):
            let list = cancelled.isEmpty ? "" : " \(Self.list(cancelled)) will not start."
            return "Nobody continued the order within the review period after \(after) was delivered, so, as this platform's rules say, the order stopped by itself and is marked as completed.\(list)"
        case .orderCancelled(let reason, let refunded, let cancelled, let completed):
            var text = "Moderator cancelled the whole order: \(reason). \(refunded) was refunded to the buyer."
            if !cancelled.isEmpty { text += " \(Self.list(cancelled)) will not start." }
            text += completed
                ? " At least one milestone was completed, so the order is considered completed; both sides can leave a review: /review <1-5> <text>"
                : " No milestone was completed, so the order is cancelled."
            return text
        case .contractEndedUnpaid:
            return "Every milestone is settled and nothing was paid to the freelancer, so the contract ends here without being marked complete (there are no reviews for work that was not paid)."
        case .endRequested(let reason, let answerBy):
            return "Buyer asked to end the contract" + (reason.map { ": \($0)." } ?? ".")
                + " The freelancer can /endcontract accept (funded milestones are refunded) or /endcontract decline by \(Self.timeText(answerBy))."
        case .endAccepted(let refunded, let cancelled):
            var text = "Freelancer accepted ending the contract: \(refunded) was refunded to the buyer."
            if !cancelled.isEmpty { text += " \(Self.list(cancelled)) cancelled." }
            return text
        case .endDeclined:
            return "Freelancer declined ending the contract. Try to settle it here; either party can /dispute a funded milestone."
        case .endRequestLapsed:
            return "The request to end the contract was not answered in time and lapsed. Either party can /dispute a funded milestone."
        case .contractCompleted(let automatic):
            return (automatic ? "The order is complete." : "Buyer marked the contract complete.")
                + " Both sides can now leave a review: /review <1-5> <text>"
        case .reviewSealed(let by, let revealAt):
            return "\(by.title) left a review. Reviews here are double-blind: both are shown when both sides have reviewed, or on \(Self.timeText(revealAt))."
        case .reviewsRevealed(let reviews):
            return "The reviews are revealed. " + reviews.map { "\($0.by.title): \(String(repeating: "★", count: $0.stars))\(String(repeating: "☆", count: 5 - $0.stars)) \($0.text)" }.joined(separator: " ")
        case .reviewPosted(let by, let stars, let text):
            return "\(by.title) left a review: \(String(repeating: "★", count: stars))\(String(repeating: "☆", count: 5 - stars)) \(text)"
        case .reviewReminder(let m, let endsAt, let outcome):
            return "Reminder: the review period for \(m) ends \(Self.timeText(endsAt)); then \(m) is \(Self.outcomeText(outcome)). Buyer: /release \(m), /revise \(m) <feedback> or /dispute \(m) <reason>."
        case .dueReminder(let m, let due):
            return "Reminder: \(m) is due \(due)."
        case .fundingReversed(let m, let amount, let reason):
            return "The payment of \(amount) for \(m) did not go through (\(reason)), so \(m) is no longer funded. Buyer: /fund \(m) again."
        case .holdExpiring(let m, let expiresAt, let action):
            switch action {
            case .capture:
                return "The card authorization holding \(m) expires \(Self.timeText(expiresAt)). Before then it will be captured, so the money stays safe with the payment processor until \(m) is released or refunded."
            case .release:
                return "The card authorization holding \(m) expires \(Self.timeText(expiresAt)). Before then the hold will be released and \(m) will need funding again. Buyer: /fund \(m) once it is released."
            }
        case .holdCaptured(let m, let amount):
            return "The card authorization for \(m) was about to expire, so \(amount) was captured; the payment processor holds it until \(m) is released or refunded."
        }
    }

    static func dueText(_ due: DueDate?) -> String { due.map { ", due \($0)" } ?? "" }

    static func outcomeText(_ outcome: Policy.ReviewPeriod.Outcome) -> String {
        switch outcome {
        case .autoRelease: "released to the freelancer automatically"
        case .autoComplete: "accepted and the order completes"
        }
    }

    static func list(_ numbers: [MilestoneNumber]) -> String {
        numbers.map(\.description).joined(separator: ", ")
    }

    /// `2026-12-01 14:00 UTC`.
    static func timeText(_ date: Date) -> String {
        let c = DueDate.utcCalendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d UTC", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }
}
