import ChatServer
import Foundation
import MilestoneCore
import Storage
import Testing

/// Chat lines to a party who is not connected are told to the platform once per batch (`message.created`,
/// with the unread count); read markers and typing travel over the WebSocket (docs/PROTOCOL.md).
@Suite struct UnreadDigestTests {
    static func settings(_ url: URL) -> ServerSettings {
        TestServer.settings {
            $0.webhookURL = url
            $0.webhookSecret = WebhookReceiver.secret
            $0.unreadAfter = 5
        }
    }

    static func digests(_ receiver: WebhookReceiver) -> [[String: Any]] {
        receiver.received.withLock { $0 }.filter { $0.type == "message.created" }.map(\.json)
    }

    @Test func anOfflinePartyGetsOneEventPerBatchWithTheUnreadCount() async throws {
        let receiver = WebhookReceiver()
        receiver.up.withLock { $0 = true }
        try await receiver.run { url in
            let clock = TestClock()
            try await TestServer.with(settings: Self.settings(url), clock: clock) { server in
                try server.contract()
                let alice = try await TestClient.connect(server, token: try await server.token("alice"))
                _ = try await alice.join("c-1")
                // bob is not connected: three lines make one event, once the first is 5 s old.
                for text in ["Hi Bob", "Are you there?", "Ping \u{05D0} \u{1F600}"] { _ = try await alice.say(text) }
                try await Task.sleep(for: .seconds(1))
                #expect(Self.digests(receiver).isEmpty, "the batch waits for lines that follow")
                clock.advance(by: 6)
                try await NotificationTests.waitUntil { Self.digests(receiver).count == 1 }
                try await Task.sleep(for: .seconds(1))
                let digests = Self.digests(receiver)
                #expect(digests.count == 1, "one event for the batch, not one per line")
                let first = try #require(digests.first)
                #expect(first["to"] as? [String: String] == ["user": "bob", "role": "freelancer"])
                #expect(first["notify"] as? [String] == ["bob"])
                #expect(first["unread"] as? Int == 3)
                #expect(first["batch"] as? Int == 3)
                #expect(first["from"] as? [String] == ["alice"])
                #expect(first["preview"] as? String == "Ping \u{05D0} \u{1F600}")
                let lastSeq = try #require((first["seq"] as? NSNumber)?.int64Value)
                #expect(((first["first_seq"] as? NSNumber)?.int64Value ?? 0) < lastSeq)

                // One more line while bob is still away: a second event, counting all four as unread.
                _ = try await alice.say("Last call")
                clock.advance(by: 6)
                try await NotificationTests.waitUntil { Self.digests(receiver).count == 2 }
                let second = Self.digests(receiver)[1]
                #expect(second["unread"] as? Int == 4)
                #expect(second["batch"] as? Int == 1)

                // bob comes, reads everything, and alice sees it.
                let bob = try await TestClient.connect(server, token: try await server.token("bob"))
                let joined = try await bob.join("c-1")
                try await bob.send(.read(thread: ContractID("c-1"), seq: joined.lastSeq))
                let read = try await alice.next { if case .read = $0 { true } else { false } }
                guard case .read(let marker) = read else { return }
                #expect(marker.user == "bob" && marker.role == "freelancer" && marker.seq == joined.lastSeq)
                // While bob is connected, lines reach him live: no event.
                _ = try await alice.say("Great, you're here")
                clock.advance(by: 6)
                try await Task.sleep(for: .seconds(1.5))
                #expect(Self.digests(receiver).count == 2)
                // alice's own lines are never news to her.
                #expect(Self.digests(receiver).allSatisfy { ($0["to"] as? [String: String])?["user"] == "bob" })
                await bob.close()
                await alice.close()
            }
        }
    }

    @Test func readMarkersAreStoredShownOnJoinAndRefusedPastTheHead() async throws {
        try await TestServer.with { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            _ = try await alice.say("Hello")
            _ = try await alice.say("Is the \u{05D0} logo ready?")
            // The thread list counts what bob has not read, and shows the newest line, before he opens it.
            let bobToken = try await server.token("bob")
            let listed = try Self.threads(try await AccessTests.get("\(server.baseURL)/api/threads", token: bobToken).0)
            #expect(listed.first?["unread"] as? Int == 2 && listed.first?["preview"] as? String == "Is the \u{05D0} logo ready?", "\(listed)")
            #expect(listed.first?["last_at"] is String)
            let bob = try await TestClient.connect(server, token: bobToken)
            let joined = try await bob.join("c-1")
            try await bob.send(.read(thread: ContractID("c-1"), seq: joined.lastSeq + 5))
            let refused = try await bob.next { if case .error = $0 { true } else { false } }
            guard case .error(let error) = refused else { return }
            #expect(error.code == "bad_request")
            #expect(error.message.contains("not a message of this thread"))
            try await bob.send(.read(thread: ContractID("c-1"), seq: joined.lastSeq))
            _ = try await bob.next { if case .read = $0 { true } else { false } }
            let read = try Self.threads(try await AccessTests.get("\(server.baseURL)/api/threads", token: bobToken).0)
            #expect(read.first?["unread"] as? Int == 0)
            // Markers only move forward: an older one changes nothing and is not shown.
            try await bob.send(.read(thread: ContractID("c-1"), seq: 1))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await server.database.readMarkers(in: ContractID("c-1")).map(\.seq) == [joined.lastSeq])
            // A moderator reading is not a party reading.
            let mia = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator"))
            _ = try await mia.join("c-1")
            let shown = try await mia.next { if case .read = $0 { true } else { false } }
            guard case .read(let marker) = shown else { return }
            #expect(marker.user == "bob" && marker.seq == joined.lastSeq, "a joining client learns where each party has read to")
            try await mia.send(.read(thread: ContractID("c-1"), seq: joined.lastSeq))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await server.database.readMarkers(in: ContractID("c-1")).map(\.user.rawValue) == ["bob"])
            // Reading a thread one has not joined.
            try await bob.send(.read(thread: ContractID("c-2"), seq: 1))
            let notJoined = try await bob.next { if case .error = $0 { true } else { false } }
            guard case .error(let other) = notJoined else { return }
            #expect(other.code == "not_joined")
            for client in [alice, bob, mia] { await client.close() }
        }
    }

    static func threads(_ body: String) throws -> [[String: Any]] {
        (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["threads"] as? [[String: Any]] ?? []
    }

    @Test func typingReachesTheOthersAtMostEveryTwoSecondsAndIsNeverStored() async throws {
        try await TestServer.with { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            let joined = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            for _ in 0..<5 { try await alice.send(.typing(thread: ContractID("c-1"))) }
            let typing = try await bob.next { if case .typing = $0 { true } else { false } }
            guard case .typing(let who) = typing else { return }
            #expect(who.user == "alice" && who.role == "buyer" && who.thread == "c-1")
            try await Task.sleep(for: .milliseconds(500))
            #expect(bob.received.withLock { $0.filter { $0.type == "typing" }.count } == 0, "the burst was passed on once")
            #expect(alice.received.withLock { $0.filter { $0.type == "typing" }.count } == 0, "not echoed to the typist")
            let (_, lastSeq) = try await server.database.catchUp(in: ContractID("c-1"), after: 0, visibleTo: Participant(user: UserID("mia"), role: .moderator))
            #expect(lastSeq == joined.lastSeq, "nothing was stored")
            await alice.close()
            await bob.close()
        }
    }
}
