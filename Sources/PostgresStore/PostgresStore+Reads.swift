import Foundation
import MilestoneCore
import PostgresNIO
import Storage

extension PostgresStore {
    public func loadContract(_ id: ContractID) async throws -> Contract? {
        try await client.withConnection { connection in try await self.loadContract(connection, id) }
    }

    func loadContract(_ connection: PostgresConnection, _ id: ContractID) async throws -> Contract? {
        var state: String?
        for try await text in try await connection.query("SELECT state::text FROM contract WHERE id = \(id.rawValue)", logger: logger).decode(String.self) {
            state = text
        }
        guard let state else { return nil }
        do { return try JSONDecoder().decode(Contract.self, from: Data(state.utf8)) } catch {
            throw StorageError.corrupt("contract \(id): \(error)")
        }
    }

    public func messages(in thread: ContractID, after: Int64, limit: Int?, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], lastSeq: Int64) {
        try await client.withConnection { connection in
            // One snapshot for the head and the messages, so nothing falls between the two.
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            do {
                let lastSeq = try await self.lastSeq(connection, thread)
                // Bounds a client chose: no arithmetic on them that could overflow.
                let messages = try await self.readMessages(connection, thread: thread, from: min(after, Int64.max - 1) + 1, through: Int64.max, visibleTo: viewer, limit: limit)
                try await connection.query("COMMIT", logger: self.logger)
                return (messages, lastSeq)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    public func messagePage(in thread: ContractID, before: Int64?, limit: Int, visibleTo viewer: Participant) async throws -> (messages: [StoredMessage], hasMore: Bool, lastSeq: Int64) {
        try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            do {
                let lastSeq = try await self.lastSeq(connection, thread)
                let newestFirst = try await self.readMessages(connection, thread: thread, from: 1, through: max(before ?? Int64.max, 1) - 1, visibleTo: viewer,
                    limit: limit + 1, newestFirst: true)
                try await connection.query("COMMIT", logger: self.logger)
                return (Array(newestFirst.prefix(limit).reversed()), newestFirst.count > limit, lastSeq)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    public func verifyChain(of thread: ContractID) async throws -> ChainVerification {
        try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger)
            do {
                var head: (Int64?, String?)?
                for try await row in try await connection.query("""
                    SELECT h.last_seq, h.head_hash FROM contract c LEFT JOIN thread_head h ON h.thread_id = c.id WHERE c.id = \(thread.rawValue)
                    """, logger: self.logger).decode((Int64?, String?).self) { head = row }
                guard let head else { throw StorageError.unknownContract(thread.rawValue) }
                var checker = ChainChecker(thread: thread)
                // Read in pages, so a long thread is never all in memory.
                var after: Int64 = 0
                reading: while true {
                    let page = try await self.readMessages(connection, thread: thread, from: after + 1, through: Int64.max, limit: 1_000)
                    for message in page {
                        guard checker.check(message) else { break reading }
                    }
                    guard let last = page.last, page.count == 1_000 else { break }
                    after = last.seq
                }
                var result = checker.finish(recordedLastSeq: head.0, recordedHeadHash: head.1)
                if result.isIntact {
                    for try await orphan in try await connection.query("""
                        SELECT e.message_seq FROM ledger_entry e LEFT JOIN message m ON m.thread_id = e.contract_id AND m.seq = e.message_seq
                        WHERE e.contract_id = \(thread.rawValue) AND m.seq IS NULL LIMIT 1
                        """, logger: self.logger).decode(Int64.self) {
                        result.problem = .ledgerOrphan
                        result.seq = orphan
                        result.detail = "a ledger entry points at message \(orphan), which is not in the transcript"
                    }
                }
                try await connection.query("COMMIT", logger: self.logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    public func ledgerPostings(of contract: ContractID) async throws -> [LedgerPosting] {
        try await client.withConnection { connection in try await self.ledgerEntries(connection, contract).map(\.0) }
    }

    /// Each entry's posting and the message that announced it, oldest first.
    func ledgerEntries(_ connection: PostgresConnection, _ contract: ContractID) async throws -> [(LedgerPosting, Int64)] {
        var entries: [(LedgerPosting, Int64)] = []
        for try await (id, milestone, kind, amount, seq) in try await connection.query("""
            SELECT id, milestone, kind, amount, message_seq FROM ledger_entry WHERE contract_id = \(contract.rawValue) ORDER BY id
            """, logger: logger).decode((Int64, Int, String, Int64, Int64).self) {
            guard let kind = LedgerPosting.Kind(rawValue: kind) else { throw StorageError.corrupt("ledger entry \(id): kind \(kind)") }
            entries.append((LedgerPosting(kind: kind, milestone: MilestoneNumber(milestone), amount: amount), seq))
        }
        return entries
    }

    private func lastSeq(_ connection: PostgresConnection, _ thread: ContractID) async throws -> Int64 {
        for try await seq in try await connection.query("SELECT last_seq FROM thread_head WHERE thread_id = \(thread.rawValue)", logger: logger).decode(Int64.self) {
            return seq
        }
        throw StorageError.unknownContract(thread.rawValue)
    }

    /// Messages `from`...`through` of a thread in order (or newest first), those `viewer` may read (all without one).
    func readMessages(
        _ connection: PostgresConnection, thread: ContractID, from: Int64, through: Int64, visibleTo viewer: Participant? = nil, limit: Int? = nil,
        newestFirst: Bool = false
    ) async throws -> [StoredMessage] {
        let everything = viewer == nil || viewer?.role == .moderator
        let user = viewer?.user.rawValue ?? ""
        let order = newestFirst ? "DESC" : "ASC"
        let rows = try await connection.query("""
            SELECT seq, author_id, author_role, kind, visible_to, body, client_message_id, event, milestone, created_at, prev_hash, hash, files
            FROM message WHERE thread_id = \(thread.rawValue) AND seq >= \(from) AND seq <= \(through)
              AND (\(everything) OR visible_to IS NULL OR visible_to = \(user))
            ORDER BY seq \(unescaped: order) LIMIT \(Int64(limit ?? Int(Int32.max)))
            """, logger: logger)
        var messages: [StoredMessage] = []
        for try await row in rows {
            let (seq, author, role, kind, visibleTo, body, clientID, event, milestone, createdAt, prevHash, hash, files) =
                try row.decode((Int64, String?, String?, String, String?, String, String?, String?, Int?, Int64, String, String, String?).self)
            guard let kind = MessageKind(rawValue: kind) else { throw StorageError.corrupt("message \(thread)#\(seq): kind \(kind)") }
            var authorRole: Role?
            if let role {
                guard let parsed = Role(rawValue: role) else { throw StorageError.corrupt("message \(thread)#\(seq): role \(role)") }
                authorRole = parsed
            }
            let fileIDs = try (files ?? "").split(separator: ",").map { text in
                guard let id = FileID(text) else { throw StorageError.corrupt("message \(thread)#\(seq): file id \(text.prefix(70))") }
                return id
            }
            messages.append(StoredMessage(
                thread: thread, seq: seq, author: author.map { UserID($0) }, authorRole: authorRole, kind: kind, visibleTo: visibleTo.map { UserID($0) },
                body: body, clientMessageID: clientID, event: event, milestone: milestone.map { MilestoneNumber($0) },
                createdAt: Date(milliseconds: createdAt), prevHash: prevHash, hash: hash, files: fileIDs))
        }
        return messages
    }
}

extension PostgresStore {
    /// Every thread, in id order (by the ids' bytes, as `verify` lists them).
    public func threadIDs() async throws -> [ContractID] {
        var ids: [ContractID] = []
        for try await id in try await client.query("SELECT id FROM contract ORDER BY id COLLATE \"C\"", logger: logger).decode(String.self) {
            ids.append(ContractID(id))
        }
        return ids
    }
}
