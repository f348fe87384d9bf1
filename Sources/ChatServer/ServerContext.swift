import Dispatch
import Foundation
import Logging
import MilestoneCore
import Storage
import Synchronization

/// What request and connection handlers need, built once at start-up.
public final class ServerContext: Sendable {
    public let settings: ServerSettings
    public let database: AppDatabase
    /// Where uploaded files' bytes are kept.
    public let blobs: any BlobStore
    /// Signs transcript heads (`transcripts.signing_key`); nil when none is set.
    public let headSigner: HeadSigner?
    public let hub: ThreadHub
    public let verifier: TokenVerifier
    public let tickets: TicketBook
    public let metrics: ServerMetrics
    /// Moves money through the payment processor; nil with the simulated processor (the ledger alone).
    let desk: PaymentDesk?
    /// The clock commands and deadlines use; tests move it by hand.
    public let clock: @Sendable () -> Date
    public let logger: Logger
    /// The port actually bound (differs from the settings when they say 0).
    let boundPort = Mutex<Int?>(nil)
    /// WebSockets open per user, capped at `limits.max_connections_per_user`.
    public let userConnections = UserConnections()
    /// Bytes of history each user may read, across their connections.
    public let readBudget: ReadBudget

    /// The URL people reach the server at, with the bound port.
    public var baseURL: String {
        var settings = self.settings
        if let port = boundPort.withLock({ $0 }) { settings.port = port }
        return settings.baseURL
    }

    /// The origin (`scheme://host[:port]`) of ``baseURL``: the server's own chat page, always allowed to open WebSockets.
    public var ownOrigin: String? {
        guard let url = URL(string: baseURL), let scheme = url.scheme, let host = url.host else { return nil }
        return "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
    }

    public var webSocketURL: String {
        baseURL.replacingOccurrences(of: "http", with: "ws", options: .anchored) + "/ws"
    }

    init(settings: ServerSettings, database: AppDatabase, blobs: any BlobStore, hub: ThreadHub, verifier: TokenVerifier, tickets: TicketBook,
        metrics: ServerMetrics, desk: PaymentDesk?, clock: @escaping @Sendable () -> Date, logger: Logger) {
        self.desk = desk
        self.settings = settings
        readBudget = ReadBudget(bytesPerSecond: settings.limits.readBytesPerSecond, burstBytes: settings.limits.readBytesBurst)
        self.database = database
        self.blobs = blobs
        headSigner = HeadSigner(base64: settings.transcriptSigningKey)
        self.hub = hub
        self.verifier = verifier
        self.tickets = tickets
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
    }

    /// Payments are simulated: every amount shown is test money.
    public var testMoney: Bool { settings.testMoney }

    /// Runs blocking storage work (a synchronous GRDB read or write) off the cooperative thread pool, which
    /// has only as many threads as cores.
    public func offloaded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    /// Stores and runs a line `author` sent with the client id `id`, typed in a thread or sent over the API:
    /// both use the same command id, so a resend through either is applied once. `parsed` is what the line
    /// says, read where it entered; nothing downstream reads the text again.
    public func handle(_ text: String, parsed: ParsedLine, files: [FileID] = [], id: String, in thread: ContractID, by author: Participant) async throws -> LineReceipt {
        let request = LineRequest(
            commandID: CommandID("\(author.user.rawValue)/\(id)"), thread: thread, author: author, text: text, parsed: parsed,
            clientMessageID: id, files: files, receivedAt: clock())
        // Before any money moves: a line with a file the thread does not have is refused here, not after the
        // processor was called.
        if !files.isEmpty, let unknown = try await offloaded({ [database] in try database.unknownFile(among: files, in: thread) }) {
            throw StorageError.invalid("file \(unknown) was not uploaded to this thread; upload it first (POST /api/contracts/\(thread)/files)")
        }
        if let desk { return try await desk.handle(request) }
        return try await database.handle(request)
    }

    /// Fires a due deadline; one that moves money goes through the payment processor.
    func fire(_ due: DueDeadline, at now: Date) async throws -> (Transition, [StoredMessage])? {
        if let desk { return try await desk.fire(due, at: now) }
        return try await database.fire(due, at: now)
    }

    /// The role `identity` has in `contract`, or nil when they may not see it. A moderator who is a party
    /// to the contract is that party in it, never its moderator: nobody rules on their own dispute.
    public func viewer(_ identity: Identity, of contract: Contract) -> Participant? {
        if identity.isPlatform { return Participant(user: identity.user, role: .moderator) }
        if let party = contract.partyRole(of: identity.user) { return Participant(user: identity.user, role: party) }
        return identity.isModerator ? Participant(user: identity.user, role: .moderator) : nil
    }
}
