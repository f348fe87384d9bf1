import Foundation
import MilestoneCore
import PostgresNIO
import Storage

extension PostgresStore {
    /// Takes the notifications due at `now` for `node` to deliver, at most one per contract (its oldest
    /// undelivered one, so a contract's events arrive in order), each for `lease` seconds: another node takes
    /// none of them meanwhile (`FOR UPDATE SKIP LOCKED`), and takes over one whose lease ran out (its node died).
    public func claimNotifications(for node: String, at now: Date, lease: TimeInterval, limit: Int) async throws -> [PendingNotification] {
        let until = now.addingTimeInterval(lease).milliseconds
        let rows = try await client.query("""
            WITH due AS (
                SELECT o.id FROM outbox o
                WHERE o.delivered_at IS NULL AND o.next_attempt_at <= \(now.milliseconds)
                  AND (o.lease_until IS NULL OR o.lease_until < \(now.milliseconds))
                  AND o.id = (SELECT MIN(f.id) FROM outbox f WHERE f.contract_id = o.contract_id AND f.delivered_at IS NULL)
                ORDER BY o.id LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE outbox SET leased_by = \(node), lease_until = \(until) FROM due WHERE outbox.id = due.id
            RETURNING outbox.id, outbox.event_id, outbox.contract_id, outbox.payload, outbox.attempts
            """, logger: logger)
        var claimed: [PendingNotification] = []
        for try await (id, eventID, contract, payload, attempts) in rows.decode((Int64, String, String, String, Int).self) {
            claimed.append(PendingNotification(id: id, eventID: eventID, contract: ContractID(contract), payload: payload, attempts: attempts))
        }
        return claimed.sorted { $0.id < $1.id }
    }

    /// The receiver answered 2xx. Only the node holding the lease records it (a node whose lease ran out and
    /// was taken over records nothing: the new holder delivers again, and the receiver deduplicates by id).
    @discardableResult
    public func markDelivered(_ item: PendingNotification, by node: String, at now: Date) async throws -> Bool {
        try await !client.query("""
            UPDATE outbox SET delivered_at = \(now.milliseconds), attempts = attempts + 1, last_error = NULL, leased_by = NULL, lease_until = NULL
            WHERE id = \(item.id) AND leased_by = \(node) AND delivered_at IS NULL RETURNING 1
            """, logger: logger).collect().isEmpty
    }

    /// A failed attempt: tried again at `retryAt`, by whichever node claims it then.
    public func markFailed(_ item: PendingNotification, by node: String, error: String, retryAt: Date) async throws {
        try await client.query("""
            UPDATE outbox SET attempts = attempts + 1, last_error = \(String(error.prefix(500))), next_attempt_at = \(retryAt.milliseconds),
                leased_by = NULL, lease_until = NULL
            WHERE id = \(item.id) AND leased_by = \(node)
            """, logger: logger)
    }
}
