import Foundation
import MilestoneCore
import Testing

/// seeds/skillscoop-milestones.txt, with bot-config/presets/skillscoop.yaml.
@Suite struct SkillscoopScenarioTests {
    func start() throws -> Scenario {
        Scenario(policy: try PresetFiles.policy("skillscoop"), title: "Brand refresh")
    }

    /// M1 and M2 sent by the client and approved by the freelancer.
    func agreed() throws -> Scenario {
        var s = try start()
        try s.run("/milestone add 400 Research due 2026-07-15", by: s.buyer)
        try s.run("/milestone add 600 Design", by: s.buyer)
        try s.run("/approve M1", by: s.freelancer)
        try s.run("/approve M2", by: s.freelancer)
        return s
    }

    @Test("\"Once you're selected for a job, the client will send the milestones for your review. You must approve them before starting work.\"")
    func approveThenFundSubmitReleaseCompleteReview() throws {
        var s = try start()
        let (client, freelancer) = (s.buyer, s.freelancer)

        // "Milestones let clients break a project into smaller, manageable steps." Each has "A description of the work
        // to be completed", "A specified price for that phase", "An optional due date to track progress".
        s.reject("/milestone add 400 Research", by: freelancer, .notAllowedForRole)
        let added = try s.run("/milestone add 400 Research due 2026-07-15", by: client)
        #expect(added.events == [.milestoneAdded(M1, by: .buyer, amount: s.contract.money(40_000), description: "Research", due: DueDate(year: 2026, month: 7, day: 15), awaiting: .freelancer)])
        try s.run("/milestone add 600 Design", by: client)
        #expect(try s.milestone(M2).dueDate == nil)

        // "You must approve them before starting work."
        #expect(s.state(M1) == .proposed(awaiting: .freelancer, requested: false))
        s.reject("/fund M1", by: client, .wrongState, reason: "M1 is waiting for the freelancer's approval; it cannot be funded")
        s.reject("/approve M1", by: client, .notAllowedForRole, reason: "M1 is waiting for the freelancer's approval, not yours")
        s.reject("/approve", by: freelancer, .unknownMilestone, reason: "more than one milestone can be approved: M1, M2")
        try s.run("/approve M1", by: freelancer)
        try s.run("/approve M2", by: freelancer)
        #expect(s.contract.milestones.map(\.state) == [.agreed, .agreed])

        // "When a client funds a milestone, the payment is securely held via Stripe."
        let funded = try s.run("/fund M1", by: client)
        #expect(funded.postings == [LedgerPosting(kind: .hold, milestone: M1, amount: 40_000)])
        // A due date two days off arms a reminder.
        #expect(funded.arms(.dueReminder(M1), at: DueDate(year: 2026, month: 7, day: 15)!.end.addingTimeInterval(-2 * Scenario.day)))
        #expect(s.ledger.balance(.held(M1)) == 40_000)

        // /submit is there for a freelancer who wants the delivery on record; not required (see below).
        try s.run("/submit M1 research deck is in the drive", by: freelancer)
        // "You'll be notified as soon as the payment is released, and funds will be processed to your account."
        let released = try s.run("/release M1", by: client)
        #expect(released.events == [.milestoneReleased(M1, amount: s.contract.money(40_000), automatic: false)])
        #expect(s.ledger.balance(.freelancer) == 40_000)

        try s.run("/fund M2", by: client)
        try s.run("/submit M2", by: freelancer)
        // "Once all milestones are completed and payments are released, the client will mark the job as Completed."
        s.reject("/complete", by: client, .wrongState,
            reason: "M2 has been submitted and is waiting for the buyer's review; every milestone must be settled first")
        try s.run("/release M2", by: client)
        #expect(s.contract.phase == .live)  // the client marks it; it does not complete by itself
        s.reject("/review 5 great", by: freelancer, .wrongState, reason: "reviews open once the contract is complete")
        s.reject("/complete", by: freelancer, .notAllowedForRole, reason: "only the buyer can mark the contract complete")
        let completed = try s.run("/complete", by: client)
        #expect(completed.events == [.contractCompleted(automatic: false)])

        // "At that point, both you and the client will have the opportunity to leave reviews."
        let review = try s.run("/review 5 clear milestones and quick releases", by: freelancer)
        #expect(review.events == [.reviewPosted(by: .freelancer, stars: 5, text: "clear milestones and quick releases")])
        try s.run("/review 4 good work, slightly late", by: client)
        s.reject("/review 5 again", by: freelancer, .wrongState, reason: "you have already left a review for this contract")
        #expect(s.ledger.balance(.freelancer) == 100_000)
        #expect(s.ledger.balance(.buyer) == -100_000)
        #expect(s.ledger.total == 0)
    }

