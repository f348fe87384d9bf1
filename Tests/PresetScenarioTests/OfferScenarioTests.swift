import Foundation
import MilestoneCore
import Testing

/// Settlements the parties agree themselves (issue: "no anchor does this in chat"): an offer on a milestone,
/// in or out of a dispute, accepted, declined, withdrawn or lapsed. Indeelancer's preset: "Both parties have
/// the opportunity to present their case", and here they can also settle it between them.
@Suite struct OfferScenarioTests {
    /// A $500 milestone, funded and submitted, then disputed by the buyer.
    func disputed() throws -> Scenario {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Checkout")
        try s.run("/milestone add 500 Checkout flow", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/dispute M1 the checkout crashes on submit", by: s.buyer)
        return s
    }

    @Test("A dispute settled by an offer the other party accepts: one step, like a moderator's split, and the dispute closes")
    func anAcceptedOfferSettlesTheDispute() throws {
        var s = try disputed()
        let made = try s.run("/offer M1 release 300", by: s.freelancer)
        let lapses = s.now.addingTimeInterval(3 * Scenario.day)
        #expect(made.events == [.offerMade(M1, by: .freelancer, terms: .release(toFreelancer: 30_000), held: s.contract.money(50_000), lapsesAt: lapses)])
        #expect(made.arms(.offerLapses(M1), at: lapses))
        #expect(made.postings.isEmpty)
        #expect(made.events.first?.text.contains("release $300.00 of M1 to the freelancer and refund the remaining $200.00 to the buyer") == true)
        // Nothing moves until the other party accepts; the offerer cannot accept their own offer.
        s.reject("/offer accept M1", by: s.freelancer, .notAllowedForRole, reason: "the offer on M1 is yours; the buyer answers it")
        s.reject("/offer M1 refund", by: s.buyer, .wrongState, reason: "the freelancer already has an offer open on M1")
        #expect(s.ledger.balance(.held(M1)) == 50_000)

        let accepted = try s.run("/offer accept", by: s.buyer)
        #expect(accepted.events == [.offerAccepted(M1, by: .buyer, terms: .release(toFreelancer: 30_000), released: s.contract.money(30_000), refunded: s.contract.money(20_000))])
        #expect(accepted.postings == [LedgerPosting(kind: .post, milestone: M1, amount: 30_000), LedgerPosting(kind: .void, milestone: M1, amount: 20_000)])
        #expect(accepted.cancels(.offerLapses(M1)))
        #expect(s.state(M1) == .split)
        #expect(s.ledger.balance(.freelancer) == 30_000 && s.ledger.balance(.buyer) == -30_000 && s.ledger.total == 0)
        // Applied at most once: there is nothing left to accept, and the moderator has nothing to rule on.
        s.reject("/offer accept M1", by: s.buyer, .wrongState, reason: "there is no open offer on M1")
        s.reject("/resolve M1 refund changed my mind", by: s.moderator, .wrongState)
    }

    @Test("Nothing moves on a declined, withdrawn or lapsed offer", arguments: ["decline", "withdraw", "lapse"])
    func nothingMovesOnADeclinedWithdrawnOrLapsedOffer(ending: String) throws {
        var s = try disputed()
        try s.run("/offer M1 refund", by: s.buyer)
        let before = s.ledger
        switch ending {
        case "decline":
            s.reject("/offer decline M1", by: s.buyer, .notAllowedForRole)
            #expect(try s.run("/offer decline M1", by: s.freelancer).events == [.offerDeclined(M1, by: .freelancer)])
        case "withdraw":
            s.reject("/offer withdraw M1", by: s.freelancer, .notAllowedForRole, reason: "the offer on M1 is the buyer's; only they can withdraw it")
            #expect(try s.run("/offer withdraw M1", by: s.buyer).events == [.offerWithdrawn(M1, by: .buyer)])
        default:
            s.now = s.now.addingTimeInterval(3 * Scenario.day - 1)
            #expect(try s.fire(.offerLapses(M1)).isEmpty)
            s.now = s.now.addingTimeInterval(1)
            #expect(try s.fire(.offerLapses(M1)).events == [.offerLapsed(M1)])
        }
        #expect(s.ledger == before)
        #expect(s.contract.offers.isEmpty)
        #expect(s.state(M1)?.isDisputed == true)
        s.reject("/offer accept M1", by: s.freelancer, .wrongState, reason: "there is no open offer on M1")
        // The moderator still decides.
        try s.run("/resolve M1 refund nothing usable", by: s.moderator)
        #expect(s.ledger.balance(.buyer) == 0)
    }

    @Test("Out of a dispute: a new due date by agreement, and offers only on money that is held")
    func extendAndLimits() throws {
        var s = Scenario(policy: try PresetFiles.policy("indeelancer"), title: "Site")
        try s.run("/milestone add 500 Landing page due 2099-01-10", by: s.buyer)
        s.reject("/offer M1 refund", by: s.freelancer, .wrongState, reasonContains: "only money that is held can be offered")
        try s.run("/offer M1 extend 2099-01-20", by: s.freelancer)
        let accepted = try s.run("/offer accept M1", by: s.buyer)
        #expect(accepted.events == [.offerAccepted(M1, by: .buyer, terms: .extend(DueDate(year: 2099, month: 1, day: 20)!), released: s.contract.money(0), refunded: s.contract.money(0))])
        #expect(try s.milestone(M1).dueDate == DueDate(year: 2099, month: 1, day: 20))
        try s.run("/fund M1", by: s.buyer)
        s.reject("/offer M1 release 600", by: s.freelancer, .badValue, reasonContains: "at most the $500.00 held")
        s.reject("/offer M1 release 0", by: s.freelancer, .syntax, reasonContains: "more than zero")
        s.reject("/offer M1 refund", by: s.moderator, .notAllowedForRole)
        // A release the buyer makes meanwhile settles the milestone; the open offer goes with it.
        try s.run("/offer M1 release 400", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        let released = try s.run("/release M1", by: s.buyer)
        #expect(released.cancels(.offerLapses(M1)))
        #expect(s.contract.offers.isEmpty)
        #expect(s.ledger.balance(.freelancer) == 50_000)
    }

    @Test("The state offers the answers to the right party")
    func offeredCommands() throws {
        var s = try disputed()
        let buyerBefore = s.contract.availableCommands(for: s.buyer, at: s.now).map(\.template)
        #expect(buyerBefore.contains("/offer M1 release <amount>") && buyerBefore.contains("/offer M1 refund"))
        try s.run("/offer M1 release 300", by: s.freelancer)
        let buyer = s.contract.availableCommands(for: s.buyer, at: s.now)
        let accept = try #require(buyer.first { $0.template == "/offer accept M1" })
        #expect(accept.movesMoney)
        #expect(buyer.contains { $0.template == "/offer decline M1" })
        #expect(!buyer.contains { $0.template == "/offer withdraw M1" })
        let freelancer = s.contract.availableCommands(for: s.freelancer, at: s.now).map(\.template)
        #expect(freelancer.contains("/offer withdraw M1") && !freelancer.contains("/offer accept M1"))
    }
}
