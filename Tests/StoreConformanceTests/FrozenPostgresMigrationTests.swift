import Crypto
import Foundation
@testable import PostgresStore
import Testing

/// Shipped PostgreSQL migrations are frozen, as SQLite's are: the SQL of each is pinned by its digest, so an
/// edit to one fails here and a schema change has to be a new step.
@Suite struct FrozenPostgresMigrationTests {
    static let shipped: [(String, String)] = [
        ("v1: contracts, transcript, command log, ledger, deadlines", "44251edfb97792de12fc71c6512a6bd226030bc75d023ae85b8e93a03d33e10b"),
        ("v2: every dispute's case kept after it is resolved", "6aec8280c72821fc13e35c5c381f7414a2fc95fb2557ef032a61acf1ed9ee720"),
        ("v3: notification outbox with leases", "fca18000ddc4974ac3624148c8a0b5abc2dd3b5913673a13772f8ee38537d3b5"),
        ("v4: read markers", "6227de88dc1c46679d39acabf345f60de3f4bebb957eba7af0f42bbbc862bcbf"),
        ("v5: how far each party was told of unread lines", "ec5988dc2386b76cca5212b350fdbf8b55b5e7df7f0faf35a5ba8cc6a3043ce7"),
        ("v6: contracts with an open dispute, for the moderators' queue", "1188e11bd0851ece392f9b10c8bd1c8fba7601c84fabd2e2f9e2472bbd7847a3"),
    ]

    static func digest(_ statements: [String]) -> String {
        SHA256.hash(data: Data(statements.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    @Test func noShippedMigrationChanges() {
        let migrations = PostgresStore.migrations
        for (index, (id, digest)) in Self.shipped.enumerated() {
            guard index < migrations.count else { Issue.record("shipped migration \(id) is gone"); continue }
            #expect(migrations[index].id == id, "migration \(index + 1) was renamed")
            #expect(Self.digest(migrations[index].sql) == digest, "\(id) was edited after it shipped; add a new migration instead")
        }
        for migration in migrations.dropFirst(Self.shipped.count) {
            Issue.record("a new migration \"\(migration.id)\": pin it here once it ships, digest \(Self.digest(migration.sql))")
        }
    }
}
