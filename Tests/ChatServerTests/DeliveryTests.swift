import ChatServer
import Foundation
import MilestoneCore
import Storage
import Testing

/// Nothing lost, nothing doubled: resume after reconnect, resent ids, racing commands.
@Suite struct DeliveryTests {
    @Test func reconnectingFromTheLastSeenSequenceDeliversExactlyTheMissedMessages() async throws {
        try await TestServer.with { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            var bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            guard case .ack(let first) = try await alice.say("one") else { Issue.record("no ack"); return }
            try await bob.waitFor(seq: first.seq)
            let lastSeen = bob.transcript().map(\.seq).max()!
            await bob.close()

            var missed: [Int64] = []
            for index in 0..<25 {
                guard case .ack(let ack) = try await alice.say("while you were away \(index)") else { Issue.record("no ack"); return }
                missed.append(ack.seq)
            }
            bob = try await TestClient.connect(server, token: try await server.token("bob"))
            let joined = try await bob.join("c-1", after: lastSeen)
            #expect(joined.lastSeq == missed.last)
            guard case .ack(let live) = try await alice.say("welcome back") else { Issue.record("no ack"); return }
            try await bob.waitFor(seq: live.seq)
            #expect(bob.transcript().map(\.seq) == missed + [live.seq], "exactly the missed messages, in order, then live ones")
            await alice.close()
            await bob.close()
        }
    }

    @Test func aResentMessageIDIsAppliedOnce() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            guard case .ack(let first) = try await alice.say("/fund M1", id: "fund-1") else { Issue.record("no ack"); return }
            // The connection drops before the client saw the ack; it reconnects and resends the same id.
            await alice.close()
            let again = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await again.join("c-1", after: first.seq)
            guard case .ack(let second) = try await again.say("/fund M1", id: "fund-1") else { Issue.record("no ack"); return }
            #expect(second.seq == first.seq)
            #expect(second.duplicate)
            #expect(!first.duplicate)
            #expect(second.outcome == "applied")
            #expect(try server.database.ledgerEntries(of: "c-1").count == 1)
            #expect(try server.database.fullTranscript(of: "c-1").filter { $0.body == "/fund M1" }.count == 1)
            await again.close()
        }
    }

    @Test func racingReleaseAndCancelExactlyOneWins() async throws {
        try await TestServer.with { server in
            // Freelancer.com: the buyer releases without a submission, and the freelancer may cancel.
            for round in 0..<10 {
                let thread = "race-\(round)"
                try server.contract(thread, preset: "freelancer-com", milestones: [MilestoneDraft(amount: 30_000, description: "Work")])
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                let bob = try await TestClient.connect(server, token: try await server.token("bob"))
                _ = try await alice.join(thread)
                _ = try await bob.join(thread)
                _ = try await alice.say("/fund M1", in: thread)
                async let release = alice.say("/release M1", in: thread)
                async let cancel = bob.say("/cancel M1", in: thread)
                let outcomes = try await [release, cancel].compactMap { message -> String? in
                    if case .ack(let ack) = message { return ack.outcome }
                    return nil
                }
                #expect(outcomes.sorted() == ["applied", "rejected"], "round \(round): \(outcomes)")
                let ledger = try server.database.ledger(of: ContractID(thread))
                #expect(ledger.total == 0)
                #expect(ledger.balance(.held(MilestoneNumber(1))) == 0)
                let released = ledger.balance(.freelancer) == 30_000 && ledger.balance(.buyer) == -30_000
                let returned = ledger.balance(.freelancer) == 0 && ledger.balance(.buyer) == 0
                #expect(released != returned, "either paid out or returned, never both or neither")
                #expect(ledger.resolvedHolds == [MilestoneNumber(1)])
                await alice.close()
                await bob.close()
            }
        }
    }
}
