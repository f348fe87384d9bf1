import ChatServer
import Foundation
import Payments
import Hummingbird
import Logging
import MilestoneCore
import ServiceLifecycle
import Storage
import Synchronization
import Testing

/// The platform's webhook receiver, for tests: records what arrives, checks signatures, can be down.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var id: String
        var contract: String
        var seq: Int64
        var type: String
        /// The body as it arrived.
        var body: Data

        /// The body's JSON object.
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    static let secret = "notification-secret-0123456789"
    let received = Mutex<[Received]>([])
    let refused = Mutex(0)
    let badSignatures = Mutex(0)
    let up = Mutex(false)
    /// GET requests to the hook: what a followed redirect turns a webhook POST into.
    let gets = Mutex(0)

    /// Runs a receiver on an ephemeral port for the duration of `body`.
    func run<T: Sendable>(_ body: @Sendable (URL) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, context -> HTTPResponse.Status in
            guard self.up.withLock({ $0 }) else {
                self.refused.withLock { $0 += 1 }
                return .serviceUnavailable
            }
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let body = Data(buffer.readableBytesView)
            do {
                try WebhookSignature.verify(header: request.headers[.init("Milestone-Signature")!] ?? "", body: body, secret: Self.secret, now: Date())
            } catch {
                self.badSignatures.withLock { $0 += 1 }
                return .badRequest
            }
            let json = try JSONSerialization.jsonObject(with: body) as! [String: Any]
            self.received.withLock {
                $0.append(Received(id: json["id"] as! String, contract: json["contract"] as! String, seq: (json["seq"] as! NSNumber).int64Value, type: json["type"] as! String, body: body))
            }
            return .ok
        }
        router.get("/hook") { _, _ -> HTTPResponse.Status in
            self.gets.withLock { $0 += 1 }
            return .ok
        }
        // A moved endpoint: points the POST at the hook.
        router.post("/moved") { _, _ -> Response in
            Response(status: .movedPermanently, headers: [.location: "/hook"])
        }
        return try await LoopbackHTTP.serve(router, label: "receiver") { base in
            try await body(base.appendingPathComponent("hook"))
        }
    }
}

@Suite struct NotificationTests {
    static func settings(_ url: URL) -> ServerSettings {
        TestServer.settings {
            $0.webhookURL = url
            $0.webhookSecret = WebhookReceiver.secret
        }
    }

    /// Runs a money flow on two contracts through the real storage path.
    static func flow(_ server: TestServer, contract: String) async throws {
        try server.contract(contract, milestones: [MilestoneDraft(amount: 10_000, description: "Work")])
        for (text, who) in [("/fund M1", "alice"), ("/submit M1", "bob"), ("/release M1", "alice")] {
            let role: Role = who == "alice" ? .buyer : .freelancer
            _ = try await server.database.handle(LineRequest(
                commandID: CommandID(UUID().uuidString), thread: ContractID(contract), author: Participant(user: UserID(who), role: role),
                text: text, receivedAt: server.clock.now))
        }
    }

    static func waitUntil(_ timeout: TimeInterval = 10, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Timeout(description: "condition not met within \(timeout)s")
    }

