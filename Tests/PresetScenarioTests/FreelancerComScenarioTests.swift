import Foundation
import MilestoneCore
import Testing

/// seeds/freelancer-com-milestone-payments.txt, with bot-config/presets/freelancer-com.yaml.
@Suite struct FreelancerComScenarioTests {
    func start() throws -> Scenario {
        Scenario(policy: try PresetFiles.policy("freelancer-com"))
    }

    @Test("\"Milestone Payments can be created by the employer for their awarded freelancer\" ... released when the employer is satisfied")
    func employerCreatesFundsAndReleases() throws {
        var s = try start()
        let (employer, freelancer) = (s.buyer, s.freelancer)

        // "Note that only the employer can create a Milestone Payment and make the release."
        s.reject("/milestone add 500 Website", by: freelancer, .notAllowedForRole, reason: "on this platform only the buyer adds milestones")
        try s.run("/milestone add 500 Website", by: employer)
        #expect(s.state(M1) == .agreed)

        // "Once a Milestone Payment is created (funded), the money will not be transferred to the freelancer just yet."
        let funded = try s.run("/fund M1", by: employer)
        #expect(funded.postings == [LedgerPosting(kind: .hold, milestone: M1, amount: 50_000)])
        #expect(s.ledger.balance(.freelancer) == 0)
        #expect(s.ledger.balance(.held(M1)) == 50_000)

        // "It will remain pending until the employer releases it." No review period: delivering arms no clock.
        let submitted = try s.run("/submit M1 the site is live", by: freelancer)
        #expect(submitted.deadlines.isEmpty)
        #expect(s.state(M1)?.reviewEnds == nil)
        s.advance(days: 60)
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(s.ledger.balance(.held(M1)) == 50_000)

        // "only the employer can ... make the release"
        s.reject("/release M1", by: freelancer, .notAllowedForRole, reason: "only the buyer can release payments")
        s.reject("/release M1", by: s.moderator, .notAllowedForRole)
        // "When all tasks are satisfactory and the employer releases the Milestone Payment, it will be transferred to
        // the freelancer's account balance on the site."
        try s.run("/release M1", by: employer)
        #expect(s.ledger.balance(.freelancer) == 50_000)
        #expect(s.ledger.balance(.held(M1)) == 0)
        #expect(s.ledger.balance(.buyer) == -50_000)
    }

