import BotConfig
import ChatServer
import Foundation
import Logging
import MilestoneCore
import Storage
import Synchronization

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    /// Reads the real time instead (for tests that watch a deadline pass as it would in production).
    private let realTime: Bool
    /// A fixed start by default; tests that talk to a payment processor (which stamps real times) start now.
    init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
        realTime = false
    }
    private init(realTime: Bool) {
        current = Mutex(Date())
        self.realTime = realTime
    }
    /// The machine's clock; `advance` does nothing to it.
    static func real() -> TestClock { TestClock(realTime: true) }
    var now: Date { realTime ? Date() : current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// The real server on an ephemeral loopback port, over a real SQLite file in a temporary folder.
struct TestServer: Sendable {
    static let secret = "test-signing-secret-that-is-long-enough-0123456789"
    static let apiKey = "test-platform-api-key-0123456789"

    let port: Int
    let context: ServerContext
    let clock: TestClock
    let folder: URL

    var database: AppDatabase { context.database }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    var webSocketURL: String { "ws://127.0.0.1:\(port)/ws" }

    /// The repository's `bot-config/presets`.
    static let repositoryPresets = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bot-config/presets")

    static let presets: PolicyCatalog = {
        do { return try PolicyCatalog.load(directory: repositoryPresets) } catch { fatalError("bot-config/presets: \(error)") }
    }()

    static func settings(_ adjust: (inout ServerSettings) -> Void = { _ in }) -> ServerSettings {
        var settings = ServerSettings(presets: presets)
        settings.host = "127.0.0.1"
        settings.port = 0
        settings.signingSecret = secret
        settings.apiKey = apiKey
        // The test client sends `Origin: ws://127.0.0.1`; connecting through `localhost` gives a foreign origin.
        settings.limits.allowedOrigins = ["ws://127.0.0.1"]
        adjust(&settings)
        return settings
    }

    /// Runs `body` against a fresh server, then shuts it down gracefully.
    static func with<T: Sendable>(
        settings: ServerSettings = settings(), folder: URL? = nil, clock: TestClock = TestClock(),
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        let folder = folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("chat-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let database = try AppDatabase.open(path: folder.appendingPathComponent("bot.sqlite").path)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test-server")
        logger.logLevel = .warning
        let app = try await buildChatServer(settings: settings, database: database, clock: { clock.now }, logger: logger) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        return try await withRunningServices(app.services, logger: logger, ports: ports) { port in
            try await body(TestServer(port: port, context: app.context, clock: clock, folder: folder))
        }
    }

    func token(_ user: String, role: String = "user", lifetime: TimeInterval = 3600) async throws -> String {
        try await context.verifier.mint(user: UserID(user), role: role, lifetime: lifetime)
    }

    /// Creates a contract directly in the database (the HTTP API has its own tests).
    @discardableResult
    /// The preset comes from this server's settings (with their overrides).
    func contract(_ id: String = "c-1", preset: String = "indeelancer", buyer: String = "alice", freelancer: String = "bob", milestones: [MilestoneDraft] = []) throws -> Contract {
        try database.createContract(NewContract(
            id: ContractID(id), title: "Test contract", currency: .usd, buyer: UserID(buyer), freelancer: UserID(freelancer),
            policy: context.settings.presets[preset]!, milestones: milestones), at: clock.now).0
    }
}
