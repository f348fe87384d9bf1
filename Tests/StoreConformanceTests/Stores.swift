import BotConfig
import Foundation
import Logging
import MilestoneCore
import PostgresStore
import Storage

/// The back ends every suite here runs against.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    var description: String { rawValue }
}

enum Stores {
    static let presets: PolicyCatalog = {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bot-config/presets")
        do { return try PolicyCatalog.load(directory: folder) } catch { fatalError("bot-config/presets: \(error)") }
    }()

    /// Runs `body` with an empty store of `kind`: a fresh SQLite file, or a fresh database on the test
    /// PostgreSQL server (``TestPostgres``), migrated.
    static func with<T: Sendable>(_ kind: StoreKind, recordsNotifications: Bool = false, _ body: @Sendable (any TranscriptStore) async throws -> T) async throws -> T {
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let database = try AppDatabase.open(path: folder.appendingPathComponent("bot.sqlite").path)
            return try await body(recordsNotifications ? database.recordingNotifications() : database)
        case .postgres:
            return try await withPostgres(recordsNotifications: recordsNotifications) { try await body($0) }
        }
    }

    /// A migrated PostgreSQL store on a fresh database, for what only it does (several nodes).
    static func withPostgres<T: Sendable>(recordsNotifications: Bool = false, _ body: @Sendable (PostgresStore) async throws -> T) async throws -> T {
        try await withPostgresURL(recordsNotifications: recordsNotifications) { store, _ in try await body(store) }
    }

    /// The same, with the database's URL (to change rows behind the store's back).
    static func withPostgresURL<T: Sendable>(recordsNotifications: Bool = false, _ body: @Sendable (PostgresStore, String) async throws -> T) async throws -> T {
        let url = try await TestPostgres.shared.freshDatabase()
        var logger = Logger(label: "postgres-store-test")
        logger.logLevel = .warning
        let store = try PostgresStore(url: url, recordsNotifications: recordsNotifications, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            try await store.migrate()
            return try await body(store, url)
        }
    }

    static func contract(_ store: any TranscriptStore, _ id: String = "c-1", preset: String = "indeelancer", milestones: [Int64] = [50_000, 125_050]) async throws -> Contract {
        try await store.newContract(NewContract(
            id: ContractID(id), title: "Logo and landing page", currency: .usd, buyer: "alice", freelancer: "bob", policy: presets[preset]!,
            milestones: milestones.enumerated().map { MilestoneDraft(amount: $1, description: "Part \($0 + 1)") }), at: Date(timeIntervalSince1970: 1_800_000_000))
    }

    /// alice is the buyer, bob the freelancer, anyone else a moderator unless `role` says otherwise.
    static func line(_ text: String, by user: String, as role: Role? = nil, in thread: String = "c-1", id: String = UUID().uuidString,
        at: Date = Date(timeIntervalSince1970: 1_800_000_100)) -> LineRequest {
        let named: Role = switch user {
        case "alice": .buyer
        case "bob": .freelancer
        default: .moderator
        }
        let role = role ?? named
        return LineRequest(commandID: CommandID(id), thread: ContractID(thread), author: Participant(user: UserID(user), role: role), text: text,
            parsed: ParsedLine(text, currency: .usd), clientMessageID: id, receivedAt: at)
    }
}
