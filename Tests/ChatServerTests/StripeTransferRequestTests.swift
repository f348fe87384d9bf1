import Foundation
import MilestoneCore
import Payments
import Synchronization
import Testing

/// localstripe does not implement Transfers (nor `transfer_group` on PaymentIntents), so the
/// charge-and-transfer mode is checked at the HTTP request level against `StripeRequestRecorder`.
@Suite struct StripeTransferRequestLevelTests {
    static let parties = PaymentParties(customer: "cus_buyer", paymentMethod: "pm_card", payoutAccount: "acct_freelancer")

    static func processor(_ base: URL) -> StripeProcessor {
        StripeProcessor(settings: StripeSettings(secretKey: "sk_test_recorder", apiBase: base, mode: .chargeAndTransfer))
    }

    @Test func chargeAndTransferModeChargesWithATransferGroupAndPaysByTransferOnceEvenWhenRetried() async throws {
        let recorder = StripeRequestRecorder()
        try await recorder.run { base in
            let processor = Self.processor(base)
            // Funding: a PaymentIntent charged now (automatic capture) in the contract's transfer group.
            let fund = try PaymentPlan(operation: "alice/fund-1", postings: [LedgerPosting(kind: .hold, milestone: MilestoneNumber(1), amount: 50_000)],
                contract: "c-1", currency: .usd, parties: Self.parties, holds: [:], mode: .chargeAndTransfer)
            #expect(fund.calls.count == 1)
            let checkpoints = Mutex<[String]>([])
            let held = try await processor.perform(fund.calls[0], retrying: false, checkpoint: nil) { value in checkpoints.withLock { $0.append(value) } }
            let hold = try #require(held.hold)
            #expect(hold.kind == .charge && hold.expiresAt == nil && hold.paymentIntent == "pi_rec_1")
            #expect(checkpoints.withLock { $0 } == ["pi_rec_1"])
            let create = try #require(recorder.posts.first { $0.path == "/v1/payment_intents" })
            #expect(create.form["capture_method"] == "automatic")
            #expect(create.form["transfer_group"] == "contract_c-1")
            #expect(create.form["amount"] == "50000" && create.form["currency"] == "usd")
            #expect(create.form["payment_method"] == "pm_card" && create.form["customer"] == "cus_buyer")
            #expect(create.authorization == "Bearer sk_test_recorder")
            #expect(create.idempotencyKey?.hasPrefix("milestone-bot-") == true)

            // Release: a Transfer to the freelancer's connected account, from the same group.
            let release = try PaymentPlan(operation: "alice/release-1", postings: [LedgerPosting(kind: .post, milestone: MilestoneNumber(1), amount: 50_000)],
                contract: "c-1", currency: .usd, parties: Self.parties, holds: [MilestoneNumber(1): hold], mode: .chargeAndTransfer)
            #expect(release.calls.map(\.call.verb) == ["transfer"])
            let paid = try await processor.perform(release.calls[0], retrying: false, checkpoint: nil) { _ in }
            #expect(paid.reference.hasPrefix("tr_rec_"))
            let transfer = try #require(recorder.posts.last)
            #expect(transfer.path == "/v1/transfers")
            #expect(transfer.form["destination"] == "acct_freelancer" && transfer.form["amount"] == "50000")
            #expect(transfer.form["transfer_group"] == "contract_c-1" && transfer.form["metadata[operation]"] == release.calls[0].key)
            // Keys derive from the command id, so planning the same command again gives the same keys.
            #expect(release.calls[0].key == "alice/release-1/M1/transfer")
            #expect(Set(recorder.posts.compactMap(\.idempotencyKey)).count == recorder.posts.count)

            // A retry after a crash looks first, finds the tagged transfer, and does not pay again.
            let again = try await processor.perform(release.calls[0], retrying: true, checkpoint: nil) { _ in }
            #expect(again.reference == "tr_listed_0")
            #expect(recorder.posts.filter { $0.path == "/v1/transfers" }.count == 1)
            let lookup = try #require(recorder.requests.withLock { $0.last })
            #expect(lookup.method == "GET" && lookup.form["transfer_group"] == "contract_c-1")
        }
    }

