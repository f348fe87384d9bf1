import Dispatch

/// Monotonic nanoseconds. Senders stamp messages with it and receivers subtract it: both run in this process,
/// so they read the same clock.
@inline(__always) func nowNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

extension Double {
    /// Nanoseconds as milliseconds.
    static func millis(_ nanos: UInt64) -> Double { Double(nanos) / 1_000_000 }
}
