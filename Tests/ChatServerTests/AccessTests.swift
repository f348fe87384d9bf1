@testable import ChatServer
import Foundation
import FoundationNetworking
import HummingbirdWSClient
import MilestoneCore
import Storage
import Testing

/// Who may connect, join and read: tokens, membership, origins.
@Suite struct AccessTests {
    @Test func aUserWhoIsNotPartyCannotJoinTheThread() async throws {
        try await TestServer.with { server in
            try server.contract()
            let eve = try await TestClient.connect(server, token: try await server.token("eve"))
            try await eve.send(.join(thread: "c-1", after: nil))
            let refusal = try await eve.next { if case .error = $0 { true } else { false } }
            guard case .error(let error) = refusal else { return }
            #expect(error.code == "not_member")
            #expect(error.message.contains("you are not a party to contract c-1"))
            // Not joined, so sending is refused too, and nothing is stored.
            let before = try server.database.fullTranscript(of: "c-1").count
            guard case .error(let sendError) = try await eve.say("/release M1") else { Issue.record("expected an error"); return }
            #expect(sendError.code == "not_joined")
            #expect(try server.database.fullTranscript(of: "c-1").count == before)
            // An unknown thread is its own error.
            try await eve.send(.join(thread: "nope", after: nil))
            let unknown = try await eve.next { if case .error = $0 { true } else { false } }
            guard case .error(let unknownError) = unknown else { return }
            #expect(unknownError.code == "unknown_thread")
            await eve.close()
        }
    }

    @Test func moderatorsJoinAnyThreadAndSeePrivateNotices() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 10_000, description: "Copy")])
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await bob.join("c-1")
            guard case .ack(let ack) = try await bob.say("/release M1") else { Issue.record("no ack"); return }
            let mia = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator"))
            let joined = try await mia.join("c-1", after: 0)
            #expect(joined.role == "moderator")
            try await mia.waitFor(seq: ack.seq + 1)
            #expect(mia.transcript().contains { $0.private && $0.text.hasPrefix("/release M1: only the buyer") })
            await bob.close()
            await mia.close()
        }
    }

    @Test func badExpiredAndForeignTokensAreRefusedAtTheHandshake() async throws {
        try await TestServer.with { server in
            // The handshake completes only to say why in an `error` frame, then closes with 4401.
            #expect(try await TestClient.refused(server, token: nil) == .init(code: "unauthenticated", closeCode: 4401), "no token")
            #expect(try await TestClient.refused(server, token: "not-a-jwt") == .init(code: "bad_token", closeCode: 4401), "garbage")
            let expired = try await server.token("alice", lifetime: 60)
            server.clock.advance(by: 120)
            #expect(try await TestClient.refused(server, token: expired) == .init(code: "bad_token", closeCode: 4401), "expired")
            let other = await TokenVerifier(secret: "another-platform-secret-0123456789abcdef", audience: "milestone-bot", maxLifetime: 3600)
            #expect(try await TestClient.refused(server, token: try await other.mint(user: "alice", role: "buyer", lifetime: 600)) == .init(code: "bad_token", closeCode: 4401), "wrong signature")
            let wrongAudience = await TokenVerifier(secret: TestServer.secret, audience: "another-app", maxLifetime: 3600, now: { server.clock.now })
            #expect(try await TestClient.refused(server, token: try await wrongAudience.mint(user: "alice", role: "buyer", lifetime: 600)) == .init(code: "bad_token", closeCode: 4401), "wrong audience")
            let tooLong = await TokenVerifier(secret: TestServer.secret, audience: "milestone-bot", maxLifetime: 10 * 86_400, now: { server.clock.now })
            #expect(try await TestClient.refused(server, token: try await tooLong.mint(user: "alice", role: "buyer", lifetime: 5 * 86_400)) == .init(code: "bad_token", closeCode: 4401), "lives too long")
            // The refusal says why, in JSON, without echoing the token.
            let (body, status) = try await Self.get("\(server.baseURL)/api/threads", token: expired)
            #expect(status == 401)
            #expect(body.contains("bad_token") && body.contains("expired"))
            #expect(!body.contains(expired))
            // A good token still works.
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            await alice.close()
        }
    }

    @Test func aForeignBrowserOriginIsRefused() async throws {
        // The test client sends `Origin: ws://127.0.0.1`; this server only allows https://app.example.
        try await TestServer.with(settings: TestServer.settings { $0.limits.allowedOrigins = ["https://app.example"] }) { server in
            let refusal = try await TestClient.refused(server, token: try await server.token("alice"))
            #expect(refusal == .init(code: "origin_not_allowed", closeCode: 4403))
        }
    }

    @Test func browsersUseAOneTimeTicket() async throws {
        try await TestServer.with { server in
            try server.contract()
            let token = try await server.token("alice")
            let (body, status) = try await Self.post("\(server.baseURL)/api/ws-ticket", token: token)
            #expect(status == 200)
            let ticket = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])["ticket"] as? String
            let alice = try await TestClient.connect(server, token: nil, query: "?ticket=\(ticket!)")
            _ = try await alice.join("c-1")
            await alice.close()
            // Spent: the same ticket does not open a second connection.
            #expect(try await TestClient.refused(server, token: nil, query: "?ticket=\(ticket!)") == .init(code: "bad_ticket", closeCode: 4401))
        }
    }

    static func get(_ url: String, token: String? = nil, headers: [String: String] = [:]) async throws -> (String, Int) {
        var request = URLRequest(url: URL(string: url)!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return (String(decoding: data, as: UTF8.self), (response as! HTTPURLResponse).statusCode)
    }

    static func post(_ url: String, token: String? = nil, headers: [String: String] = [:], json: String = "{}") async throws -> (String, Int) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return (String(decoding: data, as: UTF8.self), (response as! HTTPURLResponse).statusCode)
    }
}

