import Foundation
import GRDB

/// The one database of the product: contracts, milestones, the ledger, the idempotency log, the
/// transcript and deadlines. Every write method is one transaction that keeps all of them consistent.
public struct AppDatabase: Sendable {
    public let writer: any DatabaseWriter
    /// Lines waiting to be stored together in the next write transaction (group commit).
    let lineQueue = LineQueue()
    /// Receives what each transaction made visible right after it commits, on the writer's queue, in
    /// commit order: the chat server's live feed. Never called for a rolled-back transaction.
    private var reporter: CommitReporter?
    /// Whether every event is also written to the notification outbox for the platform's webhook.
    public private(set) var notificationsEnabled = false

    /// Whether a step that moves money must come with the processor's settlement (any real processor);
    /// with the simulated processor the ledger alone is the money.
    public private(set) var paymentsRequired = false

    /// A copy of this database handle that refuses money movements without a processor settlement.
    public func requiringPayments() -> AppDatabase {
        var copy = self
        copy.paymentsRequired = true
        return copy
    }

    /// A copy of this database handle that writes notifications to the outbox.
    public func recordingNotifications() -> AppDatabase {
        var copy = self
        copy.notificationsEnabled = true
        return copy
    }

    /// A copy of this database handle that reports committed messages and lines to `callback`.
    public func reportingCommits(to callback: @escaping @Sendable (CommitReport) -> Void) -> AppDatabase {
        var copy = self
        copy.reporter = CommitReporter(callback: callback)
        return copy
    }

    /// Arranges for `messages` (and the receipts of the lines that wrote them) to be reported once the
    /// current transaction commits.
    func announce(_ db: Database, _ messages: [StoredMessage], lines: [LineReceipt] = []) {
        Self.announce(db, [(self, CommitReport(messages: messages, lines: lines))])
    }

    /// Arranges for each handle's report to be delivered, in order, once the current transaction commits.
    /// Reports to the same callback are joined into one (a group commit of 300 chat lines is one hand-over
    /// to the hub, not 300).
    static func announce(_ db: Database, _ batches: [(AppDatabase, CommitReport)]) {
        var reports: [(CommitReporter, CommitReport)] = []
        for (database, report) in batches where !report.messages.isEmpty {
            guard let reporter = database.reporter else { continue }
            if let last = reports.last, last.0 === reporter {
                reports[reports.count - 1].1.messages += report.messages
                reports[reports.count - 1].1.lines += report.lines
            } else {
                reports.append((reporter, report))
            }
        }
        guard !reports.isEmpty else { return }
        let joined = reports
        db.afterNextTransaction { _ in
            for (reporter, report) in joined { reporter.callback(report) }
        }
    }

    /// Opens (creating if needed) the database file at `path`: WAL journal, `synchronous = FULL`, migrated.
    public static func open(path: String) throws -> AppDatabase {
        let pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool sets synchronous = NORMAL on its writer after setting up WAL. Every commit must
        // survive a power loss, so set FULL afterwards on the one writer connection, where it stays.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // A group commit of hundreds of lines dirties more pages than SQLite's default 2 MB cache holds,
            // and it then spills them to the WAL mid-transaction (written twice). 64 MB for the one writer.
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        return try AppDatabase(pool)
    }

    /// Opens an existing database file read-only, without migrating or writing anything: for checking an
    /// evidence copy.
    public static func openReadOnly(path: String) throws -> AppDatabase {
        var configuration = configuration
        configuration.readonly = true
        return AppDatabase(unmigrated: try DatabaseQueue(path: path, configuration: configuration))
    }

    private init(unmigrated writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// A private in-memory database, for tests and tools.
    /// The default folder for files' bytes: `<database file>.files` beside it (a fresh temporary folder for
    /// an in-memory database).
    public var filesFolder: URL {
        let path = writer.path
        guard !path.isEmpty, !path.hasPrefix(":memory:"), !path.hasPrefix("file::memory") else {
            return FileManager.default.temporaryDirectory.appendingPathComponent("milestone-bot-files-\(UUID().uuidString)")
        }
        return URL(fileURLWithPath: path + ".files")
    }

    public static func inMemory() throws -> AppDatabase {
        try AppDatabase(DatabaseQueue(configuration: configuration))
    }

    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var configuration: Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.label = "milestone-bot"
        return configuration
    }

    /// The `synchronous` setting of the writer connection: 2 is FULL.
    public func synchronousSetting() throws -> Int {
        try writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func journalMode() throws -> String {
        try writer.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }
}

/// The receiver of committed messages, one object per `reportingCommits(to:)`, so reports to the same
/// receiver can be recognised and joined.
final class CommitReporter: Sendable {
    let callback: @Sendable (CommitReport) -> Void

    init(callback: @escaping @Sendable (CommitReport) -> Void) {
        self.callback = callback
    }
}

/// What one transaction made visible, in commit order: its transcript messages, and the receipts of the
/// chat lines it stored (none for deadlines, contract creation and processor events).
public struct CommitReport: Sendable {
    public var messages: [StoredMessage]
    public var lines: [LineReceipt]
}
