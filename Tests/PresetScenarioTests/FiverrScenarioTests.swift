import Foundation
import MilestoneCore
import Testing

/// seeds/fiverr-milestone-faq.txt, with bot-config/presets/fiverr.yaml.
@Suite struct FiverrScenarioTests {
    /// The seller's offer with three milestones, not placed yet (the buyer's `/placeorder` places it).
    func order() throws -> Scenario {
        let policy = try PresetFiles.policy("fiverr")
        #expect(policy.reviewPeriod == .init(days: 8, outcome: .autoComplete))
        #expect(policy.revisions == .counted(perMilestone: 2))
        var s = Scenario(policy: policy, title: "Logo design")
        // The seller's offer lists the milestones; the buyer does not add them.
        s.reject("/milestone add 100 Sketches", by: s.buyer, .notAllowedForRole, reason: "on this platform only the freelancer adds milestones")
        try s.run("/milestone add 100 Logo sketches", by: s.freelancer)
        try s.run("/milestone add 200 Final logo", by: s.freelancer)
        try s.run("/milestone add 150 Brand guide", by: s.freelancer)
        #expect(s.contract.milestones.map(\.state) == [.agreed, .agreed, .agreed])
        #expect(s.contract.milestones.map(\.revisionAllowance) == [2, 2, 2])
        #expect(s.contract.phase == .proposal)
        return s
    }

    @Test("\"Once each milestone is completed, you'll get paid\" - milestone by milestone, in order")
    func milestoneByMilestone() throws {
        var s = try order()
        let (buyer, seller) = (s.buyer, s.freelancer)

        // "Buyers will be charged for the first milestone when they place an order."
        s.reject("/fund M1", by: buyer, .wrongState)
        s.reject("/placeorder", by: seller, .notAllowedForRole, reason: "only the buyer can place the order")
        let placed = try s.run("/placeorder", by: buyer)
        #expect(placed.events == [.orderPlaced(first: M1, amount: s.contract.money(10_000)), .milestoneFunded(M1, amount: s.contract.money(10_000), automatic: true)])
        #expect(placed.postings == [LedgerPosting(kind: .hold, milestone: M1, amount: 10_000)])
        #expect(s.contract.phase == .live)
        #expect(s.ledger.balance(.held(M1)) == 10_000)
        s.reject("/placeorder", by: buyer, .wrongState, reason: "the order is already placed")
        // "Once a milestone is approved by the buyer, and the buyer initiates the next milestone, the associated
        // payment will be made." - not before.
        s.reject("/fund M2", by: buyer, .wrongState, reason: "this is a sequential order: M1 must be accepted before M2 starts")
        s.reject("/fund M3", by: buyer, .wrongState, reason: "this is a sequential order: M1 must be accepted before M3 starts")

        try s.run("/submit M1 three directions attached", by: seller)
        s.reject("/fund M2", by: buyer, .wrongState, reason: "this is a sequential order: M1 must be accepted before M2 starts")
        // "1. When will I get paid? Once each milestone is completed, you'll get paid."
        try s.run("/release M1", by: buyer)
        #expect(s.ledger.balance(.freelancer) == 10_000)
        #expect(s.contract.phase == .live)

        // "... and the buyer initiates the next milestone, the associated payment will be made."
        try s.run("/fund M2", by: buyer)
        #expect(s.ledger.balance(.held(M2)) == 20_000)
        s.reject("/fund M3", by: buyer, .wrongState, reason: "this is a sequential order: M2 must be accepted before M3 starts")
        try s.run("/submit M2", by: seller)
        try s.run("/release M2", by: buyer)
        try s.run("/fund M3", by: buyer)
        try s.run("/submit M3", by: seller)
        let last = try s.run("/release M3", by: buyer)
        // complete_automatically: the order completes when its last milestone is accepted.
        #expect(last.eventNames == ["milestone_released", "contract_completed"])
        #expect(s.contract.phase == .completed)
        #expect(s.ledger.balance(.freelancer) == 45_000)
        #expect(s.ledger.balance(.buyer) == -45_000)

        try s.run("/review 5 exactly what we needed", by: buyer)
        try s.run("/review 5 great buyer", by: seller)
    }

