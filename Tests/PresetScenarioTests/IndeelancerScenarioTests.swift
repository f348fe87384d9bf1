import Foundation
import MilestoneCore
import Testing

/// seeds/indeelancer-milestone-payments.txt, with bot-config/presets/indeelancer.yaml.
@Suite struct IndeelancerScenarioTests {
    func start() throws -> Scenario {
        let policy = try PresetFiles.policy("indeelancer")
        #expect(policy.reviewPeriod == .init(days: 14, outcome: .autoRelease))
        return Scenario(policy: policy)
    }

    @Test("\"The buyer creates project milestones and funds them via Stripe\" ... the developer submits ... the buyer approves, releasing payment")
    func happyPath() throws {
        var s = try start()
        let (buyer, developer) = (s.buyer, s.freelancer)

        // "The buyer creates project milestones and funds them via Stripe."
        let added = try s.run("/milestone add 500 Homepage design due 2026-07-01", by: buyer)
        #expect(added.events == [.milestoneAdded(M1, by: .buyer, amount: s.contract.money(50_000), description: "Homepage design", due: DueDate(year: 2026, month: 7, day: 1), awaiting: nil)])
        #expect(s.state(M1) == .agreed)  // no approval step on Indeelancer
        try s.run("/milestone add $1,250.50 Backend API", by: buyer)
        #expect(try s.milestone(M2).amount == 125_050)
        // Only the buyer creates milestones here.
        s.reject("/milestone add 300 Extra page", by: developer, .notAllowedForRole, reason: "on this platform only the buyer adds milestones")
        // Only the buyer funds.
        s.reject("/fund M1", by: developer, .notAllowedForRole, reason: "only the buyer can fund milestones")
        // "No payment is released until the work is submitted and reviewed by the buyer." (not even funded yet)
        s.reject("/release M1", by: buyer, .wrongState, reason: "M1 is not funded, so there is nothing to release")
        s.reject("/submit M1", by: developer, .wrongState, reason: "M1 is not funded yet; work is submitted once the money is held")

        // "Once funded, the money is held securely by Stripe."
        let funded = try s.run("/fund M1", by: buyer)
        #expect(funded.postings == [LedgerPosting(kind: .hold, milestone: M1, amount: 50_000)])
        #expect(s.state(M1) == .funded)
        #expect(s.ledger.balance(.held(M1)) == 50_000)
        #expect(s.ledger.balance(.buyer) == -50_000)
        #expect(s.ledger.balance(.freelancer) == 0)
        s.reject("/fund M1", by: buyer, .wrongState, reason: "M1 is funded ($500.00 held) and in progress; it cannot be funded")

        // "No payment is released until the work is submitted and reviewed by the buyer."
        s.reject("/release M1", by: buyer, .wrongState,
            reason: "M1 has not been submitted yet; it can be released once the freelancer submits the work")

        // "The developer completes the milestone and submits their work for review."
        s.reject("/submit M1", by: buyer, .notAllowedForRole, reason: "only the freelancer can submit work")
        let submitted = try s.run("/submit M1 homepage is on the staging server", by: developer)
        let reviewEnds = s.now.addingTimeInterval(14 * Scenario.day)
        #expect(s.state(M1)?.reviewEnds == reviewEnds)
        #expect(submitted.arms(.reviewEnds(M1), at: reviewEnds))
        #expect(submitted.arms(.reviewReminder(M1, daysBefore: 3), at: reviewEnds.addingTimeInterval(-3 * Scenario.day)))
        #expect(submitted.arms(.reviewReminder(M1, daysBefore: 1), at: reviewEnds.addingTimeInterval(-1 * Scenario.day)))
        #expect(submitted.postings.isEmpty)

        // "The buyer reviews the submitted work. They can either approve the milestone (releasing payment), ..."
        s.advance(days: 2)
        s.reject("/release M1", by: developer, .notAllowedForRole, reason: "only the buyer can release payments")
        let released = try s.run("/release M1", by: buyer)
        #expect(released.postings == [LedgerPosting(kind: .post, milestone: M1, amount: 50_000)])
        #expect(released.cancels(.reviewEnds(M1)))
        #expect(s.state(M1) == .released)
        // "Payment is released when the buyer approves the milestone."
        #expect(s.ledger.balance(.freelancer) == 50_000)
        #expect(s.ledger.balance(.held(M1)) == 0)
        // Nothing is released twice.
        s.reject("/release M1", by: buyer, .wrongState, reason: "M1 was already released; it cannot be released")

        // The second milestone the same way.
        try s.run("/fund M2", by: buyer)
        try s.run("/submit M2", by: developer)
        try s.run("/release M2", by: buyer)
        #expect(s.ledger.balance(.freelancer) == 175_050)
        #expect(s.ledger.balance(.buyer) == -175_050)
        #expect(s.ledger.total == 0)

        // The contract does not complete by itself on Indeelancer; the buyer closes it.
        #expect(s.contract.phase == .live)
        s.reject("/complete", by: developer, .notAllowedForRole)
        try s.run("/complete", by: buyer)
        #expect(s.contract.phase == .completed)
        s.reject("/milestone add 100 More", by: buyer, .contractClosed)
        try s.run("/review 5 clear brief, paid on time", by: developer)
        try s.run("/review 4 good work", by: buyer)
        #expect(s.contract.reviews.map(\.stars) == [5, 4])
    }

