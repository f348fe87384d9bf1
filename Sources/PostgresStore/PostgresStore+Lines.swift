import Foundation
import MilestoneCore
import Payments
import PostgresNIO
import Storage

extension PostgresStore: TranscriptStore {
    public func newContract(_ new: NewContract, at now: Date) async throws -> Contract {
        let title = try new.checkedTitle()
        guard new.parties == PaymentParties() else {
            throw StorageError.invalid("payment processor parties are not kept on PostgreSQL yet: run payments on the SQLite store")
        }
        return try await transaction { connection in
            let id = new.id.rawValue
            var contract = Contract(id: new.id, title: title, currency: new.currency, buyer: new.buyer, freelancer: new.freelancer, policy: new.policy)
            let inserted = try await connection.query("""
                INSERT INTO contract (id, title, currency, buyer_id, freelancer_id, preset, phase, state, created_at)
                VALUES (\(id), \(title), \(new.currency.code), \(new.buyer.rawValue), \(new.freelancer.rawValue), \(new.policy.name),
                        \(contract.phase.rawValue), \(try Self.json(contract))::jsonb, \(now.milliseconds))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: self.logger).collect()
            guard !inserted.isEmpty else { throw StorageError.contractExists(id) }
            var writer = MessageWriter(head: ChainHead(newThread: new.id))
            writer.append(kind: .system, body: new.welcome(title: title, phase: contract.phase), at: now)
            let creator = Participant(user: new.policy.milestoneCreator == .buyer ? new.buyer : new.freelancer, role: new.policy.milestoneCreator)
            for draft in new.milestones {
                switch contract.apply(.addMilestone(draft), by: creator, at: now) {
                case .failure(let rejection): throw StorageError.invalid("milestone \"\(draft.description)\": \(rejection)")
                case .success(.answered): break
                case .success(.applied(let transition)):
                    try await self.persist(connection, transition, previous: contract, writer: &writer, commandID: nil, actor: creator, at: now)
                    contract = transition.contract
                }
            }
            try await self.flush(connection, writer, newThread: true)
            return contract
        }
    }

    /// Lines that arrive while other lines are being written are stored together in the next transaction
    /// (``LineBatcher``): one COMMIT for all of them, each in its own savepoint. Each caller returns only after
    /// COMMIT returned.
    public func appendLine(_ request: LineRequest) async throws -> LineReceipt {
        let text = try AppDatabase.checkedText(request)
        guard request.parsed != nil else { throw StorageError.invalid("a line reached storage without being read first") }
        guard request.files.isEmpty else {
            throw StorageError.invalid("files are not kept on PostgreSQL yet: send the line without files")
        }
        return try await batcher.submit(LineBatcher.Item(request: request, text: text), to: self)
    }

    /// One transaction for a batch of lines: every thread's head is locked first, in one order (the ids' bytes),
    /// so two batches on two connections never wait for each other in a circle; then each line in its
    /// own savepoint. A line that fails rolls back alone; a COMMIT that fails fails them all, unacknowledged.
    func writeBatch(_ items: [LineBatcher.Item]) async -> [Result<LineReceipt, any Error>] {
        do {
            return try await transaction { connection in
                // One statement: rows are locked as the sort (byte order, collation "C") emits them.
                // Ids are distinct by their bytes (ContractID hashes bytes; String would merge equivalent spellings).
                let threads = Set(items.map(\.request.thread)).map(\.rawValue)
                try await connection.query("""
                    SELECT thread_id FROM thread_head WHERE thread_id = ANY(\(threads)) ORDER BY thread_id COLLATE "C" FOR UPDATE
                    """, logger: self.logger)
                var results: [Result<LineReceipt, any Error>] = []
                for item in items {
                    try await connection.query("SAVEPOINT line", logger: self.logger)
                    do {
                        let receipt = try await self.appendLine(connection, item.request, text: item.text)
                        try await connection.query("RELEASE SAVEPOINT line", logger: self.logger)
                        results.append(.success(receipt))
                    } catch {
                        try await connection.query("ROLLBACK TO SAVEPOINT line", logger: self.logger)
                        results.append(.failure(error))
                    }
                }
                return results
            }
        } catch {
            return items.map { _ in .failure(error) }
        }
    }

    /// Writes one line inside the caller's transaction (its heads already locked, in one order, by the batch).
    func appendLine(_ connection: PostgresConnection, _ request: LineRequest, text: String) async throws -> LineReceipt {
        guard let parsed = request.parsed else { throw StorageError.invalid("a line reached storage without being read first") }
        do {
            // The thread's head, locked: from here to COMMIT this transaction is the thread's only writer, so
            // the next sequence number and the chain's link are this line's alone.
            // With the parties: a chat line needs nothing more of the contract (decoding it all costs more than the line).
            let heads = try await connection.query("""
                SELECT h.last_seq, h.head_hash, c.buyer_id, c.freelancer_id FROM thread_head h JOIN contract c ON c.id = h.thread_id
                WHERE h.thread_id = \(request.thread.rawValue) FOR UPDATE OF h
                """, logger: self.logger)
            var headRow: (Int64, String, String, String)?
            for try await row in heads.decode((Int64, String, String, String).self) { headRow = row }
            guard let (lastSeq, headHash, buyer, freelancer) = headRow else { throw StorageError.unknownContract(request.thread.rawValue) }
            if let receipt = try await self.replay(connection, request) { return receipt }
            let contract: Contract? = parsed.isCommand ? try await self.loadContract(connection, request.thread) : nil
            if parsed.isCommand, contract == nil { throw StorageError.unknownContract(request.thread.rawValue) }
            let author = request.author
            guard (contract?.parties ?? Parties(buyer: UserID(buyer), freelancer: UserID(freelancer))).admits(author) else {
                throw StorageError.invalid("\(author.user) is not the \(author.role) of contract \(request.thread)")
            }
            let now = request.receivedAt
            let kind: MessageKind = parsed.isCommand ? .command : (author.role == .moderator ? .note : .chat)
            let result = contract.flatMap { parsed.apply(to: $0, by: author, at: now) }
            // A command that changes nothing stays between its sender and the bot (as on SQLite).
            var lineVisibleTo: UserID?
            switch result {
            case .failure, .success(.answered): lineVisibleTo = author.user
            case .success(.applied(let transition)): lineVisibleTo = transition.keepsLinePrivate ? author.user : nil
            case nil: lineVisibleTo = nil
            }
            var writer = MessageWriter(head: ChainHead(thread: request.thread, lastSeq: lastSeq, headHash: headHash))
            let line = writer.append(kind: kind, body: text, author: author, visibleTo: lineVisibleTo, clientMessageID: request.clientMessageID, at: now)
            var outcome = LineOutcome.chat
            var applied: Transition?
            switch result {
            case .failure(let rejection)?:
                outcome = .rejected(rejection)
                writer.append(kind: .notice, body: "\(AppDatabase.echo(text)): \(rejection)", visibleTo: author.user, at: now)
            case .success(.answered(let answer))?:
                outcome = .answered
                writer.append(kind: .notice, body: answer, visibleTo: author.user, at: now)
            case .success(.applied(let transition))?:
                outcome = .applied(events: transition.events.map(\.name))
                applied = transition
                guard let contract else { throw StorageError.corrupt("a command ran without its contract") }
                try await self.persist(connection, transition, previous: contract, writer: &writer, commandID: request.commandID, actor: author, at: now)
            case nil:
                break
            }
            try await self.flush(connection, writer, newThread: false)
            let logged = try await connection.query("""
                INSERT INTO command_log (command_id, contract_id, user_id, outcome, first_seq, last_seq, created_at)
                VALUES (\(request.commandID.rawValue), \(request.thread.rawValue), \(author.user.rawValue), \(try Self.json(outcome)),
                        \(line.seq), \(writer.head.lastSeq), \(now.milliseconds))
                ON CONFLICT (command_id) DO NOTHING RETURNING command_id
                """, logger: self.logger).collect()
            // Taken meanwhile by a line in another thread (which locked another head).
            guard !logged.isEmpty else { throw StorageError.commandIDReused(request.commandID.rawValue) }
            return LineReceipt(line: line, replies: Array(writer.written.dropFirst()), outcome: outcome, transition: applied, isDuplicate: false)
        }
    }

    /// The first receipt of a command id handled before; nil when it is new.
    private func replay(_ connection: PostgresConnection, _ request: LineRequest) async throws -> LineReceipt? {
        let rows = try await connection.query(
            "SELECT contract_id, user_id, outcome, first_seq, last_seq FROM command_log WHERE command_id = \(request.commandID.rawValue)",
            logger: logger)
        var logged: (String, String, String, Int64, Int64)?
        for try await row in rows.decode((String, String, String, Int64, Int64).self) { logged = row }
        guard let (contract, user, outcome, firstSeq, lastSeq) = logged else { return nil }
        // Ids compare by their UTF-8 bytes, as everywhere.
        guard request.thread.isSame(as: contract), request.author.user.isSame(as: user) else {
            throw StorageError.commandIDReused(request.commandID.rawValue)
        }
        let messages = try await readMessages(connection, thread: request.thread, from: firstSeq, through: lastSeq)
        guard let line = messages.first else { throw StorageError.corrupt("command \(request.commandID): its messages are missing") }
        return LineReceipt(line: line, replies: Array(messages.dropFirst()), outcome: try JSONDecoder().decode(LineOutcome.self, from: Data(outcome.utf8)),
            transition: nil, isDuplicate: true)
    }

    /// Writes what a transition did: the contract's new state, its events as system messages, the ledger
    /// postings (checked against the ledger's rules, each pointing at the message that announced it) and the
    /// deadlines it armed or cancelled.
    func persist(
        _ connection: PostgresConnection, _ transition: Transition, previous: Contract, writer: inout MessageWriter, commandID: CommandID?,
        actor: Participant?, at now: Date
    ) async throws {
        let contract = transition.contract
        var announced: [MilestoneNumber: Int64] = [:]
        var firstSeq: Int64?
        var eventMessages: [StoredMessage] = []
        for event in transition.events {
            let message = writer.append(kind: .system, body: event.text, event: event, at: now)
            eventMessages.append(message)
            firstSeq = firstSeq ?? message.seq
            if let milestone = event.milestone { announced[milestone] = message.seq }
        }
        if recordsNotifications {
            for notification in try OutboxEvent.announcing(transition.events, in: eventMessages, of: contract, actor: actor) {
                try await connection.query("""
                    INSERT INTO outbox (event_id, contract_id, payload, next_attempt_at, created_at)
                    VALUES (\(notification.id), \(contract.id.rawValue), \(notification.payload), \(notification.at.milliseconds), \(notification.at.milliseconds))
                    """, logger: logger)
            }
        }
        try await connection.query("""
            UPDATE contract SET phase = \(contract.phase.rawValue), state = \(try Self.json(contract))::jsonb,
                has_dispute = \(contract.dispute != nil || contract.milestones.contains { $0.openDispute != nil }) WHERE id = \(contract.id.rawValue)
            """, logger: logger)
        try await record(connection, CaseChange.between(previous, transition), of: contract.id, at: now)
        if !transition.postings.isEmpty {
            var ledger = try await ledgerState(connection, contract.id)
            do { try ledger.apply(transition.postings) } catch {
                throw StorageError.ledgerViolation("\(contract.id): \(error)")
            }
            for posting in transition.postings {
                guard let seq = announced[posting.milestone] ?? firstSeq else {
                    throw StorageError.ledgerViolation("\(contract.id): a posting for \(posting.milestone) with no message announcing it")
                }
                try await connection.query("""
                    INSERT INTO ledger_entry (contract_id, milestone, kind, debit, credit, amount, currency, command_id, message_seq, created_at)
                    VALUES (\(contract.id.rawValue), \(posting.milestone.rawValue), \(posting.kind.rawValue), \(posting.debit.description),
                            \(posting.credit.description), \(posting.amount), \(contract.currency.code), \(commandID?.rawValue), \(seq), \(now.milliseconds))
                    """, logger: logger)
            }
        }
        for change in transition.deadlines {
            switch change {
            case .arm(let deadline):
                try await connection.query("""
                    INSERT INTO deadline (contract_id, kind, fires_at) VALUES (\(contract.id.rawValue), \(deadline.kind.key), \(deadline.at.milliseconds))
                    ON CONFLICT (contract_id, kind) DO UPDATE SET fires_at = EXCLUDED.fires_at
                    """, logger: logger)
            case .cancel(let kind):
                try await connection.query("DELETE FROM deadline WHERE contract_id = \(contract.id.rawValue) AND kind = \(kind.key)", logger: logger)
            }
        }
    }

    /// The contract's ledger as its stored entries say, grouped by the message that announced each step.
    private func ledgerState(_ connection: PostgresConnection, _ contract: ContractID) async throws -> Ledger {
        try Ledger.replaying(stored: try await ledgerEntries(connection, contract).map { ($0.0, $0.1) }, of: contract)
    }

    /// Inserts what the writer appended and moves the thread's head.
    func flush(_ connection: PostgresConnection, _ writer: MessageWriter, newThread: Bool) async throws {
        for message in writer.written {
            try await connection.query("""
                INSERT INTO message (thread_id, seq, author_id, author_role, kind, visible_to, body, client_message_id, event, milestone,
                                     created_at, prev_hash, hash, files)
                VALUES (\(message.thread.rawValue), \(message.seq), \(message.author?.rawValue), \(message.authorRole?.rawValue), \(message.kind.rawValue),
                        \(message.visibleTo?.rawValue), \(message.body), \(message.clientMessageID), \(message.event), \(message.milestone?.rawValue),
                        \(message.createdAt.milliseconds), \(message.prevHash), \(message.hash),
                        \(message.files.isEmpty ? nil : message.files.map(\.rawValue).joined(separator: ",")))
                """, logger: logger)
        }
        let head = writer.head
        if newThread {
            try await connection.query("INSERT INTO thread_head (thread_id, last_seq, head_hash) VALUES (\(head.thread.rawValue), \(head.lastSeq), \(head.headHash))", logger: logger)
        } else {
            try await connection.query("UPDATE thread_head SET last_seq = \(head.lastSeq), head_hash = \(head.headHash) WHERE thread_id = \(head.thread.rawValue)", logger: logger)
        }
    }

    /// Runs `body` in one transaction. A failure inside it is rethrown as itself (the same errors as the SQLite
    /// store); a failed COMMIT is an unknown outcome: it is rethrown as such, and nothing is acknowledged.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> sending T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError { throw Self.storageError(inner) }
            throw error
        }
    }

    static func storageError(_ error: any Error) -> any Error {
        error
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}

/// Appends messages to one thread in a transaction: the chain's links come from ``ChainHead``; ``PostgresStore``
/// inserts them before COMMIT.
struct MessageWriter {
    private(set) var head: ChainHead
    private(set) var written: [StoredMessage] = []

    init(head: ChainHead) {
        self.head = head
    }

    @discardableResult
    mutating func append(
        kind: MessageKind, body: String, author: Participant? = nil, visibleTo: UserID? = nil, clientMessageID: String? = nil,
        event: ContractEvent? = nil, at now: Date
    ) -> StoredMessage {
        let message = head.next(kind: kind, body: body, author: author, visibleTo: visibleTo, clientMessageID: clientMessageID, event: event, at: now)
        written.append(message)
        return message
    }
}

extension PostgresStore {
    /// Locks in the same order as a line (the thread's head, then the deadline row), so a deadline firing
    /// while a line re-arms it cannot deadlock; a racing caller that finds the row gone tries the next one.
    public func fireNextDue(at now: Date) async throws -> (Transition, [StoredMessage])? {
        while true {
            var candidate: (String, String)?
            for try await row in try await client.query("""
                SELECT contract_id, kind FROM deadline WHERE fires_at <= \(now.milliseconds) ORDER BY fires_at, contract_id COLLATE "C", kind COLLATE "C" LIMIT 1
                """, logger: logger).decode((String, String).self) { candidate = row }
            guard let (contractID, key) = candidate else { return nil }
            guard let kind = DeadlineKind(key: key) else { throw StorageError.corrupt("deadline \(contractID): kind \(key)") }
            let thread = ContractID(contractID)
            let fired: (Transition, [StoredMessage])? = try await transaction { connection in
                var head: (Int64, String)?
                for try await row in try await connection.query("SELECT last_seq, head_hash FROM thread_head WHERE thread_id = \(contractID) FOR UPDATE",
                    logger: self.logger).decode((Int64, String).self) { head = row }
                var still = false
                for try await _ in try await connection.query("""
                    SELECT fires_at FROM deadline WHERE contract_id = \(contractID) AND kind = \(key) AND fires_at <= \(now.milliseconds) FOR UPDATE
                    """, logger: self.logger).decode(Int64.self) { still = true }
                guard still, let (lastSeq, headHash) = head else { return nil }
                try await connection.query("DELETE FROM deadline WHERE contract_id = \(contractID) AND kind = \(key)", logger: self.logger)
                guard let contract = try await self.loadContract(connection, thread) else { return nil }
                let transition = contract.fire(kind, at: now)
                var writer = MessageWriter(head: ChainHead(thread: thread, lastSeq: lastSeq, headHash: headHash))
                try await self.persist(connection, transition, previous: contract, writer: &writer, commandID: nil, actor: nil, at: now)
                try await self.flush(connection, writer, newThread: false)
                return (transition, writer.written)
            }
            if let fired { return fired }
        }
    }

    public func armedDeadlines(of contract: ContractID) async throws -> [Deadline] {
        var deadlines: [Deadline] = []
        for try await (key, firesAt) in try await client.query("""
            SELECT kind, fires_at FROM deadline WHERE contract_id = \(contract.rawValue) ORDER BY fires_at, kind
            """, logger: logger).decode((String, Int64).self) {
            if let kind = DeadlineKind(key: key) { deadlines.append(Deadline(kind: kind, at: Date(milliseconds: firesAt))) }
        }
        return deadlines
    }
}