    @Test("\"Revisions are defined per milestone and can be used in each step of the order.\"")
    func countedRevisionsPerMilestone() throws {
        var s = try order()
        let (buyer, seller) = (s.buyer, s.freelancer)
        try s.run("/placeorder", by: buyer)
        try s.run("/submit M1", by: seller)

        // "Buyers will have 8 days from the delivery of each milestone to request a revision or accept a milestone"
        let first = try s.run("/revise M1 try a serif font", by: buyer)
        #expect(first.events == [.revisionRequested(M1, feedback: "try a serif font", used: 1, allowance: 2)])
        try s.run("/submit M1 serif version", by: seller)
        let second = try s.run("/revise M1 darker blue", by: buyer)
        #expect(second.events == [.revisionRequested(M1, feedback: "darker blue", used: 2, allowance: 2)])
        try s.run("/submit M1 darker", by: seller)
        // The allowance is used up for M1.
        let refused = s.reject("/revise M1 one more thing", by: buyer, .wrongState, reason: "M1 has used all 2 of its revisions")
        #expect(refused?.suggestion == "/release M1 to accept it, or /dispute M1 <reason>.")
        try s.run("/release M1", by: buyer)

        // "... can be used in each step of the order": M2 has its own two.
        try s.run("/fund M2", by: buyer)
        try s.run("/submit M2", by: seller)
        #expect(try s.milestone(M2).revisionsUsed == 0)
        try s.run("/revise M2 bigger wordmark", by: buyer)
        #expect(try s.milestone(M2).revisionsUsed == 1)
        #expect(try s.milestone(M1).revisionsUsed == 2)
    }

