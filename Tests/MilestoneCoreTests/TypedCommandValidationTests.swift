import Foundation
import MilestoneCore
import Testing

/// Commands that do not come through the parser (a platform's first milestones, given as `MilestoneDraft`s to
/// `Contract.apply(_:by:at:)` by storage's `createContract`) get the same checks the parser makes on typed lines.
/// PRODUCT.md: "Bad input of any kind gets a clear error and changes nothing" and held money is "never below zero".
@Suite struct TypedCommandValidationTests {
    static let now = Date(timeIntervalSince1970: 1_780_000_000)
    static let buyer = Participant(user: "bob", role: .buyer)
    static let freelancer = Participant(user: "fay", role: .freelancer)
    static let moderator = Participant(user: "mia", role: .moderator)

    struct NotApplied: Error {}

    static func contract() -> Contract {
        let policy = Policy(
            name: "typed-test", milestoneCreator: .buyer, freelancerMayRequest: true, approval: .none,
            contractStartsLive: true, chargeOn: .fund, sequential: false, releaseRequiresSubmission: true,
            reviewPeriod: nil, reviewReminderDays: [], revisions: .unlimited, cancelBy: .nobody,
            deleteBeforeFunding: true, endContract: .disputeOnly, stopAllowed: false, completeAutomatically: false)
        return Contract(id: "c", title: "Typed", currency: .usd, buyer: "bob", freelancer: "fay", policy: policy)
    }

    static func applied(_ command: ChatCommand, to contract: Contract, by actor: Participant) throws -> Contract {
        guard case .success(.applied(let transition)) = contract.apply(command, by: actor, at: now) else {
            Issue.record("\(command) was not applied")
            throw NotApplied()
        }
        return transition.contract
    }

    static func expectBadValue(
        _ command: ChatCommand, on contract: Contract, by actor: Participant, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let result = contract.apply(command, by: actor, at: now)
        guard case .failure(let rejection) = result else {
            Issue.record("\(command) should be refused, got \(result)", sourceLocation: sourceLocation)
            return
        }
        #expect(rejection.code == .badValue, "\(rejection)", sourceLocation: sourceLocation)
    }

    @Test("A new milestone's amount must be more than zero and at most the maximum", arguments: [Int64(0), -500, Money.maximumMinorUnits + 1])
    func draftAmount(amount: Int64) {
        let contract = Self.contract()
        Self.expectBadValue(.addMilestone(MilestoneDraft(amount: amount, description: "Logo")), on: contract, by: Self.buyer)
        Self.expectBadValue(.requestMilestone(MilestoneDraft(amount: amount, description: "Logo")), on: contract, by: Self.freelancer)
    }

    @Test("A new milestone needs a description of at most 500 characters", arguments: ["", "   ", String(repeating: "a", count: 501)])
    func draftDescription(description: String) {
        let contract = Self.contract()
        Self.expectBadValue(.addMilestone(MilestoneDraft(amount: 100, description: description)), on: contract, by: Self.buyer)
    }

    @Test("The largest amount and a 500-character description are accepted")
    func limitsAccepted() throws {
        let contract = try Self.applied(
            .addMilestone(MilestoneDraft(amount: Money.maximumMinorUnits, description: String(repeating: "a", count: 500))),
            to: Self.contract(), by: Self.buyer)
        #expect(contract.milestones.first?.amount == Money.maximumMinorUnits)
    }

    @Test("An edit cannot set a zero or negative amount, or an empty description")
    func editValues() throws {
        let contract = try Self.applied(.addMilestone(MilestoneDraft(amount: 100, description: "Logo")), to: Self.contract(), by: Self.buyer)
        let m1 = MilestoneRef.number(MilestoneNumber(1))
        Self.expectBadValue(.editMilestone(m1, MilestoneChanges(amount: -1)), on: contract, by: Self.buyer)
        Self.expectBadValue(.editMilestone(m1, MilestoneChanges(amount: 0)), on: contract, by: Self.buyer)
        Self.expectBadValue(.editMilestone(m1, MilestoneChanges(description: " ")), on: contract, by: Self.buyer)
        // Through the parser too: the edit's description has the same 500-character limit as /milestone add.
        let long = contract.apply(line: "/milestone edit M1 description \(String(repeating: "b", count: 501))", by: Self.buyer, at: Self.now)
        guard case .failure(let rejection) = long else {
            Issue.record("a 501-character description should be refused")
            return
        }
        #expect(rejection.code == .badValue || rejection.code == .syntax)
    }

    @Test("A moderator's split gives the freelancer more than nothing and less than everything", arguments: [Int64(-5), 0, 10_000])
    func splitAmount(toFreelancer: Int64) throws {
        var contract = try Self.applied(.addMilestone(MilestoneDraft(amount: 10_000, description: "Logo")), to: Self.contract(), by: Self.buyer)
        let m1 = MilestoneRef.number(MilestoneNumber(1))
        contract = try Self.applied(.fund(m1), to: contract, by: Self.buyer)
        contract = try Self.applied(.dispute(m1, reason: "late"), to: contract, by: Self.buyer)
        Self.expectBadValue(.resolve(m1, .split(toFreelancer: toFreelancer), note: "n"), on: contract, by: Self.moderator)
        // A valid split still works and conserves the money.
        guard case .success(.applied(let transition)) = contract.apply(.resolve(m1, .split(toFreelancer: 1), note: "n"), by: Self.moderator, at: Self.now)
        else {
            Issue.record("a split of 1 should be applied")
            return
        }
        var ledger = Ledger()
        try ledger.apply([LedgerPosting(kind: .hold, milestone: MilestoneNumber(1), amount: 10_000)])
        try ledger.apply(transition.postings)
        #expect(ledger.balance(.freelancer) == 1)
        #expect(ledger.balance(.buyer) == -1)
        #expect(ledger.total == 0)
    }
}
