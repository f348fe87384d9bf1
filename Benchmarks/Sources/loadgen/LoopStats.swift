import Histogram

/// Counts one event loop's connections keep. Only that loop touches it; `Rig.collect()` copies every loop's
/// counts and histograms on the loop itself and adds them up.
final class LoopStats {
    var counts = Counts()
    /// Send to delivery, at every receiver, for lines sent inside the measurement window (ns).
    var delivery = LoopStats.histogram()
    /// Send to acknowledgement (the line is durable), for lines sent inside the window (ns).
    var ack = LoopStats.histogram()
    /// The measurement window: latencies of lines sent in it, and rates of frames received in it.
    var windowStart: UInt64 = 0
    var windowEnd: UInt64 = .max
    /// The first error frame or rejection seen, to say why something failed.
    var firstProblem: String?

    struct Counts {
        var hellos = 0
        var joined = 0
        var sent = 0
        var acks = 0
        var rejected = 0
        /// Acknowledged lines times the members of their thread: what should be delivered.
        var expectedDeliveries = 0
        var deliveries = 0
        /// Lines sent, acknowledgements and deliveries received inside the window.
        var sentInWindow = 0
        var acksInWindow = 0
        var deliveriesInWindow = 0
        /// A message whose `seq` skipped ahead of the previous one + 1 on the same connection (a hole).
        var seqGaps = 0
        /// A message whose `seq` was not above the previous one on the same connection (duplicate or reordered).
        var seqRepeats = 0
        var errors = 0
        var closedByServer = 0

        mutating func add(_ other: Counts) {
            hellos += other.hellos; joined += other.joined; sent += other.sent; acks += other.acks
            rejected += other.rejected; expectedDeliveries += other.expectedDeliveries; deliveries += other.deliveries
            sentInWindow += other.sentInWindow; acksInWindow += other.acksInWindow
            deliveriesInWindow += other.deliveriesInWindow; seqGaps += other.seqGaps; seqRepeats += other.seqRepeats
            errors += other.errors; closedByServer += other.closedByServer
        }
    }

    func inWindow(_ stamp: UInt64) -> Bool { stamp >= windowStart && stamp < windowEnd }

    func noteProblem(_ text: @autoclosure () -> String) {
        if firstProblem == nil { firstProblem = text() }
    }

    /// 1 µs to 10 min, three significant digits.
    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1_000, highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
    }
}

/// Every loop's stats added up.
struct Totals {
    var counts = LoopStats.Counts()
    var delivery = LoopStats.histogram()
    var ack = LoopStats.histogram()
    var firstProblem: String?
}
