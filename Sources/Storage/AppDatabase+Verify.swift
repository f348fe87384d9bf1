import Foundation
import GRDB
import MilestoneCore

/// The result of checking one thread's hash chain.
public struct ChainVerification: Hashable, Sendable, Codable {
    public enum Problem: String, Hashable, Sendable, Codable {
        /// The message's content does not match its hash: it was changed.
        case altered
        /// A sequence number is missing: a message was removed.
        case missing
        /// The message does not follow the one before it: messages were swapped or moved.
        case reordered
        /// Messages at the end were removed (the thread's recorded head is further on).
        case truncated
        /// A ledger entry points at a message that is not there.
        case ledgerOrphan = "ledger_orphan"
        /// A file a message carries is gone from the file store.
        case fileMissing = "file_missing"
        /// A file's stored bytes no longer hash to its id: they were changed.
        case fileAltered = "file_altered"
    }

    public var thread: ContractID
    public var messages: Int
    /// The hash of the newest message: publish or sign it to pin the transcript.
    public var headHash: String
    /// Nil when the chain verifies.
    public var problem: Problem?
    /// The first message that fails (its sequence number), if any.
    public var seq: Int64?
    public var detail: String?

    public var isIntact: Bool { problem == nil }

    enum CodingKeys: String, CodingKey {
        case thread, messages, headHash = "head_hash", problem, seq, detail
    }

    /// Every field, `null` included, in the wire protocol's snake_case.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(thread, forKey: .thread)
        try container.encode(messages, forKey: .messages)
        try container.encode(headHash, forKey: .headHash)
        try container.encode(problem, forKey: .problem)
        try container.encode(seq, forKey: .seq)
        try container.encode(detail, forKey: .detail)
    }

    public var summary: String {
        guard let problem, let detail else { return "\(thread): intact, \(messages) messages, head \(headHash)" }
        return "\(thread): \(problem.rawValue) at message \(seq.map(String.init) ?? "?"): \(detail)"
    }
}

extension AppDatabase {
    /// Checks a thread's transcript: every message's hash, the links between them, the sequence numbers,
    /// the recorded head, and that every ledger entry's announcing message exists. Names the first
    /// altered, removed or reordered message.
    /// With `blobs`, the files messages carry are hashed again too: a missing or changed file is named.
    public func verify(thread: ContractID, blobs: (any BlobStore)? = nil) throws -> ChainVerification {
        try writer.read { db in try Self.verify(db, thread, blobs: blobs) }
    }

    /// Every thread, in id order.
    public func verifyAll(blobs: (any BlobStore)? = nil) throws -> [ChainVerification] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM contract ORDER BY id").map { try Self.verify(db, ContractID($0), blobs: blobs) }
        }
    }

    static func verify(_ db: Database, _ thread: ContractID, blobs: (any BlobStore)? = nil) throws -> ChainVerification {
        guard let head = try Row.fetchOne(db, sql: "SELECT h.last_seq, h.head_hash FROM contract c LEFT JOIN thread_head h ON h.thread_id = c.id WHERE c.id = ?", arguments: [thread.rawValue]) else {
            throw StorageError.unknownContract(thread.rawValue)
        }
        var checker = ChainChecker(thread: thread)
        let cursor = try MessageRecord.filter(Column("thread_id") == thread.rawValue).order(Column("seq")).fetchCursor(db)
        while let record = try cursor.next() {
            let message: StoredMessage
            do { message = try record.message() } catch {
                checker.unreadable(record.seq, error)
                return checker.result
            }
            let filesHold = { (message: StoredMessage) -> (ChainVerification.Problem, String)? in
                guard let blobs else { return nil }
                for file in message.files {
                    guard let digest = try? blobs.digest(file) else { return (.fileMissing, "file \(file) it carries is not in the file store") }
                    if digest != file { return (.fileAltered, "file \(file) it carries was changed: its bytes no longer hash to its id") }
                }
                return nil
            }
            guard checker.check(message, also: filesHold) else { return checker.result }
        }
        var result = checker.finish(recordedLastSeq: head["last_seq"], recordedHeadHash: head["head_hash"])
        guard result.isIntact else { return result }
        if let orphan = try Int64.fetchOne(db, sql: """
            SELECT e.message_seq FROM ledger_entry e LEFT JOIN message m ON m.thread_id = e.contract_id AND m.seq = e.message_seq
            WHERE e.contract_id = ? AND m.seq IS NULL LIMIT 1
            """, arguments: [thread.rawValue])
        {
            result.problem = .ledgerOrphan
            result.seq = orphan
            result.detail = "a ledger entry points at message \(orphan), which is not in the transcript"
        }
        return result
    }
}
