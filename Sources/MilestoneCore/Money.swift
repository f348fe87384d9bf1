/// An ISO 4217 currency with the number of digits in its minor unit (2 for USD cents, 0 for JPY).
public struct Currency: Hashable, Sendable, Codable, CustomStringConvertible {
    public let code: String
    public let minorUnitDigits: Int
    /// The symbol people type before an amount, if it is unambiguous enough to accept.
    public let symbol: String?

    public var description: String { code }

    /// The currencies contracts may use.
    public static let supported: [String: Currency] = {
        let list = [
            Currency(code: "USD", minorUnitDigits: 2, symbol: "$"),
            Currency(code: "EUR", minorUnitDigits: 2, symbol: "€"),
            Currency(code: "GBP", minorUnitDigits: 2, symbol: "£"),
            Currency(code: "AUD", minorUnitDigits: 2, symbol: "A$"),
            Currency(code: "CAD", minorUnitDigits: 2, symbol: "C$"),
            Currency(code: "NZD", minorUnitDigits: 2, symbol: "NZ$"),
            Currency(code: "CHF", minorUnitDigits: 2, symbol: nil),
            Currency(code: "INR", minorUnitDigits: 2, symbol: "₹"),
            Currency(code: "JPY", minorUnitDigits: 0, symbol: "¥"),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.code, $0) })
    }()

    public static let usd = supported["USD"]!
    public static let eur = supported["EUR"]!
    public static let jpy = supported["JPY"]!

    private init(code: String, minorUnitDigits: Int, symbol: String?) {
        self.code = code
        self.minorUnitDigits = minorUnitDigits
        self.symbol = symbol
    }

    /// The supported currency with this ISO code (case-insensitive), or nil.
    public init?(code: String) {
        guard let known = Currency.supported[code.uppercased()] else { return nil }
        self = known
    }

    public init(from decoder: any Decoder) throws {
        let code = try decoder.singleValueContainer().decode(String.self)
        guard let currency = Currency(code: code) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "unsupported currency \(code); supported: \(Currency.supportedCodes)"))
        }
        self = currency
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }

    public static var supportedCodes: String { supported.keys.sorted().joined(separator: ", ") }

    /// 10^minorUnitDigits: minor units in one major unit.
    public var minorUnitsPerMajor: Int64 {
        var result: Int64 = 1
        for _ in 0..<minorUnitDigits { result *= 10 }
        return result
    }
}

/// An amount of money in integer minor units of a currency. Never a floating-point number.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    public var minorUnits: Int64
    public var currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// The largest amount one milestone may carry: 10^12 minor units (ten billion dollars).
    public static let maximumMinorUnits: Int64 = 1_000_000_000_000

    /// `$1,250.50`, `¥300`, `1,000.00 CHF`.
    public var description: String {
        let negative = minorUnits < 0
        let magnitude = minorUnits.magnitude
        let per = UInt64(currency.minorUnitsPerMajor)
        let major = magnitude / per
        let minor = magnitude % per
        var text = Money.groupThousands(String(major))
        if currency.minorUnitDigits > 0 {
            let minorText = String(minor)
            text += "." + String(repeating: "0", count: currency.minorUnitDigits - minorText.count) + minorText
        }
        let sign = negative ? "-" : ""
        if let symbol = currency.symbol { return sign + symbol + text }
        return sign + text + " " + currency.code
    }

    /// The amount as a person would type it back, without symbol or grouping: `1250.50`.
    public var plainText: String {
        let per = currency.minorUnitsPerMajor
        guard currency.minorUnitDigits > 0 else { return String(minorUnits) }
        let minor = String(minorUnits.magnitude % UInt64(per))
        return "\(minorUnits / per).\(String(repeating: "0", count: currency.minorUnitDigits - minor.count))\(minor)"
    }

    static func groupThousands(_ digits: String) -> String {
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return out
    }
}