    @Test func eventsArriveSignedInOrderOnceAfterTheReceiverComesBackAndAcrossARestart() async throws {
        let receiver = WebhookReceiver()
        try await receiver.run { url in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)")
            let clock = TestClock()
            // The receiver is down while the events happen, and the server stops before it comes back.
            try await TestServer.with(settings: Self.settings(url), folder: folder, clock: clock) { server in
                try await Self.flow(server, contract: "n-1")
                try await Self.flow(server, contract: "n-2")
                try await Self.waitUntil { receiver.refused.withLock { $0 } >= 2 }
            }
            #expect(receiver.received.withLock { $0.isEmpty })
            receiver.up.withLock { $0 = true }
            clock.advance(by: 3600)  // past any backoff
            try await TestServer.with(settings: Self.settings(url), folder: folder, clock: clock) { server in
                let (pending, _) = try server.database.notificationCounts()
                #expect(pending > 0)
                try await Self.waitUntil { (try? server.database.notificationCounts().pending) == 0 }
                let (_, delivered) = try server.database.notificationCounts()
                let received = receiver.received.withLock { $0 }
                #expect(received.count == delivered)
                #expect(Set(received.map(\.id)).count == received.count, "no event twice")
                for contract in ["n-1", "n-2"] {
                    let seqs = received.filter { $0.contract == contract }.map(\.seq)
                    #expect(seqs == seqs.sorted(), "in order for \(contract)")
                    let types = received.filter { $0.contract == contract }.map(\.type)
                    #expect(types == ["milestone_added", "milestone_funded", "work_submitted", "milestone_released"])
                }
                #expect(receiver.badSignatures.withLock { $0 } == 0)
            }
        }
    }

    /// The attack: the platform's endpoint answers 301. Followed, the POST became an empty GET (still
    /// signed) whose 200 counted as delivered, and the event was lost. A 3xx is a failed attempt.
    @Test func aRedirectingWebhookIsAFailedAttemptNotADelivery() async throws {
        let receiver = WebhookReceiver()
        receiver.up.withLock { $0 = true }
        try await receiver.run { hook in
            let moved = hook.deletingLastPathComponent().appendingPathComponent("moved")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("redirect-\(UUID().uuidString)")
            try await TestServer.with(settings: Self.settings(moved), folder: folder) { server in
                try await Self.flow(server, contract: "r-1")
                try await Self.waitUntil { (try? server.database.notificationCounts().pending) ?? 0 > 0 }
                // Give the service time for several attempts.
                try await Task.sleep(for: .seconds(2))
                let (pending, delivered) = try server.database.notificationCounts()
                #expect(delivered == 0, "a 301 is not a delivery")
                #expect(pending > 0)
                #expect(receiver.gets.withLock { $0 } == 0, "the redirect was not followed")
                #expect(receiver.received.withLock { $0.isEmpty })
            }
        }
    }

    /// The integrator's complaint: webhooks carried only text. Each event names who acted, the money in minor
    /// units with its currency, and whom to tell.
    @Test func eventsNameTheActorTheAmountsAndWhomToTell() async throws {
        let receiver = WebhookReceiver()
        receiver.up.withLock { $0 = true }
        try await receiver.run { url in
            try await TestServer.with(settings: Self.settings(url)) { server in
                try await Self.flow(server, contract: "s-1")
                try await Self.waitUntil { receiver.received.withLock { $0.count } >= 4 }
                let events = Dictionary(receiver.received.withLock { $0 }.map { ($0.type, $0.json) }, uniquingKeysWith: { first, _ in first })
                let funded = try #require(events["milestone_funded"])
                #expect(funded["actor"] as? [String: String] == ["user": "alice", "role": "buyer"])
                #expect(funded["notify"] as? [String] == ["bob"], "the buyer acted: the freelancer is told")
                let amount = try #require((funded["amounts"] as? [String: Any])?["amount"] as? [String: Any])
                #expect((amount["minor"] as? NSNumber)?.int64Value == 10_000)
                #expect(amount["currency"] as? String == "USD")
                #expect(amount["text"] as? String == "$100.00")
                #expect(funded["notify_moderators"] as? Bool == false)
                let submitted = try #require(events["work_submitted"])
                #expect(submitted["actor"] as? [String: String] == ["user": "bob", "role": "freelancer"])
                #expect(submitted["notify"] as? [String] == ["alice"])
                #expect((submitted["amounts"] as? [String: Any])?.isEmpty == true)
                let released = try #require(events["milestone_released"])
                #expect((((released["amounts"] as? [String: Any])?["amount"] as? [String: Any])?["minor"] as? NSNumber)?.int64Value == 10_000)
            }
        }
    }

    /// A dispute concerns moderators; a deadline has no actor, so both parties are told.
    @Test func disputesConcernModeratorsAndTheClockActsAsNobody() async throws {
        let receiver = WebhookReceiver()
        receiver.up.withLock { $0 = true }
        try await receiver.run { url in
            let clock = TestClock()
            try await TestServer.with(settings: Self.settings(url), clock: clock) { server in
                try server.contract("d-1", milestones: [MilestoneDraft(amount: 25_050, description: "Work")])
                for (text, who, role) in [("/fund M1", "alice", Role.buyer), ("/submit M1", "bob", .freelancer), ("/dispute M1 not what we agreed", "alice", .buyer)] {
                    _ = try await server.database.handle(LineRequest(commandID: CommandID(UUID().uuidString), thread: ContractID("d-1"),
                        author: Participant(user: UserID(who), role: role), text: text, receivedAt: clock.now))
                }
                try await Self.waitUntil { receiver.received.withLock { $0.contains { $0.type == "dispute_opened" } } }
                let opened = try #require(receiver.received.withLock { $0.first { $0.type == "dispute_opened" } }?.json)
                #expect(opened["notify_moderators"] as? Bool == true)
                #expect(opened["notify"] as? [String] == ["bob"])
                #expect((((opened["amounts"] as? [String: Any])?["held"] as? [String: Any])?["minor"] as? NSNumber)?.int64Value == 25_050)
                // The respondent lets the time pass: the clock acts.
                clock.advance(by: 30 * 86_400)
                try await Self.waitUntil { receiver.received.withLock { $0.contains { $0.type == "no_response" } } }
                let silent = try #require(receiver.received.withLock { $0.first { $0.type == "no_response" } }?.json)
                #expect(silent["actor"] is NSNull)
                #expect(silent["notify"] as? [String] == ["alice", "bob"])
            }
        }
    }

    @Test func signaturesAreCheckedStrictly() throws {
        let body = Data(#"{"id":"c-1:5"}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let header = WebhookSignature.sign(body: body, secret: "s3cret-s3cret-s3cret", at: now)
        try WebhookSignature.verify(header: header, body: body, secret: "s3cret-s3cret-s3cret", now: now)
        // A second v1 (key rotation) is fine; any matching one passes.
        try WebhookSignature.verify(header: header.replacingOccurrences(of: ",v1=", with: ",v1=00,v1="), body: body, secret: "s3cret-s3cret-s3cret", now: now)
        #expect(throws: WebhookSignature.Failure.badSignature) {
            try WebhookSignature.verify(header: header, body: Data(#"{"id":"c-1:6"}"#.utf8), secret: "s3cret-s3cret-s3cret", now: now)
        }
        #expect(throws: WebhookSignature.Failure.stale) {
            try WebhookSignature.verify(header: header, body: body, secret: "s3cret-s3cret-s3cret", now: now.addingTimeInterval(301))
        }
        #expect(throws: WebhookSignature.Failure.stale) {
            try WebhookSignature.verify(header: header, body: body, secret: "s3cret-s3cret-s3cret", now: now.addingTimeInterval(-301))
        }
        #expect(throws: WebhookSignature.Failure.malformedHeader) {
            try WebhookSignature.verify(header: "v1=abc", body: body, secret: "s3cret-s3cret-s3cret", now: now)
        }
    }
}
