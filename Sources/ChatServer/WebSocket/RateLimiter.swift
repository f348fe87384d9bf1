import Foundation

/// A token bucket: `rate` tokens a second on average, `burst` at once. Every envelope a client sends takes
/// one. As a byte budget (``ReadBudget``) it is charged after the fact, which may leave it in debt: nothing
/// more is allowed until it refills.
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

    /// Whether the bucket is out of debt (holds any credit), without taking anything.
    mutating func hasCredit(now: ContinuousClock.Instant = .now) -> Bool {
        refill(now: now)
        return tokens > 0
    }

    /// Whether the bucket has refilled completely.
    func isFull(now: ContinuousClock.Instant) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.tokens >= burst
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
