import Foundation
import MilestoneCore
import PostgresNIO
import Storage

extension PostgresStore {
    public func markRead(_ thread: ContractID, user: UserID, through seq: Int64, at now: Date) async throws -> ReadMarker? {
        try await transaction { connection in
            var lastSeq: Int64?
            for try await value in try await connection.query("SELECT last_seq FROM thread_head WHERE thread_id = \(thread.rawValue)",
                logger: self.logger).decode(Int64.self) { lastSeq = value }
            guard let lastSeq else { throw StorageError.unknownContract(thread.rawValue) }
            guard seq >= 1, seq <= lastSeq else {
                throw StorageError.invalid("seq \(seq) is not a message of this thread: its messages are 1 to \(lastSeq)")
            }
            // Only forward: a marker at or past `seq` (or a racing one that got there first) leaves it as it is.
            let moved = try await connection.query("""
                INSERT INTO read_marker (thread_id, user_id, seq, at)
                SELECT \(thread.rawValue), \(user.rawValue), \(seq), \(now.milliseconds)
                WHERE \(seq) > COALESCE((SELECT MAX(seq) FROM read_marker WHERE thread_id = \(thread.rawValue) AND user_id = \(user.rawValue)), 0)
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: self.logger).collect()
            return moved.isEmpty ? nil : ReadMarker(user: user, seq: seq, at: now)
        }
    }

    public func readMarkers(in thread: ContractID) async throws -> [ReadMarker] {
        var markers: [ReadMarker] = []
        for try await (user, seq, at) in try await client.query("""
            SELECT DISTINCT ON (user_id) user_id, seq, at FROM read_marker WHERE thread_id = \(thread.rawValue) ORDER BY user_id, seq DESC
            """, logger: logger).decode((String, Int64, Int64).self) {
            markers.append(ReadMarker(user: UserID(user), seq: seq, at: Date(milliseconds: at)))
        }
        return markers.sorted { $0.user.rawValue.utf8.lexicographicallyPrecedes($1.user.rawValue.utf8) }
    }
}
