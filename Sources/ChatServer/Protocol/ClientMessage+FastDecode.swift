import MilestoneCore

extension ClientMessage {
    /// The envelope read without JSONDecoder, or nil when the frame is not one it is sure about.
    ///
    /// Reads one JSON object whose keys are the envelope's own (any order, any JSON whitespace) and whose
    /// values are strings (escapes included), integers, `null`, `true` or `false`. Anything else — unknown
    /// or duplicate keys, escaped keys, fractions and exponents, nested values, lone surrogates, every
    /// malformed or incomplete frame — returns nil, and ``decodeWithJSONDecoder(_:)`` decides and
    /// explains. So a frame it does read is one JSONDecoder reads to the same value.
    static func fastDecode(_ text: String) -> ClientMessage? {
        var text = text
        return text.withUTF8 { bytes in
            var scanner = EnvelopeScanner(bytes: bytes)
            guard let fields = scanner.envelope() else { return nil }
            return fields.message()
        }
    }
}

/// A JSON value the fast envelope reader understands.
enum EnvelopeValue {
    case string(String)
    case integer(Int64)
    case null
    /// `true` or `false`: valid, never a field's value, ignored where the type does not read the field.
    case boolean
}

/// The envelope's fields as found, before the `type` decides which of them matter.
struct EnvelopeFields {
    var type: EnvelopeValue?
    var thread: EnvelopeValue?
    var after: EnvelopeValue?
    var id: EnvelopeValue?
    var text: EnvelopeValue?
    var before: EnvelopeValue?
    var limit: EnvelopeValue?

    /// Stores a value under its key; false for an unknown or repeated key.
    mutating func set(_ key: UnsafeBufferPointer<UInt8>, _ value: EnvelopeValue) -> Bool {
        func store(_ slot: inout EnvelopeValue?) -> Bool {
            guard slot == nil else { return false }
            slot = value
            return true
        }
        switch key.count {
        case 2 where Self.same(key, "id"): return store(&id)
        case 4 where Self.same(key, "type"): return store(&type)
        case 4 where Self.same(key, "text"): return store(&text)
        case 5 where Self.same(key, "after"): return store(&after)
        case 5 where Self.same(key, "limit"): return store(&limit)
        case 6 where Self.same(key, "thread"): return store(&thread)
        case 6 where Self.same(key, "before"): return store(&before)
        default: return false
        }
    }

    /// Byte equality without the generic `elementsEqual` (a tenth of the reader's time).
    @inline(__always) static func same(_ bytes: some Collection<UInt8>, _ word: StaticString) -> Bool {
        word.withUTF8Buffer { word in
            guard bytes.count == word.count else { return false }
            var index = word.startIndex
            for byte in bytes {
                guard byte == word[index] else { return false }
                index += 1
            }
            return true
        }
    }

    /// The message, as `ClientMessage.init(from:)` reads it; nil where that would throw.
    func message() -> ClientMessage? {
        guard case .string(let type) = type, case .string(let threadID) = thread else { return nil }
        let thread = ContractID(threadID)
        switch type {
        case "send":
            guard case .string(let id) = id, case .string(let text) = text else { return nil }
            return .send(thread: thread, id: id, text: text)
        case "join":
            guard let after = Self.optionalInteger(after) else { return nil }
            return .join(thread: thread, after: after)
        case "leave":
            return .leave(thread: thread)
        case "history":
            guard let before = Self.optionalInteger(before), let limit = Self.optionalInteger(limit) else { return nil }
            return .history(thread: thread, before: before, limit: limit.map { Int($0) })
        default:
            return nil
        }
    }

    /// `decodeIfPresent`: absent or `null` is `.some(nil)`, an integer is itself, anything else nil.
    private static func optionalInteger(_ value: EnvelopeValue?) -> Int64?? {
        switch value {
        case nil, .null?: .some(nil)
        case .integer(let number)?: .some(number)
        case .string?, .boolean?: nil
        }
    }
}

