/// How untrusted text (chat lines, titles, descriptions, notes, reasons, ids) is written into transcript
/// exports. Every rule works on Unicode scalars or UTF-8 bytes, never on `Character`s: a grapheme cluster
/// can swallow the `<` after a Prepend scalar (`"\u{0600}<"` is one `Character`), so a `switch` over
/// characters lets it through raw.
enum ExportText {
    /// Escapes for HTML text and double- or single-quoted attribute values, byte by byte: every byte of
    /// `& < > " '` becomes an entity, every other byte is copied (the five are ASCII, so a byte equal to one
    /// of them is that character, whatever surrounds it). Bidi controls are shown, not obeyed.
    static func html(_ text: String) -> String {
        let visible = showingBidiControls(text)
        var out: [UInt8] = []
        out.reserveCapacity(visible.utf8.count + 16)
        for byte in visible.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// One field of the plain-text export: bidi controls shown, and every line break (CR, LF, CRLF, NEL,
    /// U+2028, U+2029, VT, FF) followed by an indent, so no line of a message can pass for an entry of its own
    /// (entries start at the left margin with `#`).
    static func plain(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in showingBidiControls(text).unicodeScalars {
            if scalar == "\n", previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = scalar == "\r"
            if isLineBreak(scalar) {
                out.append(contentsOf: "\n    | ".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// JSON already written by an encoder, with each bidi control written as a `\uXXXX` escape: the data
    /// stays exactly what was said, and anyone reading the file sees the control instead of obeying it.
    /// Safe on the whole document: these scalars can appear only inside JSON strings.
    static func jsonShowingBidiControls(_ json: String) -> String {
        replacingBidiControls(in: json) { "\\u\(hex($0))" }
    }

    /// Each bidi control replaced by a visible `[U+202E]`.
    static func showingBidiControls(_ text: String) -> String {
        replacingBidiControls(in: text, with: marker)
    }

    private static func replacingBidiControls(in text: String, with replacement: (Unicode.Scalar) -> String) -> String {
        guard text.unicodeScalars.contains(where: isBidiControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isBidiControl(scalar) { out.append(contentsOf: replacement(scalar).unicodeScalars) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// The explicit directional formatting characters of UAX #9 (embeddings, overrides, isolates, marks).
    static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    private static func marker(_ scalar: Unicode.Scalar) -> String { "[U+\(hex(scalar))]" }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
