/// Reads an amount as a person types it (`250`, `250.00`, `$1,250.50`, `1250.5 USD`) into minor units.
public enum AmountParser {
    public enum Failure: Error, Hashable, Sendable {
        case empty
        case notANumber(String)
        case negative
        case zero
        case tooManyDecimals(allowed: Int)
        case wrongCurrency(typed: String, expected: Currency)
        case badGrouping(String)
        case tooLarge(maximum: Money)

        public func explanation(for currency: Currency) -> String {
            let example = AmountParser.example(in: currency)
            switch self {
            case .empty:
                return "an amount is missing, e.g. \(example.plainText)"
            case .notANumber(let text):
                return "`\(text)` is not an amount; write it like \(example.plainText) or \(example)"
            case .negative:
                return "amounts cannot be negative"
            case .zero:
                return "an amount must be more than zero"
            case .tooManyDecimals(let allowed):
                return allowed == 0
                    ? "\(currency.code) has no minor unit; write a whole number like \(example.plainText)"
                    : "\(currency.code) has \(allowed) decimal places; write it like \(example.plainText)"
            case .wrongCurrency(let typed, let expected):
                return "`\(typed)` is not this contract's currency; amounts here are in \(expected.code), e.g. \(example)"
            case .badGrouping(let text):
                return "`\(text)` has misplaced thousands separators; write 1,250.50 or 1250.50"
            case .tooLarge(let maximum):
                return "the largest amount allowed is \(maximum)"
            }
        }
    }

    /// `1250.50` in the currency: an amount to show in examples.
    public static func example(in currency: Currency) -> Money {
        Money(minorUnits: 1250 * currency.minorUnitsPerMajor + (currency.minorUnitDigits > 0 ? 50 : 0), currency: currency)
    }

    public static func parse(_ raw: Substring, currency: Currency) -> Result<Int64, Failure> {
        var text = raw.trimmingWhitespace()
        guard !text.isEmpty else { return .failure(.empty) }
        if text.hasPrefix("-") { return .failure(.negative) }

        // A currency code or symbol, before or after the number.
        if let failure = stripCurrency(&text, expected: currency) { return .failure(failure) }
        text = text.trimmingWhitespace()
        if text.hasPrefix("-") { return .failure(.negative) }
        guard !text.isEmpty else { return .failure(.empty) }

        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return .failure(.notANumber(String(raw))) }
        let wholeText = parts[0]
        let fractionText = parts.count == 2 ? parts[1] : ""
        guard !wholeText.isEmpty || !fractionText.isEmpty else { return .failure(.notANumber(String(raw))) }
        guard fractionText.allSatisfy(\.isASCIIDigit), wholeText.allSatisfy({ $0.isASCIIDigit || $0 == "," }) else {
            return .failure(.notANumber(String(raw)))
        }
        if wholeText.contains(",") {
            let groups = wholeText.split(separator: ",", omittingEmptySubsequences: false)
            guard let first = groups.first, (1...3).contains(first.count), groups.dropFirst().allSatisfy({ $0.count == 3 })
            else { return .failure(.badGrouping(String(raw))) }
        }
        if parts.count == 2 && fractionText.isEmpty { return .failure(.notANumber(String(raw))) }
        guard fractionText.count <= currency.minorUnitDigits else {
            return .failure(.tooManyDecimals(allowed: currency.minorUnitDigits))
        }
        let digits = wholeText.filter { $0 != "," }
        let maximum = Money.maximumMinorUnits
        // Reject before arithmetic so no input can overflow.
        guard digits.drop(while: { $0 == "0" }).count <= 13 else { return .failure(.tooLarge(maximum: Money(minorUnits: maximum, currency: currency))) }
        let whole = Int64(digits.isEmpty ? "0" : String(digits))!
        let paddedFraction = fractionText + String(repeating: "0", count: currency.minorUnitDigits - fractionText.count)
        let fraction = paddedFraction.isEmpty ? 0 : Int64(String(paddedFraction))!
        let total = whole * currency.minorUnitsPerMajor + fraction
        guard total <= maximum else { return .failure(.tooLarge(maximum: Money(minorUnits: maximum, currency: currency))) }
        guard total > 0 else { return .failure(.zero) }
        return .success(total)
    }

    /// Removes a leading symbol/code or trailing code; returns a failure when it names another currency.
    private static func stripCurrency(_ text: inout Substring, expected: Currency) -> Failure? {
        let upper = text.uppercased()
        if let symbol = expected.symbol, text.hasPrefix(symbol) {
            text = text.dropFirst(symbol.count)
            return nil
        }
        // Australians, Canadians and New Zealanders type a bare `$` for their own dollar.
        if expected.symbol?.hasSuffix("$") == true, text.hasPrefix("$") {
            text = text.dropFirst()
            return nil
        }
        if upper.hasPrefix(expected.code) {
            text = text.dropFirst(3)
            return nil
        }
        if upper.hasSuffix(expected.code) {
            text = text.dropLast(3)
            return nil
        }
        // Without a digit it is no amount at all (`Logo`, `Audit`), not an amount in another currency.
        guard text.contains(where: \.isASCIIDigit) else { return nil }
        let symbols = Currency.supported.values.compactMap(\.symbol).sorted { $0.count > $1.count }
        for symbol in symbols where text.hasPrefix(symbol) {
            return .wrongCurrency(typed: symbol, expected: expected)
        }
        for code in Currency.supported.keys where upper.hasPrefix(code) || upper.hasSuffix(code) {
            return .wrongCurrency(typed: code, expected: expected)
        }
        // Any other leading letters or symbols: a currency we do not know.
        if let first = text.first, !first.isASCIIDigit, first != "." {
            let typed = String(text.prefix { !$0.isASCIIDigit && $0 != "." && $0 != "," })
            if typed.allSatisfy({ $0.isLetter || $0.isCurrencySymbol }) {
                return .wrongCurrency(typed: typed, expected: expected)
            }
        }
        return nil
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let sub = self[...]
        let start = sub.firstIndex { !$0.isWhitespace } ?? sub.endIndex
        let end = sub.lastIndex { !$0.isWhitespace }.map { sub.index(after: $0) } ?? start
        return Substring(sub[start..<Swift.max(start, end)])
    }
}
