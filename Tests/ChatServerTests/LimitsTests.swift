import ChatServer
import Foundation
import MilestoneCore
import NIOWebSocket
import Storage
import Testing

/// Bad input and abuse get their documented answer, and the server keeps serving everyone else.
@Suite struct LimitsTests {
    @Test func malformedJSONGetsABadRequestErrorAndTheConnectionStays() async throws {
        try await TestServer.with { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            for frame in ["not json", "{}", #"{"type":"dance","thread":"c-1"}"#, #"{"type":"send","thread":"c-1"}"#, #"{"type":"join","thread":42}"#] {
                try await alice.sendText(frame)
                let answer = try await alice.next { if case .error = $0 { true } else { false } }
                guard case .error(let error) = answer else { return }
                #expect(error.code == "bad_request", "\(frame)")
            }
            #expect(alice.errors.isEmpty)
            _ = try await alice.join("c-1")
            guard case .ack = try await alice.say("still here") else { Issue.record("no ack"); return }
            await alice.close()
        }
    }

    @Test func anOversizedFrameClosesWith1009AndOthersCarryOn() async throws {
        try await TestServer.with(settings: TestServer.settings { $0.limits.maxFrameBytes = 4096 }) { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await bob.join("c-1")
            try await alice.sendText(String(repeating: "x", count: 10_000))
            #expect(try await alice.closeCode() == .messageTooLarge)
            guard case .ack = try await bob.say("unaffected") else { Issue.record("no ack"); return }
            await bob.close()
        }
    }

    @Test func invalidUTF8ClosesWith1007() async throws {
        try await TestServer.with { server in
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            try await alice.sendFrame(opcode: .text, bytes: [0x7B, 0xFF, 0xFE, 0x7D])
            let code = try await alice.closeCode()
            #expect(code == .dataInconsistentWithMessage, "got \(String(describing: code))")
        }
    }

    @Test func aTooLongLineIsRefusedAndNotStored() async throws {
        try await TestServer.with(settings: TestServer.settings { $0.limits.maxFrameBytes = 65_536 }) { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            let before = try server.database.fullTranscript(of: "c-1").count
            guard case .error(let error) = try await alice.say(String(repeating: "y", count: 5000)) else { Issue.record("expected an error"); return }
            #expect(error.code == "invalid_message")
            #expect(error.message.contains("limit is 4000"))
            guard case .error(let empty) = try await alice.say("   ") else { Issue.record("expected an error"); return }
            #expect(empty.code == "invalid_message")
            // A NUL (or any control character but line breaks and tabs) would be cut off by SQLite's text
            // functions and break the hash chain; it is refused.
            guard case .error(let nul) = try await alice.say("nul \u{0} byte") else { Issue.record("expected an error"); return }
            #expect(nul.code == "invalid_message" && nul.message.contains("U+0000"))
            #expect(try server.database.fullTranscript(of: "c-1").count == before)
            await alice.close()
        }
    }

    @Test func aFloodIsThrottledForThatClientOnly() async throws {
        let settings = TestServer.settings {
            $0.limits.messagesPerSecond = 5
            $0.limits.messageBurst = 10
            $0.limits.floodStrikesBeforeClose = 30
        }
        try await TestServer.with(settings: settings) { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            for index in 0..<25 {
                try await alice.send(.send(thread: "c-1", id: "flood-\(index)", text: "spam \(index)"))
            }
            // Every line of the burst gets its answer (an ack or rate_limited); on a loaded machine that takes a while.
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let answered = alice.errors.filter { $0.code == "rate_limited" }.count
                    + (try server.database.fullTranscript(of: "c-1").filter { $0.body.hasPrefix("spam") }.count)
                if answered >= 25 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let limited = alice.errors.filter { $0.code == "rate_limited" }
            #expect(limited.count >= 10, "most of the burst beyond 10 is refused")
            let stored = try server.database.fullTranscript(of: "c-1").filter { $0.body.hasPrefix("spam") }
            #expect(stored.count == 25 - limited.count, "refused messages are not stored")
            // Bob is not throttled.
            guard case .ack = try await bob.say("I can still talk") else { Issue.record("no ack"); return }
            // Keep flooding past the strike limit: the connection is closed with 1008.
            for index in 25..<80 { try? await alice.send(.send(thread: "c-1", id: "flood-\(index)", text: "spam")) }
            #expect(try await alice.closeCode() == .policyViolation)
            guard case .ack = try await bob.say("still fine") else { Issue.record("no ack"); return }
            await bob.close()
        }
    }

    @Test func gracefulShutdownClosesSocketsWithGoingAway() async throws {
        let client = try await TestServer.with { server in
            try await TestClient.connect(server, token: try await server.token("alice"))
        }
        #expect(try await client.closeCode() == .goingAway)
    }
}