    @Test("Release needs no submission: the employer may release a funded Milestone Payment whenever satisfied")
    func releaseWithoutSubmission() throws {
        var s = try start()
        try s.run("/milestone add 120.50 Bug fixes", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        // "Employers are advised to only release the Milestone Payment if they are completely satisfied with the
        // delivered work" - advice, not a gate: there is no submission step on Freelancer.com.
        try s.run("/release M1", by: s.buyer)
        #expect(s.state(M1) == .released)
        #expect(s.ledger.balance(.freelancer) == 12_050)
        // No revision requests on this platform.
        try s.run("/milestone add 80 Copy edits", by: s.buyer)
        try s.run("/fund M2", by: s.buyer)
        try s.run("/submit M2", by: s.freelancer)
        s.reject("/revise M2 shorter please", by: s.buyer, .policyForbids, reason: "this platform does not offer revision requests")
    }

    @Test("\"freelancers can request to have a Milestone Payment created for them\" - \"It is the employer who will decide\"")
    func freelancerRequestsAMilestone() throws {
        var s = try start()
        let (employer, freelancer) = (s.buyer, s.freelancer)

        // "Before they work on projects, freelancers can request to have a Milestone Payment created for them as assurance of payment."
        s.reject("/milestone request 250 Extra page", by: employer, .notAllowedForRole, reason: "only the freelancer can request a milestone")
        let requested = try s.run("/milestone request 250 Extra landing page", by: freelancer)
        #expect(requested.events == [.milestoneRequested(M1, amount: s.contract.money(25_000), description: "Extra landing page")])
        #expect(s.state(M1) == .proposed(awaiting: .buyer, requested: true))
        #expect(requested.postings.isEmpty)
        // The request is not a payment: nothing to submit, release or cancel yet.
        s.reject("/submit M1", by: freelancer, .wrongState)
        s.reject("/approve M1", by: freelancer, .notAllowedForRole, reason: "M1 is waiting for the buyer's approval, not yours")

        // "It is the employer who will decide on whether to create the requested Milestone Payment or not." - yes:
        let created = try s.run("/fund M1", by: employer)
        #expect(created.events == [.milestoneApproved(M1, by: .buyer), .milestoneFunded(M1, amount: s.contract.money(25_000), automatic: false)])
        #expect(s.state(M1) == .funded)
        #expect(s.ledger.balance(.held(M1)) == 25_000)

        // ... or not:
        try s.run("/milestone request 900 Mobile version", by: freelancer)
        s.reject("/milestone delete M2", by: s.moderator, .notAllowedForRole)
        let declined = try s.run("/milestone delete M2", by: employer)
        #expect(declined.events == [.milestoneDeleted(M2, by: .buyer)])
        #expect(s.state(M2) == .cancelled)
        s.reject("/fund M2", by: employer, .wrongState)
        #expect(s.ledger.balance(.held(M2)) == 0)
    }

    @Test("\"It is the employer who will decide on whether to create the requested Milestone Payment or not.\" - on the terms the employer saw")
    func editedRequestNeedsTheEmployerAgain() throws {
        var s = try start()
        try s.run("/milestone request 250 Extra landing page", by: s.freelancer)
        try s.run("/approve M1", by: s.buyer)
        #expect(s.state(M1) == .agreed)
        // The freelancer raises the amount of the request the employer approved at $250.
        try s.run("/milestone edit M1 amount 2500", by: s.freelancer)
        #expect(try s.milestone(M1).amount == 250_000)
        // New terms are a new request: the employer decides again.
        #expect(s.state(M1) == .proposed(awaiting: .buyer, requested: true))
    }

    @Test("\"only the freelancer can cancel and return the Milestone Payment\"")
    func freelancerCancelsAndReturns() throws {
        var s = try start()
        let (employer, freelancer) = (s.buyer, s.freelancer)
        try s.run("/milestone add 300 Logo", by: employer)
        try s.run("/milestone add 300 Logo", by: employer)  // "created accidentally or duplicated"
        try s.run("/fund M1", by: employer)
        try s.run("/fund M2", by: employer)
        #expect(s.ledger.balance(.buyer) == -60_000)

        // "Conversely, only the freelancer can cancel and return the Milestone Payment."
        s.reject("/cancel M2", by: employer, .notAllowedForRole, reason: "only the freelancer can cancel a funded milestone here")
        s.reject("/cancel M2", by: s.moderator, .notAllowedForRole, reason: "only the freelancer can cancel a funded milestone here")
        // Two pending payments: the implied milestone is ambiguous, and the answer names both.
        s.reject("/cancel", by: freelancer, .unknownMilestone, reason: "more than one milestone can be cancelled: M1, M2")

        // "In cases wherein a pending Milestone Payment needs to be returned (created accidentally or duplicated), the
        // freelancer can cancel it for the funds to be returned to the employer's account balance."
        let cancelled = try s.run("/cancel M2", by: freelancer)
        #expect(cancelled.events == [.milestoneCancelled(M2, by: .freelancer, refunded: s.contract.money(30_000))])
        #expect(cancelled.postings == [LedgerPosting(kind: .void, milestone: M2, amount: 30_000)])
        #expect(s.state(M2) == .refunded)
        #expect(s.ledger.balance(.buyer) == -30_000)
        #expect(s.ledger.balance(.held(M2)) == 0)
        #expect(s.ledger.balance(.freelancer) == 0)
        // Returned once only.
        s.reject("/cancel M2", by: freelancer, .wrongState, reason: "M2 was already refunded; it cannot be cancelled")

        // Only a pending (funded) payment can be returned.
        try s.run("/milestone add 50 Icon", by: employer)
        s.reject("/cancel M3", by: freelancer, .wrongState, reason: "M3 is not funded, so there is nothing to return")
        try s.run("/release M1", by: employer)
        s.reject("/cancel M1", by: freelancer, .wrongState, reason: "M1 was already released; it cannot be cancelled")
        #expect(s.ledger.balance(.freelancer) == 30_000)
        #expect(s.ledger.balance(.buyer) == -30_000)
    }

    @Test(
        "\"Allows the use of our Dispute Resolution Service ... only available for projects with pending Milestone Payments\"",
        arguments: [("release", Int64(40_000)), ("refund", Int64(0)), ("split 100", Int64(10_000))])
    func disputeOnlyWhilePending(ruling: String, toFreelancer: Int64) throws {
        var s = try start()
        let (employer, freelancer) = (s.buyer, s.freelancer)
        try s.run("/milestone add 400 Data import", by: employer)
        // "This is, however, only available for projects with pending Milestone Payments."
        s.reject("/dispute M1 not paid", by: freelancer, .wrongState,
            reason: "M1 is agreed but not funded yet; only a milestone whose money is held can be disputed")
        s.reject("/dispute no payment is pending", by: freelancer, .unknownMilestone)
        try s.run("/fund M1", by: employer)

        // "both the employer and freelancer can have access to our Dispute Resolution Service"
        try s.run("/dispute M1 the employer will not release for finished work", by: freelancer)
        #expect(s.state(M1)?.isDisputed == true)
        s.reject("/cancel M1", by: freelancer, .wrongState, reason: "M1 is in dispute; a moderator decides; it cannot be cancelled")
        s.reject("/release M1", by: employer, .wrongState)
        try s.run("/resolve M1 \(ruling) decided from the transcript", by: s.moderator)
        #expect(s.ledger.balance(.freelancer) == toFreelancer)
        #expect(s.ledger.balance(.buyer) == -40_000 + (40_000 - toFreelancer))
        #expect(s.ledger.balance(.held(M1)) == 0)

        // Nothing pending any more: no dispute.
        s.reject("/dispute M1 reopen", by: employer, .wrongState)
    }

    @Test("\"Both users will be able to leave feedback and ratings for each other if the project is completed and paid with Milestone Payments.\"")
    func reviewsAfterCompletion() throws {
        var s = try start()
        try s.run("/milestone add 500 Website", by: s.buyer)
        try s.run("/milestone request 100 Hosting setup", by: s.freelancer)
        try s.run("/fund M1", by: s.buyer)
        s.reject("/review 5 great", by: s.freelancer, .wrongState, reason: "reviews open once the contract is complete")
        try s.run("/release M1", by: s.buyer)
        // A request the employer never answered keeps the contract open until it is decided.
        s.reject("/complete", by: s.buyer, .wrongState, reasonContains: "M2 is a request waiting for the buyer")
        try s.run("/milestone delete M2", by: s.buyer)
        #expect(s.contract.phase == .live)  // complete_automatically: false
        s.reject("/complete", by: s.freelancer, .notAllowedForRole)
        try s.run("/complete", by: s.buyer)
        #expect(s.contract.phase == .completed)

        try s.run("/review 5 prompt payment", by: s.freelancer)
        try s.run("/review 4 solid work", by: s.buyer)
        s.reject("/review 1 changed my mind", by: s.buyer, .wrongState, reason: "you have already left a review for this contract")
        s.reject("/review 3 lurking", by: s.moderator, .notAllowedForRole)
        s.reject("/review 9 wow", by: s.buyer, .syntax, reason: "`9` is not a rating from 1 to 5")
        #expect(s.contract.reviews.map(\.by) == [.freelancer, .buyer])
        #expect(s.ledger.balance(.freelancer) == 50_000)
        #expect(s.ledger.total == 0)
    }

    @Test("Not offered on Freelancer.com: end-contract requests and /stop")
    func notOffered() throws {
        let s = try start()
        s.reject("/endcontract", by: s.buyer, .policyForbids)
        s.reject("/endcontract accept", by: s.freelancer, .wrongState, reason: "there is no request to end the contract to answer")
        s.reject("/stop", by: s.buyer, .policyForbids)
        s.reject("/golive", by: s.buyer, .wrongState, reason: "the contract is already live")
    }
}
