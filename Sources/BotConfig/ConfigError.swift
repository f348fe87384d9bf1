/// A configuration problem, naming the file, the key and what is allowed.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    /// The key involved, `review_period_days`, or several joined with ` + ` for an impossible combination.
    public var key: String?
    public var message: String

    public init(file: String, key: String? = nil, _ message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        key.map { "\(file): \($0): \(message)" } ?? "\(file): \(message)"
    }
}