    @Test("\"request revisions (with specific feedback)\" - as often as needed, and each resubmission restarts the review clock")
    func revisions() throws {
        var s = try start()
        let (buyer, developer) = (s.buyer, s.freelancer)
        try s.run("/milestone add 800 Mobile app screens", by: buyer)
        try s.run("/fund", by: buyer)  // the only fundable milestone is implied
        s.reject("/revise M1 more contrast please", by: buyer, .wrongState,
            reason: "M1 is funded ($800.00 held) and in progress; a revision can be asked for once work is submitted")
        try s.run("/submit M1", by: developer)

        // "Yes, buyers can request revisions if the work doesn't meet the agreed requirements. The developer will be
        // notified with specific feedback on what needs to be changed."
        s.reject("/revise M1", by: buyer, .syntax, reason: "feedback is missing")
        s.reject("/revise M1 I want changes", by: developer, .notAllowedForRole, reason: "only the buyer can ask for revisions")
        for round in 1...3 {
            s.advance(days: 1)
            let revised = try s.run("/revise M1 round \(round): use the brand colours", by: buyer)
            #expect(revised.events == [.revisionRequested(M1, feedback: "round \(round): use the brand colours", used: round, allowance: nil)])
            #expect(revised.cancels(.reviewEnds(M1)))
            #expect(s.state(M1) == .revisionRequested(feedback: "round \(round): use the brand colours"))
            // "No payment is released until the work is submitted and reviewed by the buyer."
            s.reject("/release M1", by: buyer, .wrongState,
                reason: "M1 has not been submitted yet; it can be released once the freelancer submits the work")
            s.advance(days: 1)
            let resubmitted = try s.run("/submit M1 round \(round) done", by: developer)
            #expect(resubmitted.arms(.reviewEnds(M1), at: s.now.addingTimeInterval(14 * Scenario.day)))
        }
        #expect(try s.milestone(M1).revisionsUsed == 3)  // revisions: unlimited
        #expect(try s.milestone(M1).revisionAllowance == nil)
        try s.run("/release M1", by: buyer)
        #expect(s.ledger.balance(.freelancer) == 80_000)
    }

