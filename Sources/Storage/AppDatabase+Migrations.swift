import GRDB

extension AppDatabase {
    /// Migrations are frozen once shipped: add new ones, never edit these.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: contracts, milestones, transcript, ledger, commands, deadlines") { db in
            try db.execute(sql: """
                CREATE TABLE contract (
                    id TEXT PRIMARY KEY NOT NULL,
                    title TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    buyer_id TEXT NOT NULL,
                    freelancer_id TEXT NOT NULL,
                    preset TEXT NOT NULL,
                    policy TEXT NOT NULL,           -- JSON: the rules the contract was made under
                    phase TEXT NOT NULL CHECK (phase IN ('proposal', 'live', 'completed', 'ended')),
                    end_request TEXT,               -- JSON, while the buyer's request to end is open
                    reviews TEXT NOT NULL,          -- JSON array
                    last_seq INTEGER NOT NULL,      -- the thread's newest message
                    head_hash TEXT NOT NULL,        -- the transcript chain's newest hash
                    created_at INTEGER NOT NULL     -- milliseconds since 1970
                );
                CREATE INDEX contract_buyer ON contract(buyer_id);
                CREATE INDEX contract_freelancer ON contract(freelancer_id);

                CREATE TABLE milestone (
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    number INTEGER NOT NULL CHECK (number > 0),
                    description TEXT NOT NULL,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    due_date TEXT,
                    revision_allowance INTEGER,
                    revisions_used INTEGER NOT NULL,
                    created_by TEXT NOT NULL,
                    state TEXT NOT NULL,            -- name, for queries
                    state_detail TEXT NOT NULL,     -- JSON of the state and its data
                    funded INTEGER NOT NULL CHECK (funded >= 0),
                    released INTEGER NOT NULL CHECK (released >= 0),
                    refunded INTEGER NOT NULL CHECK (refunded >= 0),
                    CHECK (funded - released - refunded >= 0),
                    PRIMARY KEY (contract_id, number)
                );
                CREATE INDEX milestone_state ON milestone(state);

                CREATE TABLE message (
                    thread_id TEXT NOT NULL REFERENCES contract(id),
                    seq INTEGER NOT NULL CHECK (seq > 0),
                    author_id TEXT,                 -- NULL: the bot
                    author_role TEXT,
                    kind TEXT NOT NULL CHECK (kind IN ('chat', 'command', 'system', 'notice', 'note')),
                    visible_to TEXT,                -- NULL: everyone in the thread; else only this user (and moderators)
                    body TEXT NOT NULL,
                    client_message_id TEXT,
                    event TEXT,                     -- system messages: the event's name (milestone_funded ...)
                    milestone INTEGER,              -- system messages: the milestone it is about
                    created_at INTEGER NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    PRIMARY KEY (thread_id, seq)
                );
                CREATE INDEX message_milestone ON message(thread_id, milestone) WHERE milestone IS NOT NULL;
                CREATE UNIQUE INDEX message_client_id ON message(thread_id, author_id, client_message_id)
                    WHERE client_message_id IS NOT NULL;

                CREATE TABLE ledger_entry (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    milestone INTEGER NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('hold', 'post', 'void')),
                    debit TEXT NOT NULL,
                    credit TEXT NOT NULL,
                    amount INTEGER NOT NULL CHECK (amount > 0),
                    currency TEXT NOT NULL,
                    command_id TEXT,                -- NULL when a deadline moved the money
                    message_seq INTEGER NOT NULL,   -- the system message that announced it
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX ledger_entry_contract ON ledger_entry(contract_id, milestone);

                CREATE TABLE command_log (
                    command_id TEXT PRIMARY KEY NOT NULL,
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    user_id TEXT NOT NULL,
                    outcome TEXT NOT NULL,          -- JSON: what happened the first time
                    first_seq INTEGER NOT NULL,
                    last_seq INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );

                CREATE TABLE deadline (
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    kind TEXT NOT NULL,
                    fires_at INTEGER NOT NULL,
                    PRIMARY KEY (contract_id, kind)
                );
                CREATE INDEX deadline_fires_at ON deadline(fires_at);
                """)
        }
        migrator.registerMigration("v2: notification outbox") { db in
            try db.execute(sql: """
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL UNIQUE,  -- stable across retries: receivers deduplicate by it
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    payload TEXT NOT NULL,          -- the JSON body, exactly as sent
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT,
                    delivered_at INTEGER,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX outbox_pending ON outbox(contract_id, id) WHERE delivered_at IS NULL;
                """)
        }
        migrator.registerMigration("v3: payment processor") { db in
            try db.execute(sql: """
                -- Who pays and who is paid at the processor (ids the platform registered; nil with the simulated processor).
                ALTER TABLE contract ADD COLUMN payer_customer TEXT;
                ALTER TABLE contract ADD COLUMN payer_payment_method TEXT;
                ALTER TABLE contract ADD COLUMN payout_account TEXT;
                -- What the processor did for a posting: pi_..., re_..., tr_... (comma-separated).
                ALTER TABLE ledger_entry ADD COLUMN processor_ref TEXT;

                -- The processor's hold on each milestone's money.
                CREATE TABLE payment_hold (
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    milestone INTEGER NOT NULL,
                    kind TEXT NOT NULL,             -- authorization | charge
                    payment_intent TEXT NOT NULL,
                    amount INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER,             -- authorizations only
                    warned INTEGER NOT NULL DEFAULT 0,
                    open INTEGER NOT NULL DEFAULT 1,
                    PRIMARY KEY (contract_id, milestone)
                );
                CREATE INDEX payment_hold_intent ON payment_hold(payment_intent);
                CREATE INDEX payment_hold_expiring ON payment_hold(expires_at) WHERE open = 1 AND kind = 'authorization';

                -- A money movement under way: written before the first processor call, finished in the
                -- transaction that commits its result. A pending row at start-up is a crash to recover.
                CREATE TABLE payment_operation (
                    key TEXT PRIMARY KEY,
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    work TEXT NOT NULL,             -- JSON: the line, deadline or expiry to run again
                    calls TEXT NOT NULL,            -- JSON: the planned calls with their idempotency keys
                    checkpoints TEXT NOT NULL DEFAULT '{}', -- JSON: call key -> what a call recorded mid-way
                    status TEXT NOT NULL,           -- pending | done | failed
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE INDEX payment_operation_pending ON payment_operation(contract_id) WHERE status = 'pending';

                -- Processor webhook events already applied: each is applied once.
                CREATE TABLE processor_event (
                    id TEXT PRIMARY KEY,
                    type TEXT NOT NULL,
                    received_at INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v4: thread heads in their own narrow table; only the indexes queries use") { db in
            try db.execute(sql: """
                -- Every line moves its thread's head. On the wide contract row (next to its policy text) that
                -- dirtied a page per line; here ~30 heads share a page, so a batch of lines writes far fewer.
                CREATE TABLE thread_head (
                    thread_id TEXT PRIMARY KEY NOT NULL REFERENCES contract(id),
                    last_seq INTEGER NOT NULL,      -- the thread's newest message
                    head_hash TEXT NOT NULL         -- the transcript chain's newest hash
                ) WITHOUT ROWID;
                INSERT INTO thread_head (thread_id, last_seq, head_hash) SELECT id, last_seq, head_hash FROM contract;
                ALTER TABLE contract DROP COLUMN last_seq;
                ALTER TABLE contract DROP COLUMN head_hash;
                -- A client's message id is already applied once through command_log (keyed by user and id,
                -- checked before anything is written); this index was a second, random-page write per line.
                DROP INDEX message_client_id;
                -- No query looks messages up by milestone; every system message paid for this index.
                DROP INDEX message_milestone;
                -- Only the dispute queue asks for milestones by state, and only for disputed ones: every state
                -- change (fund, submit, release) moved an entry in the full index.
                DROP INDEX milestone_state;
                CREATE INDEX milestone_disputed ON milestone(contract_id, number) WHERE state = 'disputed';
                """)
        }
        migrator.registerMigration("v5: disputes about a contract as a whole") { db in
            try db.execute(sql: """
                -- A dispute about the contract itself (not a funded milestone), JSON, NULL when none is open.
                ALTER TABLE contract ADD COLUMN dispute TEXT;
                CREATE INDEX contract_disputed ON contract(id) WHERE dispute IS NOT NULL;
                """)
        }
        migrator.registerMigration("v6: offers the parties make each other; a cancelled order's phase") { db in
            // SQLite cannot change a CHECK constraint: the table is rebuilt (create, copy, drop, rename), with
            // foreign keys checked once at the end of the migration (GRDB's deferred checks).
            try db.execute(sql: """
                CREATE TABLE contract_new (
                    id TEXT PRIMARY KEY NOT NULL,
                    title TEXT NOT NULL,
                    currency TEXT NOT NULL,
                    buyer_id TEXT NOT NULL,
                    freelancer_id TEXT NOT NULL,
                    preset TEXT NOT NULL,
                    policy TEXT NOT NULL,           -- JSON: the rules the contract was made under
                    -- 'cancelled': a whole order cancelled with no milestone completed
                    phase TEXT NOT NULL CHECK (phase IN ('proposal', 'live', 'completed', 'ended', 'cancelled')),
                    end_request TEXT,               -- JSON, while the buyer's request to end is open
                    reviews TEXT NOT NULL,          -- JSON array
                    created_at INTEGER NOT NULL,    -- milliseconds since 1970
                    payer_customer TEXT,
                    payer_payment_method TEXT,
                    payout_account TEXT,
                    dispute TEXT,                   -- JSON, while a dispute about the contract itself is open
                    offers TEXT                     -- JSON array of open offers to settle a milestone, NULL when none
                );
                INSERT INTO contract_new (id, title, currency, buyer_id, freelancer_id, preset, policy, phase, end_request, reviews,
                    created_at, payer_customer, payer_payment_method, payout_account, dispute)
                SELECT id, title, currency, buyer_id, freelancer_id, preset, policy, phase, end_request, reviews,
                    created_at, payer_customer, payer_payment_method, payout_account, dispute FROM contract;
                DROP TABLE contract;
                ALTER TABLE contract_new RENAME TO contract;
                CREATE INDEX contract_buyer ON contract(buyer_id);
                CREATE INDEX contract_freelancer ON contract(freelancer_id);
                CREATE INDEX contract_disputed ON contract(id) WHERE dispute IS NOT NULL;
                """)
        }
        migrator.registerMigration("v7: every dispute's case kept after it is resolved") { db in
            try db.execute(sql: """
                -- One row per dispute, written when it opens and completed when it closes (the open case itself
                -- lives with the milestone or the contract): the queue's resolved cases and the case file.
                CREATE TABLE dispute_case (
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    about TEXT NOT NULL,            -- the milestone (M1) or 'contract'
                    opened_at INTEGER NOT NULL,
                    raised_by TEXT NOT NULL,        -- buyer | freelancer
                    reason TEXT NOT NULL,
                    closed_at INTEGER,              -- NULL while open
                    closed_by TEXT,                 -- the event that closed it: dispute_resolved, offer_accepted ...
                    resolution TEXT,                -- the thread's words for how it was closed
                    released INTEGER NOT NULL DEFAULT 0,  -- paid to the freelancer when it closed
                    refunded INTEGER NOT NULL DEFAULT 0,  -- returned to the buyer when it closed
                    file TEXT,                      -- JSON: the case (statements, response, assignee) as it closed
                    PRIMARY KEY (contract_id, about, opened_at)
                ) WITHOUT ROWID;
                CREATE INDEX dispute_case_closed ON dispute_case(closed_at) WHERE closed_at IS NOT NULL;
                """)
        }
        migrator.registerMigration("v8: files attached to threads") { db in
            try db.execute(sql: """
                -- A file uploaded to a contract's thread; its bytes live in the blob store under `id`.
                CREATE TABLE file (
                    contract_id TEXT NOT NULL REFERENCES contract(id),
                    id TEXT NOT NULL,               -- SHA-256 of the bytes, lower-case hex
                    name TEXT NOT NULL,             -- as the uploader named it (checked: no paths, controls or bidi)
                    size INTEGER NOT NULL CHECK (size >= 0),
                    content_type TEXT NOT NULL,     -- from the bytes, never the client's claim
                    uploaded_by TEXT NOT NULL,
                    uploaded_at INTEGER NOT NULL,
                    referenced INTEGER NOT NULL DEFAULT 0,  -- 1 once a message references it (then it is kept)
                    PRIMARY KEY (contract_id, id)
                ) WITHOUT ROWID;
                CREATE INDEX file_unreferenced ON file(uploaded_at) WHERE referenced = 0;
                CREATE INDEX file_id ON file(id);
                -- The files a message carries, in order: ids joined by ',' (NULL: none). The message's hash covers them.
                ALTER TABLE message ADD COLUMN files TEXT;
                """)
        }
        migrator.registerMigration("v9: read markers; how far each party was told of unread lines") { db in
            try db.execute(sql: """
                -- Each time a party's reading moved forward: `seq` is the newest message they had seen, at `at`.
                -- The newest row is their read marker; the first row reaching a message says when they first saw it.
                CREATE TABLE read_marker (
                    thread_id TEXT NOT NULL REFERENCES contract(id),
                    user_id TEXT NOT NULL,
                    seq INTEGER NOT NULL CHECK (seq > 0),
                    at INTEGER NOT NULL,
                    PRIMARY KEY (thread_id, user_id, seq)
                ) WITHOUT ROWID;
                -- The newest line the platform was told of (a `message.created` event) or that reached the party
                -- live, per party: lines after it are what the next event is about.
                CREATE TABLE unread_digest (
                    thread_id TEXT NOT NULL REFERENCES contract(id),
                    user_id TEXT NOT NULL,
                    told_seq INTEGER NOT NULL,
                    PRIMARY KEY (thread_id, user_id)
                ) WITHOUT ROWID;
                -- Lines written before this version are not news.
                INSERT INTO unread_digest (thread_id, user_id, told_seq)
                    SELECT c.id, c.buyer_id, h.last_seq FROM contract c JOIN thread_head h ON h.thread_id = c.id;
                INSERT INTO unread_digest (thread_id, user_id, told_seq)
                    SELECT c.id, c.freelancer_id, h.last_seq FROM contract c JOIN thread_head h ON h.thread_id = c.id;
                """)
        }
        migrator.registerMigration("v10: what was already in a thread when unread counts began") { db in
            try db.execute(sql: """
                -- Lines written before read markers existed are not unread: counts start after this seq (or the
                -- party's read marker, whichever is further). Threads made since have none: everything counts.
                CREATE TABLE unread_baseline (
                    thread_id TEXT NOT NULL REFERENCES contract(id),
                    user_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    PRIMARY KEY (thread_id, user_id)
                ) WITHOUT ROWID;
                INSERT INTO unread_baseline (thread_id, user_id, seq)
                    SELECT c.id, c.buyer_id, h.last_seq FROM contract c JOIN thread_head h ON h.thread_id = c.id;
                INSERT INTO unread_baseline (thread_id, user_id, seq)
                    SELECT c.id, c.freelancer_id, h.last_seq FROM contract c JOIN thread_head h ON h.thread_id = c.id;
                """)
        }
        return migrator
    }
}
