/// What an id from outside (a token's `sub`, a contract or party id from the platform, a client's message
/// id) may hold. Ids are compared by their bytes (``Tagged``), so the rules only keep out what cannot be
/// stored or shown faithfully: control characters (SQLite's text functions cut at NUL, so the stored id would
/// no longer match its hash), invisible format characters and bidi controls (an id that reads as another
/// in a transcript), and line or paragraph separators.
public enum IdentifierRules {
    /// Why `text` is not a usable id of at most `maxBytes` UTF-8 bytes, or nil.
    public static func problem(_ text: String, what: String, maxBytes: Int) -> String? {
        let bytes = text.utf8.count
        guard bytes > 0 else { return "\(what) is empty" }
        guard bytes <= maxBytes else { return "\(what) is \(bytes) bytes of UTF-8; the limit is \(maxBytes)" }
        // ASCII, almost every id, is settled by its bytes.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            guard let byte = text.utf8.first(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
            return "\(what) contains the control character U+\(hex(UInt32(byte))); ids may not hold control characters"
        }
        if let scalar = text.unicodeScalars.first(where: isRefused) {
            return "\(what) contains U+\(hex(scalar.value)) (\(kind(of: scalar))); ids may not hold control, format or bidi characters"
        }
        return nil
    }

    /// Control (Cc), format (Cf: bidi controls, zero-width characters), line and paragraph separators.
    public static func isRefused(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// Why a line of free text from the platform (a title, a description) cannot be stored, or nil: control
    /// characters other than `allowing` (a NUL would be cut by SQLite and break the hash chain).
    public static func textProblem(_ text: String, what: String, allowing: Set<Unicode.Scalar> = []) -> String? {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) { return nil }
        guard let control = text.unicodeScalars.first(where: { $0.properties.generalCategory == .control && !allowing.contains($0) })
        else { return nil }
        return "\(what) contains the control character U+\(hex(control.value)); remove it"
    }

    private static func kind(of scalar: Unicode.Scalar) -> String {
        switch scalar.properties.generalCategory {
        case .control: "a control character"
        case .format: "an invisible format or bidi character"
        default: "a line or paragraph separator"
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
