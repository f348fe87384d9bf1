import Foundation
import GRDB
import MilestoneCore

/// How far a party had read a thread: every message up to `seq` had been shown to them at `at`.
public struct ReadMarker: Hashable, Sendable {
    public var user: UserID
    public var seq: Int64
    public var at: Date

    public init(user: UserID, seq: Int64, at: Date) {
        self.user = user
        self.seq = seq
        self.at = at
    }
}

extension AppDatabase {
    /// Moves `user`'s read marker in `thread` to `seq`; nil when it was already there or past it (markers only
    /// move forward). Refused when `seq` is past the thread's newest message.
    public func markRead(_ thread: ContractID, user: UserID, through seq: Int64, at now: Date) async throws -> ReadMarker? {
        try await writer.write { db in
            guard let lastSeq = try Int64.fetchOne(db, sql: "SELECT last_seq FROM thread_head WHERE thread_id = ?", arguments: [thread.rawValue]) else {
                throw StorageError.unknownContract(thread.rawValue)
            }
            guard seq >= 1, seq <= lastSeq else {
                throw StorageError.invalid("seq \(seq) is not a message of this thread: its messages are 1 to \(lastSeq)")
            }
            let current = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM read_marker WHERE thread_id = ? AND user_id = ?",
                arguments: [thread.rawValue, user.rawValue]) ?? 0
            guard seq > current else { return nil }
            try db.execute(sql: "INSERT INTO read_marker (thread_id, user_id, seq, at) VALUES (?, ?, ?, ?)",
                arguments: [thread.rawValue, user.rawValue, seq, now.milliseconds])
            return ReadMarker(user: user, seq: seq, at: now)
        }
    }

    /// Each user's newest read marker in `thread`.
    public func readMarkers(in thread: ContractID) async throws -> [ReadMarker] {
        try await writer.read { db in try Self.readMarkers(db, thread) }
    }

    static func readMarkers(_ db: Database, _ thread: ContractID) throws -> [ReadMarker] {
        try Row.fetchAll(db, sql: """
            SELECT user_id, seq, at FROM read_marker r WHERE thread_id = ?
            AND seq = (SELECT MAX(seq) FROM read_marker WHERE thread_id = r.thread_id AND user_id = r.user_id) ORDER BY user_id
            """, arguments: [thread.rawValue]).map {
            ReadMarker(user: UserID($0["user_id"] as String), seq: $0["seq"], at: Date(milliseconds: $0["at"]))
        }
    }

    /// Every time a read marker moved in `thread`, oldest first: when each message was first seen.
    public func readHistory(in thread: ContractID) async throws -> [ReadMarker] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT user_id, seq, at FROM read_marker WHERE thread_id = ? ORDER BY at, seq", arguments: [thread.rawValue]).map {
                ReadMarker(user: UserID($0["user_id"] as String), seq: $0["seq"], at: Date(milliseconds: $0["at"]))
            }
        }
    }
}
