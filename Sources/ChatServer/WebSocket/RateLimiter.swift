import Foundation

/// A token bucket: `rate` tokens a second on average, `burst` at once. Every envelope a client sends takes
/// one; an answer that costs more (a `history` page, a `join`'s backlog) is charged by its size afterwards,
/// which may leave the bucket in debt: nothing more is allowed until it refills.
struct RateLimiter {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        tokens = burst
        updated = .now
    }

    /// Takes one token if there is one.
    mutating func allow(now: ContinuousClock.Instant = .now) -> Bool {
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Charges `cost` more tokens for work already done; the debt is paid back at `rate`.
    mutating func charge(_ cost: Double) {
        guard cost > 0 else { return }
        tokens -= cost
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        let elapsed = now - updated
        guard elapsed > .zero else { return }
        updated = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + seconds * rate)
    }
}
