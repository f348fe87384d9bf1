import BotConfig
import ChatServer
import Foundation
import MilestoneCore
import Storage
import Testing

/// Review periods and reminders fired by the running server's deadline service, with a test clock.
@Suite struct DeadlineTests {
    static let day: TimeInterval = 86_400

    /// Waits until the stored transcript has a message whose text contains `fragment`.
    @discardableResult
    static func waitForMessage(_ server: TestServer, containing fragment: String, count: Int = 1, timeout: TimeInterval = 5) async throws -> StoredMessage {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found = try server.database.fullTranscript(of: "c-1").filter { $0.body.contains(fragment) }
            if found.count >= count { return found[count - 1] }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Timeout(description: "not \(count) messages containing \"\(fragment)\"")
    }

    /// A staging site sets a review period in seconds and watches it pass on the real clock, as the
    /// deadline service fires it in production.
    @Test func aReviewPeriodOfSecondsAutoReleasesInRealTime() async throws {
        let catalog = try PolicyCatalog.load(
            directory: TestServer.repositoryPresets,
            overrides: ["indeelancer": ["review_period_days": "3s", "review_reminder_days": [Int]()]])
        #expect(catalog["indeelancer"]?.reviewPeriod == .init(seconds: 3, outcome: .autoRelease))
        var settings = TestServer.settings()
        settings.presets = catalog
        try await TestServer.with(settings: settings, clock: .real()) { server in
            try server.contract(milestones: [MilestoneDraft(amount: 20_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            #expect(try await alice.say("/fund M1").ackOutcome == "applied")
            let submitted = Date()
            #expect(try await bob.say("/submit M1 the files").ackOutcome == "applied")
            _ = try await Self.waitForMessage(server, containing: "The review period for M1 passed", timeout: 10)
            let waited = Date().timeIntervalSince(submitted)
            #expect(waited >= 3 && waited < 8, "released after \(waited) s")
            #expect(try server.database.ledger(of: "c-1").balance(.freelancer) == 20_000)
            await alice.close()
            await bob.close()
        }
    }

    /// A dispute whose other party stays silent: with a response time of seconds the deadline passes on the
    /// real clock, the thread says so, and the case reaches the moderators' queue ready and flagged.
    @Test func aSilentRespondentsCaseGoesToTheModeratorsFlaggedNoResponse() async throws {
        let catalog = try PolicyCatalog.load(
            directory: TestServer.repositoryPresets, overrides: ["indeelancer": ["dispute_response_days": "2s"]])
        #expect(catalog["indeelancer"]?.disputeResponseSeconds == 2)
        var settings = TestServer.settings()
        settings.presets = catalog
        try await TestServer.with(settings: settings, clock: .real()) { server in
            try server.contract(milestones: [MilestoneDraft(amount: 20_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            #expect(try await alice.say("/fund M1").ackOutcome == "applied")
            #expect(try await alice.say("/dispute M1 nothing was delivered").ackOutcome == "applied")
            let token = try await server.token("mia", role: "moderator")
            let (waiting, _) = try await AccessTests.get("\(server.baseURL)/api/disputes?status=awaiting_response", token: token)
            #expect(waiting.contains(#""thread":"c-1""#), "\(waiting)")
            _ = try await Self.waitForMessage(server, containing: "did not respond to the dispute on M1 in time", timeout: 10)
            let (ready, _) = try await AccessTests.get("\(server.baseURL)/api/disputes?status=ready", token: token)
            #expect(ready.contains(#""no_response":true"#), "\(ready)")
            // Nothing moved: a moderator decides.
            #expect(try server.database.ledger(of: "c-1").balance(.held(MilestoneNumber(1))) == 20_000)
            await alice.close()
        }
    }

    @Test func remindersThenAutoReleaseExactlyOnceWithADisputeStoppingTheClock() async throws {
        try await TestServer.with { server in
            // Indeelancer: 14-day review period, reminders 3 days and 1 day before it passes.
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo"), MilestoneDraft(amount: 20_000, description: "Icons")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            _ = try await alice.say("/fund M1")
            _ = try await alice.say("/fund M2")
            _ = try await bob.say("/submit M1 done")
            _ = try await bob.say("/submit M2 done")
            _ = try await alice.say("/dispute M2 the icons are missing")

            server.clock.advance(by: 11 * Self.day + 60)
            let firstReminder = try await Self.waitForMessage(server, containing: "Reminder: the review period for M1")
            #expect(firstReminder.kind == .system)
            server.clock.advance(by: 2 * Self.day)
            try await Self.waitForMessage(server, containing: "Reminder: the review period for M1", count: 2)
            let reminders = try server.database.fullTranscript(of: "c-1").filter { $0.body.hasPrefix("Reminder: the review period for M1") }
            #expect(reminders.count == 2)

            server.clock.advance(by: 1 * Self.day)
            let released = try await Self.waitForMessage(server, containing: "The review period for M1 passed")
            try await bob.waitFor(seq: released.seq)
            // Give the service a few more rounds: it must not fire again.
            try await Task.sleep(for: .milliseconds(2500))
            let ledger = try server.database.ledger(of: "c-1")
            #expect(ledger.postings.filter { $0.kind == .post }.count == 1)
            #expect(ledger.balance(.freelancer) == 50_000)
            // The dispute stopped M2's clock: no reminder, no release, money still held.
            let transcript = try server.database.fullTranscript(of: "c-1")
            #expect(!transcript.contains { $0.body.contains("for M2 passed") || $0.body.contains("review period for M2 ends") })
            #expect(ledger.balance(.held(MilestoneNumber(2))) == 20_000)
            #expect(try await server.database.contract("c-1")?.milestones[1].state.name == "disputed")
            await alice.close()
            await bob.close()
        }
    }

    @Test func aDeadlineThatPassedWhileTheServerWasDownFiresOnceWhenItComesBack() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("deadline-restart-\(UUID().uuidString)")
        let clock = TestClock()
        try await TestServer.with(folder: folder, clock: clock) { server in
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            _ = try await alice.say("/fund M1")
            _ = try await bob.say("/submit M1 done")
            await alice.close()
            await bob.close()
        }
        // Down for 20 days.
        clock.advance(by: 20 * Self.day)
        try await TestServer.with(folder: folder, clock: clock) { server in
            _ = try await Self.waitForMessage(server, containing: "The review period for M1 passed")
        }
        try await TestServer.with(folder: folder, clock: clock) { server in
            try await Task.sleep(for: .milliseconds(2500))
            let transcript = try server.database.fullTranscript(of: "c-1")
            #expect(transcript.filter { $0.body.contains("The review period for M1 passed") }.count == 1)
            // Stale reminders say nothing after the period is over.
            #expect(!transcript.contains { $0.body.hasPrefix("Reminder:") })
            let ledger = try server.database.ledger(of: "c-1")
            #expect(ledger.postings.map(\.kind) == [.hold, .post])
            #expect(try server.database.verify(thread: "c-1").isIntact)
        }
    }
}