/// The demo link says 127.0.0.1 and the user typed localhost (or the reverse), or a phone on the network
/// opened `--host 0.0.0.0` by the machine's address: the server's own page must connect; a page elsewhere not.
@Suite struct SameOriginTests {
    @Test func aPageServedFromTheAddressTheSocketOpensToIsTheServersOwn() {
        #expect(Authenticator.isSameOrigin("http://localhost:8080", host: "localhost:8080"))
        #expect(Authenticator.isSameOrigin("http://127.0.0.1:8080", host: "127.0.0.1:8080"))
        #expect(Authenticator.isSameOrigin("http://192.168.1.20:8080", host: "192.168.1.20:8080"))
        #expect(Authenticator.isSameOrigin("HTTP://Chat.Example.com", host: "chat.example.com"))
        #expect(Authenticator.isSameOrigin("https://chat.example.com", host: "chat.example.com:443"))
        #expect(Authenticator.isSameOrigin("http://[::1]:8080", host: "[::1]:8080"))
        #expect(Authenticator.isSameOrigin("http://[::1]", host: "[::1]"))
    }

    @Test func aPageAnywhereElseIsNot() {
        #expect(!Authenticator.isSameOrigin("https://evil.example", host: "127.0.0.1:8080"))
        #expect(!Authenticator.isSameOrigin("http://localhost:8081", host: "localhost:8080"), "another port is another origin")
        #expect(!Authenticator.isSameOrigin("https://chat.example.com", host: "chat.example.com:80"), "another scheme's port")
        #expect(!Authenticator.isSameOrigin("http://localhost:8080", host: nil))
        #expect(!Authenticator.isSameOrigin("null", host: "localhost:8080"), "a sandboxed or file: page")
        #expect(!Authenticator.isSameOrigin("ws://127.0.0.1", host: "127.0.0.1:80"), "only web pages have origins")
        #expect(!Authenticator.isSameOrigin("http://evil.example@127.0.0.1:8080", host: "evil.example"))
    }
}
