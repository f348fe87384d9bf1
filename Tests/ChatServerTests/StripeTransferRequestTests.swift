import Foundation
import Hummingbird
import Logging
import MilestoneCore
import Payments
import ServiceLifecycle
import Synchronization
import Testing

/// localstripe does not implement Transfers (nor `transfer_group` on PaymentIntents), so the
/// charge-and-transfer mode is checked at the HTTP request level: a recorder on loopback plays the few
/// Stripe endpoints involved and keeps every request, and the tests read what the client sent.
final class StripeRequestRecorder: Sendable {
    struct Recorded: Sendable {
        var method: String
        var path: String
        var form: [String: String]
        var idempotencyKey: String?
        var authorization: String?
    }

    let requests = Mutex<[Recorded]>([])
    /// While true, every request gets 503 (an outage); it is still recorded.
    let down = Mutex(false)

    var posts: [Recorded] { requests.withLock { $0.filter { $0.method == "POST" } } }

    static func form(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        return form
    }

    func run<T: Sendable>(_ body: @Sendable (URL) async throws -> T) async throws -> T {
        let router = Router()
        router.post("**") { request, _ -> Response in try await self.answer(request) }
        router.get("**") { request, _ -> Response in try await self.answer(request) }
        return try await LoopbackHTTP.serve(router, label: "stripe-recorder", body)
    }

    private func answer(_ request: Request) async throws -> Response {
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
        let path = request.uri.path
        let recorded = Recorded(
            method: request.method.rawValue, path: path, form: Self.form(request.method == .get ? (request.uri.query ?? "") : body),
            idempotencyKey: request.headers[.init("Idempotency-Key")!], authorization: request.headers[.authorization])
        let earlier = requests.withLock { requests in
            defer { requests.append(recorded) }
            return requests
        }
        if down.withLock({ $0 }) {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"down for maintenance"}}"#)))
        }
        let manual = earlier.last { $0.path == "/v1/payment_intents" }?.form["capture_method"] == "manual"
        let json: String
        switch (request.method, path) {
        case (.post, "/v1/payment_intents"):
            json = #"{"id":"pi_rec_1","object":"payment_intent","status":"requires_confirmation","created":1800000000}"#
        case (.post, "/v1/payment_intents/pi_rec_1/confirm"):
            json = #"{"id":"pi_rec_1","object":"payment_intent","status":"\#(manual ? "requires_capture" : "succeeded")","created":1800000000}"#
        case (.post, "/v1/transfers"):
            json = #"{"id":"tr_rec_\#(earlier.count)","object":"transfer","amount":\#(recorded.form["amount"] ?? "0")}"#
        case (.post, "/v1/refunds"):
            json = #"{"id":"re_rec_\#(earlier.count)","object":"refund","status":"succeeded"}"#
        case (.get, "/v1/transfers"):
            let made = earlier.filter { $0.method == "POST" && $0.path == "/v1/transfers" && $0.form["transfer_group"] == recorded.form["transfer_group"] }
            let items = made.enumerated().map { #"{"id":"tr_listed_\#($0.offset)","object":"transfer","metadata":{"operation":"\#($0.element.form["metadata[operation]"] ?? "")"}}"# }
            json = #"{"object":"list","data":[\#(items.joined(separator: ","))]}"#
        default:
            return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"not recorded: \#(path)"}}"#)))
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}

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
}

/// The processor down for a while: the command is kept, the client hears `payment_pending`, and the payment
/// service completes it once the processor answers again, exactly once.
@Suite struct PaymentOutageTests {
    @Test func aCommandWhosePaymentCannotBeMadeNowIsCompletedWhenTheProcessorComesBack() async throws {
        let recorder = StripeRequestRecorder()
        try await recorder.run { base in
            let settings = TestServer.settings {
                $0.processor = "stripe"
                $0.stripe.secretKey = "sk_test_recorder"
                $0.stripe.apiBase = base
                $0.stripe.retryInterval = 1
            }
            try await TestServer.with(settings: settings, clock: TestClock(start: Date())) { server in
                try server.contract(preset: "freelancer-com", milestones: [MilestoneDraft(amount: 50_000, description: "Design")])
                try server.database.setPaymentParties(PaymentParties(customer: "cus_buyer", paymentMethod: "pm_card"), of: "c-1")
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await alice.join("c-1")
                recorder.down.withLock { $0 = true }
                let answer = try await alice.say("/fund M1", id: "fund-1")
                guard case .error(let error) = answer else { Issue.record("expected payment_pending, got \(answer)"); return }
                #expect(error.code == "payment_pending", "\(error)")
                #expect(try server.database.ledgerEntries(of: "c-1").isEmpty)
                #expect(try await server.database.pendingPayments().count == 1)
                // Another money command on the contract waits for this one.
                let second = try await alice.say("/fund M1", id: "fund-2")
                if case .error(let error) = second { #expect(error.code == "payment_pending") } else { Issue.record("\(second)") }

                recorder.down.withLock { $0 = false }
                try await DeadlineTests.waitForMessage(server, containing: "after an interruption", timeout: 10)
                let entries = try server.database.ledgerEntries(of: "c-1")
                #expect(entries.count == 1 && entries[0].processorReference == "pi_rec_1")
                #expect(recorder.posts.filter { $0.path == "/v1/payment_intents" }.count >= 1)
                #expect(try await server.database.pendingPayments().isEmpty)
                // The client resends the line it never got an ack for: the stored receipt.
                let resent = try await alice.say("/fund M1", id: "fund-1")
                #expect(resent.ackOutcome == "applied" && resent.ackDuplicate == true, "\(resent)")
                await alice.close()
            }
        }
    }
}
