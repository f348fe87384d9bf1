import Foundation
import MilestoneCore
import Synchronization

/// Bytes of history each user may read per second, across all their connections: `join` backlogs and
/// `history` pages are charged here by their size. Per user, not per connection, so a client that drops
/// and reopens sockets (each new connection would get a fresh per-connection burst) reads no faster.
public final class ReadBudget: Sendable {
    private let buckets = Mutex<[UserID: RateLimiter]>([:])
    let bytesPerSecond: Double
    let burstBytes: Double

    init(bytesPerSecond: Int, burstBytes: Int) {
        self.bytesPerSecond = Double(bytesPerSecond)
        self.burstBytes = Double(burstBytes)
    }

    /// Whether `user` may read now: their bucket is not in debt. The read is charged afterwards with
    /// ``charge(_:bytes:)``, so one answer may take the bucket below zero and the next waits.
    func allows(_ user: UserID, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLock { buckets in
            if buckets[user] == nil {
                // Users who have not read lately hold full buckets: forget them rather than grow for ever.
                if buckets.count >= 100_000 { buckets = buckets.filter { !$0.value.isFull(now: now) } }
                buckets[user] = RateLimiter(rate: bytesPerSecond, burst: burstBytes)
            }
            return buckets[user]!.hasCredit(now: now)
        }
    }

    func charge(_ user: UserID, bytes: Int) {
        buckets.withLock { $0[user]?.charge(Double(bytes)) }
    }
}
