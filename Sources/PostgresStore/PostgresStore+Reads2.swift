import Foundation
import MilestoneCore
import PostgresNIO
import Storage

extension PostgresStore {
    public func markRead(_ thread: ContractID, user: UserID, through seq: Int64, at now: Date) async throws -> ReadMarker? {
        try await transaction { connection in
            var lastSeq: Int64?
            // The head locked: two markers for one party at once are written one after the other, so none goes back.
            for try await value in try await connection.query("SELECT last_seq FROM thread_head WHERE thread_id = \(thread.rawValue) FOR UPDATE",
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

extension PostgresStore {
    /// As on SQLite: the newest message everyone sees gives the order and the preview (at most 140 Unicode
    /// scalars); unread counts people's lines by others after the user's read marker (0 for a moderator).
    public func threadList(for user: UserID, role: Role) async throws -> [ContractSummary] {
        let moderator = role == .moderator
        let rows = try await client.query("""
            SELECT c.id, c.title, c.preset, c.phase, c.buyer_id, c.freelancer_id, h.last_seq, last.created_at, last.body,
                CASE WHEN \(moderator) THEN 0 ELSE (
                    SELECT COUNT(*) FROM message u WHERE u.thread_id = c.id AND u.kind IN ('chat', 'note') AND u.author_id <> \(user.rawValue)
                    AND u.seq > COALESCE((SELECT MAX(r.seq) FROM read_marker r WHERE r.thread_id = c.id AND r.user_id = \(user.rawValue)), 0)
                ) END
            FROM contract c JOIN thread_head h ON h.thread_id = c.id
            LEFT JOIN LATERAL (
                SELECT created_at, body FROM message m WHERE m.thread_id = c.id AND m.visible_to IS NULL ORDER BY m.seq DESC LIMIT 1
            ) last ON true
            WHERE \(moderator) OR c.buyer_id = \(user.rawValue) OR c.freelancer_id = \(user.rawValue)
            ORDER BY last.created_at DESC NULLS LAST, c.created_at DESC, c.id COLLATE "C"
            """, logger: logger)
        var summaries: [ContractSummary] = []
        for try await (id, title, preset, phase, buyer, freelancer, lastSeq, lastAt, body, unread) in
            rows.decode((String, String, String, String, String, String, Int64, Int64?, String?, Int64).self) {
            summaries.append(ContractSummary(id: ContractID(id), title: title, preset: preset, phase: phase, buyer: UserID(buyer), freelancer: UserID(freelancer),
                lastSeq: lastSeq, lastAt: lastAt.map(Date.init(milliseconds:)),
                preview: body.map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(140))) }, unread: Int(unread)))
        }
        return summaries
    }
}

extension PostgresStore {
    /// As on SQLite: read in one snapshot, built by the shared ``TranscriptExport`` initializer.
    public func exportTranscript(_ thread: ContractID, for viewer: Participant, at now: Date) async throws -> TranscriptExport {
        let (contract, messages, outcomes, ledger) = try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            do {
                guard let contract = try await self.loadContract(connection, thread) else { throw StorageError.unknownContract(thread.rawValue) }
                let messages = try await self.readMessages(connection, thread: thread, from: 1, through: Int64.max, visibleTo: viewer)
                var outcomes: [Int64: LineOutcome] = [:]
                for try await (seq, outcome) in try await connection.query(
                    "SELECT first_seq, outcome FROM command_log WHERE contract_id = \(thread.rawValue)", logger: self.logger).decode((Int64, String).self) {
                    outcomes[seq] = try JSONDecoder().decode(LineOutcome.self, from: Data(outcome.utf8))
                }
                var ledger: [LedgerEntry] = []
                for try await (id, milestone, kind, amount, commandID, seq, createdAt) in try await connection.query("""
                    SELECT id, milestone, kind, amount, command_id, message_seq, created_at FROM ledger_entry WHERE contract_id = \(thread.rawValue) ORDER BY id
                    """, logger: self.logger).decode((Int64, Int, String, Int64, String?, Int64, Int64).self) {
                    guard let kind = LedgerPosting.Kind(rawValue: kind) else { throw StorageError.corrupt("ledger entry \(id): kind \(kind)") }
                    ledger.append(LedgerEntry(id: id, contract: thread, posting: LedgerPosting(kind: kind, milestone: MilestoneNumber(milestone), amount: amount),
                        currency: contract.currency, commandID: commandID.map { CommandID($0) }, messageSeq: seq, createdAt: Date(milliseconds: createdAt)))
                }
                try await connection.query("COMMIT", logger: self.logger)
                return (contract, messages, outcomes, ledger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
        return try TranscriptExport(contract: contract, viewer: viewer, messages: messages, outcomes: outcomes, ledger: ledger,
            verification: try await verifyChain(of: thread), exportedAt: now)
    }
}
