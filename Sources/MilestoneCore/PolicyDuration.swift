/// A policy's length of time as a setting writes it: a whole number of days (`14`), or a number with a
/// unit, `14d`, `36h`, `15m`, `90s`, so a staging site can watch a review period pass in seconds.
public enum PolicyDuration {
    /// Seconds, or nil when `value` is neither a whole number of days nor `<n>d|h|m|s`.
    public static func seconds(_ value: Any) -> Int? {
        if let days = value as? Int { return days >= 0 && days <= 100_000 ? days * 86_400 : nil }
        guard let text = value as? String, let unit = text.last, text.count >= 2, text.count <= 12,
            let number = Int(text.dropLast()), number >= 0 else { return nil }
        let scale: Int
        switch unit {
        case "d": scale = 86_400
        case "h": scale = 3_600
        case "m": scale = 60
        case "s": scale = 1
        default: return nil
        }
        guard number <= 100_000 * 86_400 / scale else { return nil }
        return number * scale
    }

    /// `14 days`, `36 hours`, `90 seconds`: the largest unit that divides it.
    public static func text(seconds: Int) -> String {
        for (size, name) in [(86_400, "day"), (3_600, "hour"), (60, "minute")] where seconds % size == 0 && seconds >= size {
            let count = seconds / size
            return "\(count) \(name)\(count == 1 ? "" : "s")"
        }
        return "\(seconds) second\(seconds == 1 ? "" : "s")"
    }
}

extension Policy.EndContractRule: Codable {
    // The synthesized shape (`{"disputeOnly":{}}`, `{"request":{"answerDays":7}}` in policies stored before
    // units), with `answerSeconds` now.
    enum CodingKeys: String, CodingKey { case disputeOnly, request }
    enum RequestKeys: String, CodingKey { case answerSeconds, answerDays }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.disputeOnly) {
            self = .disputeOnly
            return
        }
        let request = try container.nestedContainer(keyedBy: RequestKeys.self, forKey: .request)
        if let seconds = try request.decodeIfPresent(Int.self, forKey: .answerSeconds) {
            self = .request(answerSeconds: seconds)
        } else {
            self = .request(answerSeconds: try request.decode(Int.self, forKey: .answerDays) * 86_400)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .disputeOnly:
            _ = container.nestedContainer(keyedBy: RequestKeys.self, forKey: .disputeOnly)
        case .request(let seconds):
            var request = container.nestedContainer(keyedBy: RequestKeys.self, forKey: .request)
            try request.encode(seconds, forKey: .answerSeconds)
            // Whole days are also written as before, so a previous release can still read the contract.
            if seconds % 86_400 == 0 { try request.encode(seconds / 86_400, forKey: .answerDays) }
        }
    }
}
