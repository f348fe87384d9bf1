import Foundation
import MilestoneCore
import PostgresNIO
import Storage

extension PostgresStore {
    /// As on SQLite (``AppDatabase/tellUnread(in:connected:window:at:)``): the batch's event is built by the
    /// shared ``UnreadBatch``; only the SQL differs. The thread's head is locked, so two nodes looking at once
    /// tell a batch once.
    public func tellUnread(in thread: ContractID, connected: Set<UserID>, window: TimeInterval, at now: Date) async throws -> Date? {
        guard recordsNotifications else { return nil }
        return try await transaction { connection in
            var found: (Int64, String, String)?
            for try await row in try await connection.query("""
                SELECT h.last_seq, c.buyer_id, c.freelancer_id FROM thread_head h JOIN contract c ON c.id = h.thread_id
                WHERE h.thread_id = \(thread.rawValue) FOR UPDATE OF h
                """, logger: self.logger).decode((Int64, String, String).self) { found = row }
            guard let (lastSeq, buyerID, freelancerID) = found else { return nil }
            let buyer = UserID(buyerID), freelancer = UserID(freelancerID)
            var lookAgain: Date?
            for party in [Participant(user: buyer, role: .buyer), Participant(user: freelancer, role: .freelancer)] {
                let told = try await self.int(connection, "SELECT told_seq FROM unread_digest WHERE thread_id = \(thread.rawValue) AND user_id = \(party.user.rawValue)") ?? 0
                guard lastSeq > told else { continue }
                if connected.contains(party.user) {
                    try await self.setTold(connection, thread, party.user, lastSeq)
                    continue
                }
                let read = try await self.int(connection, "SELECT MAX(seq) FROM read_marker WHERE thread_id = \(thread.rawValue) AND user_id = \(party.user.rawValue)") ?? 0
                let after = max(told, read)
                let batch = try await self.readMessages(connection, thread: thread, from: after + 1, through: Int64.max)
                    .filter { ($0.kind == .chat || $0.kind == .note) && $0.author.map { !$0.isSame(as: party.user.rawValue) } == true }
                guard let oldest = batch.first, let newest = batch.last else {
                    try await self.setTold(connection, thread, party.user, lastSeq)
                    continue
                }
                let due = oldest.createdAt.addingTimeInterval(window)
                guard due <= now else {
                    lookAgain = min(lookAgain ?? due, due)
                    continue
                }
                let unread = try await self.int(connection, """
                    SELECT COUNT(*) FROM message WHERE thread_id = \(thread.rawValue) AND seq > \(read) AND kind IN ('chat', 'note')
                    AND author_id <> \(party.user.rawValue)
                    """) ?? 0
                let from = Set(batch.compactMap(\.author)).map(\.rawValue).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let event = try UnreadBatch(thread: thread, to: party, buyer: buyer, freelancer: freelancer, oldest: oldest, newest: newest,
                    lines: batch.count, from: from, unread: Int(unread)).event(at: now)
                try await connection.query("""
                    INSERT INTO outbox (event_id, contract_id, payload, next_attempt_at, created_at)
                    VALUES (\(event.id), \(thread.rawValue), \(event.payload), \(now.milliseconds), \(now.milliseconds)) ON CONFLICT (event_id) DO NOTHING
                    """, logger: self.logger)
                try await self.setTold(connection, thread, party.user, newest.seq)
            }
            return lookAgain
        }
    }

    private func setTold(_ connection: PostgresConnection, _ thread: ContractID, _ user: UserID, _ seq: Int64) async throws {
        try await connection.query("""
            INSERT INTO unread_digest (thread_id, user_id, told_seq) VALUES (\(thread.rawValue), \(user.rawValue), \(seq))
            ON CONFLICT (thread_id, user_id) DO UPDATE SET told_seq = GREATEST(unread_digest.told_seq, EXCLUDED.told_seq)
            """, logger: logger)
    }

    private func int(_ connection: PostgresConnection, _ query: PostgresQuery) async throws -> Int64? {
        for try await value in try await connection.query(query, logger: logger).decode(Int64?.self) { return value }
        return nil
    }
}
