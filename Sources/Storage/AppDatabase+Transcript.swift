import Foundation
import GRDB
import MilestoneCore

extension MessageRecord {
    /// A thread's messages that `viewer` may read: all of them for moderators; for a party, everything but
    /// the other party's private notices.
    static func visible(in thread: ContractID, to viewer: Participant) -> QueryInterfaceRequest<MessageRecord> {
        let request = filter(Column("thread_id") == thread.rawValue)
        guard viewer.role != .moderator else { return request }
        return request.filter(Column("visible_to") == nil || Column("visible_to") == viewer.user.rawValue)
    }
}

extension AppDatabase {
    /// What a client that saw everything up to `after` missed, visible to `viewer`, and the thread's
    /// newest sequence number, read in one snapshot so nothing falls between the two. At most `limit`
    /// messages (the oldest ones) when given.
    public func catchUp(in thread: ContractID, after: Int64, limit: Int? = nil, visibleTo viewer: Participant) throws -> (messages: [StoredMessage], lastSeq: Int64) {
        try writer.read { db in try Self.catchUp(db, thread, after: after, limit: limit, viewer) }
    }

    public func catchUp(in thread: ContractID, after: Int64, limit: Int? = nil, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], lastSeq: Int64) {
        try await writer.read { db in try Self.catchUp(db, thread, after: after, limit: limit, viewer) }
    }

    private static func catchUp(_ db: Database, _ thread: ContractID, after: Int64, limit: Int?, _ viewer: Participant) throws -> (messages: [StoredMessage], lastSeq: Int64) {
        guard let lastSeq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM thread_head WHERE thread_id = ?", arguments: [thread.rawValue]) else {
            throw StorageError.unknownContract(thread.rawValue)
        }
        var request = MessageRecord.visible(in: thread, to: viewer).filter(Column("seq") > after).order(Column("seq"))
        if let limit { request = request.limit(limit) }
        return (try request.fetchAll(db).map { try $0.message() }, lastSeq)
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
        guard let lastSeq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM thread_head WHERE thread_id = ?", arguments: [thread.rawValue]) else {
            throw StorageError.unknownContract(thread.rawValue)
        }
        let request = MessageRecord.visible(in: thread, to: viewer).filter(Column("seq") < (before ?? Int64.max))
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
