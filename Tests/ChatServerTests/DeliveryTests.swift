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

    /// A user with two connections in one thread: each line is acknowledged once, on the connection that
    /// sent it (a plain line right after its own message), a resent id once more as a duplicate.
    @Test func eachLineIsAcknowledgedOnceOnTheConnectionThatSentIt() async throws {
        try await TestServer.with { server in
            try server.contract()
            let first = try await TestClient.connect(server, token: try await server.token("alice"))
            let second = try await TestClient.connect(server, token: try await server.token("alice"))
            for client in [first, second] { _ = try await client.join("c-1") }
            let sends: [(TestClient, String, String)] = (0..<20).map { index in
                index % 2 == 0 ? (first, "f-\(index)", "from the first \(index)") : (second, "s-\(index)", index == 5 ? "/status" : "from the second \(index)")
            }
            // All at once: the lines share commits.
            for (client, id, text) in sends { try await client.send(.send(thread: "c-1", id: id, text: text)) }
            try await first.send(.send(thread: "c-1", id: "f-0", text: "from the first 0"))
            var seqs: [String: Int64] = [:]
            for (client, id, _) in sends {
                guard case .ack(let ack) = try await client.next(timeout: 10, where: { if case .ack(let a) = $0 { a.id == id } else { false } }) else { continue }
                seqs[id] = ack.seq
                #expect(!ack.duplicate && ack.outcome == (id == "s-5" ? "answered" : "chat"))
            }
            guard case .ack(let resent) = try await first.next(timeout: 10, where: { if case .ack(let a) = $0 { a.id == "f-0" } else { false } }) else { return }
            #expect(resent.duplicate && resent.seq == seqs["f-0"])
            try await second.waitFor(seq: seqs.values.max()!)
            try await Task.sleep(for: .milliseconds(200))
            // No second acknowledgement anywhere, and none on the other connection.
            for client in [first, second] {
                #expect(client.arrivals.contains { if case .ack = $0 { true } else { false } } == false, "\(client.arrivals)")
            }
            #expect(seqs.count == 20 && Set(seqs.values).count == 20)
            await first.close()
            await second.close()
        }
    }

    /// A plain line's acknowledgement arrives after the line itself on the sender's connection.
    @Test func aPlainLineIsDeliveredBeforeItsAcknowledgement() async throws {
        try await TestServer.with { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            for index in 0..<10 { try await alice.send(.send(thread: "c-1", id: "p-\(index)", text: "line \(index)")) }
            _ = try await alice.next(timeout: 10) { if case .ack(let a) = $0 { a.id == "p-9" } else { false } }
            let order = alice.arrivals.compactMap { message -> String? in
                switch message {
                case .message(let m) where m.text.hasPrefix("line "): "m\(m.seq)"
                case .ack(let a): "a\(a.seq)"
                default: nil
                }
            }
            for entry in order where entry.hasPrefix("a") {
                let seq = entry.dropFirst()
                #expect(order.firstIndex(of: "m\(seq)")! < order.firstIndex(of: entry)!, "\(order)")
            }
            await alice.close()
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

    /// A message id is the client's, per user: reused for another thread it is refused as `invalid_id`
    /// (a typed storage error, not a message matched by its words), and nothing is stored.
    @Test func aMessageIDReusedInAnotherThreadIsRefusedAsInvalidID() async throws {
        try await TestServer.with { server in
            try server.contract("c-1")
            try server.contract("c-2")
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            _ = try await alice.join("c-2")
            #expect(try await alice.say("first", in: "c-1", id: "same").ackOutcome == "chat")
            let before = try server.database.fullTranscript(of: "c-2").count
            guard case .error(let error) = try await alice.say("second", in: "c-2", id: "same") else { Issue.record("not refused"); return }
            #expect(error.code == "invalid_id" && error.message.contains("already used"))
            #expect(try server.database.fullTranscript(of: "c-2").count == before)
            await alice.close()
        }
    }
}
