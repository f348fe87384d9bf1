import ChatServer
import Foundation
import MilestoneCore
import Storage
import Testing

/// Buyer and freelancer in one thread over real WebSockets, on the real server and a real SQLite file.
@Suite struct ConversationTests {
    @Test func twoPartiesChatInOrderAndRunTheIndeelancerFlowByTypingCommands() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo design")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice", role: "buyer"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob", role: "freelancer"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")

            // Chat: each line is acknowledged with its sequence number and reaches both, in order.
            var acks: [Int64] = []
            for (client, line) in [(alice, "Hi Bob, ready to start?"), (bob, "Yes! Fund M1 and I begin."), (alice, "Funding now.")] {
                guard case .ack(let ack) = try await client.say(line) else { Issue.record("no ack for \(line)"); return }
                #expect(ack.outcome == "chat")
                acks.append(ack.seq)
            }
            #expect(acks == acks.sorted() && Set(acks).count == 3)

            // The Indeelancer flow, typed: fund, submit, release.
            guard case .ack(let fund) = try await alice.say("/fund M1") else { Issue.record("no ack"); return }
            #expect(fund.outcome == "applied")
            guard case .ack(let submit) = try await bob.say("/submit M1 logo files are in the shared folder") else { Issue.record("no ack"); return }
            #expect(submit.outcome == "applied")
            guard case .ack(let release) = try await alice.say("/release M1") else { Issue.record("no ack"); return }
            #expect(release.outcome == "applied")

            let last = try await server.database.catchUp(in: "c-1", after: 0, visibleTo: Participant(user: "mia", role: .moderator)).lastSeq
            try await alice.waitFor(seq: last)
            try await bob.waitFor(seq: last)
            let seenByAlice = alice.transcript().filter { $0.seq > 0 }
            let seenByBob = bob.transcript().filter { $0.seq > 0 }
            // Both saw the same public messages, in strictly increasing order with no gaps after the history page.
            #expect(seenByAlice.map(\.seq) == seenByBob.map(\.seq))
            #expect(seenByAlice.map(\.seq) == Array(1...last))
            let texts = seenByAlice.map(\.text)
            #expect(texts.contains("Buyer funded M1: $500.00 is now held."))
            #expect(texts.contains { $0.hasPrefix("Freelancer submitted M1 for review: logo files") })
            #expect(texts.contains("Buyer released M1: $500.00 was paid to the freelancer."))
            #expect(seenByAlice.filter { $0.kind == "system" && $0.author == nil }.count >= 4)

            // The stored transcript has every line and every system message, and the ledger balances.
            let stored = try server.database.fullTranscript(of: "c-1")
            #expect(stored.map(\.seq) == Array(1...last))
            #expect(stored.filter { $0.kind == .chat }.map(\.body) == ["Hi Bob, ready to start?", "Yes! Fund M1 and I begin.", "Funding now."])
            #expect(stored.filter { $0.kind == .command }.map(\.body) == ["/fund M1", "/submit M1 logo files are in the shared folder", "/release M1"])
            let ledger = try server.database.ledger(of: "c-1")
            #expect(ledger.total == 0)
            #expect(ledger.balance(.freelancer) == 50_000)
            #expect(ledger.balance(.held(MilestoneNumber(1))) == 0)
            await alice.close()
            await bob.close()
        }
    }

    @Test func aRefusedCommandIsAPrivateNoticeThatChangesNothing() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo design")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            let before = try await server.database.contract("c-1")
            let ledgerBefore = try server.database.ledgerEntries(of: "c-1")

            // Wrong role: the freelancer cannot release.
            guard case .ack(let wrongRole) = try await bob.say("/release M1") else { Issue.record("no ack"); return }
            #expect(wrongRole.outcome == "rejected")
            let notice = try await bob.next { if case .notice(let m) = $0, m.author == nil { true } else { false } }
            guard case .notice(let text) = notice else { return }
            #expect(text.text.hasPrefix("/release M1: only the buyer can release payments"))
            #expect(text.private)
            // Wrong state: nothing was submitted yet.
            _ = try await alice.say("/fund M1")
            guard case .ack(let wrongState) = try await alice.say("/release M1") else { Issue.record("no ack"); return }
            #expect(wrongState.outcome == "rejected")
            let stateNotice = try await alice.next { if case .notice(let m) = $0, m.author == nil, m.text.hasPrefix("/release M1") { true } else { false } }
            guard case .notice(let why) = stateNotice else { return }
            #expect(why.text.contains("has not been submitted yet"))
            #expect(why.text.contains("/submit M1"))

            // A chat line afterwards; once it arrives, everything before it has arrived too.
            guard case .ack(let marker) = try await alice.say("marker") else { Issue.record("no ack"); return }
            try await bob.waitFor(seq: marker.seq)
            try await alice.waitFor(seq: marker.seq)
            // Bob saw nothing of Alice's refused command, and Alice nothing of Bob's.
            #expect(!bob.transcript().contains { $0.text.contains("/release") && $0.author == "alice" })
            #expect(!bob.transcript().contains { $0.text.contains("has not been submitted") })
            #expect(!alice.transcript().contains { $0.author == "bob" && $0.text == "/release M1" })
            #expect(!alice.transcript().contains { $0.text.contains("only the buyer can release") })
            // The refused commands changed nothing; only the /fund moved money.
            var expected = before!
            expected.milestones[0].state = .funded
            expected.milestones[0].funded = 50_000
            #expect(try await server.database.contract("c-1") == expected)
            #expect(try server.database.ledgerEntries(of: "c-1").count == ledgerBefore.count + 1)
            // Private notices and refused lines are stored, marked private, for moderators.
            let stored = try server.database.fullTranscript(of: "c-1")
            #expect(stored.filter { $0.kind == .notice }.allSatisfy { $0.visibleTo != nil })
            #expect(stored.contains { $0.body == "/release M1" && $0.visibleTo == "bob" })
            await alice.close()
            await bob.close()
        }
    }

    @Test func helpAndStatusAnswerPrivately() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo design")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            guard case .ack(let ack) = try await alice.say("/help") else { Issue.record("no ack"); return }
            #expect(ack.outcome == "answered")
            let help = try await alice.next { if case .notice(let m) = $0, m.text.contains("What you can do now") { true } else { false } }
            guard case .notice(let helpText) = help else { return }
            #expect(helpText.text.contains("/fund M1"))
            _ = try await alice.say("/status")
            let status = try await alice.next { if case .notice(let m) = $0, m.text.contains("Held now") { true } else { false } }
            guard case .notice(let statusText) = status else { return }
            #expect(statusText.text.contains("M1 Logo design: $500.00, agreed"))
            await alice.close()
        }
    }
}
