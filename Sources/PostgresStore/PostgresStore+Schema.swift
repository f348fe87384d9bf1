import Foundation
import PostgresNIO
import Storage

extension PostgresStore {
    /// The schema, one step per version. Shipped steps are frozen: a change is a new step.
    static let migrations: [(id: String, sql: [String])] = [
        ("v1: contracts, transcript, command log, ledger, deadlines", [
            """
            CREATE TABLE contract (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                currency TEXT NOT NULL,
                buyer_id TEXT NOT NULL,
                freelancer_id TEXT NOT NULL,
                preset TEXT NOT NULL,
                phase TEXT NOT NULL,
                state JSONB NOT NULL,            -- the whole contract as the core sees it (milestones, offers, disputes ...)
                created_at BIGINT NOT NULL       -- milliseconds since 1970
            )
            """,
            "CREATE INDEX contract_buyer ON contract (buyer_id)",
            "CREATE INDEX contract_freelancer ON contract (freelancer_id)",
            """
            CREATE TABLE thread_head (
                thread_id TEXT PRIMARY KEY REFERENCES contract (id),
                last_seq BIGINT NOT NULL,        -- a line's transaction locks this row: one writer per thread at a time
                head_hash TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE message (
                thread_id TEXT NOT NULL REFERENCES contract (id),
                seq BIGINT NOT NULL CHECK (seq > 0),
                author_id TEXT,
                author_role TEXT,
                kind TEXT NOT NULL CHECK (kind IN ('chat', 'command', 'system', 'notice', 'note')),
                visible_to TEXT,
                body TEXT NOT NULL,
                client_message_id TEXT,
                event TEXT,
                milestone INTEGER,
                created_at BIGINT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                files TEXT,
                PRIMARY KEY (thread_id, seq)
            )
            """,
            """
            CREATE TABLE command_log (
                command_id TEXT PRIMARY KEY,     -- one outcome per command id, whichever node handled it
                contract_id TEXT NOT NULL REFERENCES contract (id),
                user_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                first_seq BIGINT NOT NULL,
                last_seq BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE ledger_entry (
                id BIGSERIAL PRIMARY KEY,
                contract_id TEXT NOT NULL REFERENCES contract (id),
                milestone INTEGER NOT NULL,
                kind TEXT NOT NULL,
                debit TEXT NOT NULL,
                credit TEXT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                currency TEXT NOT NULL,
                command_id TEXT,
                message_seq BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX ledger_contract ON ledger_entry (contract_id, milestone, id)",
            """
            CREATE TABLE deadline (
                contract_id TEXT NOT NULL REFERENCES contract (id),
                kind TEXT NOT NULL,
                fires_at BIGINT NOT NULL,
                PRIMARY KEY (contract_id, kind)
            )
            """,
            "CREATE INDEX deadline_due ON deadline (fires_at)",
        ]),
        ("v2: every dispute's case kept after it is resolved", [
            """
            CREATE TABLE dispute_case (
                contract_id TEXT NOT NULL REFERENCES contract (id),
                about TEXT NOT NULL,             -- the milestone (M1) or 'contract'
                opened_at BIGINT NOT NULL,
                raised_by TEXT NOT NULL,
                reason TEXT NOT NULL,
                closed_at BIGINT,                -- NULL while open
                closed_by TEXT,                  -- the event that closed it
                resolution TEXT,                 -- the thread's words for how
                released BIGINT NOT NULL DEFAULT 0,
                refunded BIGINT NOT NULL DEFAULT 0,
                file TEXT,                       -- JSON: the case as it closed
                PRIMARY KEY (contract_id, about, opened_at)
            )
            """,
            "CREATE INDEX dispute_case_closed ON dispute_case (closed_at) WHERE closed_at IS NOT NULL",
        ]),
        ("v3: notification outbox with leases", [
            """
            CREATE TABLE outbox (
                id BIGSERIAL PRIMARY KEY,
                event_id TEXT NOT NULL UNIQUE,   -- stable across retries: receivers deduplicate by it
                contract_id TEXT NOT NULL REFERENCES contract (id),
                payload TEXT NOT NULL,           -- the JSON body, exactly as sent
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT,
                delivered_at BIGINT,
                created_at BIGINT NOT NULL,
                leased_by TEXT,                  -- the node delivering it now
                lease_until BIGINT               -- after this, another node may take it over
            )
            """,
            "CREATE INDEX outbox_pending ON outbox (contract_id, id) WHERE delivered_at IS NULL",
        ]),
        ("v4: read markers", [
            """
            CREATE TABLE read_marker (
                thread_id TEXT NOT NULL REFERENCES contract (id),
                user_id TEXT NOT NULL,
                seq BIGINT NOT NULL CHECK (seq > 0),   -- the newest message the party had seen
                at BIGINT NOT NULL,                    -- when: the first row reaching a message says when it was first seen
                PRIMARY KEY (thread_id, user_id, seq)
            )
            """,
        ]),
        ("v5: how far each party was told of unread lines", [
            """
            CREATE TABLE unread_digest (
                thread_id TEXT NOT NULL REFERENCES contract (id),
                user_id TEXT NOT NULL,
                told_seq BIGINT NOT NULL,
                PRIMARY KEY (thread_id, user_id)
            )
            """,
        ]),
        ("v6: contracts with an open dispute, for the moderators' queue", [
            "ALTER TABLE contract ADD COLUMN has_dispute BOOLEAN NOT NULL DEFAULT false",
            "CREATE INDEX contract_disputed ON contract (id) WHERE has_dispute",
        ]),
    ]

    /// Brings the schema up to date, each step in its own transaction; several nodes starting at once take
    /// turns (an advisory lock), so each step runs once.
    public func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(7250913)", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS schema_migration (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", logger: logger)
            var applied: Set<String> = []
            for try await id in try await connection.query("SELECT id FROM schema_migration", logger: logger).decode(String.self) { applied.insert(id) }
            for migration in Self.migrations where !applied.contains(migration.id) {
                for statement in migration.sql { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                let now = Date().milliseconds
                try await connection.query("INSERT INTO schema_migration (id, applied_at) VALUES (\(migration.id), \(now))", logger: logger)
            }
        }
    }
}
