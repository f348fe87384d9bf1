import ChatServer
import Crypto
import Foundation
import FoundationNetworking
import MilestoneCore
import NIOWebSocket
import Payments
@testable import Storage
import Testing

/// The `stripe` processor against localstripe (a stateful fake Stripe server, started per test): real
/// PaymentIntents for fund, release, refund and split; declined cards; localstripe's own signed webhooks;
/// tampered, stale and replayed webhooks; a crash between the processor call and the commit; expiring
/// card authorizations.
@Suite(.serialized) struct StripePaymentTests {
    static let webhookSecret = "whsec_test_milestone_bot_0123456789"

    static func settings(_ stripe: LocalStripe, adjust: (inout ServerSettings) -> Void = { _ in }) -> ServerSettings {
        TestServer.settings {
            $0.processor = "stripe"
            $0.stripe.secretKey = LocalStripe.secretKey
            $0.stripe.apiBase = stripe.base
            $0.stripe.webhookSecret = webhookSecret
            $0.stripe.retryInterval = 1
            adjust(&$0)
        }
    }

    /// A Freelancer.com-style contract (release without submission, the freelancer can return money) with
    /// three $500, $300 and $200 milestones and the buyer's card on file.
    static func contract(_ server: TestServer, _ stripe: LocalStripe, card: String = "4242424242424242") async throws -> (customer: String, paymentMethod: String) {
        try server.contract(preset: "freelancer-com", milestones: [
            MilestoneDraft(amount: 50_000, description: "Design"), MilestoneDraft(amount: 30_000, description: "Build"),
            MilestoneDraft(amount: 20_000, description: "Launch"),
        ])
        let card = try await stripe.customerWithCard(card)
        try server.database.setPaymentParties(PaymentParties(customer: card.customer, paymentMethod: card.paymentMethod), of: "c-1")
        return card
    }

    static func intent(_ server: TestServer, _ milestone: Int) throws -> String {
        let entries = try server.database.ledgerEntries(of: "c-1")
        let hold = try #require(entries.first { $0.posting.kind == .hold && $0.posting.milestone == MilestoneNumber(milestone) })
        return try #require(hold.processorReference)
    }

