import Crypto
import Foundation
import GRDB
import Synchronization
@testable import Storage
import Testing

/// Shipped migrations are frozen: the SQL each one runs is pinned by its digest, so an edit to a shipped
/// migration fails here, and a change to the schema has to be a new migration (which then gets its digest).
@Suite struct FrozenMigrationTests {
    /// SHA-256 of the statements each migration executes, in order, one per line.
    static let shipped: [(String, String)] = [
        ("v1: contracts, milestones, transcript, ledger, commands, deadlines", "b1d49463c1d6cb3d8fe2d9ddd541899aee5b4e5537cfa951abb8dc6334989018"),
        ("v2: notification outbox", "1c22079a7aa2ec3da452daf8beddc30ed14016dedc3f4b534f9e0037e526e7bb"),
        ("v3: payment processor", "3ec2eef1791c8dd45c2f1d80f71df281905e0a81c30cc6c9f6dc224141c3e958"),
        ("v4: thread heads in their own narrow table; only the indexes queries use", "c98f8a1721cc744bb234c5a3ea42f354956993013d41a8ff98b1885e139db77d"),
        ("v5: disputes about a contract as a whole", "ad4817db109b98a080891606f6ed97fbdb91e7f292cd3af16cab77ab6e325d49"),
        ("v6: offers the parties make each other; a cancelled order's phase", "773984aea1cb7b7ec71a5e688853d81a327c6bc5b763a897925b5cb6a41b0c48"),
        ("v7: every dispute's case kept after it is resolved", "87ff719ffdb0471afa6698a00f1f5e2d226d94e0402dddbad6d61605a583d0a9"),
        ("v8: files attached to threads", "b84b3228bfc28ce34432580ad97ed2bdd37d54de3ff4b2b58aa9e90f60373a21"),
        ("v9: read markers; how far each party was told of unread lines", "a56b746ee0f9ae2a239f76057b22bcf7ba7f375eb63d8f09cc6c97a98d39005b"),
        ("v10: what was already in a thread when unread counts began", "68c9f4114c2e61a205311ae1eac7401af3cbc6b279dbf0d80e2e6c3ab94e95a5"),
    ]

    /// Runs the migrations one at a time on an empty database, recording the SQL each executes.
    static func executedSQL() throws -> [(String, String)] {
        let statements = Mutex<[String]>([])
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            db.trace(options: .statement) { event in
                if case .statement(let statement) = event { statements.withLock { $0.append(statement.sql) } }
            }
        }
        let queue = try DatabaseQueue(configuration: configuration)
        let migrator = AppDatabase.migrator
        var result: [(String, String)] = []
        for identifier in migrator.migrations {
            statements.withLock { $0.removeAll() }
            try migrator.migrate(queue, upTo: identifier)
            // GRDB's own bookkeeping (grdb_migrations, schema checks) is the same for every migration and version.
            let own = statements.withLock { $0 }.filter { !$0.contains("grdb_migrations") && !$0.hasPrefix("PRAGMA") && !$0.contains("sqlite_master") }
            let digest = SHA256.hash(data: Data(own.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
            result.append((identifier, digest))
        }
        return result
    }

    @Test func noShippedMigrationChanges() throws {
        let executed = try Self.executedSQL()
        for (index, (identifier, digest)) in Self.shipped.enumerated() {
            guard index < executed.count else {
                Issue.record("shipped migration \"\(identifier)\" is gone")
                continue
            }
            #expect(executed[index].0 == identifier, "migration \(index + 1) was renamed")
            #expect(executed[index].1 == digest, "\"\(identifier)\" was edited after it shipped: add a new migration instead (digest now \(executed[index].1))")
        }
        for (identifier, digest) in executed.dropFirst(Self.shipped.count) {
            Issue.record("a new migration \"\(identifier)\": pin it here once it ships, digest \(digest)")
        }
    }
}
