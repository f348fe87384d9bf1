import Foundation
import GRDB
import MilestoneCore

/// The body of a `message.created` notification: chat lines a party has not seen, told to the platform once
/// per batch (documented in docs/OPERATIONS.md).
struct UnreadDigestPayload: Encodable {
    var id: String
    var type = "message.created"
    var contract: String
    /// The newest line in the batch.
    var seq: Int64
    var at: String
    var to: Participant
    /// Chat lines by others after the party's read marker (the count to show).
    var unread: Int
    /// Lines in this batch: since the previous `message.created` to this party.
    var batch: Int
    var firstSeq: Int64
    var from: [String]
    /// The newest line's text, at most ``AppDatabase/digestPreviewScalars`` Unicode scalars.
    var preview: String
    var buyer: String
    var freelancer: String
    var notify: [String]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(contract, forKey: .contract)
        try container.encode(seq, forKey: .seq)
        try container.encode(at, forKey: .at)
        try container.encode(To(user: to.user.rawValue, role: to.role.rawValue), forKey: .to)
        try container.encode(unread, forKey: .unread)
        try container.encode(batch, forKey: .batch)
        try container.encode(firstSeq, forKey: .firstSeq)
        try container.encode(from, forKey: .from)
        try container.encode(preview, forKey: .preview)
        try container.encode(buyer, forKey: .buyer)
        try container.encode(freelancer, forKey: .freelancer)
        try container.encode(notify, forKey: .notify)
    }

    enum CodingKeys: String, CodingKey {
        case id, type, contract, seq, at, to, unread, batch, firstSeq = "first_seq", from, preview, buyer, freelancer, notify
    }

    private struct To: Encodable {
        var user: String
        var role: String
    }
}

/// Lines a party has not had, as one `message.created` event: worked out the same way by every store.
public struct UnreadBatch: Sendable {
    public var thread: ContractID
    public var to: Participant
    public var buyer: UserID
    public var freelancer: UserID
    public var oldest: StoredMessage
    public var newest: StoredMessage
    /// Lines in the batch, their authors, and all lines after the party's read marker.
    public var lines: Int
    public var from: [String]
    public var unread: Int

    public init(thread: ContractID, to: Participant, buyer: UserID, freelancer: UserID, oldest: StoredMessage, newest: StoredMessage,
        lines: Int, from: [String], unread: Int) {
        (self.thread, self.to, self.buyer, self.freelancer, self.oldest, self.newest) = (thread, to, buyer, freelancer, oldest, newest)
        (self.lines, self.from, self.unread) = (lines, from, unread)
    }

    /// Its outbox row.
    public func event(at now: Date) throws -> OutboxEvent {
        let payload = UnreadDigestPayload(
            id: "\(thread.rawValue):message.created:\(to.user.rawValue):\(newest.seq)", contract: thread.rawValue, seq: newest.seq,
            at: Timestamp.text(unixMilliseconds: newest.createdAt.milliseconds), to: to, unread: unread, batch: lines,
            firstSeq: oldest.seq, from: from,
            preview: String(String.UnicodeScalarView(newest.body.unicodeScalars.prefix(AppDatabase.digestPreviewScalars))),
            buyer: buyer.rawValue, freelancer: freelancer.rawValue, notify: [to.user.rawValue])
        return OutboxEvent(id: payload.id, payload: try JSON.string(payload), at: now)
    }
}

extension AppDatabase {
    /// How much of the newest line a `message.created` event quotes.
    public static let digestPreviewScalars = 200

