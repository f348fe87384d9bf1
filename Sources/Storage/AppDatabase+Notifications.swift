import Foundation
import GRDB
import MilestoneCore

/// One notification for the platform, written to the `outbox` table in the same transaction as the event it
/// announces (the transactional outbox), waiting to be delivered.
public struct PendingNotification: Hashable, Sendable {
    public var id: Int64
    /// `<contract>:<seq>`: the announcing message; stable across retries.
    public var eventID: String
    public var contract: ContractID
    public var payload: String
    public var attempts: Int

    public init(id: Int64, eventID: String, contract: ContractID, payload: String, attempts: Int) {
        (self.id, self.eventID, self.contract, self.payload, self.attempts) = (id, eventID, contract, payload, attempts)
    }
}

extension AppDatabase {
    /// Writes one outbox row per event message, inside the caller's transaction. `actor` is who typed the
    /// command (nil: the clock or the payment processor).
    func enqueueNotifications(_ db: Database, contract: Contract, messages: [StoredMessage], events: [ContractEvent], actor: Participant?) throws {
        guard notificationsEnabled else { return }
        for notification in try OutboxEvent.announcing(events, in: messages, of: contract, actor: actor) {
            try enqueue(db, eventID: notification.id, contract: contract.id, payload: notification.payload, at: notification.at)
        }
    }

    /// One outbox row; a contract's rows are delivered in the order they were written.
    func enqueue(_ db: Database, eventID: String, contract: ContractID, payload: String, at now: Date) throws {
        try db.execute(
            sql: "INSERT INTO outbox (event_id, contract_id, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [eventID, contract.rawValue, payload, now.milliseconds, now.milliseconds])
    }

    /// The next notification to send for each contract (only the oldest undelivered one of a contract, so a
    /// contract's events arrive in order), if its next attempt is due at `now`.
    public func dueNotifications(at now: Date, limit: Int = 50) async throws -> [PendingNotification] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT o.id, o.event_id, o.contract_id, o.payload, o.attempts FROM outbox o
                JOIN (SELECT contract_id, MIN(id) AS id FROM outbox WHERE delivered_at IS NULL GROUP BY contract_id) first ON first.id = o.id
                WHERE o.next_attempt_at <= ? ORDER BY o.id LIMIT ?
                """, arguments: [now.milliseconds, limit]).map {
                PendingNotification(id: $0["id"], eventID: $0["event_id"], contract: ContractID($0["contract_id"] as String), payload: $0["payload"], attempts: $0["attempts"])
            }
        }
    }

    public func markDelivered(_ item: PendingNotification, at now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?", arguments: [now.milliseconds, item.id])
        }
    }

    /// Records a failed attempt and when to try again.
    public func markFailed(_ item: PendingNotification, error: String, retryAt: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
                arguments: [String(error.prefix(500)), retryAt.milliseconds, item.id])
        }
    }

    /// Counts for operators: waiting and delivered notifications.
    public func notificationCounts() throws -> (pending: Int, delivered: Int) {
        try writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL") ?? 0)
        }
    }
}
