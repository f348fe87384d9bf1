import Foundation
import MilestoneCore
import Testing

/// seeds/whitelabel-who-creates-milestones.txt, with bot-config/presets/whitelabel.yaml and each of the
/// platform's switches applied as a deployment's `policy_overrides` (as the preset file's header documents them).
@Suite struct WhitelabelScenarioTests {
    /// "Customer creates the milestones": milestone_creator: buyer.
    static var customerCreates: [String: Any] { ["milestone_creator": "buyer"] }

    func start(_ overrides: [String: Any] = [:]) throws -> Scenario {
        Scenario(policy: try PresetFiles.policy("whitelabel", overrides: overrides), title: "Mobile app")
    }

    // MARK: - Default: the freelancer creates the milestones

    @Test("\"By default freelancers create the milestones\" - \"Freelancer Creates the Milestones\", proposal -> /golive -> paid")
    func freelancerCreatesByDefault() throws {
        var s = try start()
        let (customer, freelancer) = (s.buyer, s.freelancer)
        #expect(s.contract.phase == .proposal)

        // "Customers, however, do not have the option to create milestones (the 'Add Task' button does not exist)."
        s.reject("/milestone add 800 Landing page", by: customer, .notAllowedForRole, reason: "on this platform only the freelancer adds milestones")
        // "The freelancer in their 'current jobs' can scroll down and add a milestone."
        let added = try s.run("/milestone add 800 Landing page", by: freelancer)
        #expect(added.events == [.milestoneAdded(M1, by: .freelancer, amount: s.contract.money(80_000), description: "Landing page", due: nil, awaiting: nil)])
        #expect(s.state(M1) == .agreed)

        // The contract is a proposal until the customer makes it live; nothing can be paid before.
        s.reject("/fund M1", by: customer, .wrongState, reason: "the contract is still a proposal, so nothing can be paid yet")
        // "they can accept the contract to make it live"
        s.reject("/golive", by: freelancer, .notAllowedForRole, reason: "only the buyer can make the contract live")
        let live = try s.run("/golive", by: customer)
        #expect(live.events == [.contractLive])
        #expect(live.postings.isEmpty)  // charge_on: fund - going live charges nothing
        #expect(s.contract.phase == .live)
        s.reject("/golive", by: customer, .wrongState, reason: "the contract is already live")

        // "The customer receives an email notifying them that a milestone has been created, and the customer can pay
        // for it- the money is held in escrow and the freelancer can begin working."
        try s.run("/fund M1", by: customer)
        #expect(s.ledger.balance(.held(M1)) == 80_000)

        // "When the milestone is completed, the freelancer selects 'Milestone Completed'"
        s.reject("/release M1", by: customer, .wrongState,
            reason: "M1 has not been submitted yet; it can be released once the freelancer submits the work")
        try s.run("/submit M1", by: freelancer)
        // "... and if the customer is satisfied with the work the freelancer has done they approve its completion for
        // the funds to be moved to the freelancer's account."
        try s.run("/release M1", by: customer)
        #expect(s.ledger.balance(.freelancer) == 80_000)
        #expect(s.ledger.balance(.buyer) == -80_000)

        try s.run("/complete", by: customer)
        try s.run("/review 5 smooth", by: freelancer)
        try s.run("/review 5 great", by: customer)
    }

