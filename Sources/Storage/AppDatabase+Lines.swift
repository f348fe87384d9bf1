import Foundation
import GRDB
import MilestoneCore

extension AppDatabase {
    /// The longest line a person may send, in characters.
    public static let maximumLineLength = 4000

    /// Stores a line and, when it is a command, runs it through the core, all in one transaction: the
    /// line, the contract's new state, its ledger entries and the bot's answer commit together or not at all.
    /// The same `commandID` again returns the first receipt and writes nothing.
    /// `payment` is what the processor did for the money the command moves (nil with the simulated processor).
    public func handle(_ request: LineRequest, payment: PaymentOutcome? = nil) throws -> LineReceipt {
        let text = try Self.checkedText(request)
        return try writer.write { db in try handleAnnouncing(db, request, text: text, payment: payment) }
    }

    /// The same as `handle(_:payment:)`, waiting for the writer without blocking a thread. Lines that
    /// arrive while a write is under way are stored together in the next transaction (group commit): one
    /// fsync for all of them, each in its own savepoint so one line's failure touches no other. Each
    /// caller still returns only after its line is durable.
    public func handle(_ request: LineRequest, payment: PaymentOutcome? = nil) async throws -> LineReceipt {
        let text = try Self.checkedText(request)
        if payment != nil {
            return try await writer.write { db in try handleAnnouncing(db, request, text: text, payment: payment) }
        }
        return try await lineQueue.submit(LineQueue.Item(request: request, text: text, database: self))
    }

    /// Stores a batch of lines in one write transaction; a line that fails rolls back only its savepoint.
    /// `completion` runs on the writer's queue once the transaction has committed (or failed).
    func handleBatch(_ items: [LineQueue.Item], completion: @escaping @Sendable (Result<[Result<LineReceipt, any Error>], any Error>) -> Void) {
        writer.asyncWrite({ db in
            // One commit callback for the whole batch: GRDB consults every registered transaction observer
            // for every statement, so one per line made a batch cost O(lines²).
            var stored: [(AppDatabase, CommitReport)] = []
            let results = items.map { item in
                Result {
                    let receipt = try db.inLineSavepoint { try item.database.handle(db, item.request, text: item.text, payment: nil) }
                    if !receipt.isDuplicate { stored.append((item.database, CommitReport(messages: [receipt.line] + receipt.replies, lines: [receipt]))) }
                    return receipt
                }
            }
            Self.announce(db, stored)
            return results
        }, completion: { _, outcome in completion(outcome) })
    }

    private func handleAnnouncing(_ db: Database, _ request: LineRequest, text: String, payment: PaymentOutcome?) throws -> LineReceipt {
        let receipt = try handle(db, request, text: text, payment: payment)
        if !receipt.isDuplicate { announce(db, [receipt.line] + receipt.replies, lines: [receipt]) }
        return receipt
    }

