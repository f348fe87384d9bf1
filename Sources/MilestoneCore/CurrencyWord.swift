/// A word after an amount that names a currency: `/milestone add 50000 JPY Logo`. On a USD contract that
/// must be refused, not read as a $50,000.00 milestone called "JPY Logo".
enum CurrencyWord {
    /// ISO 4217's active codes.
    static let iso4217: Set<String> = [
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD",
        "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE",
        "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
        "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS",
        "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
        "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR",
        "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK",
        "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
        "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR",
        "ZMW", "ZWL",
    ]

    /// The currency `word` names, as a code (`JPY`) or, for a symbol we do not know, the symbol itself
    /// (`₩`); nil when it is an ordinary word. A code typed in capitals counts (`JPY`, `ALL`); in small letters
    /// only the codes this product supports that are no English word (`eur`, not `cad`), so `500 all pages`
    /// and `500 cad drawings` stay descriptions. A word made only of currency symbols counts (`€`, `A$`).
    static func code(_ word: Substring) -> String? {
        if let symbol = symbolCode(word) { return symbol }
        guard word.utf8.count == 3, word.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else { return nil }
        let upper = word.uppercased()
        guard iso4217.contains(upper) else { return nil }
        let typedInCapitals = word.utf8.allSatisfy { (0x41...0x5A).contains($0) }
        return typedInCapitals || (Currency.supported[upper] != nil && !lowerCaseWords.contains(upper)) ? upper : nil
    }

    /// Supported codes that are also words in small letters.
    static let lowerCaseWords: Set<String> = ["CAD"]

    /// `€` -> `EUR`, `A$` -> `AUD`; an unknown symbol as itself; nil when `word` is not only symbols.
    private static func symbolCode(_ word: Substring) -> String? {
        guard word.unicodeScalars.contains(where: { $0.properties.generalCategory == .currencySymbol }),
            word.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .currencySymbol || ("A"..."Z").contains($0) }),
            word.unicodeScalars.count <= 4 else { return nil }
        if let known = Currency.supported.values.first(where: { $0.symbol.map { word == Substring($0) } ?? false }) { return known.code }
        return String(word)
    }
}

extension CommandParser {
    /// After an amount: a code naming the contract's own currency is read as part of the amount (and
    /// taken); another currency's code is refused with a specific message.
    func currencyAfterAmount(_ words: inout Words, command: String, example: String) -> ParseError? {
        guard let word = words.peek(), let code = CurrencyWord.code(word) else { return nil }
        // A bare `$` on a dollar contract (USD, AUD, CAD, NZD) is that dollar.
        let ownDollar = word == "$" && currency.symbol?.hasSuffix("$") == true
        guard code == currency.code || ownDollar else {
            return ParseError(command: command,
                problem: "`\(code)` is not this contract's currency; amounts here are in \(currency.code) (if `\(word)` begins the description, write the amount as `\(AmountParser.example(in: currency).plainText) \(currency.code)` first)",
                example: example)
        }
        _ = words.next()
        return nil
    }
}