    @Test("\"Funds are released only after the milestone is approved, or after a clearly defined review period if no action is taken.\"")
    func autoReleaseAfterReviewPeriod() throws {
        var s = try start()
        try s.run("/milestone add 300 Logo", by: s.buyer)
        try s.run("/milestone add 200 Favicon", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/fund M2", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        let submittedAt = s.now
        let ends = submittedAt.addingTimeInterval(14 * Scenario.day)

        // Before the period ends the deadline does nothing (a scheduler firing early must not pay out).
        s.advance(days: 13)
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(s.state(M1)?.isSubmitted == true)

        // The reminder three days before, then one day before.
        s.now = ends.addingTimeInterval(-3 * Scenario.day)
        let reminder = try s.fire(.reviewReminder(M1, daysBefore: 3))
        #expect(reminder.events == [.reviewReminder(M1, endsAt: ends, outcome: .autoRelease)])
        #expect(reminder.postings.isEmpty)

        // "... or after a clearly defined review period if no action is taken."
        s.now = ends
        let auto = try s.fire(.reviewEnds(M1))
        #expect(auto.events == [.milestoneReleased(M1, amount: s.contract.money(30_000), automatic: true)])
        #expect(auto.postings == [LedgerPosting(kind: .post, milestone: M1, amount: 30_000)])
        #expect(s.state(M1) == .released)
        #expect(s.ledger.balance(.freelancer) == 30_000)
        #expect(s.ledger.balance(.held(M2)) == 20_000)  // the other milestone is untouched
        #expect(s.contract.phase == .live)  // auto_release pays; it does not end the contract

        // Fired again (a retried scheduler), it does nothing: nothing is released twice.
        s.advance(days: 1)
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(try s.fire(.reviewReminder(M1, daysBefore: 1)).isEmpty)
        #expect(s.ledger.balance(.freelancer) == 30_000)
    }

    @Test("A revision request stops the review clock; the old deadline firing later releases nothing")
    func revisionStopsTheClock() throws {
        var s = try start()
        try s.run("/milestone add 300 Logo", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        let firstEnds = s.now.addingTimeInterval(14 * Scenario.day)
        s.advance(days: 1)
        // "request revisions (with specific feedback)"
        try s.run("/revise M1 the logo is blurry", by: s.buyer)
        s.now = firstEnds
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(s.state(M1) == .revisionRequested(feedback: "the logo is blurry"))

        // Resubmitted: a new full period from the new delivery.
        try s.run("/submit M1 sharper version", by: s.freelancer)
        let secondEnds = s.now.addingTimeInterval(14 * Scenario.day)
        s.now = secondEnds.addingTimeInterval(-1)
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        s.now = secondEnds
        #expect(try s.fire(.reviewEnds(M1)).eventNames == ["milestone_released"])
        #expect(s.ledger.balance(.freelancer) == 30_000)
    }

    @Test(
        "\"If a dispute is raised, our support team reviews the project details, communications, and deliverables to make a fair decision.\"",
        arguments: [
            ("release", Int64(60_000), Int64(0), MilestoneState.released),
            ("refund", Int64(0), Int64(60_000), MilestoneState.refunded),
            ("split 250", Int64(25_000), Int64(35_000), MilestoneState.split),
        ])
    func disputeResolvedByModerator(ruling: String, toDeveloper: Int64, toBuyer: Int64, settled: MilestoneState) throws {
        var s = try start()
        let (buyer, developer, support) = (s.buyer, s.freelancer, s.moderator)
        try s.run("/milestone add 600 Checkout flow", by: buyer)
        s.reject("/dispute M1 nothing delivered", by: buyer, .wrongState,
            reason: "M1 is agreed but not funded yet; only a milestone whose money is held can be disputed")
        try s.run("/fund M1", by: buyer)
        try s.run("/submit M1", by: developer)
        let ends = s.now.addingTimeInterval(14 * Scenario.day)

        // "The buyer reviews the submitted work. They can ... raise a dispute if there's a significant issue."
        s.advance(days: 3)
        s.reject("/dispute M1 it crashes", by: support, .notAllowedForRole, reason: "only the buyer or the freelancer can open a dispute")
        let opened = try s.run("/dispute M1 the checkout crashes on submit", by: buyer)
        // "Both parties have the opportunity to present their case": the developer is asked to respond.
        #expect(opened.events == [.disputeOpened(M1, by: .buyer, reason: "the checkout crashes on submit", held: s.contract.money(60_000)),
            .responseRequested(.milestone(M1), from: .freelancer, by: s.now.addingTimeInterval(3 * Scenario.day))])
        #expect(opened.cancels(.reviewEnds(M1)))
        #expect(opened.postings.isEmpty)
        #expect(s.ledger.balance(.held(M1)) == 60_000)
        s.reject("/dispute M1 again", by: developer, .wrongState, reason: "M1 is already in dispute; a moderator will decide")

        // Money frozen: neither side moves it, and the review clock is stopped.
        s.reject("/release M1", by: buyer, .wrongState, reason: "M1 is in dispute; a moderator decides; it cannot be released")
        s.reject("/submit M1", by: developer, .wrongState)
        s.reject("/revise M1 fix it", by: buyer, .wrongState)
        s.now = ends
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(s.state(M1)?.isDisputed == true)

        // Only the support team decides.
        s.reject("/resolve M1 \(ruling) looks fine to me", by: buyer, .notAllowedForRole, reason: "only a moderator can resolve disputes")
        s.reject("/resolve M1 \(ruling) I did the work", by: developer, .notAllowedForRole)
        s.reject("/resolve M1 split 600 all of it", by: support, .badValue, reason: "a split must give the freelancer less than the $600.00 held")
        let resolved = try s.run("/resolve M1 \(ruling) reviewed the transcript and the build", by: support)
        #expect(s.state(M1) == settled)
        #expect(s.ledger.balance(.freelancer) == toDeveloper)
        #expect(s.ledger.balance(.buyer) == -60_000 + toBuyer)
        #expect(s.ledger.balance(.held(M1)) == 0)
        #expect(resolved.eventNames == ["dispute_resolved"])
        let m1 = try s.milestone(M1)
        #expect(m1.released == toDeveloper && m1.refunded == toBuyer && m1.held == 0)
        // Settled once: a second ruling is refused.
        s.reject("/resolve M1 refund changed my mind", by: support, .wrongState)

        // The buyer closes the job; both may review, where something was paid. A full refund paid nothing:
        // the contract ends without being completed, and has no reviews.
        let closed = try s.run("/complete", by: buyer)
        if toDeveloper > 0 {
            #expect(closed.events == [.contractCompleted(automatic: false)])
            try s.run("/review 3 the dispute was handled fairly", by: developer)
        } else {
            #expect(closed.events == [.contractEndedUnpaid])
            s.reject("/review 3 the dispute was handled fairly", by: developer, .wrongState)
        }
    }

