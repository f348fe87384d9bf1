import Foundation

/// One-time tickets for browsers, which cannot set an `Authorization` header on a WebSocket: the page
/// trades its token for a ticket over HTTPS (`POST /api/ws-ticket`) and opens `/ws?ticket=...`. A ticket
/// works once, within 30 seconds (or until its token expires, if sooner), and only to open a WebSocket, so
/// one seen in a log or proxy is worthless and a ticket cannot buy another ticket.
public actor TicketBook {
    private var tickets: [String: (Identity, Date)] = [:]
    let lifetime: TimeInterval
    let now: @Sendable () -> Date

    public init(lifetime: TimeInterval = 30, now: @escaping @Sendable () -> Date = Date.init) {
        self.lifetime = lifetime
        self.now = now
    }

    public func issue(for identity: Identity) -> (ticket: String, expiresIn: Int) {
        let current = now()
        tickets = tickets.filter { $0.value.1 > current }
        var bytes = SystemRandomNumberGenerator()
        let ticket = (0..<4).map { _ in String(bytes.next(), radix: 16) }.joined()
        // A ticket never outlives the token it was bought with.
        let expires = min(current.addingTimeInterval(lifetime), identity.expiresAt)
        tickets[ticket] = (identity, expires)
        return (ticket, max(0, Int(expires.timeIntervalSince(current).rounded(.down))))
    }

    /// The identity a ticket was issued for; the ticket is spent either way.
    public func redeem(_ ticket: String) -> Identity? {
        guard let (identity, expires) = tickets.removeValue(forKey: ticket), expires > now() else { return nil }
        return identity
    }
}
