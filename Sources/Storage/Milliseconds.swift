import Foundation

/// Times are stored as whole milliseconds since 1970, so they hash and compare exactly.
extension Date {
    public var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    public init(milliseconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }
}