    @Test("\"If they are not they can dispute the claim\" - the moderator decides", arguments: ["release", "refund", "split 300"])
    func customerDisputes(ruling: String) throws {
        var s = try start()
        try s.run("/milestone add 800 Landing page", by: s.freelancer)
        try s.run("/golive", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/dispute M1 the page is not responsive", by: s.buyer)
        try s.run("/resolve M1 \(ruling) see the transcript", by: s.moderator)
        let toFreelancer: Int64 = ruling == "release" ? 80_000 : ruling == "refund" ? 0 : 30_000
        #expect(s.ledger.balance(.freelancer) == toFreelancer)
        #expect(s.ledger.balance(.buyer) == -toFreelancer)
    }

    @Test("Without the delete switch, an approved milestone cannot be deleted; /cancel and end requests are not offered")
    func defaultRefusals() throws {
        var s = try start()
        try s.run("/milestone add 800 Landing page", by: s.freelancer)
        s.reject("/milestone delete M1", by: s.freelancer, .policyForbids,
            reason: "M1 has been approved, and on this platform approved milestones cannot be deleted")
        try s.run("/golive", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        s.reject("/cancel M1", by: s.freelancer, .policyForbids)
        s.reject("/endcontract", by: s.buyer, .policyForbids)
        s.reject("/revise M1 more", by: s.buyer, .policyForbids)
    }

    // MARK: - "Customer Creates the Milestones"

    @Test("\"Customer Creates the Milestones\": tasks are sent to the freelancer to review and approve, each separately")
    func customerCreates() throws {
        var s = try start(Self.customerCreates)
        let (customer, freelancer) = (s.buyer, s.freelancer)
        #expect(s.contract.policy.milestoneCreator == .buyer)
        #expect(s.contract.phase == .proposal)

        // "they can choose to add milestones (Tasks) so that there is greater clarity of what the job entails"
        s.reject("/milestone add 600 Wireframes", by: freelancer, .notAllowedForRole, reason: "on this platform only the buyer adds milestones")
        // "When the customer has created a task, they must send it to the freelancer to review."
        let added = try s.run("/milestone add 600 Wireframes", by: customer)
        #expect(added.events == [.milestoneAdded(M1, by: .buyer, amount: s.contract.money(60_000), description: "Wireframes", due: nil, awaiting: .freelancer)])
        #expect(s.state(M1) == .proposed(awaiting: .freelancer, requested: false))

        // "If the freelancer does not approve the task then the customer cannot pay the freelancer, and they do not
        // have to do the work."
        s.reject("/approve M1", by: customer, .notAllowedForRole, reason: "M1 is waiting for the freelancer's approval, not yours")
        s.reject("/submit M1", by: freelancer, .wrongState)

        // "At any point in this process the customer can choose to accept the contract and make it live."
        try s.run("/golive", by: customer)
        // "Customers can only pay for milestones that have been approved by the freelancer."
        s.reject("/fund M1", by: customer, .wrongState, reason: "M1 is waiting for the freelancer's approval; it cannot be funded")

        // "if the freelancer is happy to do the work they can approve it"
        let approved = try s.run("/approve M1", by: freelancer)
        #expect(approved.events == [.milestoneApproved(M1, by: .freelancer)])
        #expect(approved.postings.isEmpty)  // charge_on: fund
        s.reject("/approve M1", by: freelancer, .wrongState, reason: "M1 is agreed but not funded yet; there is nothing to approve")

        // "They can also edit the proposal to add more tasks/milestones each of which must be approved separately."
        try s.run("/milestone add 900 Visual design", by: customer)
        #expect(s.state(M1) == .agreed)
        #expect(s.state(M2) == .proposed(awaiting: .freelancer, requested: false))
        s.reject("/fund M2", by: customer, .wrongState)
        // Only M1 is payable, so it is implied.
        try s.run("/fund", by: customer)
        #expect(s.ledger.balance(.held(M1)) == 60_000)
        try s.run("/approve", by: freelancer)  // the only task awaiting the freelancer
        try s.run("/fund M2", by: customer)
        #expect(s.ledger.balance(.buyer) == -150_000)

        // "When they have completed the task at hand they can go to their active jobs and mark it as completed."
        try s.run("/submit M1", by: freelancer)
        // "if they are satisfied ... they can approve the task as completed" - "At this point the freelancer is paid"
        try s.run("/release M1", by: customer)
        #expect(s.ledger.balance(.freelancer) == 60_000)
        #expect(s.ledger.balance(.held(M2)) == 90_000)
    }

    @Test("\"the milestones can be created, or deleted both before the contract is live, and after it becomes live (But not after they have been paid for)\"")
    func deleteBeforePaid() throws {
        // Sub-option 2: "for customers to be able to delete (not edit) milestones before they have been paid."
        var s = try start(Self.customerCreates.merging(["delete_before_funding": true]) { $1 })
        let (customer, freelancer) = (s.buyer, s.freelancer)
        try s.run("/milestone add 100 Task A", by: customer)
        try s.run("/milestone add 200 Task B", by: customer)
        try s.run("/milestone add 300 Task C", by: customer)
        try s.run("/approve M1", by: freelancer)
        try s.run("/approve M2", by: freelancer)
        try s.run("/approve M3", by: freelancer)

        // "... deleted both before the contract is live ..."
        s.reject("/milestone delete M1", by: freelancer, .notAllowedForRole, reason: "only the buyer, who created M1, can delete it")
        try s.run("/milestone delete M1", by: customer)
        #expect(s.state(M1) == .cancelled)

        // "... and after it becomes live ..."
        try s.run("/golive", by: customer)
        try s.run("/milestone delete M2", by: customer)
        #expect(s.state(M2) == .cancelled)
        try s.run("/milestone add 400 Task D", by: customer)  // "can be created ... after it becomes live"
        #expect(s.state(MilestoneNumber(4)) == .proposed(awaiting: .freelancer, requested: false))

        // "... (But not after they have been paid for)."
        try s.run("/fund M3", by: customer)
        s.reject("/milestone delete M3", by: customer, .wrongState,
            reason: "M3 is funded ($300.00 held) and in progress; a milestone cannot be deleted once it has been paid for")
        #expect(s.ledger.balance(.held(M3)) == 30_000)
        #expect(s.ledger.balance(.buyer) == -30_000)
    }

    @Test("Without sub-option 2 the customer may delete only a task the freelancer has not approved yet")
    func deleteWithoutTheSwitch() throws {
        var s = try start(Self.customerCreates)
        try s.run("/milestone add 100 Task A", by: s.buyer)
        try s.run("/milestone add 200 Task B", by: s.buyer)
        try s.run("/approve M1", by: s.freelancer)
        s.reject("/milestone delete M1", by: s.buyer, .policyForbids)
        try s.run("/milestone delete M2", by: s.buyer)
        #expect(s.state(M2) == .cancelled)
    }

    @Test("An edited task goes back to the freelancer for approval before it can be paid")
    func editNeedsApprovalAgain() throws {
        var s = try start(Self.customerCreates)
        try s.run("/milestone add 100 Task A", by: s.buyer)
        try s.run("/approve M1", by: s.freelancer)
        try s.run("/golive", by: s.buyer)
        // "Otherwise they can ... send a message to the customer to arrange for the task to be amended."
        let edited = try s.run("/milestone edit M1 amount 150", by: s.buyer)
        #expect(edited.events == [.milestoneEdited(M1, by: .buyer, amount: s.contract.money(15_000), description: "Task A", due: nil, awaiting: .freelancer)])
        s.reject("/fund M1", by: s.buyer, .wrongState)
        try s.run("/approve M1", by: s.freelancer)
        try s.run("/fund M1", by: s.buyer)
        #expect(s.ledger.balance(.held(M1)) == 15_000)
    }

    // MARK: - Sub-option 1: skip the freelancer's approval

    @Test("Sub-option 1: \"allows the customer to take the contract live and immediately pay for it ... without needing the freelancer's approval\"")
    func skipFreelancerApproval() throws {
        var s = try start(Self.customerCreates.merging(["approval": "none", "release_requires_submission": false]) { $1 })
        let (customer, freelancer) = (s.buyer, s.freelancer)
        try s.run("/milestone add 500 Backend", by: customer)
        #expect(s.state(M1) == .agreed)
        s.reject("/approve M1", by: freelancer, .wrongState)

        // "go straight from CL creates milestone, to CL pays milestone"
        try s.run("/golive", by: customer)
        let paid = try s.run("/fund M1", by: customer)
        // "at this point the funds are be collected from their card and held in Stripe's custom connect account,
        // earmarked for the freelancer"
        #expect(paid.postings == [LedgerPosting(kind: .hold, milestone: M1, amount: 50_000)])
        #expect(s.ledger.balance(.held(M1)) == 50_000)

        // "Moreover, the system does not require the freelancer to mark their work as complete: once the customer has
        // paid, they can immediately approve the work for the funds to be released into the freelancer's bank account."
        try s.run("/release M1", by: customer)
        #expect(s.ledger.balance(.freelancer) == 50_000)
        #expect(s.ledger.balance(.held(M1)) == 0)
    }

    // MARK: - Sub-option 3: take payment when the freelancer approves

    @Test("Sub-option 3: \"collects payment from the customer when the freelancer clicks 'approve' instead of when the customer clicks 'pay'\"")
    func chargeOnApproval() throws {
        var s = try start(Self.customerCreates.merging(["charge_on": "approval"]) { $1 })
        let (customer, freelancer) = (s.buyer, s.freelancer)
        try s.run("/milestone add 700 Database design", by: customer)

        // "Note that the contract must be live for payment to be made- it cannot be taken while in the proposal stage."
        let approvedInProposal = try s.run("/approve M1", by: freelancer)
        #expect(approvedInProposal.postings.isEmpty)
        #expect(s.state(M1) == .agreed)
        #expect(s.ledger.balance(.buyer) == 0)

        // Going live takes the payment for the task already approved.
        let live = try s.run("/golive", by: customer)
        #expect(live.events == [.contractLive, .milestoneFunded(M1, amount: s.contract.money(70_000), automatic: true)])
        #expect(live.postings == [LedgerPosting(kind: .hold, milestone: M1, amount: 70_000)])
        #expect(s.state(M1) == .funded)

        // Once live, the freelancer's 'approve' takes the payment at once.
        try s.run("/milestone add 300 API", by: customer)
        #expect(s.ledger.balance(.held(M2)) == 0)
        let approved = try s.run("/approve M2", by: freelancer)
        #expect(approved.events == [.milestoneApproved(M2, by: .freelancer), .milestoneFunded(M2, amount: s.contract.money(30_000), automatic: true)])
        #expect(approved.postings == [LedgerPosting(kind: .hold, milestone: M2, amount: 30_000)])
        #expect(s.ledger.balance(.buyer) == -100_000)

        // "... instead of when the customer clicks 'pay'"
        try s.run("/milestone add 50 Docs", by: customer)
        s.reject("/fund M3", by: customer, .policyForbids,
            reason: "on this platform the buyer is charged automatically when the freelancer approves a milestone")

        try s.run("/submit M1", by: freelancer)
        try s.run("/release M1", by: customer)
        #expect(s.ledger.balance(.freelancer) == 70_000)
        #expect(s.ledger.balance(.held(M2)) == 30_000)
    }
}