    @Test func aSplitOfAChargeRefundsThePartForTheBuyerAndTransfersTheRest() async throws {
        let recorder = StripeRequestRecorder()
        try await recorder.run { base in
            let hold = ProcessorHold(milestone: MilestoneNumber(2), kind: .charge, paymentIntent: "pi_rec_1", amount: 30_000, createdAt: Date(), expiresAt: nil)
            let split = try PaymentPlan(operation: "mia/resolve-2", postings: [
                LedgerPosting(kind: .post, milestone: MilestoneNumber(2), amount: 12_000), LedgerPosting(kind: .void, milestone: MilestoneNumber(2), amount: 18_000),
            ], contract: "c-1", currency: .usd, parties: Self.parties, holds: [MilestoneNumber(2): hold], mode: .chargeAndTransfer)
            #expect(split.calls.map(\.call.verb) == ["refund", "transfer"])
            for call in split.calls { _ = try await Self.processor(base).perform(call, retrying: false, checkpoint: nil) { _ in } }
            let refund = try #require(recorder.posts.first { $0.path == "/v1/refunds" })
            #expect(refund.form["payment_intent"] == "pi_rec_1" && refund.form["amount"] == "18000")
            let transfer = try #require(recorder.posts.first { $0.path == "/v1/transfers" })
            #expect(transfer.form["amount"] == "12000" && transfer.form["destination"] == "acct_freelancer")
            #expect(Set(recorder.posts.compactMap(\.idempotencyKey)).count == 2)
        }
    }

    /// A bonus is held and paid in one step: in either mode it is charged at once (automatic capture, in the
    /// contract's transfer group) and then transferred whole to the freelancer.
    @Test(arguments: [HoldMode.authorizeAndCapture, .chargeAndTransfer])
    func aBonusIsChargedAtOnceAndTransferredWhole(mode: HoldMode) async throws {
        let recorder = StripeRequestRecorder()
        try await recorder.run { base in
            let bonus = MilestoneNumber(3)
            let plan = try PaymentPlan(operation: "alice/bonus-1", postings: [
                LedgerPosting(kind: .hold, milestone: bonus, amount: 5_000), LedgerPosting(kind: .post, milestone: bonus, amount: 5_000),
            ], contract: "c-1", currency: .usd, parties: Self.parties, holds: [:], mode: mode)
            #expect(plan.calls.map(\.call.verb) == ["hold", "transfer"])
            let processor = StripeProcessor(settings: StripeSettings(secretKey: "sk_test_recorder", apiBase: base, mode: mode))
            // As the payment desk runs them: the transfer learns the charge the hold made.
            var results: [PaymentResult] = []
            for call in plan.calls { results.append(try await processor.perform(call.naming(chargesIn: results), retrying: false, checkpoint: nil) { _ in }) }
            let create = try #require(recorder.posts.first { $0.path == "/v1/payment_intents" })
            #expect(create.form["capture_method"] == "automatic" && create.form["amount"] == "5000")
            // The group ties a charge-and-transfer mode's transfers to their charges; none otherwise.
            #expect(create.form["transfer_group"] == (mode == .chargeAndTransfer ? "contract_c-1" : nil))
            let transfer = try #require(recorder.posts.first { $0.path == "/v1/transfers" })
            #expect(transfer.form["amount"] == "5000" && transfer.form["destination"] == "acct_freelancer")
            // Paid from the bonus's own charge: no waiting for the platform's balance to clear.
            #expect(transfer.form["metadata[payment_intent]"] == "pi_rec_1" && transfer.form["source_transaction"] == "ch_rec_1")
            // Without a payout account, the charge alone (the platform pays out another way).
            let unpaid = try PaymentPlan(operation: "alice/bonus-2", postings: [
                LedgerPosting(kind: .hold, milestone: bonus, amount: 5_000), LedgerPosting(kind: .post, milestone: bonus, amount: 5_000),
            ], contract: "c-1", currency: .usd, parties: PaymentParties(customer: "cus_buyer", paymentMethod: "pm_card"), holds: [:], mode: mode)
            #expect(unpaid.calls.map(\.call.verb) == ["hold"])
        }
    }
}