    /// Tells the platform of chat lines in `thread` that a party has not had: for each party not in
    /// `connected`, the lines by others after both their read marker and the last line they were told of.
    /// Once the oldest of those is `window` old, one `message.created` event covers them all (lines that
    /// arrive meanwhile join the batch). A party in `connected` has the lines live: they are not news.
    /// Returns when to look again (a batch not yet `window` old), or nil.
    public func tellUnread(in thread: ContractID, connected: Set<UserID>, window: TimeInterval, at now: Date) async throws -> Date? {
        guard notificationsEnabled else { return nil }
        return try await writer.write { db in
            guard let record = try ContractRecord.fetchOne(db, key: thread.rawValue) else { return nil }
            let buyer = UserID(record.buyerId), freelancer = UserID(record.freelancerId)
            let lastSeq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM thread_head WHERE thread_id = ?", arguments: [thread.rawValue]) ?? 0
            var lookAgain: Date?
            for party in [Participant(user: buyer, role: .buyer), Participant(user: freelancer, role: .freelancer)] {
                let told = try Int64.fetchOne(db, sql: "SELECT told_seq FROM unread_digest WHERE thread_id = ? AND user_id = ?",
                    arguments: [thread.rawValue, party.user.rawValue]) ?? 0
                guard lastSeq > told else { continue }
                if connected.contains(party.user) {
                    try Self.setTold(db, thread, party.user, lastSeq)
                    continue
                }
                // Where the party's unread lines start: their read marker, or what was there before counts began.
                let read = max(
                    try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM read_marker WHERE thread_id = ? AND user_id = ?",
                        arguments: [thread.rawValue, party.user.rawValue]) ?? 0,
                    try Int64.fetchOne(db, sql: "SELECT seq FROM unread_baseline WHERE thread_id = ? AND user_id = ?",
                        arguments: [thread.rawValue, party.user.rawValue]) ?? 0)
                let batch = Self.chatLines(db, thread, by: party.user, after: max(told, read))
                guard let oldest = try batch.fetchOne(db).map({ try $0.message() }),
                      let newest = try batch.reversed().fetchOne(db).map({ try $0.message() }) else {
                    try Self.setTold(db, thread, party.user, lastSeq)
                    continue
                }
                let due = oldest.createdAt.addingTimeInterval(window)
                guard due <= now else {
                    lookAgain = min(lookAgain ?? due, due)
                    continue
                }
                let lines = try batch.fetchCount(db)
                let from = try batch.select(Column("author_id"), as: String.self).distinct().order(Column("author_id")).fetchAll(db)
                let unread = try Self.chatLines(db, thread, by: party.user, after: read).fetchCount(db)
                let event = try UnreadBatch(thread: thread, to: party, buyer: buyer, freelancer: freelancer, oldest: oldest, newest: newest,
                    lines: lines, from: from, unread: unread).event(at: now)
                try enqueue(db, eventID: event.id, contract: thread, payload: event.payload, at: now)
                try Self.setTold(db, thread, party.user, newest.seq)
            }
            return lookAgain
        }
    }

    /// Threads with lines newer than what some party was told of: where to look after a restart.
    public func threadsWithUntoldLines() async throws -> [ContractID] {
        guard notificationsEnabled else { return [] }
        return try await writer.read { db in
            try String.fetchAll(db, sql: """
                SELECT h.thread_id FROM thread_head h JOIN contract c ON c.id = h.thread_id
                WHERE h.last_seq > COALESCE((SELECT told_seq FROM unread_digest WHERE thread_id = h.thread_id AND user_id = c.buyer_id), 0)
                   OR h.last_seq > COALESCE((SELECT told_seq FROM unread_digest WHERE thread_id = h.thread_id AND user_id = c.freelancer_id), 0)
                """).map { ContractID($0) }
        }
    }

    private static func setTold(_ db: Database, _ thread: ContractID, _ user: UserID, _ seq: Int64) throws {
        try db.execute(sql: """
            INSERT INTO unread_digest (thread_id, user_id, told_seq) VALUES (?, ?, ?)
            ON CONFLICT (thread_id, user_id) DO UPDATE SET told_seq = MAX(told_seq, excluded.told_seq)
            """, arguments: [thread.rawValue, user.rawValue, seq])
    }

    /// People's lines in `thread` after `seq` by anyone but `user`, oldest first: the parties' chat and a
    /// moderator's plain lines (`note`), which both parties see. Commands are announced by their own events.
    private static func chatLines(_ db: Database, _ thread: ContractID, by user: UserID, after seq: Int64) -> QueryInterfaceRequest<MessageRecord> {
        MessageRecord.filter(Column("thread_id") == thread.rawValue && Column("seq") > seq
            && [MessageKind.chat.rawValue, MessageKind.note.rawValue].contains(Column("kind")) && Column("author_id") != user.rawValue).order(Column("seq"))
    }
}
