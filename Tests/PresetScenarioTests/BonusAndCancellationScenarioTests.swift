import Foundation
import MilestoneCore
import Testing

/// The two settlements the issue adds beside milestone offers: "The buyer can add a bonus (`/bonus 50 great
/// work`) where the policy allows: a new charge paid straight to the freelancer, through the processor,
/// announced in the thread", and "Mutual cancellation of the whole contract is an offer too".
@Suite struct BonusAndCancellationScenarioTests {
    static let M2 = MilestoneNumber(2)
    static let M3 = MilestoneNumber(3)

    // MARK: - Bonus

    @Test("A bonus is one charge paid straight to the freelancer: held and paid in one step, the ledger balanced")
    func aBonusIsChargedAndPaidAtOnce() throws {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Checkout")
        try s.run("/milestone add 500 Checkout flow", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        let paid = try s.run("/bonus 50 great work over the weekend", by: s.buyer)
        #expect(paid.events == [.bonusPaid(Self.M2, amount: s.contract.money(5_000), note: "great work over the weekend")])
        #expect(paid.postings == [LedgerPosting(kind: .hold, milestone: Self.M2, amount: 5_000), LedgerPosting(kind: .post, milestone: Self.M2, amount: 5_000)])
        #expect(paid.events.first?.text == "Buyer paid the freelancer a bonus of $50.00 (recorded as M2): great work over the weekend")
        let bonus = try s.milestone(Self.M2)
        #expect(bonus.state == .released && bonus.released == 5_000 && bonus.held == 0 && bonus.description == "Bonus: great work over the weekend")
        #expect(s.ledger.balance(.freelancer) == 5_000 && s.ledger.balance(.held(M1)) == 50_000 && s.ledger.total == 0)
        // The bonus is settled: nothing else can be done with it.
        s.reject("/release M2", by: s.buyer, .wrongState)
        s.reject("/dispute M2 wrong amount", by: s.buyer, .wrongState)
        // The contract goes on as before; the bonus does not hold up completing it.
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/release M1", by: s.buyer)
        #expect(s.contract.paidToFreelancer == 55_000)
    }

    @Test("Only the buyer pays a bonus, only on a live contract, only where the policy allows it")
    func bonusRules() throws {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Checkout")
        s.reject("/bonus 50 thanks", by: s.freelancer, .notAllowedForRole, reason: "only the buyer can pay a bonus")
        s.reject("/bonus 50 thanks", by: s.moderator, .notAllowedForRole)
        s.reject("/bonus 0 thanks", by: s.buyer, .syntax)
        s.reject("/bonus 50", by: s.buyer, .syntax, reasonContains: "a note saying what the bonus is for is missing")
        let fiverr = Scenario(policy: try PresetFiles.policy("fiverr"), title: "Logo")
        fiverr.reject("/bonus 50 thanks", by: fiverr.buyer, .policyForbids, reason: "this platform has no bonuses")
        let proposal = Scenario(policy: try PresetFiles.policy("whitelabel"), title: "App")
        proposal.reject("/bonus 50 thanks", by: proposal.buyer, .wrongState, reasonContains: "still a proposal")
        // Closed contracts take no more money.
        try s.run("/milestone add 100 Tiny fix", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/release M1", by: s.buyer)
        if s.contract.phase != .completed { try s.run("/complete", by: s.buyer) }
        s.reject("/bonus 50 thanks", by: s.buyer, .contractClosed)
    }

    @Test("/help and the commands list offer /bonus to the buyer where it applies, saying it moves money")
    func bonusIsOffered() throws {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Checkout")
        try s.run("/milestone add 100 Tiny fix", by: s.buyer)
        let buyer = s.contract.availableCommands(for: s.buyer, at: s.now).first { $0.template == "/bonus <amount> <note>" }
        #expect(buyer?.movesMoney == true)
        #expect(!s.contract.availableCommands(for: s.freelancer, at: s.now).contains { $0.template.hasPrefix("/bonus") })
        let fiverr = Scenario(policy: try PresetFiles.policy("fiverr"), title: "Logo")
        #expect(!fiverr.contract.availableCommands(for: fiverr.buyer, at: fiverr.now).contains { $0.template.hasPrefix("/bonus") })
    }

    // MARK: - Cancelling the whole contract by agreement

    /// Indeelancer: M1 released ($100), M2 funded and disputed ($200), M3 agreed (unfunded).
    func underWay() throws -> Scenario {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Shop")
        try s.run("/milestone add 100 Wireframes", by: s.buyer)
        try s.run("/milestone add 200 Design", by: s.buyer)
        try s.run("/milestone add 300 Build", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/release M1", by: s.buyer)
        try s.run("/fund M2", by: s.buyer)
        try s.run("/dispute M2 the designs are late", by: s.buyer)
        return s
    }

    @Test("An accepted cancellation refunds everything held (a disputed milestone too), cancels the rest, and completes the contract when something was paid")
    func anAcceptedCancellationRefundsEverythingHeld() throws {
        var s = try underWay()
        let offered = try s.run("/offer cancel we agreed to stop after the wireframes", by: s.freelancer)
        let lapses = s.now.addingTimeInterval(3 * Scenario.day)
        #expect(offered.events == [.cancellationOffered(by: .freelancer, reason: "we agreed to stop after the wireframes", held: s.contract.money(20_000), lapsesAt: lapses)])
        #expect(offered.arms(.cancellationLapses, at: lapses))
        #expect(offered.postings.isEmpty)
        s.reject("/offer accept contract", by: s.freelancer, .notAllowedForRole, reason: "the offer to cancel the contract is yours; the buyer answers it")
        s.reject("/offer cancel me too", by: s.buyer, .wrongState, reason: "the freelancer already offered to cancel the contract")

        let accepted = try s.run("/offer accept", by: s.buyer)
        #expect(accepted.events.first == .cancellationAccepted(by: .buyer, refunded: s.contract.money(20_000), cancelled: [Self.M3], completed: true))
        #expect(accepted.postings == [LedgerPosting(kind: .void, milestone: Self.M2, amount: 20_000)])
        #expect(accepted.cancels(.cancellationLapses))
        #expect(s.state(Self.M2) == .refunded && s.state(Self.M3) == .cancelled)
        #expect(s.contract.phase == .completed)
        #expect(s.ledger.balance(.freelancer) == 10_000 && s.ledger.balance(.buyer) == -10_000 && s.ledger.total == 0)
        #expect(s.contract.offers.isEmpty)
        // Applied at most once.
        s.reject("/offer accept contract", by: s.buyer, .contractClosed)
    }

    @Test("With nothing paid, an accepted cancellation leaves the contract cancelled, with no reviews")
    func nothingPaidIsCancelled() throws {
        var s = Scenario(policy: try PresetFiles.policy("whitelabel"), title: "App")
        try s.run("/milestone add 300 Build", by: s.freelancer)
        try s.run("/golive", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/offer cancel the customer changed plans", by: s.buyer)
        let accepted = try s.run("/offer accept contract", by: s.freelancer)
        #expect(accepted.events == [.cancellationAccepted(by: .freelancer, refunded: s.contract.money(30_000), cancelled: [], completed: false)])
        #expect(s.contract.phase == .cancelled)
        #expect(s.ledger.balance(.buyer) == 0 && s.ledger.balance(.freelancer) == 0)
        s.reject("/review 5 thanks", by: s.buyer, .contractClosed)
    }

    @Test("Nothing moves on a declined, withdrawn or lapsed cancellation", arguments: ["decline", "withdraw", "lapse"])
    func nothingMovesUnlessAccepted(ending: String) throws {
        var s = try underWay()
        try s.run("/offer cancel let us stop", by: s.buyer)
        let ledger = s.ledger
        switch ending {
        case "decline":
            #expect(try s.run("/offer decline contract", by: s.freelancer).events == [.cancellationDeclined(by: .freelancer)])
        case "withdraw":
            s.reject("/offer withdraw contract", by: s.freelancer, .notAllowedForRole, reason: "the offer to cancel the contract is the buyer's; only they can withdraw it")
            #expect(try s.run("/offer withdraw", by: s.buyer).events == [.cancellationWithdrawn(by: .buyer)])
        default:
            s.now = s.now.addingTimeInterval(3 * Scenario.day - 1)
            #expect(try s.fire(.cancellationLapses).isEmpty)
            s.now = s.now.addingTimeInterval(1)
            #expect(try s.fire(.cancellationLapses).events == [.cancellationLapsed])
        }
        #expect(s.ledger == ledger)
        #expect(s.contract.offers.isEmpty && s.contract.phase == .live)
        #expect(s.state(Self.M2)?.isDisputed == true)
        s.reject("/offer accept contract", by: s.freelancer, .wrongState, reason: "there is no open offer to cancel the contract")
    }

    @Test("An offer to cancel made before more money was held no longer fits: accepting it is refused")
    func anOfferToCancelFitsOnlyWhatWasHeld() throws {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Shop")
        try s.run("/milestone add 100 Wireframes", by: s.buyer)
        try s.run("/milestone add 1000 Build", by: s.buyer)
        try s.run("/offer cancel nothing is funded yet, let us stop", by: s.freelancer)
        try s.run("/fund M2", by: s.buyer)
        s.reject("/offer accept contract", by: s.buyer, .wrongState, reasonContains: "the money held changed since the offer to cancel was made ($0.00 then, $1,000.00 now)")
        #expect(s.contract.phase == .live && s.state(Self.M2) == .funded)
        #expect(try s.run("/offer decline contract", by: s.buyer).events == [.cancellationDeclined(by: .buyer)])
    }

    @Test("With a milestone offer open too, a bare answer asks which one")
    func twoOpenOffersNeedAName() throws {
        var s = try underWay()
        try s.run("/offer M2 refund", by: s.freelancer)
        try s.run("/offer cancel let us stop", by: s.freelancer)
        s.reject("/offer accept", by: s.buyer, .unknownMilestone, reason: "more than one offer is open: M2, contract; name the milestone (or `contract`)")
        try s.run("/offer accept M2", by: s.buyer)
        #expect(s.contract.offers.map(\.subject) == [.contract])
    }

    @Test("Where the seed has its own way to end by agreement, there is no cancellation offer")
    func policyForbidsCancellation() throws {
        let s = Scenario(policy: try PresetFiles.policy("skillscoop"), title: "Site")
        s.reject("/offer cancel let us stop", by: s.buyer, .policyForbids, reason: "on this platform the parties cannot cancel the contract by agreement")
        #expect(!s.contract.availableCommands(for: s.buyer, at: s.now).contains { $0.template.hasPrefix("/offer cancel") })
    }

    @Test("A contract that closes another way takes the open cancellation offer with it")
    func closingDropsTheOffer() throws {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Shop")
        try s.run("/milestone add 100 Wireframes", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/offer cancel let us stop", by: s.freelancer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/release M1", by: s.buyer)
        if s.contract.phase != .completed { try s.run("/complete", by: s.buyer) }
        #expect(s.contract.phase == .completed)
        #expect(s.contract.offers.isEmpty)
    }
}