    /// Chat lines skip the payment desk (only money commands take a contract's lock), so with the Stripe
    /// processor on, the lines of one busy thread still share commits. A connection's lines are stored one
    /// after the other, so sharing is across connections. To be independent of the machine's speed, the
    /// writer is held busy while 20 connections of the thread's two parties each send a line: the lines
    /// wait together and must commit together (a few commits per round, not 20). When every line took the
    /// contract's desk lock across its commit, as before, each was its own commit.
    @Test func chatLinesOfOneThreadShareGroupCommitsWithStripeOn() async throws {
        try await LocalStripe.with { stripe in
            let settings = Self.settings(stripe) {
                $0.limits.messagesPerSecond = 100_000
                $0.limits.messageBurst = 100_000
                $0.limits.maxConnectionsPerUser = 20
            }
            try await TestServer.with(settings: settings) { server in
                _ = try await Self.contract(server, stripe)
                var clients: [TestClient] = []
                for user in ["alice", "bob"] {
                    for _ in 0..<10 {
                        let client = try await TestClient.connect(server, token: try await server.token(user))
                        _ = try await client.join("c-1")
                        clients.append(client)
                    }
                }
                let rounds = 5
                for round in 0..<rounds {
                    let busy = Task { try await server.database.writer.write { _ in Thread.sleep(forTimeInterval: 1.5) } }
                    try await Task.sleep(for: .milliseconds(50))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (n, client) in clients.enumerated() {
                            group.addTask { try await client.send(.send(thread: "c-1", id: "\(round)-\(n)", text: "round \(round) from \(n)")) }
                        }
                        try await group.waitForAll()
                    }
                    try await busy.value
                    for client in clients {
                        let ack = try await client.next(timeout: 20) { if case .ack = $0 { true } else { false } }
                        #expect(ack.ackOutcome == "chat")
                    }
                }
                // A money command goes through the desk, as its own commit.
                #expect(try await clients[0].say("/fund M1").ackOutcome == "applied")
                let (metrics, _) = try await AccessTests.get("\(server.baseURL)/metrics")
                let lines = try #require(Self.counter("lines_committed_total", in: metrics))
                let commits = try #require(Self.counter("line_commits_total", in: metrics))
                #expect(lines == Double(clients.count * rounds + 1))
                // Per round: at most the line that reached the writer first, then the rest together (3 allows
                // a straggler); plus the /fund.
                #expect(commits <= Double(3 * rounds + 1), "\(Int(lines)) lines in \(Int(commits)) commits")
                for client in clients { await client.close() }
            }
        }
    }

    /// The value of an unlabelled counter in Prometheus text.
    static func counter(_ name: String, in metrics: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix("\(name) ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func fundReleaseRefundAndSplitRunThroughRealPaymentIntents() async throws {
        try await LocalStripe.with { stripe in
            try await TestServer.with(settings: Self.settings(stripe), clock: TestClock(start: Date())) { server in
                _ = try await Self.contract(server, stripe)
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                let bob = try await TestClient.connect(server, token: try await server.token("bob"))
                let moderator = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator"))
                _ = try await alice.join("c-1")
                _ = try await bob.join("c-1")
                _ = try await moderator.join("c-1")

                for m in 1...3 { #expect(try await alice.say("/fund M\(m)").ackOutcome == "applied") }
                var intents: [String] = []
                for m in 1...3 {
                    let id = try Self.intent(server, m)
                    intents.append(id)
                    let pi = try await stripe.paymentIntent(id)
                    #expect(pi["status"] as? String == "requires_capture", "M\(m): \(pi)")
                    #expect(pi["capture_method"] as? String == "manual")
                    #expect((pi["amount"] as? Int) == [50_000, 30_000, 20_000][m - 1])
                }

                // Release captures the whole authorization.
                #expect(try await alice.say("/release M1").ackOutcome == "applied")
                #expect(try await stripe.paymentIntent(intents[0])["status"] as? String == "succeeded")
                let charge1 = try await stripe.charge(of: intents[0])
                #expect(charge1["captured"] as? Bool == true && (charge1["amount_refunded"] as? Int ?? 0) == 0)

                // The freelancer returns M2: the authorization is cancelled, nothing is charged.
                #expect(try await bob.say("/cancel M2").ackOutcome == "applied")
                #expect(try await stripe.paymentIntent(intents[1])["status"] as? String == "canceled")

                // A dispute on M3 split by a moderator: $120 captured, the other $80 returned.
                #expect(try await alice.say("/dispute M3 half of it is missing").ackOutcome == "applied")
                #expect(try await moderator.say("/resolve M3 split 120 half was delivered").ackOutcome == "applied")
                let charge3 = try await stripe.charge(of: intents[2])
                #expect(charge3["captured"] as? Bool == true)
                #expect(charge3["amount_refunded"] as? Int == 8_000, "\(charge3)")

                // Every posting carries what the processor did; the ledger adds up.
                let entries = try server.database.ledgerEntries(of: "c-1")
                #expect(entries.allSatisfy { $0.processorReference?.hasPrefix("pi_") == true }, "\(entries)")
                let ledger = try server.database.ledger(of: "c-1")
                #expect(ledger.balance(.freelancer) == 50_000 + 12_000)
                #expect(ledger.balance(.buyer) == -(50_000 + 12_000))
                #expect(ledger.total == 0)
                #expect(try await stripe.paymentIntents().count == 3)
                #expect(try await server.database.pendingPayments().isEmpty)
                for client in [alice, bob, moderator] { await client.close() }
            }
        }
    }

    /// A dispute settled between the parties through the real processor: the buyer disputes M1, the
    /// freelancer answers in the thread and offers $300 of the $500 held; nothing moves until the buyer
    /// accepts; then $300 is captured and $200 returned, once, even when the acceptance is sent twice.
    @Test func aDisputeSettledByAnAcceptedOfferMovesTheMoneyOnceThroughStripe() async throws {
        try await LocalStripe.with { stripe in
            try await TestServer.with(settings: Self.settings(stripe), clock: TestClock(start: Date())) { server in
                _ = try await Self.contract(server, stripe)
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                let bob = try await TestClient.connect(server, token: try await server.token("bob"))
                _ = try await alice.join("c-1")
                _ = try await bob.join("c-1")
                #expect(try await alice.say("/fund M1").ackOutcome == "applied")
                let intent = try Self.intent(server, 1)
                #expect(try await alice.say("/dispute M1 the delivered files are empty").ackOutcome == "applied")
                // The freelancer answers the case with evidence: a statement carrying the delivered file.
                let delivered = Array("checkout-v2 build log: all 48 tests passed".utf8)
                var upload = URLRequest(url: URL(string: "\(server.baseURL)/api/contracts/c-1/files?name=build.log")!)
                upload.httpMethod = "POST"
                upload.httpBody = Data(delivered)
                upload.setValue("Bearer \(try await server.token("bob"))", forHTTPHeaderField: "Authorization")
                let (uploaded, response) = try await URLSession.shared.data(for: upload)
                #expect((response as? HTTPURLResponse)?.statusCode == 201, "\(String(decoding: uploaded, as: UTF8.self))")
                let file = try #require(FileID(SHA256.hash(data: Data(delivered)).map { String(format: "%02x", $0) }.joined()))
                #expect(try await bob.say("/evidence M1 they are in the shared folder since Monday; the build log is attached", files: [file]).ackOutcome == "applied")
                let queued = try await server.database.openDisputes(at: Date())
                #expect(queued.first?.status == .ready && queued.first?.file?.statements.count == 2)
                #expect(try await bob.say("/offer M1 release 300").ackOutcome == "applied")
                // An offer moves nothing.
                #expect(try await stripe.paymentIntent(intent)["status"] as? String == "requires_capture")
                #expect(try await bob.say("/offer accept M1").ackOutcome == "rejected")

                let first = try await alice.say("/offer accept M1", id: "accept-m1")
                #expect(first.ackOutcome == "applied")
                let again = try await alice.say("/offer accept M1", id: "accept-m1")
                guard case .ack(let repeated) = again else { Issue.record("\(again)"); return }
                #expect(repeated.duplicate)
                let charge = try await stripe.charge(of: intent)
                #expect(charge["captured"] as? Bool == true)
                #expect(charge["amount_refunded"] as? Int == 20_000, "\(charge)")
                #expect(try await stripe.paymentIntents().count == 1)

                let ledger = try server.database.ledger(of: "c-1")
                #expect(ledger.balance(.freelancer) == 30_000 && ledger.balance(.buyer) == -30_000 && ledger.total == 0)
                #expect(try server.database.ledgerEntries(of: "c-1").allSatisfy { $0.processorReference?.hasPrefix("pi_") == true })
                #expect(try await server.database.contract("c-1")?.milestones[0].state == .split)
                #expect(try server.database.openDisputes(at: Date()).isEmpty)
                #expect(try await server.database.pendingPayments().isEmpty)
                for client in [alice, bob] { await client.close() }
            }
        }
    }

    /// "The buyer can add a bonus (`/bonus 50 great work`) where the policy allows: a new charge paid straight
    /// to the freelancer, through the processor, announced in the thread."
    @Test func aBonusIsOneChargeThroughStripeAnnouncedInTheThread() async throws {
        try await LocalStripe.with { stripe in
            try await TestServer.with(settings: Self.settings(stripe), clock: TestClock(start: Date())) { server in
                _ = try await Self.contract(server, stripe)
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                let bob = try await TestClient.connect(server, token: try await server.token("bob"))
                _ = try await alice.join("c-1")
                _ = try await bob.join("c-1")
                #expect(try await bob.say("/bonus 50 thanks").ackOutcome == "rejected")
                let first = try await alice.say("/bonus 50 great work over the weekend", id: "bonus-1")
                #expect(first.ackOutcome == "applied")
                let again = try await alice.say("/bonus 50 great work over the weekend", id: "bonus-1")
                guard case .ack(let repeated) = again else { Issue.record("\(again)"); return }
                #expect(repeated.duplicate)
                let intents = try await stripe.paymentIntents()
                #expect(intents.count == 1)
                let intent = try #require(intents.first)
                #expect(intent["amount"] as? Int == 5_000 && intent["status"] as? String == "succeeded", "\(intent)")
                #expect(intent["capture_method"] as? String == "automatic")
                let announced = try await bob.next { if case .message(let m) = $0, m.kind == "system", m.text.contains("bonus of $50.00") { return true }; return false }
                guard case .message(let message) = announced else { return }
                #expect(message.text == "Buyer paid the freelancer a bonus of $50.00 (recorded as M4): great work over the weekend")
                let ledger = try server.database.ledger(of: "c-1")
                #expect(ledger.balance(.freelancer) == 5_000 && ledger.balance(.buyer) == -5_000 && ledger.total == 0)
                #expect(try server.database.ledgerEntries(of: "c-1").allSatisfy { $0.processorReference == intent["id"] as? String })
                #expect(try await server.database.paymentContext("c-1").holds.isEmpty)
                #expect(try await server.database.pendingPayments().isEmpty)
                for client in [alice, bob] { await client.close() }
            }
        }
    }

    @Test func aDeclinedCardRefusesTheCommandAndChangesNothing() async throws {
        try await LocalStripe.with { stripe in
            try await TestServer.with(settings: Self.settings(stripe), clock: TestClock(start: Date())) { server in
                _ = try await Self.contract(server, stripe, card: "4000000000000341")
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await alice.join("c-1")
                let ack = try await alice.say("/fund M1")
                #expect(ack.ackOutcome == "rejected")
                let notice = try await alice.next { if case .notice(let m) = $0 { m.text.contains("payment") } else { false } }
                guard case .notice(let message) = notice else { Issue.record("no notice"); return }
                #expect(message.text.contains("the payment did not go through"), "\(message.text)")
                #expect(message.text.lowercased().contains("declined"), "\(message.text)")
                #expect(try server.database.ledgerEntries(of: "c-1").isEmpty)
                #expect(try await server.database.contract("c-1")?.milestones[0].state == .agreed)
                // No contract without a card on file can be funded either.
                try server.database.setPaymentParties(PaymentParties(), of: "c-1")
                let second = try await alice.say("/fund M1")
                #expect(second.ackOutcome == "rejected")
                #expect(try server.database.fullTranscript(of: "c-1").contains { $0.body.contains("no card is on file") })
                await alice.close()
            }
        }
    }

    /// Signs a Stripe event body the way Stripe does.
    static func signed(_ body: String, at time: Date, secret: String = webhookSecret) -> String {
        WebhookSignature.sign(body: Data(body.utf8), secret: secret, at: time)
    }

    static func postWebhook(_ server: TestServer, body: String, signature: String) async throws -> Int {
        try await AccessTests.post("\(server.baseURL)/webhooks/stripe", headers: ["Stripe-Signature": signature], json: body).1
    }

    @Test func signedWebhooksAreVerifiedAndTamperedStaleOrReplayedOnesChangeNothing() async throws {
        try await LocalStripe.with { stripe in
            try await TestServer.with(settings: Self.settings(stripe), clock: TestClock(start: Date())) { server in
                // localstripe's own events (customer.created, payment_method.attached, ...), signed with its copy
                // of the secret, to our endpoint.
                try await stripe.sendWebhooks(to: "\(server.baseURL)/webhooks/stripe", secret: Self.webhookSecret)
                _ = try await Self.contract(server, stripe)
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await alice.join("c-1")
                #expect(try await alice.say("/fund M1").ackOutcome == "applied")
                let intent = try Self.intent(server, 1)
                // localstripe sends each event about a second after it happens.
                let deadline = Date().addingTimeInterval(10)
                var seen = false
                while Date() < deadline, !seen {
                    seen = try server.database.processorEvents().contains { $0.type == "customer.created" }
                    if !seen { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(seen, "no verified event from localstripe arrived")
                #expect(try await server.database.contract("c-1")?.milestones[0].state == .funded)

                let before = try server.database.fullTranscript(of: "c-1").count
                // Signed at the server's time (its clock is a test clock).
                let now = server.clock.now
                let failed = #"{"id":"evt_failed_1","type":"payment_intent.payment_failed","created":\#(Int(now.timeIntervalSince1970)),"data":{"object":{"id":"\#(intent)","object":"payment_intent","status":"requires_payment_method","last_payment_error":{"message":"Your card has insufficient funds."}}}}"#
                // Tampered: the body changed after signing.
                let signature = Self.signed(failed, at: now)
                #expect(try await Self.postWebhook(server, body: failed.replacingOccurrences(of: "insufficient", with: "plenty of"), signature: signature) == 400)
                // Wrong secret, stale, from the future, no v1.
                #expect(try await Self.postWebhook(server, body: failed, signature: Self.signed(failed, at: now, secret: "whsec_someone_else")) == 400)
                #expect(try await Self.postWebhook(server, body: failed, signature: Self.signed(failed, at: now.addingTimeInterval(-301))) == 400)
                #expect(try await Self.postWebhook(server, body: failed, signature: Self.signed(failed, at: now.addingTimeInterval(400))) == 400)
                #expect(try await Self.postWebhook(server, body: failed, signature: "t=\(Int(now.timeIntervalSince1970))") == 400)
                #expect(try server.database.fullTranscript(of: "c-1").count == before)
                #expect(try await server.database.contract("c-1")?.milestones[0].state == .funded)

                // The genuine event: M1 returns to unfunded with a notice, the hold is voided.
                #expect(try await Self.postWebhook(server, body: failed, signature: Self.signed(failed, at: now)) == 200)
                let after = try server.database.fullTranscript(of: "c-1")
                #expect(after.last?.body.contains("did not go through (Your card has insufficient funds.)") == true, "\(after.last?.body ?? "")")
                #expect(try await server.database.contract("c-1")?.milestones[0].state == .agreed)
                let ledger = try server.database.ledger(of: "c-1")
                #expect(ledger.balance(.held(MilestoneNumber(1))) == 0 && ledger.total == 0)

                // Replayed (the same event again, freshly signed): nothing changes.
                #expect(try await Self.postWebhook(server, body: failed, signature: Self.signed(failed, at: now)) == 200)
                #expect(try server.database.fullTranscript(of: "c-1").count == after.count)
                await alice.close()
            }
        }
    }

    @Test func aCrashBetweenTheProcessorCallAndTheCommitMovesMoneyOnceAndTheThreadSaysSo() async throws {
        try await LocalStripe.with { stripe in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stripe-crash-\(UUID().uuidString)")
            let clock = TestClock(start: Date())
            let settings = Self.settings(stripe)
            // First run: funded M1 normally; then a release whose capture reaches Stripe but whose commit never
            // happens (what a SIGKILL right after the call leaves behind: the stored operation, the captured intent).
            let intent = try await TestServer.with(settings: settings, folder: folder, clock: clock) { server in
                _ = try await Self.contract(server, stripe)
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await alice.join("c-1")
                #expect(try await alice.say("/fund M1").ackOutcome == "applied")
                await alice.close()
                return try Self.intent(server, 1)
            }
            let request = LineRequest(commandID: "alice/release-1", thread: "c-1", author: Participant(user: "alice", role: .buyer),
                text: "/release M1", clientMessageID: "release-1", receivedAt: clock.now)
            do {
                let database = try AppDatabase.open(path: folder.appendingPathComponent("bot.sqlite").path).requiringPayments()
                let (context, transition) = try #require(try await database.moneyMovement(of: request))
                let plan = try PaymentPlan(operation: request.commandID.rawValue, postings: transition.postings, contract: "c-1", currency: .usd,
                    parties: context.parties, holds: context.holds, mode: .authorizeAndCapture)
                let pending = try await database.beginPayment(key: request.commandID.rawValue, work: .line(request), calls: plan.calls, at: clock.now)
                let processor = StripeProcessor(settings: settings.stripe.settings)
                for call in pending.calls { _ = try await processor.perform(call, retrying: false, checkpoint: nil) { _ in } }
                #expect(try await stripe.paymentIntent(intent)["status"] as? String == "succeeded")
            }
            // Restart: the pending release is completed at start-up, without a second capture.
            try await TestServer.with(settings: settings, folder: folder, clock: clock) { server in
                #expect(try await server.database.pendingPayments().isEmpty)
                let transcript = try server.database.fullTranscript(of: "c-1")
                #expect(transcript.contains { $0.body.contains("released") && $0.kind == .system })
                #expect(transcript.last?.body == "The payment processor confirmed this payment after an interruption, so it is recorded now; no money moved twice.")
                let ledger = try server.database.ledger(of: "c-1")
                #expect(ledger.postings.filter { $0.kind == .post }.count == 1 && ledger.balance(.freelancer) == 50_000)
                let charge = try await stripe.charge(of: intent)
                #expect(charge["captured"] as? Bool == true && charge["amount"] as? Int == 50_000 && (charge["amount_refunded"] as? Int ?? 0) == 0)
                // The client resends the line it never got an answer for: the first receipt, nothing again.
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await alice.join("c-1")
                let ack = try await alice.say("/release M1", id: "release-1")
                #expect(ack.ackDuplicate == true)
                #expect(try server.database.ledger(of: "c-1").postings.count == ledger.postings.count)
                await alice.close()
            }
        }
    }

    @Test func anAuthorizationAboutToExpireIsAnnouncedThenCaptured() async throws {
        try await LocalStripe.with { stripe in
            let clock = TestClock(start: Date())
            try await TestServer.with(settings: Self.settings(stripe), clock: clock) { server in
                _ = try await Self.contract(server, stripe)
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await alice.join("c-1")
                #expect(try await alice.say("/fund M1").ackOutcome == "applied")
                let intent = try Self.intent(server, 1)
                // 6 days 1 hour later: inside the 24-hour warning lead.
                clock.advance(by: 6 * 86_400 + 3_600)
                try await DeadlineTests.waitForMessage(server, containing: "The card authorization holding M1 expires")
                #expect(try await stripe.paymentIntent(intent)["status"] as? String == "requires_capture")
                // 19 hours later: inside the 6-hour action lead, it is captured and kept for the milestone.
                clock.advance(by: 19 * 3_600)
                try await DeadlineTests.waitForMessage(server, containing: "was about to expire, so $500.00 was captured")
                #expect(try await stripe.paymentIntent(intent)["status"] as? String == "succeeded")
                #expect(try server.database.fullTranscript(of: "c-1").filter { $0.body.contains("The card authorization holding M1 expires") }.count == 1)
                // Still held for M1; release now needs no second capture. A week on, alice's first token has
                // expired (her connection is refused the next line, 4401): she comes back with a fresh one.
                #expect(try server.database.ledger(of: "c-1").balance(.held(MilestoneNumber(1))) == 50_000)
                try await alice.send(.send(thread: "c-1", id: "stale", text: "/release M1"))
                #expect(try await alice.closeCode() == WebSocketErrorCode(codeNumber: 4401))
                let aliceLater = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await aliceLater.join("c-1")
                #expect(try await aliceLater.say("/release M1").ackOutcome == "applied")
                #expect(try server.database.ledger(of: "c-1").balance(.freelancer) == 50_000)
                #expect(try await stripe.charge(of: intent)["amount_refunded"] as? Int ?? 0 == 0)
                await aliceLater.close()
            }
        }
    }
}