    @Test("\"After completing the work for that milestone, notify the client via chat so they can release the payment.\"")
    func theClientReleasesAfterAChatMessageWithoutASubmitStep() throws {
        var s = try agreed()
        try s.run("/fund M1", by: s.buyer)
        // The freelancer says so in the chat (a chat line, not a command), and the client releases.
        let released = try s.run("/release M1", by: s.buyer)
        #expect(released.events == [.milestoneReleased(M1, amount: s.contract.money(40_000), automatic: false)])
        #expect(s.ledger.balance(.freelancer) == 40_000)
        // Releasing stays the client's: the freelancer cannot pay themselves.
        try s.run("/fund M2", by: s.buyer)
        s.reject("/release M2", by: s.freelancer, .notAllowedForRole)
    }

    @Test("\"Once all milestones are completed and payments are released, the client will mark the job as Completed.\" With nothing paid it ends, without reviews")
    func nothingPaidEndsInsteadOfCompletingAndHasNoReviews() throws {
        var s = try agreed()
        try s.run("/milestone delete M2", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/endcontract the project was cancelled", by: s.buyer)
        try s.run("/endcontract decline", by: s.freelancer)
        // Nothing was released; M1's money goes back through a moderator's refund.
        try s.run("/dispute M1 we agreed to stop", by: s.buyer)
        try s.run("/resolve M1 refund both agreed to stop", by: s.moderator)
        let ended = try s.run("/complete", by: s.buyer)
        #expect(ended.events == [.contractEndedUnpaid])
        #expect(s.contract.phase == .ended)
        s.reject("/review 5 great", by: s.freelancer, .wrongState, reason: "this contract ended without being completed and paid, so it has no reviews")
        s.reject("/review 1 nothing delivered", by: s.buyer, .wrongState, reason: "this contract ended without being completed and paid, so it has no reviews")
    }

    @Test("\"Any time the client updates the milestones after initial approval, you'll need to re-approve them before continuing.\"")
    func reapprovalAfterEdits() throws {
        var s = try agreed()
        let (client, freelancer) = (s.buyer, s.freelancer)

        // "Need changes? Discuss edits with the client before accepting."
        s.reject("/milestone edit M2 amount 700", by: freelancer, .notAllowedForRole, reason: "only the buyer, who created M2, can edit it")
        let edited = try s.run("/milestone edit M2 amount 650", by: client)
        #expect(edited.events == [.milestoneEdited(M2, by: .buyer, amount: s.contract.money(65_000), description: "Design", due: nil, awaiting: .freelancer)])
        // "... you'll need to re-approve them before continuing."
        #expect(s.state(M2) == .proposed(awaiting: .freelancer, requested: false))
        s.reject("/fund M2", by: client, .wrongState, reason: "M2 is waiting for the freelancer's approval; it cannot be funded")
        try s.run("/approve M2", by: freelancer)
        #expect(s.state(M2) == .agreed)

        // Every edit, not only the first.
        try s.run("/milestone edit M2 description Design and icon set", by: client)
        #expect(s.state(M2) == .proposed(awaiting: .freelancer, requested: false))
        try s.run("/milestone edit M2 due 2026-08-01", by: client)
        #expect(s.state(M2) == .proposed(awaiting: .freelancer, requested: false))
        try s.run("/approve M2", by: freelancer)
        let m2 = try s.milestone(M2)
        #expect(m2.amount == 65_000 && m2.description == "Design and icon set" && m2.dueDate == DueDate(year: 2026, month: 8, day: 1))
        s.reject("/milestone edit M2 amount 650", by: client, .badValue, reason: "M2 already has these terms")
        s.reject("/milestone edit M2 due 2020-01-01", by: client, .badValue)

        // An edit of M2 leaves the approved M1 alone; a funded milestone cannot be edited.
        #expect(s.state(M1) == .agreed)
        try s.run("/fund M1", by: client)
        s.reject("/milestone edit M1 amount 10", by: client, .wrongState,
            reason: "M1 is funded ($400.00 held) and in progress; only milestones that are not funded yet can be edited")
        try s.run("/fund M2", by: client)
        #expect(s.ledger.balance(.held(M2)) == 65_000)
    }

    @Test("Deleting a milestone before it is funded")
    func deletionBeforeFunding() throws {
        var s = try agreed()
        try s.run("/milestone add 50 Stock photos", by: s.buyer)
        s.reject("/milestone delete M3", by: s.freelancer, .notAllowedForRole)
        try s.run("/milestone delete M3", by: s.buyer)  // not yet approved
        try s.run("/milestone delete M2", by: s.buyer)  // approved: delete_before_funding
        #expect(s.contract.milestones.map(\.state) == [.agreed, .cancelled, .cancelled])
        try s.run("/fund M1", by: s.buyer)
        s.reject("/milestone delete M1", by: s.buyer, .wrongState)
        #expect(s.ledger.balance(.held(M1)) == 40_000)
    }

    @Test("\"If accepted: Any funded milestones are refunded to the client.\"")
    func endRequestAccepted() throws {
        var s = try agreed()
        let (client, freelancer) = (s.buyer, s.freelancer)
        try s.run("/milestone add 300 Print files", by: client)
        try s.run("/approve M3", by: freelancer)
        try s.run("/fund M1", by: client)
        try s.run("/submit M1", by: freelancer)
        try s.run("/release M1", by: client)
        try s.run("/fund M2", by: client)
        try s.run("/submit M2", by: freelancer)
        #expect(s.ledger.balance(.buyer) == -100_000)

        // "Sometimes a client may want to end a job before all milestones are completed. - You'll receive a contract end request."
        s.reject("/endcontract", by: freelancer, .notAllowedForRole, reason: "only the buyer can ask to end the contract")
        s.reject("/endcontract accept", by: freelancer, .wrongState, reason: "there is no request to end the contract to answer")
        let requested = try s.run("/endcontract the project was cancelled", by: client)
        let answerBy = s.now.addingTimeInterval(7 * Scenario.day)
        #expect(requested.events == [.endRequested(reason: "the project was cancelled", answerBy: answerBy)])
        #expect(requested.arms(.endRequestAnswer, at: answerBy))
        #expect(requested.postings.isEmpty)
        s.reject("/endcontract again", by: client, .wrongState)

        // "You can accept or decline the request."
        s.reject("/endcontract accept", by: client, .notAllowedForRole, reason: "only the freelancer can answer an end-contract request")
        s.advance(days: 2)
        let accepted = try s.run("/endcontract accept", by: freelancer)
        // "If accepted: Any funded milestones are refunded to the client."
        #expect(accepted.events == [.endAccepted(refunded: s.contract.money(60_000), cancelled: [M3])])
        #expect(accepted.postings == [LedgerPosting(kind: .void, milestone: M2, amount: 60_000)])
        #expect(accepted.cancels(.endRequestAnswer))
        #expect(s.contract.milestones.map(\.state) == [.released, .refunded, .cancelled])
        #expect(s.contract.phase == .ended)
        #expect(s.ledger.balance(.freelancer) == 40_000)  // what was already released stays paid
        #expect(s.ledger.balance(.buyer) == -40_000)
        #expect(s.ledger.balance(.held(M2)) == 0)

        s.reject("/fund M3", by: client, .contractClosed, reason: "this contract has ended")
        s.reject("/endcontract", by: client, .contractClosed)
        s.reject("/complete", by: client, .contractClosed)
        #expect(try s.fire(.endRequestAnswer).isEmpty)
    }

    @Test("\"If declined: Try resolving the issue via chat, or either party can submit a Dispute Assistance Form.\" Also with nothing funded")
    func declinedWithNothingFundedStillHasADisputePath() throws {
        var s = try agreed()
        let (client, freelancer) = (s.buyer, s.freelancer)
        try s.run("/endcontract we changed direction", by: client)
        try s.run("/endcontract decline", by: freelancer)
        // No milestone holds money, so a milestone dispute has nothing to freeze; the refusal points the way.
        let refused = s.reject("/dispute M1 we cannot agree", by: freelancer, .wrongState)
        #expect(refused?.suggestion == "To ask a moderator about the contract as a whole: /dispute contract <reason>.")
        let opened = try s.run("/dispute contract the client wants to end but will not say why", by: freelancer)
        #expect(opened.events == [.contractDisputeOpened(by: .freelancer, reason: "the client wants to end but will not say why"),
            .responseRequested(.contract, from: .buyer, by: s.now.addingTimeInterval(3 * Scenario.day))])
        #expect(opened.postings.isEmpty)
        #expect(s.contract.dispute?.raisedBy == .freelancer)
        s.reject("/dispute contract me too", by: client, .wrongState, reason: "the freelancer already opened a dispute about the contract; a moderator will decide")
        s.reject("/resolve contract I decide", by: client, .notAllowedForRole, reason: "only a moderator can rule on a dispute")
        let ruled = try s.run("/resolve contract the client may end it; nothing was funded, so nothing is owed", by: s.moderator)
        #expect(ruled.events == [.contractDisputeResolved(note: "the client may end it; nothing was funded, so nothing is owed")])
        #expect(s.contract.dispute == nil)
        s.reject("/resolve contract again", by: s.moderator, .wrongState, reason: "there is no open dispute about the contract")
        #expect(s.ledger.total == 0)
    }

    @Test("\"If declined: Try resolving the issue via chat, or either party can submit a Dispute Assistance Form.\"",
        arguments: [("release", Int64(60_000)), ("refund", Int64(0)), ("split 400", Int64(40_000))])
    func endRequestDeclinedThenDispute(ruling: String, toFreelancer: Int64) throws {
        var s = try agreed()
        let (client, freelancer) = (s.buyer, s.freelancer)
        try s.run("/fund M2", by: client)
        try s.run("/submit M2", by: freelancer)
        try s.run("/endcontract not happy with the design", by: client)

        // "You can accept or decline the request."
        let declined = try s.run("/endcontract decline", by: freelancer)
        #expect(declined.events == [.endDeclined])
        #expect(declined.postings.isEmpty)
        #expect(declined.cancels(.endRequestAnswer))
        #expect(s.contract.endRequest == nil)
        #expect(s.contract.phase == .live)
        #expect(s.ledger.balance(.held(M2)) == 60_000)
        s.reject("/endcontract accept", by: freelancer, .wrongState, reason: "there is no request to end the contract to answer")

        // "... either party can submit a Dispute Assistance Form. Our team will review and help find a fair solution."
        try s.run("/dispute M2 the client asked to end after delivery", by: freelancer)
        try s.run("/resolve M2 \(ruling) the team reviewed the delivery", by: s.moderator)
        #expect(s.ledger.balance(.freelancer) == toFreelancer)
        #expect(s.ledger.balance(.buyer) == -toFreelancer)
        #expect(s.ledger.balance(.held(M2)) == 0)
    }

    @Test("An end request the freelancer does not answer lapses after end_request_answer_days")
    func endRequestLapses() throws {
        var s = try agreed()
        try s.run("/fund M1", by: s.buyer)
        try s.run("/endcontract", by: s.buyer)
        s.advance(days: 6)
        #expect(try s.fire(.endRequestAnswer).isEmpty)
        s.advance(days: 1)
        #expect(try s.fire(.endRequestAnswer).events == [.endRequestLapsed])
        #expect(s.contract.endRequest == nil)
        #expect(s.contract.phase == .live)
        #expect(s.ledger.balance(.held(M1)) == 40_000)
        s.reject("/endcontract accept", by: s.freelancer, .wrongState)
        // The client can ask again.
        try s.run("/endcontract second try", by: s.buyer)
    }

    @Test("Accepting an end request leaves a disputed milestone's money for the moderator to decide")
    func endAcceptedWithDisputedMilestone() throws {
        var s = try agreed()
        try s.run("/fund M1", by: s.buyer)
        try s.run("/fund M2", by: s.buyer)
        try s.run("/dispute M1 research is plagiarised", by: s.buyer)
        try s.run("/endcontract", by: s.buyer)
        let accepted = try s.run("/endcontract accept", by: s.freelancer)
        #expect(accepted.postings == [LedgerPosting(kind: .void, milestone: M2, amount: 60_000)])
        #expect(s.contract.phase == .ended)
        #expect(s.state(M1)?.isDisputed == true)
        #expect(s.ledger.balance(.held(M1)) == 40_000)
        // The moderator still settles it after the contract ended.
        try s.run("/resolve M1 refund confirmed", by: s.moderator)
        #expect(s.ledger.balance(.buyer) == 0)
        #expect(s.contract.held == 0)
    }

    @Test("Not offered on SkillScoop: revision requests, /cancel, /stop")
    func notOffered() throws {
        var s = try agreed()
        try s.run("/fund M1", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        s.reject("/revise M1 more colour", by: s.buyer, .policyForbids)
        s.reject("/cancel M1", by: s.freelancer, .policyForbids)
        s.reject("/stop", by: s.buyer, .policyForbids)
    }
}