    /// The line's text as stored: trimmed, non-empty, within the limit, without control characters but line breaks and tabs.
    public static func checkedText(_ request: LineRequest) throws -> String {
        if let plain = plainASCII(request.text) { return plain }
        let text = request.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw StorageError.invalid("the message is empty") }
        guard text.count <= Self.maximumLineLength else {
            throw StorageError.invalid("the message is \(text.count) characters; the limit is \(Self.maximumLineLength)")
        }
        // Control characters other than line breaks and tabs have no place in a chat line (and NUL would
        // be cut off by SQLite's text functions).
        if let problem = IdentifierRules.textProblem(text, what: "the message", allowing: ["\n", "\r", "\t"]) {
            throw StorageError.invalid(problem)
        }
        return text
    }

    /// The common line: printable ASCII with nothing to trim, within the length limit. One pass over its
    /// bytes settles every check the general path makes with Unicode properties and grapheme counting.
    static func plainASCII(_ text: String) -> String? {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last, first != 0x20, last != 0x20,
            bytes.count <= maximumLineLength else { return nil }
        for byte in bytes where byte < 0x20 || byte > 0x7E { return nil }
        return text
    }

    private func handle(_ db: Database, _ request: LineRequest, text: String, payment: PaymentOutcome?) throws -> LineReceipt {
        // With a payment processor, a line (chat included: it skips the desk's lock) must not take the id of
        // a payment still being completed: settling that payment would find this line's receipt instead.
        if paymentsRequired, payment == nil,
            try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM payment_operation WHERE key = ? AND status = 'pending'"),
                arguments: [request.commandID.rawValue]) != nil {
            throw StorageError.paymentPending(request.commandID.rawValue)
        }
        if let logged = try CommandLogRecord.fetchOne(try db.cachedStatement(sql: "SELECT * FROM command_log WHERE command_id = ?"), arguments: [request.commandID.rawValue]) {
            return try Self.replay(db, logged, request)
        }
        guard let parsed = request.parsed else {
            throw StorageError.invalid("a line reached storage without being read first")
        }
        let isCommand = parsed.isCommand
        // A chat line needs only the parties and the transcript's head (one row read); a command needs the
        // whole contract.
        let contract = isCommand ? try Self.loadContract(db, request.thread) : nil
        let chatHead = isCommand ? nil : try Self.partiesAndHead(db, request.thread)
        guard let parties = contract?.parties ?? chatHead.map({ Parties(buyer: UserID($0.buyer), freelancer: UserID($0.freelancer)) }) else {
            throw StorageError.unknownContract(request.thread.rawValue)
        }
        let author = request.author
        // Nothing of a line from someone the core does not admit is stored, not even a refusal.
        guard parties.admits(author) else {
            throw StorageError.invalid("\(author.user) is not the \(author.role) of contract \(request.thread)")
        }
        var transcript = try chatHead.map { TranscriptWriter(thread: request.thread, lastSeq: $0.lastSeq, headHash: $0.headHash) }
            ?? TranscriptWriter(db, thread: request.thread)
        let now = request.receivedAt
        let kind: MessageKind = isCommand ? .command : (author.role == .moderator ? .note : .chat)
        var result = contract.flatMap { parsed.apply(to: $0, by: author, at: now) }
        var settlement: Settlement?
        switch payment {
        case .settled(let settled): settlement = settled
        case .failed(let operation, let reason):
            if case .success(.applied) = result {
                result = .failure(Rejection(.paymentFailed, "the payment did not go through: \(reason)",
                    suggestion: "Nothing was charged. The platform can update the card on file, then try again."))
            }
            try Self.finish(db, operation, status: "failed", error: reason, at: now)
        case nil: break
        }
        // A command that changes nothing (refused, or a question) stays between its sender and the bot.
        var lineVisibleTo: UserID?
        switch result {
        case .failure, .success(.answered): lineVisibleTo = author.user
        case .success(.applied(let transition)): lineVisibleTo = transition.keepsLinePrivate ? author.user : nil
        case nil: lineVisibleTo = nil
        }
        let files = request.files.isEmpty ? [] : try Self.attach(db, request.files, to: request.thread, strict: payment == nil)
        let line = try transcript.append(db, kind: kind, body: text, author: author, visibleTo: lineVisibleTo, clientMessageID: request.clientMessageID,
            files: files, at: now)

        var outcome = LineOutcome.chat
        var transition: Transition?
        if let result {
            switch result {
            case .failure(let rejection):
                outcome = .rejected(rejection)
                try transcript.append(db, kind: .notice, body: "\(Self.echo(text)): \(rejection)", visibleTo: author.user, at: now)
            case .success(.answered(let answer)):
                outcome = .answered
                try transcript.append(db, kind: .notice, body: answer, visibleTo: author.user, at: now)
            case .success(.applied(let applied)):
                outcome = .applied(events: applied.events.map(\.name))
                transition = applied
                guard let contract else { throw StorageError.corrupt("a command ran without its contract") }
                try persist(db, applied, previous: contract, transcript: &transcript, commandID: request.commandID, actor: author, settlement: settlement, at: now)
            }
        }
        try transcript.saveHead(db)
        try db.cachedStatement(sql: "INSERT INTO command_log (command_id, contract_id, user_id, outcome, first_seq, last_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .runFast(db, .text(request.commandID.rawValue), .text(request.thread.rawValue), .text(author.user.rawValue),
                .text(try StoredJSON.string(outcome)), .integer(line.seq), .integer(transcript.lastSeq), .integer(now.milliseconds))
        return LineReceipt(line: line, replies: Array(transcript.written.dropFirst()), outcome: outcome, transition: transition, isDuplicate: false)
    }

    /// The stored outcome of every chat line (encoded once).
    static let chatOutcome: String = (try? JSON.string(LineOutcome.chat)) ?? #"{"chat":{}}"#

    /// The buyer's and the freelancer's user ids and the transcript's head, or nil when there is no such
    /// contract.
    private static func partiesAndHead(_ db: Database, _ thread: ContractID) throws -> (buyer: String, freelancer: String, lastSeq: Int64, headHash: String)? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT c.buyer_id, c.freelancer_id, h.last_seq, h.head_hash FROM contract c JOIN thread_head h ON h.thread_id = c.id WHERE c.id = ?"), arguments: [thread.rawValue])
            .map { ($0[0], $0[1], $0[2], $0[3]) }
    }

    /// The line as typed, shortened for the start of a notice: `/fund M7`.
    public static func echo(_ text: String) -> String {
        let firstLine = text.prefix { $0 != "\n" }
        return firstLine.count > 60 ? firstLine.prefix(57) + "..." : String(firstLine)
    }

    /// The first receipt of a command id handled before.
    private static func replay(_ db: Database, _ logged: CommandLogRecord, _ request: LineRequest) throws -> LineReceipt {
        guard request.thread.isSame(as: logged.contractId), request.author.user.isSame(as: logged.userId) else {
            throw StorageError.commandIDReused(request.commandID.rawValue)
        }
        let records = try MessageRecord
            .filter(Column("thread_id") == logged.contractId && Column("seq") >= logged.firstSeq && Column("seq") <= logged.lastSeq)
            .order(Column("seq"))
            .fetchAll(db)
        let messages = try records.map { try $0.message() }
        guard let line = messages.first else { throw StorageError.corrupt("command \(logged.commandId): its messages are missing") }
        return LineReceipt(
            line: line, replies: Array(messages.dropFirst()), outcome: try JSON.decode(LineOutcome.self, logged.outcome),
            transition: nil, isDuplicate: true)
    }
}

/// A row of `command_log`: the idempotency log.
struct CommandLogRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "command_log"
    /// Column names spelled out: GRDB's snake_case key conversion showed up in profiles.
    enum CodingKeys: String, CodingKey {
        case commandId = "command_id", contractId = "contract_id", userId = "user_id", outcome,
            firstSeq = "first_seq", lastSeq = "last_seq", createdAt = "created_at"
    }

    var commandId: String
    var contractId: String
    var userId: String
    var outcome: String
    var firstSeq: Int64
    var lastSeq: Int64
    var createdAt: Int64
}
