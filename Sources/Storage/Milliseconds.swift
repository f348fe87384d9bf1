import Foundation

/// Times are stored as whole milliseconds since 1970, so they hash and compare exactly.
extension Date {
    /// Saturating: a time beyond what 64 bits of milliseconds hold (a client's absurd age filter) clamps
    /// instead of trapping.
    public var milliseconds: Int64 {
        let value = (timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return value > 0 ? .max : .min }
        if value >= 9.2e18 { return .max }
        if value <= -9.2e18 { return .min }
        return Int64(value)
    }

    public init(milliseconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }
}
