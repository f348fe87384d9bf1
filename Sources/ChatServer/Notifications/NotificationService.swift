import Foundation
import Payments
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import Storage

/// Delivers the outbox to the platform's webhook: signed JSON, one event at a time per contract in order,
/// retried with exponential backoff until the receiver answers 2xx. Delivery is at least once; every body
/// carries a stable `id` the receiver deduplicates by. Redirects are not followed: a 3xx is a failed attempt.
struct NotificationService: Service {
    let context: ServerContext
    let url: URL
    let secret: String
    var interval: Duration = .milliseconds(200)

    func run() async throws {
        let session = NoRedirectSession()
        defer { session.invalidate() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let delivered = await deliverDue(session: session)
            if delivered == 0 { try? await Task.sleep(for: interval) }
        }
    }

    /// Sends what is due; returns how many were delivered.
    func deliverDue(session: NoRedirectSession) async -> Int {
        let items: [PendingNotification]
        do { items = try await context.database.dueNotifications(at: context.clock()) } catch {
            context.logger.error("reading the outbox failed", metadata: ["error": "\(error)"])
            return 0
        }
        var delivered = 0
        for item in items {
            let body = Data(item.payload.utf8)
            var request = URLRequest(url: url, timeoutInterval: 10)
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            // Standard Webhooks (webhook-id, -timestamp, -signature), and the earlier Milestone-* headers.
            let now = Date()
            let timestamp = Int(now.timeIntervalSince1970)
            request.setValue(item.eventID, forHTTPHeaderField: "webhook-id")
            request.setValue(String(timestamp), forHTTPHeaderField: "webhook-timestamp")
            request.setValue(StandardWebhook.signature(id: item.eventID, timestamp: timestamp, body: body, secret: secret), forHTTPHeaderField: "webhook-signature")
            request.setValue(item.eventID, forHTTPHeaderField: "Milestone-Event-Id")
            request.setValue(WebhookSignature.sign(body: body, secret: secret, at: now), forHTTPHeaderField: "Milestone-Signature")
            do {
                let (_, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                if (200..<300).contains(status) {
                    try await context.database.markDelivered(item, at: context.clock())
                    context.metrics.notificationDelivered()
                    delivered += 1
                } else {
                    try await retryLater(item, error: "HTTP \(status)")
                }
            } catch {
                try? await retryLater(item, error: "\(error)")
            }
        }
        return delivered
    }

    /// 1 s, 2 s, 4 s ... up to 5 minutes between attempts.
    func retryLater(_ item: PendingNotification, error: String) async throws {
        let delay = min(pow(2, Double(min(item.attempts, 12))), 300)
        context.metrics.notificationFailed()
        try await context.database.markFailed(item, error: error, retryAt: context.clock().addingTimeInterval(delay))
    }
}
