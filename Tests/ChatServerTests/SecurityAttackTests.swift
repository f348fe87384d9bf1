@testable import ChatServer
import Crypto
import Foundation
import FoundationNetworking
import MilestoneCore
import NIOWebSocket
import Storage
import Testing

/// The outside review's attacks (docs/SECURITY.md), each against the real server: every test failed on
/// the code before the fix.
@Suite struct SecurityAttackTests {
    // MARK: Look-alike identities

    /// `jose\u{301}` and `jos\u{E9}` are canonically equivalent (Swift's `==` says equal) but different
    /// bytes: a stranger with the decomposed `sub` joined the buyer's contract and moved money.
    @Test func aCanonicallyEquivalentSubIsAnotherUser() async throws {
        try await TestServer.with { server in
            try server.contract(buyer: "jos\u{E9}", freelancer: "bob", milestones: [MilestoneDraft(amount: 50_000, description: "Logo")])
            let stranger = try await TestClient.connect(server, token: try await server.token("jose\u{301}"))
            try await stranger.send(.join(thread: "c-1", after: nil))
            guard case .error(let error) = try await stranger.next(where: { if case .error = $0 { true } else { false } }) else { return }
            #expect(error.code == "not_member")
            // Storage refuses the decomposed id as the buyer too, whatever the layer above says.
            #expect(throws: StorageError.self) {
                try server.database.handle(LineRequest(commandID: "x", thread: "c-1", author: Participant(user: "jose\u{301}", role: .buyer),
                    text: "/fund M1", receivedAt: server.clock.now))
            }
            let (threads, _) = try await AccessTests.get("\(server.baseURL)/api/threads", token: try await server.token("jose\u{301}"))
            #expect(!threads.contains("c-1"))
            #expect(try await server.database.contract("c-1")?.milestones.first?.held == 0)
            await stranger.close()
        }
    }

    /// `cafe\u{301}` and `caf\u{E9}` are two contracts: the hub kept them apart only if ids hash by bytes.
    @Test func canonicallyEquivalentContractIdsAreTwoThreads() async throws {
        try await TestServer.with { server in
            try server.contract("caf\u{E9}", buyer: "alice", freelancer: "bob")
            try server.contract("cafe\u{301}", buyer: "carol", freelancer: "dave")
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let carol = try await TestClient.connect(server, token: try await server.token("carol"))
            _ = try await alice.join("caf\u{E9}")
            _ = try await carol.join("cafe\u{301}")
            guard case .ack = try await alice.say("secret for bob only", in: "caf\u{E9}") else { Issue.record("no ack"); return }
            guard case .ack = try await carol.say("hello dave", in: "cafe\u{301}") else { Issue.record("no ack"); return }
            try await Task.sleep(for: .milliseconds(300))
            let leaked = carol.arrivals.contains {
                switch $0 {
                case .message(let m), .notice(let m): m.text.contains("secret")
                case .history(let page): page.messages.contains { $0.text.contains("secret") }
                default: false
                }
            }
            #expect(!leaked, "carol saw alice's line")
            // carol may not join alice's contract by its composed id either.
            try await carol.send(.join(thread: "caf\u{E9}", after: 0))
            guard case .error(let error) = try await carol.next(where: { if case .error = $0 { true } else { false } }) else { return }
            #expect(error.code == "not_member")
            await alice.close()
            await carol.close()
        }
    }

    @Test func idsCompareAndHashByTheirBytes() {
        #expect(UserID("jos\u{E9}") != UserID("jose\u{301}"))
        #expect(Set([ContractID("caf\u{E9}"), ContractID("cafe\u{301}")]).count == 2)
        #expect(UserID("alice") == UserID("alice"))
        #expect(ContractID("a") < ContractID("b") && ContractID("Z") < ContractID("a"), "byte order, as SQLite's BINARY collation")
    }

    // MARK: Text and ids from the platform and from tokens

    /// A NUL from the platform was stored truncated, and `verify` then reported the chain altered for ever.
    @Test func aNULOrControlCharacterFromThePlatformIsRefusedAndChangesNothing() async throws {
        try await TestServer.with { server in
            let bodies = [
                #"{"id":"n-1","title":"Logo\u0000 design","buyer":"alice","freelancer":"bob","currency":"USD","preset":"indeelancer"}"#,
                #"{"id":"n-2","title":"Logo","buyer":"ali\u0000ce","freelancer":"bob","currency":"USD","preset":"indeelancer"}"#,
                #"{"id":"n-3","title":"Logo","buyer":"alice","freelancer":"bob\u202E","currency":"USD","preset":"indeelancer"}"#,
                #"{"id":"n-4\u0000","title":"Logo","buyer":"alice","freelancer":"bob","currency":"USD","preset":"indeelancer"}"#,
                #"{"id":"n-5","title":"Logo","buyer":"alice","freelancer":"bob","currency":"USD","preset":"indeelancer","milestones":[{"amount":"500","description":"Draft\u0000s"}]}"#,
                #"{"id":"n-6","title":"Logo\nline two","buyer":"alice","freelancer":"bob","currency":"USD","preset":"indeelancer"}"#,
            ]
            for body in bodies {
                let (answer, status) = try await AccessTests.post("\(server.baseURL)/api/contracts", headers: ["X-Api-Key": TestServer.apiKey], json: body)
                #expect(status == 400, "\(body) -> \(answer)")
                #expect(answer.contains("control character") || answer.contains("format or bidi"), "\(answer)")
            }
            let (list, _) = try await AccessTests.get("\(server.baseURL)/api/verify", token: try await server.token("mia", role: "moderator"))
            #expect(list.contains(#""threads":[]"#), "nothing was stored: \(list)")
        }
    }

    /// A `sub` holding NUL, a bidi control or more than 200 bytes is no user id.
    @Test func aTokenWhoseSubIsNoUsableIdIsRefused() async throws {
        try await TestServer.with { server in
            for sub in ["ali\u{0}ce", "alice\u{202E}", "al\u{200B}ice", String(repeating: "\u{20AC}", count: 67)] {
                let token = try await server.context.verifier.mint(user: UserID(sub), role: "buyer", lifetime: 600)
                #expect(try await TestClient.refused(server, token: token) == .init(code: "bad_token", closeCode: 4401), "\(sub.unicodeScalars.map(\.value))")
            }
            // 200 bytes is the limit (100 two-byte letters).
            let long = try await server.context.verifier.mint(user: UserID(String(repeating: "\u{E9}", count: 100)), role: "buyer", lifetime: 600)
            await (try await TestClient.connect(server, token: long)).close()
        }
    }

    // MARK: Tokens

    /// A JWT signed by hand: the header and payload as given, HMAC-SHA256 with `secret`.
    static func forge(header: String, payload: String, secret: String = TestServer.secret) -> String {
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let signingInput = base64URL(Data(header.utf8)) + "." + base64URL(Data(payload.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return signingInput + "." + base64URL(Data(mac))
    }

    /// The header's `alg` was ignored: `none` or `RS256` over a valid HS256 signature passed. And `nbf`
    /// was not enforced.
    @Test func aTokenMustSayHS256AndIsRefusedBeforeItsNotBefore() async throws {
        try await TestServer.with { server in
            let now = Int(server.clock.now.timeIntervalSince1970)
            let claims = #"{"sub":"alice","role":"buyer","aud":"milestone-bot","iat":\#(now),"exp":\#(now + 600)}"#
            for alg in ["none", "RS256", "HS512", "hs256"] {
                let token = Self.forge(header: #"{"alg":"\#(alg)","typ":"JWT"}"#, payload: claims)
                #expect(try await TestClient.refused(server, token: token) == .init(code: "bad_token", closeCode: 4401), "alg \(alg)")
            }
            let notYet = Self.forge(header: #"{"alg":"HS256","typ":"JWT"}"#,
                payload: #"{"sub":"alice","role":"buyer","aud":"milestone-bot","iat":\#(now),"nbf":\#(now + 300),"exp":\#(now + 600)}"#)
            #expect(try await TestClient.refused(server, token: notYet) == .init(code: "bad_token", closeCode: 4401), "before nbf")
            let (body, status) = try await AccessTests.get("\(server.baseURL)/api/threads", token: notYet)
            #expect(status == 401 && body.contains("nbf"), "\(body)")
            // The same claims, HS256 and past nbf, are fine.
            server.clock.advance(by: 301)
            await (try await TestClient.connect(server, token: notYet)).close()
            let good = Self.forge(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: claims)
            await (try await TestClient.connect(server, token: good)).close()
        }
    }

    // MARK: Tickets and expiry

    /// A ticket bought another ticket, for ever: chained tickets outlived a 5-second token by minutes.
    @Test func aTicketOpensAWebSocketOnlyAndNeverOutlivesItsToken() async throws {
        try await TestServer.with { server in
            try server.contract()
            let token = try await server.token("alice", lifetime: 5)
            let (issued, _) = try await AccessTests.post("\(server.baseURL)/api/ws-ticket", token: token)
            let ticket = try #require(try JSONSerialization.jsonObject(with: Data(issued.utf8)) as? [String: Any])
            #expect(ticket["expires_in"] as? Int == 5, "a ticket lives no longer than its token")
            let value = try #require(ticket["ticket"] as? String)
            // A ticket is no credential for the API, so it cannot buy the next ticket.
            let (chained, status) = try await AccessTests.post("\(server.baseURL)/api/ws-ticket?ticket=\(value)")
            #expect(status == 401, "\(chained)")
            let (read, readStatus) = try await AccessTests.get("\(server.baseURL)/api/threads?ticket=\(value)")
            #expect(readStatus == 401, "\(read)")
            // Past the token's expiry the unspent ticket is dead.
            server.clock.advance(by: 6)
            #expect(try await TestClient.refused(server, token: nil, query: "?ticket=\(value)") == .init(code: "bad_ticket", closeCode: 4401))
        }
    }

    /// An open WebSocket kept applying commands after its token's `exp`.
    @Test func anOpenWebSocketEndsWhenItsTokenExpires() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 10_000, description: "Logo")])
            // On its next message, when the clock has passed exp.
            let alice = try await TestClient.connect(server, token: try await server.token("alice", lifetime: 60))
            _ = try await alice.join("c-1")
            server.clock.advance(by: 61)
            try await alice.send(.send(thread: "c-1", id: "late", text: "/fund M1"))
            guard case .error(let error) = try await alice.next(where: { if case .error = $0 { true } else { false } }) else { return }
            #expect(error.code == "token_expired")
            #expect(try await alice.closeCode() == WebSocketErrorCode(codeNumber: 4401))
            #expect(try await server.database.contract("c-1")?.milestones.first?.held == 0, "the late command did not run")
            // And by itself, when the connection is idle: the timer fires at exp.
            let bob = try await TestClient.connect(server, token: try await server.token("bob", lifetime: 1))
            server.clock.advance(by: 2)
            #expect(try await bob.closeCode(timeout: 5) == WebSocketErrorCode(codeNumber: 4401))
            #expect(bob.errors.contains { $0.code == "token_expired" })
        }
    }

    /// Token refresh on an open connection, as chat SDKs do: the same user's fresh token extends it;
    /// another user's token, or a bad one, changes nothing.
    @Test func aFreshTokenOnTheOpenConnectionKeepsItAliveAndOnlyForTheSameUser() async throws {
        try await TestServer.with { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice", lifetime: 60))
            _ = try await alice.join("c-1")
            try await alice.send(.auth(token: try await server.token("bob", lifetime: 3600)))
            guard case .error(let other) = try await alice.next(where: { if case .error = $0 { true } else { false } }) else { return }
            #expect(other.code == "bad_token" && other.message.contains("same user"))
            try await alice.send(.auth(token: "not-a-token"))
            guard case .error(let bad) = try await alice.next(where: { if case .error = $0 { true } else { false } }) else { return }
            #expect(bad.code == "bad_token")
            try await alice.send(.auth(token: try await server.token("alice", lifetime: 3600)))
            guard case .authenticated(let fresh) = try await alice.next(where: { if case .authenticated = $0 { true } else { false } }) else { return }
            #expect(fresh.user == "alice")
            server.clock.advance(by: 120)
            guard case .ack = try await alice.say("still here") else { Issue.record("refused after refresh"); return }
            await alice.close()
        }
    }

    /// A refresh to an earlier expiry moves the timer too: an idle socket does not live on to the old `exp`.
    @Test func aRefreshToAnEarlierExpiryEndsTheConnectionThen() async throws {
        try await TestServer.with { server in
            let alice = try await TestClient.connect(server, token: try await server.token("alice", lifetime: 3600))
            try await alice.send(.auth(token: try await server.token("alice", lifetime: 1)))
            _ = try await alice.next { if case .authenticated = $0 { true } else { false } }
            server.clock.advance(by: 2)
            #expect(try await alice.closeCode(timeout: 5) == WebSocketErrorCode(codeNumber: 4401))
        }
    }

    /// Binary frames and undecodable JSON were answered without taking a token: unlimited work and replies.
    @Test func binaryAndMalformedFramesCountAgainstTheRateLimit() async throws {
        try await TestServer.with { server in
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            for index in 0..<60 {
                if index.isMultiple(of: 2) {
                    try await alice.sendFrame(opcode: .binary, bytes: [1, 2, 3])
                } else {
                    try await alice.sendText("{not json")
                }
            }
            _ = try await alice.next { if case .error(let e) = $0 { e.code == "rate_limited" } else { false } }
            await alice.close()
        }
    }

    // MARK: Moderation

    /// A platform-signed moderator token whose `sub` is the buyer resolved its own dispute.
    @Test func aModeratorWhoIsAPartyCannotRuleOnTheContract() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 90_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await bob.join("c-1")
            _ = try await alice.say("/fund M1")
            _ = try await bob.say("/submit M1 done")
            _ = try await alice.say("/dispute M1 not what we agreed")
            let aliceModerator = try await server.token("alice", role: "moderator")
            let (body, status) = try await AccessTests.post("\(server.baseURL)/api/contracts/c-1/resolve", token: aliceModerator,
                json: #"{"id":"r-1","milestone":"M1","ruling":"refund","note":"my own ruling"}"#)
            #expect(status == 403 && body.contains("party_cannot_moderate"), "\(body)")
            // In the thread the same token is the buyer, and /resolve is refused.
            let asModerator = try await TestClient.connect(server, token: aliceModerator)
            let joined = try await asModerator.join("c-1")
            #expect(joined.role == "buyer")
            #expect(try await asModerator.say("/resolve M1 refund mine").ackOutcome == "rejected")
            #expect(try await server.database.contract("c-1")?.milestones.first?.state.name == "disputed")
            for client in [alice, bob, asModerator] { await client.close() }
        }
    }

    /// `{"milestone":"M1 release","ruling":"refund"}` released: the fields were joined into a line.
    @Test func theResolveAPIReadsEachFieldAsItsType() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 90_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            _ = try await alice.say("/fund M1")
            _ = try await alice.say("/dispute M1 late")
            let mia = try await server.token("mia", role: "moderator")
            let bodies = [
                #"{"id":"r-1","milestone":"M1 release","ruling":"refund","note":"x"}"#,
                #"{"id":"r-2","milestone":"M1","ruling":"split","amount":"450 EUR","note":"half"}"#,
                #"{"id":"r-3","milestone":"M1","ruling":"split","amount":"450 release","note":"half"}"#,
                #"{"id":"r-4","milestone":"M1","ruling":"refund","amount":"450","note":"x"}"#,
                #"{"id":"r-5","milestone":"M1","ruling":"refund","note":"   "}"#,
                #"{"id":"r\u0000","milestone":"M1","ruling":"refund","note":"x"}"#,
            ]
            for body in bodies {
                let (answer, status) = try await AccessTests.post("\(server.baseURL)/api/contracts/c-1/resolve", token: mia, json: body)
                #expect(status == 400, "\(body) -> \(answer)")
            }
            #expect(try await server.database.contract("c-1")?.milestones.first?.state.name == "disputed", "nothing was ruled")
            let (answer, status) = try await AccessTests.post("\(server.baseURL)/api/contracts/c-1/resolve", token: mia,
                json: #"{"id":"r-9","milestone":"m1","ruling":"split","amount":"$450","note":"half the work"}"#)
            #expect(status == 200, "\(answer)")
            let transcript = try server.database.fullTranscript(of: "c-1")
            #expect(transcript.contains { $0.body == "/resolve M1 split 450.00 half the work" })
            await alice.close()
        }
    }

    /// `/milestone add 50000 JPY Logo` on a USD contract made a $50,000.00 milestone "JPY Logo".
    @Test func aCurrencyCodeThatIsNotTheContractsIsRefusedInChat() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 90_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            #expect(try await alice.say("/milestone add 50000 JPY Logo").ackOutcome == "rejected")
            let notice = try await alice.next { if case .notice(let m) = $0 { m.kind == "notice" } else { false } }
            guard case .notice(let answer) = notice else { return }
            #expect(answer.text.contains("`JPY` is not this contract's currency"), "\(answer.text)")
            #expect(try await server.database.contract("c-1")?.milestones.count == 1)
            // The contract's own code is part of the amount.
            #expect(try await alice.say("/milestone add 500 USD Favicon").ackOutcome == "applied")
            #expect(try await server.database.contract("c-1")?.milestones.last?.description == "Favicon")
            await alice.close()
        }
    }

    // MARK: Headers

    static func headers(_ url: String, token: String? = nil) async throws -> HTTPURLResponse {
        var request = URLRequest(url: URL(string: url)!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (_, response) = try await URLSession.shared.data(for: request)
        return response as! HTTPURLResponse
    }

    /// Defence in depth around the transcript: sandboxed when served, no framing, no sniffing, no caching.
    @Test func answersCarryTheSecurityHeaders() async throws {
        try await TestServer.with { server in
            try server.contract()
            let mia = try await server.token("mia", role: "moderator")
            let page = try await Self.headers("\(server.baseURL)/")
            let pagePolicy = try #require(page.value(forHTTPHeaderField: "Content-Security-Policy"))
            #expect(pagePolicy.contains("script-src 'self'") && pagePolicy.contains("frame-ancestors 'none'") && !pagePolicy.contains("unsafe-inline"))
            #expect(page.value(forHTTPHeaderField: "X-Content-Type-Options") == "nosniff")
            let transcript = try await Self.headers("\(server.baseURL)/api/contracts/c-1/transcript?format=html", token: mia)
            let transcriptPolicy = try #require(transcript.value(forHTTPHeaderField: "Content-Security-Policy"))
            #expect(transcriptPolicy.hasPrefix("sandbox;") && transcriptPolicy.contains("default-src 'none'"))
            #expect(transcript.value(forHTTPHeaderField: "Cache-Control") == "no-store")
            for path in ["/api/threads", "/api/contracts/c-1", "/api/disputes"] {
                let api = try await Self.headers("\(server.baseURL)\(path)", token: mia)
                #expect(api.value(forHTTPHeaderField: "Cache-Control") == "no-store", "\(path)")
                #expect(api.value(forHTTPHeaderField: "X-Content-Type-Options") == "nosniff", "\(path)")
            }
            let refused = try await Self.headers("\(server.baseURL)/api/threads")
            #expect(refused.statusCode == 401 && refused.value(forHTTPHeaderField: "Cache-Control") == "no-store", "errors too")
        }
    }

    // MARK: Memory

    /// `history` skipped the rate limiter, and pages were bounded in lines only (500 lines of 4,000
    /// characters, ~2 MB a page): a client that never read grew the server by gigabytes. Pages are bounded
    /// in bytes, and each user's reads are charged by their size, across connections.
    @Test func historyIsBoundedInBytesAndChargedByItsSizeAcrossConnections() async throws {
        let settings = TestServer.settings {
            $0.limits.maxHistoryBytes = 64 << 10
            $0.limits.readBytesPerSecond = 16 << 10
            $0.limits.readBytesBurst = 256 << 10
        }
        try await TestServer.with(settings: settings) { server in
            try server.contract()
            let line = String(repeating: "x", count: 4_000)
            for index in 0..<60 {
                _ = try await server.database.handle(LineRequest(commandID: CommandID("seed-\(index)"), thread: "c-1",
                    author: Participant(user: "bob", role: .freelancer), text: line, receivedAt: server.clock.now))
            }
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1", after: 60)
            try await alice.send(.history(thread: "c-1", before: nil, limit: 500))
            guard case .history(let page) = try await alice.next(where: { if case .history = $0 { true } else { false } }) else { return }
            #expect(page.hasMore, "a page that would pass the byte bound holds fewer messages")
            #expect(page.messages.reduce(0) { $0 + $1.text.utf8.count } <= 64 << 10)
            #expect(page.messages.last?.seq == 61, "the newest messages are kept")
            // ~64 KiB pages against a 256 KiB burst: a few are answered, then `rate_limited`.
            for _ in 0..<20 { try await alice.send(.history(thread: "c-1", before: nil, limit: 500)) }
            let limited = try await alice.next(timeout: 10) { if case .error(let e) = $0 { e.code == "rate_limited" } else { false } }
            if case .error(let error) = limited { #expect(error.thread == "c-1") }
            try await Task.sleep(for: .milliseconds(300))
            let pages = alice.arrivals.filter { if case .history = $0 { true } else { false } }.count
            #expect(pages < 10, "\(pages) pages answered out of 20")
            // A new connection of the same user shares the budget: no fresh burst.
            let again = try await TestClient.connect(server, token: try await server.token("alice"))
            try await again.send(.join(thread: "c-1", after: nil))
            let refused = try await again.next { if case .error(let e) = $0 { e.code == "rate_limited" } else { false } }
            if case .error(let error) = refused { #expect(error.thread == "c-1") }
            await alice.close()
            await again.close()
        }
    }

    /// A resume that missed more than a catch-up may hold gets the newest page (and pages back), not every
    /// message at once: that overflowed the queue's byte bound, dropped the client, and looped on reconnects.
    @Test func aResumeFarBehindGetsTheNewestPageInsteadOfEverything() async throws {
        try await TestServer.with { server in
            try server.contract()
            for index in 0..<1_050 {
                _ = try await server.database.handle(LineRequest(commandID: CommandID("old-\(index)"), thread: "c-1",
                    author: Participant(user: "bob", role: .freelancer), text: "line \(index)", receivedAt: server.clock.now))
            }
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let joined = try await alice.join("c-1", after: 0)
            #expect(joined.lastSeq == 1_051)
            let messages = alice.arrivals.filter { if case .message = $0 { true } else { false } }
            #expect(messages.isEmpty, "no message frames one by one")
            guard case .history(let page) = try await alice.next(where: { if case .history = $0 { true } else { false } }) else { return }
            #expect(page.hasMore && page.messages.last?.seq == 1_051)
            // A resume a few messages behind is still message by message.
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await bob.join("c-1", after: 1_048)
            #expect(bob.transcript().map(\.seq) == [1_049, 1_050, 1_051])
            await alice.close()
            await bob.close()
        }
    }
}
