/// A frame that writes its own JSON, for the frames sent once per chat line (`ack`, `message`,
/// `notice`, `error`), the `state` frames sent after every money command, and `joined`/`history`. The text matches what `Wire.encoder` (JSONEncoder with `.withoutEscapingSlashes`)
/// writes for the same value, except that keys come in declaration order: JSONEncoder on Linux writes
/// them in dictionary order, which changes from one process to the next.
protocol WireFrame {
    func write<Sink: WireSink>(to sink: inout Sink)
}

/// Where a frame's JSON goes: first a ``WireCounter`` measures it, then a ``WireWriter`` writes it into a
/// string of exactly that size (one allocation per frame).
protocol WireSink {
    /// Bytes written as they are: punctuation, keys, `true`/`false`/`null`.
    mutating func raw(_ text: StaticString)
    /// A JSON string: quoted, with `"`, `\` and U+0000...U+001F escaped as JSONEncoder does
    /// (`\b \f \n \r \t`, otherwise `\u00xx` in lowercase hex); `/`, U+007F and non-ASCII written as they are.
    mutating func string(_ value: String)
    mutating func integer(_ value: Int64)
    /// A finite Double as JSONEncoder writes it: its `description`, without a trailing `.0`.
    mutating func number(_ value: Double)
}

extension WireSink {
    mutating func string(_ value: String?) {
        if let value { string(value) } else { raw("null") }
    }

    mutating func integer(_ value: Int64?) {
        if let value { integer(value) } else { raw("null") }
    }

    mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }
}

extension WireFrame {
    /// The frame as JSON text.
    var jsonText: String {
        var counter = WireCounter()
        write(to: &counter)
        return String(unsafeUninitializedCapacity: counter.count) { buffer in
            var writer = WireWriter(buffer: buffer)
            write(to: &writer)
            return writer.count
        }
    }
}

/// How a byte of a JSON string is written: as itself, with a two-character escape, or as `\u00xx`.
enum WireEscape {
    /// True for the bytes JSONEncoder escapes: control characters, `"` and `\`.
    @inline(__always) static func needed(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// The letter of a two-character escape (`n` for `\n`), or nil when the byte is written as `\u00xx`.
    @inline(__always) static func short(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""): UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        case 0x08: UInt8(ascii: "b")
        case 0x0C: UInt8(ascii: "f")
        case 0x0A: UInt8(ascii: "n")
        case 0x0D: UInt8(ascii: "r")
        case 0x09: UInt8(ascii: "t")
        default: nil
        }
    }

    /// A finite Double's text as JSONEncoder writes it (`2`, `0.5`, `1e-05`, `1e+20`).
    static func numberText(_ value: Double) -> String {
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// The number of decimal digits of a magnitude.
    @inline(__always) static func digits(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }
}

/// Measures a frame's JSON in bytes.
struct WireCounter: WireSink {
    private(set) var count = 0

    mutating func raw(_ text: StaticString) {
        count += text.utf8CodeUnitCount
    }

    mutating func string(_ value: String) {
        var value = value
        count += value.withUTF8 { utf8 in
            var size = utf8.count + 2
            for byte in utf8 where WireEscape.needed(byte) {
                size += WireEscape.short(byte) == nil ? 5 : 1
            }
            return size
        }
    }

    mutating func integer(_ value: Int64) {
        count += WireEscape.digits(value.magnitude) + (value < 0 ? 1 : 0)
    }

    mutating func number(_ value: Double) {
        count += WireEscape.numberText(value).utf8.count
    }
}

/// Writes a frame's JSON into a buffer that ``WireCounter`` sized.
struct WireWriter: WireSink {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    @inline(__always) private mutating func put(_ byte: UInt8) {
        buffer[count] = byte
        count += 1
    }

    private mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, let target = buffer.baseAddress, !bytes.isEmpty else { return }
        (target + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { put($0) }
    }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            put(UInt8(ascii: "\""))
            var runStart = 0
            for index in utf8.indices where WireEscape.needed(utf8[index]) {
                put(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                let byte = utf8[index]
                put(UInt8(ascii: "\\"))
                if let letter = WireEscape.short(byte) {
                    put(letter)
                } else {
                    put(UInt8(ascii: "u")); put(UInt8(ascii: "0")); put(UInt8(ascii: "0"))
                    put(Self.hexDigit(byte >> 4)); put(Self.hexDigit(byte & 0xF))
                }
            }
            put(UnsafeBufferPointer(rebasing: utf8[runStart...]))
            put(UInt8(ascii: "\""))
        }
    }

    mutating func integer(_ value: Int64) {
        if value < 0 { put(UInt8(ascii: "-")) }
        var rest = value.magnitude
        let digits = WireEscape.digits(rest)
        var at = count + digits - 1
        repeat {
            buffer[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            at -= 1
        } while rest > 0
        count += digits
    }

    mutating func number(_ value: Double) {
        var text = WireEscape.numberText(value)
        text.withUTF8 { put($0) }
    }

    /// A lowercase hex digit, as JSONEncoder writes them.
    @inline(__always) private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}