    @Test("Milestones can be deleted before they are funded, never after")
    func deletionBeforeFunding() throws {
        var s = try start()
        try s.run("/milestone add 400 Landing page", by: s.buyer)
        try s.run("/milestone add 100 Analytics", by: s.buyer)
        try s.run("/milestone add 100 Newsletter", by: s.buyer)
        s.reject("/milestone delete M2", by: s.freelancer, .notAllowedForRole, reason: "only the buyer, who created M2, can delete it")
        let deleted = try s.run("/milestone delete M2", by: s.buyer)
        #expect(deleted.events == [.milestoneDeleted(M2, by: .buyer)])
        #expect(deleted.postings.isEmpty)
        #expect(s.state(M2) == .cancelled)
        s.reject("/fund M2", by: s.buyer, .wrongState, reason: "M2 was deleted; it cannot be funded")
        // "there is no milestone M7; this contract has M1-M3" style answers keep deleted numbers.
        s.reject("/fund M7", by: s.buyer, .unknownMilestone, reason: "there is no milestone M7; this contract has M1-M3")

        try s.run("/fund M1", by: s.buyer)
        s.reject("/milestone delete M1", by: s.buyer, .wrongState,
            reason: "M1 is funded ($400.00 held) and in progress; a milestone cannot be deleted once it has been paid for")
        // Edits also stop at funding.
        s.reject("/milestone edit M1 amount 500", by: s.buyer, .wrongState)
        let edited = try s.run("/milestone edit M3 amount 150", by: s.buyer)
        #expect(edited.events.first?.name == "milestone_edited")
        #expect(s.state(M3) == .agreed)  // no re-approval on Indeelancer
        #expect(try s.milestone(M3).amount == 15_000)
        #expect(s.ledger.balance(.held(M1)) == 40_000)
    }

    @Test("Not offered on Indeelancer: cancel/return, end-contract requests, /stop")
    func whatIndeelancerDoesNotOffer() throws {
        var s = try start()
        try s.run("/milestone add 400 Landing page", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        s.reject("/cancel M1", by: s.freelancer, .policyForbids, reason: "on this platform a funded milestone cannot be cancelled")
        s.reject("/cancel M1", by: s.moderator, .policyForbids)
        s.reject("/endcontract over budget", by: s.buyer, .policyForbids, reason: "this platform has no end-contract request")
        s.reject("/stop", by: s.buyer, .policyForbids, reason: "this platform has no /stop")
        s.reject("/milestone request 100 Extra", by: s.freelancer, .policyForbids)
        // Someone who is not a party cannot act as one.
        s.reject("/fund M1", by: Participant(user: "eve", role: .buyer), .notAllowedForRole, reason: "you are not the buyer of this contract")
        // Reviews wait for completion; completion waits for every milestone.
        s.reject("/review 5 great", by: s.buyer, .wrongState, reason: "reviews open once the contract is complete")
        s.reject("/complete", by: s.buyer, .wrongState)
    }
}
