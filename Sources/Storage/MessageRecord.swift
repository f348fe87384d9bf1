import Foundation
import GRDB
import MilestoneCore

/// A row of `message`.
struct MessageRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "message"
    /// Column names spelled out: GRDB's snake_case key conversion showed up in profiles.
    enum CodingKeys: String, CodingKey {
        case threadId = "thread_id", seq, authorId = "author_id", authorRole = "author_role", kind,
            visibleTo = "visible_to", body, clientMessageId = "client_message_id", event, milestone,
            createdAt = "created_at", prevHash = "prev_hash", hash, files
    }

    var threadId: String
    var seq: Int64
    var authorId: String?
    var authorRole: String?
    var kind: String
    var visibleTo: String?
    var body: String
    var clientMessageId: String?
    var event: String?
    var milestone: Int?
    var createdAt: Int64
    var prevHash: String
    var hash: String
    /// File ids joined by `,`; nil when none.
    var files: String? = nil

    init(threadId: String, seq: Int64, authorId: String?, authorRole: String?, kind: String, visibleTo: String?, body: String,
        clientMessageId: String?, event: String?, milestone: Int?, createdAt: Int64, prevHash: String, hash: String, files: String? = nil) {
        self.threadId = threadId
        self.seq = seq
        self.authorId = authorId
        self.authorRole = authorRole
        self.kind = kind
        self.visibleTo = visibleTo
        self.body = body
        self.clientMessageId = clientMessageId
        self.event = event
        self.milestone = milestone
        self.createdAt = createdAt
        self.prevHash = prevHash
        self.hash = hash
        self.files = files
    }

    /// The row of a message.
    init(_ message: StoredMessage) {
        self.init(threadId: message.thread.rawValue, seq: message.seq, authorId: message.author?.rawValue, authorRole: message.authorRole?.rawValue,
            kind: message.kind.rawValue, visibleTo: message.visibleTo?.rawValue, body: message.body, clientMessageId: message.clientMessageID,
            event: message.event, milestone: message.milestone?.rawValue, createdAt: message.createdAt.milliseconds, prevHash: message.prevHash,
            hash: message.hash, files: message.files.isEmpty ? nil : message.files.map(\.rawValue).joined(separator: ","))
    }

    /// Inserts the row with a statement compiled once per connection (the hot path of every line).
    func insertFast(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO message (thread_id, seq, author_id, author_role, kind, visible_to, body, client_message_id, event, milestone, created_at, prev_hash, hash, files)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try statement.runFast(db, .text(threadId), .integer(seq), .text(authorId), .text(authorRole), .text(kind), .text(visibleTo), .text(body),
            .text(clientMessageId), .text(event), .integer(milestone.map(Int64.init)), .integer(createdAt), .text(prevHash), .text(hash), .text(files))
    }

    func message() throws -> StoredMessage {
        guard let kind = MessageKind(rawValue: kind) else { throw StorageError.corrupt("message \(threadId)#\(seq): kind \(self.kind)") }
        var role: Role?
        if let authorRole {
            guard let parsed = Role(rawValue: authorRole) else { throw StorageError.corrupt("message \(threadId)#\(seq): role \(authorRole)") }
            role = parsed
        }
        return StoredMessage(
            thread: ContractID(threadId), seq: seq, author: authorId.map { UserID($0) }, authorRole: role, kind: kind,
            visibleTo: visibleTo.map { UserID($0) }, body: body, clientMessageID: clientMessageId,
            event: event, milestone: milestone.map { MilestoneNumber($0) },
            createdAt: Date(milliseconds: createdAt), prevHash: prevHash, hash: hash, files: try fileIDs())
    }

    /// The stored ids, checked.
    func fileIDs() throws -> [FileID] {
        guard let files, !files.isEmpty else { return [] }
        return try files.split(separator: ",").map { text in
            guard let id = FileID(text) else { throw StorageError.corrupt("message \(threadId)#\(seq): file id \(text.prefix(70))") }
            return id
        }
    }
}

/// Appends messages to one thread inside a write transaction, keeping the thread's head (`thread_head`:
/// newest sequence number and hash) current.
struct TranscriptWriter {
    private var head: ChainHead
    private(set) var written: [StoredMessage] = []
    var thread: ContractID { head.thread }
    var lastSeq: Int64 { head.lastSeq }
    var headHash: String { head.headHash }

    init(_ db: Database, thread: ContractID) throws {
        guard let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT last_seq, head_hash FROM thread_head WHERE thread_id = ?"), arguments: [thread.rawValue]) else {
            throw StorageError.unknownContract(thread.rawValue)
        }
        head = ChainHead(thread: thread, lastSeq: row["last_seq"], headHash: row["head_hash"])
    }

    /// Continues from a head already read (with the contract's parties, for a chat line).
    init(thread: ContractID, lastSeq: Int64, headHash: String) {
        head = ChainHead(thread: thread, lastSeq: lastSeq, headHash: headHash)
    }

    /// Starts the transcript of a contract created in this transaction.
    init(newThread thread: ContractID) {
        head = ChainHead(newThread: thread)
    }

    @discardableResult
    mutating func append(
        _ db: Database, kind: MessageKind, body: String, author: Participant? = nil, visibleTo: UserID? = nil,
        clientMessageID: String? = nil, event: ContractEvent? = nil, files: [FileID] = [], at now: Date
    ) throws -> StoredMessage {
        let message = head.next(kind: kind, body: body, author: author, visibleTo: visibleTo, clientMessageID: clientMessageID,
            event: event, files: files, at: now)
        try MessageRecord(message).insertFast(db)
        written.append(message)
        return message
    }

    /// Records the new head. Call once, before the transaction commits.
    func saveHead(_ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO thread_head (thread_id, last_seq, head_hash) VALUES (?, ?, ?)
            ON CONFLICT (thread_id) DO UPDATE SET last_seq = excluded.last_seq, head_hash = excluded.head_hash
            """)
            .runFast(db, .text(thread.rawValue), .integer(lastSeq), .text(headHash))
    }
}
