import ChatServer
import Foundation
import MilestoneCore
import Payments
import Synchronization
import Testing

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
                // So does one that moves no money: it could change what the pending step settles or numbers.
                let edit = try await alice.say("/milestone add 100 Extra page", id: "add-1")
                if case .error(let error) = edit { #expect(error.code == "payment_pending") } else { Issue.record("\(edit)") }
                // Questions are answered meanwhile.
                #expect(try await alice.say("/status", id: "status-1").ackOutcome == "answered")
                // A chat line resent under the pending command's id (chat skips the desk's lock) is not stored:
                // settling the payment would have found its receipt and left the money off the ledger.
                let chat = try await alice.say("hello", id: "fund-1")
                if case .error(let error) = chat { #expect(error.code == "payment_pending") } else { Issue.record("chat took the id: \(chat)") }
                #expect(try server.database.fullTranscript(of: "c-1").allSatisfy { $0.body != "hello" })

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