/// Reads the envelope object byte by byte; every method returns nil (or false) at the first thing it
/// is not sure about.
struct EnvelopeScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    private var at = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func envelope() -> EnvelopeFields? {
        var fields = EnvelopeFields()
        skipWhitespace()
        guard take(UInt8(ascii: "{")) else { return nil }
        skipWhitespace()
        while true {
            guard take(UInt8(ascii: "\"")), let key = plainKey() else { return nil }
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipWhitespace()
            guard let value = value(), fields.set(key, value) else { return nil }
            skipWhitespace()
            if take(UInt8(ascii: ",")) {
                skipWhitespace()
                continue
            }
            guard take(UInt8(ascii: "}")) else { return nil }
            break
        }
        skipWhitespace()
        return at == bytes.count ? fields : nil
    }

    @inline(__always) private var next: UInt8? {
        at < bytes.count ? bytes[at] : nil
    }

    @inline(__always) private mutating func take(_ byte: UInt8) -> Bool {
        guard next == byte else { return false }
        at += 1
        return true
    }

    /// JSON whitespace: space, tab, line feed, carriage return.
    private mutating func skipWhitespace() {
        while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
            at += 1
        }
    }

    /// A key's bytes up to its closing quote (consumed); nil for a key with escapes or control characters.
    private mutating func plainKey() -> UnsafeBufferPointer<UInt8>? {
        let start = at
        while let byte = next {
            if byte == UInt8(ascii: "\"") {
                defer { at += 1 }
                return UnsafeBufferPointer(rebasing: bytes[start..<at])
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            at += 1
        }
        return nil
    }

    private mutating func value() -> EnvelopeValue? {
        switch next {
        case UInt8(ascii: "\"")?:
            at += 1
            return string().map(EnvelopeValue.string)
        case UInt8(ascii: "n")?: return literal("null") ? .null : nil
        case UInt8(ascii: "t")?: return literal("true") ? .boolean : nil
        case UInt8(ascii: "f")?: return literal("false") ? .boolean : nil
        default: return integer().map(EnvelopeValue.integer)
        }
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - at >= count else { return false }
        let matches = EnvelopeFields.same(bytes[at..<(at + count)], word)
        if matches { at += count }
        return matches
    }

    /// `-?(0|[1-9][0-9]*)` within Int64, not followed by a fraction or exponent. `-0` is left to JSONDecoder.
    private mutating func integer() -> Int64? {
        let negative = take(UInt8(ascii: "-"))
        let start = at
        var magnitude: UInt64 = 0
        while let byte = next, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            // 19 digits hold any Int64; a 20th could overflow UInt64.
            guard at - start < 19 else { return nil }
            magnitude = magnitude * 10 + UInt64(byte - UInt8(ascii: "0"))
            at += 1
        }
        let digits = at - start
        guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")), !(negative && magnitude == 0) else { return nil }
        if let byte = next, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return nil }
        if negative {
            guard magnitude <= Int64.min.magnitude else { return nil }
            return Int64(truncatingIfNeeded: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// A string's contents after its opening quote, up to and including the closing quote.
    private mutating func string() -> String? {
        let start = at
        while let byte = next {
            if byte == UInt8(ascii: "\"") {
                defer { at += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            at += 1
        }
        return nil
    }

    /// The rest of a string that has escapes; `at` is on the first backslash.
    private mutating func escapedString(from start: Int) -> String? {
        var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<at]))
        utf8.reserveCapacity(bytes.count - start)
        while let byte = next {
            at += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escape = next else { return nil }
                at += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    UTF8.encode(scalar) { utf8.append($0) }
                default: return nil
                }
            case 0..<0x20:
                return nil
            default:
                utf8.append(byte)
            }
        }
        return nil
    }

    /// The scalar of `\uXXXX` (after the `u`), joining a surrogate pair; nil for a lone surrogate.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let first = hex4() else { return nil }
        switch first {
        case 0xD800...0xDBFF:
            guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let second = hex4(), (0xDC00...0xDFFF).contains(second) else { return nil }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        case 0xDC00...0xDFFF:
            return nil
        default:
            return Unicode.Scalar(first)
        }
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - at >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[at]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            at += 1
        }
        return value
    }
}
