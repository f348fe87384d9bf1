import Foundation
import GRDB
import MilestoneCore

extension AppDatabase {
    /// Messages of a thread after `seq`, oldest first, that `viewer` may read (private notices of
    /// others are left out for parties). At most `limit`.
    public func messages(in thread: ContractID, after seq: Int64 = 0, limit: Int = 500, visibleTo viewer: Participant) throws -> [StoredMessage] {
        try writer.read { db in
            var request = MessageRecord
                .filter(Column("thread_id") == thread.rawValue && Column("seq") > seq)
            if viewer.role != .moderator {
                request = request.filter(Column("visible_to") == nil || Column("visible_to") == viewer.user.rawValue)
            }
            return try request.order(Column("seq")).limit(limit).fetchAll(db).map { try $0.message() }
        }
    }

    /// What a client that saw everything up to `after` missed, visible to `viewer`, and the thread's
    /// newest sequence number, read in one snapshot so nothing falls between the two.
    public func catchUp(in thread: ContractID, after: Int64, visibleTo viewer: Participant) throws -> (messages: [StoredMessage], lastSeq: Int64) {
        try writer.read { db in try Self.catchUp(db, thread, after: after, viewer) }
    }

    public func catchUp(in thread: ContractID, after: Int64, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], lastSeq: Int64) {
        try await writer.read { db in try Self.catchUp(db, thread, after: after, viewer) }
    }

    private static func catchUp(_ db: Database, _ thread: ContractID, after: Int64, _ viewer: Participant) throws -> (messages: [StoredMessage], lastSeq: Int64) {
        guard let lastSeq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM contract WHERE id = ?", arguments: [thread.rawValue]) else {
            throw StorageError.unknownContract(thread.rawValue)
        }
        var request = MessageRecord.filter(Column("thread_id") == thread.rawValue && Column("seq") > after)
        if viewer.role != .moderator {
            request = request.filter(Column("visible_to") == nil || Column("visible_to") == viewer.user.rawValue)
        }
        return (try request.order(Column("seq")).fetchAll(db).map { try $0.message() }, lastSeq)
    }

    /// The newest page of messages before `before` (exclusive; nil: the newest), oldest first, with
    /// whether older ones exist, and the thread's newest sequence number.
    public func page(in thread: ContractID, before: Int64?, limit: Int, visibleTo viewer: Participant) throws -> (messages: [StoredMessage], hasMore: Bool, lastSeq: Int64) {
        try writer.read { db in try Self.page(db, thread, before: before, limit: limit, viewer) }
    }

    public func page(in thread: ContractID, before: Int64?, limit: Int, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], hasMore: Bool, lastSeq: Int64) {
        try await writer.read { db in try Self.page(db, thread, before: before, limit: limit, viewer) }
    }

    private static func page(_ db: Database, _ thread: ContractID, before: Int64?, limit: Int, _ viewer: Participant) throws -> (messages: [StoredMessage], hasMore: Bool, lastSeq: Int64) {
        guard let lastSeq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM contract WHERE id = ?", arguments: [thread.rawValue]) else {
            throw StorageError.unknownContract(thread.rawValue)
        }
        var request = MessageRecord.filter(Column("thread_id") == thread.rawValue && Column("seq") < (before ?? Int64.max))
        if viewer.role != .moderator {
            request = request.filter(Column("visible_to") == nil || Column("visible_to") == viewer.user.rawValue)
        }
        let newestFirst = try request.order(Column("seq").desc).limit(limit + 1).fetchAll(db)
        let messages = try newestFirst.prefix(limit).reversed().map { try $0.message() }
        return (messages, newestFirst.count > limit, lastSeq)
    }

    /// Every stored message of a thread, private ones included, in order: for moderators and verification.
    public func fullTranscript(of thread: ContractID) throws -> [StoredMessage] {
        try writer.read { db in
            try MessageRecord.filter(Column("thread_id") == thread.rawValue).order(Column("seq")).fetchAll(db).map { try $0.message() }
        }
    }
}
