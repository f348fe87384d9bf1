import Foundation
import MilestoneCore
import PostgresStore
import Storage
import Testing

/// The notification outbox on PostgreSQL, where several nodes deliver from one table: a notification is
/// leased to one node at a time, a contract's events go out in order, and a dead node's lease is taken over.
@Suite struct PostgresOutboxTests {
    @Test func twoNodesNeverHoldTheSameNotificationAndAContractsEventsGoInOrder() async throws {
        try await Stores.withPostgres(recordsNotifications: true) { store in
            for id in ["n-1", "n-2", "n-3"] {
                _ = try await Stores.contract(store, id)
                _ = try await store.appendLine(Stores.line("/fund M1", by: "alice", in: id))
            }
            let now = Date(timeIntervalSince1970: 1_800_000_200)
            // Each contract has its creation's milestone_added events and the funding: one at a time per contract.
            async let first = store.claimNotifications(for: "node-a", at: now, lease: 30, limit: 50)
            async let second = store.claimNotifications(for: "node-b", at: now, lease: 30, limit: 50)
            let (a, b) = try await (first, second)
            #expect(Set(a.map(\.id)).isDisjoint(with: b.map(\.id)), "no notification leased to both")
            #expect(a.count + b.count == 3, "the oldest of each of the three contracts: \(a.map(\.eventID)) \(b.map(\.eventID))")
            #expect(Set((a + b).map(\.contract)).count == 3, "one per contract")
            #expect(try await store.claimNotifications(for: "node-c", at: now, lease: 30, limit: 50).isEmpty, "all leased")
            // node-a delivers its share; node-b dies holding its own.
            for item in a { #expect(try await store.markDelivered(item, by: "node-a", at: now)) }
            let afterA = try await store.claimNotifications(for: "node-c", at: now.addingTimeInterval(1), lease: 30, limit: 50)
            #expect(Set(afterA.map(\.contract)) == Set(a.map(\.contract)), "the next events of node-a's contracts, not node-b's leased ones")
            for item in afterA {
                let earlier = a.first { $0.contract == item.contract }!
                #expect(item.id > earlier.id, "in order within a contract")
            }
            // After node-b's lease runs out, another node takes its notifications over; node-b's late success counts for nothing.
            let takenOver = try await store.claimNotifications(for: "node-c", at: now.addingTimeInterval(31), lease: 30, limit: 50)
            #expect(Set(b.map(\.id)).isSubset(of: takenOver.map(\.id)), "node-b's leases were taken over")
            for item in b { #expect(try await store.markDelivered(item, by: "node-b", at: now.addingTimeInterval(32)) == false) }
            for item in b { #expect(try await store.markDelivered(item, by: "node-c", at: now.addingTimeInterval(33))) }
        }
    }

    @Test func everyEventHasItsStructuredPayloadInTheOutbox() async throws {
        try await Stores.withPostgres(recordsNotifications: true) { store in
            _ = try await Stores.contract(store, milestones: [50_000])
            _ = try await store.appendLine(Stores.line("/fund M1", by: "alice"))
            let now = Date(timeIntervalSince1970: 1_800_000_200)
            var delivered: [[String: Any]] = []
            for minute in 0..<5 {
                let claimed = try await store.claimNotifications(for: "node-a", at: now.addingTimeInterval(Double(minute)), lease: 30, limit: 50)
                for item in claimed {
                    delivered.append(try #require(try JSONSerialization.jsonObject(with: Data(item.payload.utf8)) as? [String: Any]))
                    try await store.markDelivered(item, by: "node-a", at: now)
                }
            }
            #expect(delivered.compactMap { $0["type"] as? String } == ["milestone_added", "milestone_funded"])
            let funded = try #require(delivered.last)
            #expect(funded["actor"] as? [String: String] == ["user": "alice", "role": "buyer"])
            #expect(funded["notify"] as? [String] == ["bob"])
            #expect((((funded["amounts"] as? [String: Any])?["amount"] as? [String: Any])?["minor"] as? NSNumber)?.int64Value == 50_000)
        }
    }
}

/// `verify` on PostgreSQL: rows changed behind the store's back are named, as on SQLite.
@Suite struct PostgresVerifyTests {
    @Test func aChangedOrRemovedMessageIsNamed() async throws {
        try await Stores.withPostgresURL { store, url in
            _ = try await Stores.contract(store)
            _ = try await Stores.contract(store, "c-2")
            for index in 0..<6 { _ = try await store.appendLine(Stores.line("line \(index)", by: "alice")) }
            #expect(try await store.threadIDs() == ["c-1", "c-2"])
            #expect(try await store.verifyChain(of: "c-1").isIntact)
            try await TestPostgres.run(url, "UPDATE message SET body = 'I never said that' WHERE thread_id = 'c-1' AND seq = 5")
            let altered = try await store.verifyChain(of: "c-1")
            #expect(altered.problem == .altered && altered.seq == 5, "\(altered.summary)")
            try await TestPostgres.run(url, "DELETE FROM message WHERE thread_id = 'c-2' AND seq = 2")
            let missing = try await store.verifyChain(of: "c-2")
            #expect(missing.problem == .missing && missing.seq == 2, "\(missing.summary)")
        }
    }
}

/// A connection lost during COMMIT: the line committed, but the store cannot know it. It must not be
/// acknowledged, and the client's resend with the same id must find the first outcome, not store it twice.
@Suite struct PostgresLostCommitTests {
    @Test func aLineWhoseCommitAnswerIsLostIsNotAcknowledgedAndItsResendFindsTheFirstOutcome() async throws {
        let url = try await TestPostgres.shared.freshDatabase()
        guard let components = URLComponents(string: url), let socketFolder = components.queryItems?.first(where: { $0.name == "host" })?.value else {
            Issue.record("the test cluster is reached over a Unix socket: \(url)")
            return
        }
        let cutter = CommitCutter()
        let port = try await cutter.start(forwardingTo: "\(socketFolder)/.s.PGSQL.\(components.port ?? 5432)")
        defer { Task { await cutter.stop() } }
        let store = try PostgresStore(url: "postgres://postgres@127.0.0.1:\(port)\(components.path)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            _ = try await Stores.contract(store)
            cutter.armed.store(true, ordering: .relaxed)
            await #expect(throws: (any Error).self, "the COMMIT's answer never came: no acknowledgement") {
                try await store.appendLine(Stores.line("/fund M1", by: "alice", id: "fund-while-cut"))
            }
            #expect(cutter.armed.load(ordering: .relaxed) == false, "the cut happened at a COMMIT")
            try await Task.sleep(for: .seconds(1))
            // The client resends with the same id (on a fresh connection).
            let resent = try await store.appendLine(Stores.line("/fund M1", by: "alice", id: "fund-while-cut"))
            #expect(resent.isDuplicate, "the first COMMIT had landed: its outcome is the answer")
            guard case .applied = resent.outcome else { Issue.record("\(resent.outcome)"); return }
            #expect(try await store.ledgerPostings(of: "c-1").count == 1, "the money moved once")
            #expect(try await store.verifyChain(of: "c-1").isIntact)
        }
    }
}