    @Test("\"Buyers will have 8 days from the delivery of each milestone ... If they don't, the order will stop, and be marked as completed.\"")
    func autoCompleteAfterEightDays() throws {
        var s = try order()
        let (buyer, seller) = (s.buyer, s.freelancer)
        try s.run("/placeorder", by: buyer)
        try s.run("/submit M1", by: seller)
        try s.run("/release M1", by: buyer)
        try s.run("/fund M2", by: buyer)
        let delivered = try s.run("/submit M2 final files", by: seller)
        let ends = s.now.addingTimeInterval(8 * Scenario.day)
        #expect(delivered.arms(.reviewEnds(M2), at: ends))
        #expect(delivered.events == [.workSubmitted(M2, note: "final files", reviewEnds: ends, outcome: .autoComplete)])

        // Reminders before the 8 days pass.
        s.now = ends.addingTimeInterval(-1 * Scenario.day)
        #expect(try s.fire(.reviewReminder(M2, daysBefore: 1)).events == [.reviewReminder(M2, endsAt: ends, outcome: .autoComplete)])
        s.now = ends.addingTimeInterval(-60)
        #expect(try s.fire(.reviewEnds(M2)).isEmpty)

        // "If they don't, the order will stop, and be marked as completed."
        s.now = ends
        let stopped = try s.fire(.reviewEnds(M2))
        #expect(stopped.events == [
            .milestoneReleased(M2, amount: s.contract.money(20_000), automatic: true),
            .orderStoppedByItself(after: M2, cancelled: [M3]),
            .contractCompleted(automatic: true),
        ])
        // The buyer did nothing; the transcript says what happened, not that the buyer stopped it.
        let said = stopped.events.map(\.text).joined(separator: " ")
        #expect(!said.contains("Buyer stopped"))
        #expect(said.contains("the order stopped by itself and is marked as completed"))
        #expect(s.state(M2) == .released)
        #expect(s.state(M3) == .cancelled)
        #expect(s.contract.phase == .completed)
        #expect(s.ledger.balance(.freelancer) == 30_000)
        #expect(s.ledger.balance(.held(M3)) == 0)
        // The order does not continue.
        s.reject("/fund M3", by: buyer, .contractClosed)
        #expect(try s.fire(.reviewEnds(M2)).isEmpty)
        try s.run("/review 4 good, a bit slow", by: buyer)
    }

    @Test("A revision request within the 8 days restarts them from the next delivery")
    func revisionRestartsTheEightDays() throws {
        var s = try order()
        try s.run("/placeorder", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        let firstEnds = s.now.addingTimeInterval(8 * Scenario.day)
        s.advance(days: 7)
        // "... to request a revision or accept a milestone and continue to the next one."
        let revised = try s.run("/revise M1 swap the colours", by: s.buyer)
        #expect(revised.cancels(.reviewEnds(M1)))
        #expect(revised.cancels(.reviewReminder(M1, daysBefore: 3)))
        s.advance(days: 2)
        try s.run("/submit M1 swapped", by: s.freelancer)
        // The first delivery's deadline no longer completes anything.
        #expect(s.now > firstEnds)
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(s.contract.phase == .live)
        s.advance(days: 8)
        #expect(try s.fire(.reviewEnds(M1)).eventNames == ["milestone_released", "order_stopped_by_itself", "contract_completed"])
        #expect(s.ledger.balance(.freelancer) == 10_000)
    }

    @Test("\"Buyers can choose to stop a milestone order after each milestone is accepted\" ... \"they won't be able to resume it\"")
    func buyerStopsTheOrder() throws {
        var s = try order()
        let (buyer, seller) = (s.buyer, s.freelancer)
        // Not before a milestone has been accepted.
        s.reject("/stop", by: buyer, .wrongState, reason: "an order can be stopped only after a milestone has been accepted")
        try s.run("/placeorder", by: buyer)
        try s.run("/submit M1", by: seller)
        s.reject("/stop", by: buyer, .wrongState, reason: "an order can be stopped only after a milestone has been accepted")
        try s.run("/release M1", by: buyer)
        try s.run("/fund M2", by: buyer)
        // "after each milestone is accepted": not while the next one is running.
        s.reject("/stop", by: buyer, .wrongState, reason: "M2 is funded ($200.00 held) and in progress; stop the order after it is accepted")
        try s.run("/submit M2", by: seller)
        try s.run("/release M2", by: buyer)

        // "Buyers can choose to stop a milestone order after each milestone is accepted"
        s.reject("/stop", by: seller, .notAllowedForRole, reason: "only the buyer can stop the order")
        s.reject("/stop now", by: buyer, .syntax)
        let stopped = try s.run("/stop", by: buyer)
        // "it doesn't cancel the previous delivery. It does stop the order from continuing to the next milestone."
        #expect(stopped.events == [.orderStopped(cancelled: [M3]), .contractCompleted(automatic: true)])
        #expect(stopped.postings.isEmpty)
        #expect(s.state(M1) == .released)
        #expect(s.state(M2) == .released)
        #expect(s.state(M3) == .cancelled)
        // "You'll be paid for the completed milestones after the order is marked as completed."
        #expect(s.contract.phase == .completed)
        #expect(s.ledger.balance(.freelancer) == 30_000)

        // "Once a buyer stops an order, they won't be able to resume it."
        s.reject("/fund M3", by: buyer, .contractClosed, reason: "this contract is complete")
        s.reject("/stop", by: buyer, .contractClosed)
        s.reject("/milestone add 150 Brand guide again", by: seller, .contractClosed)
        try s.run("/review 5 fair buyer", by: seller)
    }

    @Test("\"a milestone within an order, or the whole order, can be canceled through the Resolution Center or through Customer Support\"")
    func cancelViaSupport() throws {
        var s = try order()
        let (buyer, seller, support) = (s.buyer, s.freelancer, s.moderator)
        try s.run("/placeorder", by: buyer)
        try s.run("/submit M1", by: seller)
        try s.run("/release M1", by: buyer)
        try s.run("/fund M2", by: buyer)

        // "... can be canceled through the Resolution Center or through Customer Support, for valid reasons."
        s.reject("/cancel M2", by: seller, .notAllowedForRole, reason: "only the moderator can cancel a funded milestone here")
        let refused = s.reject("/cancel M2", by: buyer, .notAllowedForRole, reason: "only the moderator can cancel a funded milestone here")
        #expect(refused?.suggestion == "Ask a moderator, or /dispute it.")
        let cancelled = try s.run("/cancel M2", by: support)
        #expect(cancelled.events == [.milestoneCancelled(M2, by: .moderator, refunded: s.contract.money(20_000))])
        #expect(s.state(M2) == .refunded)
        #expect(s.ledger.balance(.buyer) == -10_000)
        #expect(s.ledger.balance(.freelancer) == 10_000)

        // "Even if a milestone order has been canceled but at least one milestone was completed in the order, the order
        // will still be considered as completed." Support cancels the unstarted M3 (the seller cannot, once the
        // order is placed); M1 was completed.
        s.reject("/milestone delete M3", by: seller, .policyForbids)
        try s.run("/milestone delete M3", by: support)
        #expect(s.contract.phase == .completed)
        try s.run("/review 4 good work on the sketches", by: buyer)
    }

    @Test("A dispute in the Resolution Center freezes the 8-day clock; support decides", arguments: ["release", "refund", "split 50"])
    func disputeResolution(ruling: String) throws {
        var s = try order()
        try s.run("/placeorder", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        let ends = s.now.addingTimeInterval(8 * Scenario.day)
        s.advance(days: 1)
        try s.run("/dispute M1 the files are not vector", by: s.buyer)
        s.now = ends
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(s.contract.phase == .live)
        s.reject("/stop", by: s.buyer, .wrongState)
        try s.run("/resolve M1 \(ruling) ruling from the Resolution Center", by: s.moderator)
        let expected: Int64 = switch ruling {
        case "release": 10_000
        case "refund": 0
        default: 5_000
        }
        #expect(s.ledger.balance(.freelancer) == expected)
        #expect(s.ledger.balance(.buyer) == -expected)
        #expect(s.ledger.balance(.held(M1)) == 0)
    }

    @Test("\"Once a milestone is approved by the buyer, and the buyer initiates the next milestone\" - a bare /fund means the next milestone")
    func impliedFundIsTheNextMilestone() throws {
        var s = try order()
        try s.run("/placeorder", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/release M1", by: s.buyer)
        // In a sequential order only M2 can be funded now, so a bare /fund means M2.
        try s.run("/fund", by: s.buyer)
        #expect(s.state(M2) == .funded)
    }

    @Test("\"Even if a milestone order has been canceled but at least one milestone was completed in the order, the order will still be considered as completed.\"")
    func cancelledOrderWithACompletedMilestoneIsCompleted() throws {
        var s = try order()
        try s.run("/placeorder", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/release M1", by: s.buyer)
        try s.run("/fund M2", by: s.buyer)
        let cancelled = try s.run("/cancel order the seller stopped answering", by: s.moderator)
        #expect(cancelled.events == [.orderCancelled(reason: "the seller stopped answering", refunded: s.contract.money(20_000), cancelled: [M3], completed: true)])
        #expect(s.ledger.balance(.held(M2)) == 0)
        #expect(s.contract.milestones.map(\.state) == [.released, .refunded, .cancelled])
        #expect(s.contract.phase == .completed)
        #expect(s.ledger.balance(.freelancer) == 10_000 && s.ledger.balance(.buyer) == -10_000)
        try s.run("/review 3 the first part was good", by: s.buyer)
    }

    @Test("A cancelled order with no milestone completed is cancelled, not completed, and has no reviews")
    func cancelledOrderWithNothingCompletedIsCancelled() throws {
        var s = try order()
        try s.run("/placeorder", by: s.buyer)
        try s.run("/dispute M1 nothing was delivered", by: s.buyer)
        let cancelled = try s.run("/cancel order nothing was delivered", by: s.moderator)
        #expect(cancelled.events == [.orderCancelled(reason: "nothing was delivered", refunded: s.contract.money(10_000), cancelled: [M2, M3], completed: false)])
        #expect(s.contract.phase == .cancelled)
        #expect(s.ledger.balance(.buyer) == 0)
        s.reject("/review 1 nothing", by: s.buyer, .contractClosed, reason: "this order was cancelled")
        s.reject("/fund M2", by: s.buyer, .contractClosed, reason: "this order was cancelled")
    }

    @Test("The seller may withdraw an unstarted milestone from the offer before it is paid")
    func deleteBeforeFunding() throws {
        var s = try order()
        s.reject("/milestone delete M3", by: s.buyer, .notAllowedForRole, reason: "only the freelancer, who created M3, can delete it")
        try s.run("/milestone delete M3", by: s.freelancer)
        #expect(s.state(M3) == .cancelled)
        try s.run("/placeorder", by: s.buyer)
        s.reject("/milestone delete M1", by: s.freelancer, .wrongState)
        #expect(s.ledger.balance(.held(M1)) == 10_000)
    }

    @Test("\"8 days from the delivery of each milestone to ... accept a milestone and continue to the next one. If they don't, the order will stop\"")
    func acceptedButNotContinued() throws {
        var s = try order()
        let (buyer, seller) = (s.buyer, s.freelancer)
        try s.run("/placeorder", by: buyer)
        let delivered = try s.run("/submit M1", by: seller)
        let ends = s.now.addingTimeInterval(8 * Scenario.day)
        #expect(delivered.arms(.reviewEnds(M1), at: ends))
        // Accepted on day 2, but the next milestone is never started: the delivery's clock keeps running.
        s.advance(days: 2)
        let accepted = try s.run("/release M1", by: buyer)
        #expect(accepted.arms(.reviewEnds(M1), at: ends))
        s.now = ends
        let stopped = try s.fire(.reviewEnds(M1))
        #expect(stopped.events == [.orderStoppedByItself(after: M1, cancelled: [M2, M3]), .contractCompleted(automatic: true)])
        #expect(!stopped.events.map(\.text).joined().contains("Buyer stopped"))
        #expect(s.contract.phase == .completed)
        #expect(s.ledger.balance(.freelancer) == 10_000)
    }

    @Test("\"... and the buyer initiates the next milestone\" in time: the order goes on")
    func acceptedAndContinued() throws {
        var s = try order()
        let (buyer, seller) = (s.buyer, s.freelancer)
        try s.run("/placeorder", by: buyer)
        try s.run("/submit M1", by: seller)
        let ends = s.now.addingTimeInterval(8 * Scenario.day)
        try s.run("/release M1", by: buyer)
        try s.run("/fund M2", by: buyer)
        s.now = ends
        #expect(try s.fire(.reviewEnds(M1)).isEmpty)
        #expect(s.contract.phase == .live)
        #expect(s.state(M2) == .funded)
    }

    @Test("\"the whole order, can be canceled through the Resolution Center or through Customer Support, for valid reasons\": one command, a moderator's")
    func supportCancelsTheWholeOrderInOneCommand() throws {
        var s = try order()
        try s.run("/placeorder", by: s.buyer)
        s.reject("/cancel order I changed my mind", by: s.buyer, .notAllowedForRole, reason: "only a moderator can cancel the whole order")
        s.reject("/cancel order done", by: s.freelancer, .notAllowedForRole, reason: "only a moderator can cancel the whole order")
        try s.run("/cancel order payment problem on the buyer's side", by: s.moderator)
        #expect(s.contract.milestones.map(\.state) == [.refunded, .cancelled, .cancelled])
        #expect(s.ledger.balance(.buyer) == 0)
        #expect(s.contract.phase == .cancelled)
    }

    @Test("\"Revisions are defined per milestone\": the seller's offer sets each milestone's own allowance")
    func eachMilestoneCarriesItsOwnRevisions() throws {
        var s = Scenario(policy: try PresetFiles.policy("fiverr"), title: "Video")
        try s.run("/milestone add 100 Storyboard revisions 5", by: s.freelancer)
        try s.run("/milestone add 300 Animation revisions 0 due 2099-01-01", by: s.freelancer)
        try s.run("/milestone add 50 Voice over", by: s.freelancer)
        #expect(s.contract.milestones.map(\.revisionAllowance) == [5, 0, 2])
        #expect(try s.milestone(M2).dueDate == DueDate(year: 2099, month: 1, day: 1))
        #expect(try s.milestone(M1).description == "Storyboard")
        s.reject("/milestone add 10 Extra revisions 101", by: s.freelancer, .syntax, reasonContains: "not a number of revisions")
        try s.run("/placeorder", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        for n in 1...5 {
            try s.run("/revise M1 change \(n)", by: s.buyer)
            try s.run("/submit M1", by: s.freelancer)
        }
        s.reject("/revise M1 one more", by: s.buyer, .wrongState, reason: "M1 has used all 5 of its revisions")
    }

    @Test("\"Buyers will be charged for the first milestone when they place an order\": once placed, the seller cannot reprice the order alone")
    func aPlacedOrdersTermsChangeOnlyWithTheBuyersAgreement() throws {
        var s = try order()
        let (buyer, seller) = (s.buyer, s.freelancer)
        // Before the order is placed, the offer is the seller's to shape.
        try s.run("/milestone edit M2 amount 250", by: seller)
        #expect(s.state(M2) == .agreed)
        try s.run("/placeorder", by: buyer)
        try s.run("/submit M1", by: seller)
        try s.run("/release M1", by: buyer)

        // After: the seller's new price waits for the buyer, and the buyer's /fund is refused until then.
        let edited = try s.run("/milestone edit M2 amount 900", by: seller)
        #expect(edited.events == [.milestoneEdited(M2, by: .freelancer, amount: s.contract.money(90_000), description: "Final logo", due: nil, awaiting: .buyer)])
        #expect(s.state(M2) == .proposed(awaiting: .buyer, requested: false))
        let refused = s.reject("/fund M2", by: buyer, .wrongState, reason: "M2's terms changed after the order was placed (now $900.00); they wait for your agreement")
        #expect(refused?.suggestion == "/approve M2 to agree to them, then /fund M2; or ask the seller in the chat.")
        #expect(s.ledger.balance(.held(M2)) == 0)
        // The buyer does not agree: the seller puts the old price back, and that too needs the buyer.
        try s.run("/milestone edit M2 amount 250", by: seller)
        try s.run("/approve M2", by: buyer)
        let funded = try s.run("/fund M2", by: buyer)
        #expect(funded.postings == [LedgerPosting(kind: .hold, milestone: M2, amount: 25_000)])

        // A new milestone and a deletion by the seller alone are refused the same way.
        let added = try s.run("/milestone add 80 Social media kit", by: seller)
        #expect(added.events.first?.name == "milestone_added")
        #expect(s.state(MilestoneNumber(4)) == .proposed(awaiting: .buyer, requested: false))
        s.reject("/milestone delete M3", by: seller, .policyForbids, reasonContains: "the order is placed")
        // Support can still cancel a milestone of the order.
        try s.run("/milestone delete M3", by: s.moderator)
        #expect(s.state(M3) == .cancelled)
    }

    @Test("The state and the commands show the order before and after it is placed")
    func placingTheOrderIsOfferedWithItsCharge() throws {
        var s = try order()
        let before = s.contract.availableCommands(for: s.buyer, at: s.now)
        let place = try #require(before.first { $0.template == "/placeorder" })
        #expect(place.movesMoney)
        #expect(place.summary.contains("M1 ($100.00) is charged now"))
        #expect(!before.contains { $0.template.hasPrefix("/fund") })
        try s.run("/placeorder", by: s.buyer)
        #expect(!s.contract.availableCommands(for: s.buyer, at: s.now).contains { $0.template == "/placeorder" })
    }
}
