import CommandScripts
import Foundation

/// The wire equivalence tests' generator: one seed from `propertyCheck` makes a whole sample, so a failure
/// reports a seed that reproduces it.
typealias WireRandom = SplitMix64

extension WireRandom {
    init(seed: Int) {
        self.init(seed: UInt64(truncatingIfNeeded: seed))
    }

    mutating func chance(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &self) < percent
    }

    mutating func pick<T>(_ choices: [T]) -> T {
        choices[Int.random(in: 0..<choices.count, using: &self)]
    }

    /// Text that exercises JSON escaping: quotes, backslashes, slashes, every control character,
    /// U+007F, line and paragraph separators, non-ASCII, emoji (also with ZWJ), combining marks.
    mutating func text(maxLength: Int = 40) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...maxLength, using: &self) {
            switch Int.random(in: 0..<10, using: &self) {
            case 0: scalars.append(Unicode.Scalar(UInt8.random(in: 0...0x1F, using: &self)))
            case 1: scalars.append(pick(["\"", "\\", "/", "\u{7F}", "\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFD}", "\u{0301}"]))
            case 2: scalars.append(contentsOf: pick(["é", "ß", "中", "Я", "😀", "🇫🇷", "\u{10FFFF}", "\u{E000}"]).unicodeScalars)
            case 3: scalars.append(contentsOf: "👩‍👩‍👧".unicodeScalars)
            default: scalars.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &self)))
            }
        }
        return String(scalars)
    }

    mutating func optionalText() -> String? {
        chance(30) ? nil : text(maxLength: 12)
    }

    /// Sequence numbers across the whole range, the edges more often than chance would give them.
    mutating func int64() -> Int64 {
        switch Int.random(in: 0..<6, using: &self) {
        case 0: pick([0, 1, -1, 9, 10, -10, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1])
        case 1: Int64.random(in: -1000...1000, using: &self)
        case 2: Int64(bitPattern: next())
        default: Int64.random(in: 0...10_000_000, using: &self)
        }
    }
}

/// A JSON value with its scalars kept as their exact text (strings quoted and escaped as written), to
/// compare nested frames written with different key orders value by value, byte for byte.
indirect enum JSONTree: Equatable {
    /// A string, number, `true`, `false` or `null`, exactly as written.
    case scalar(String)
    case array([JSONTree])
    case object([(key: String, value: JSONTree)])

    /// The keys of an object, in the order written; nil for other values.
    var keys: [String]? {
        if case .object(let members) = self { members.map(\.key) } else { nil }
    }

    subscript(key: String) -> JSONTree? {
        if case .object(let members) = self { members.first { $0.key == key }?.value } else { nil }
    }

    var elements: [JSONTree]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// Equal values with objects compared as sets of members (key order ignored, duplicate keys unequal).
    static func == (lhs: JSONTree, rhs: JSONTree) -> Bool {
        switch (lhs, rhs) {
        case (.scalar(let a), .scalar(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && Set(a.map(\.key)).count == a.count
                && a.allSatisfy { member in b.first { $0.key == member.key }.map { $0.value == member.value } ?? false }
        default: false
        }
    }

    /// Parses compact JSON (no whitespace between tokens, as both writers produce); nil if it is not.
    static func parse(_ json: String) -> JSONTree? {
        let bytes = Array(json.utf8)
        var at = 0
        func stringEnd(from start: Int) -> Int? {
            var index = start + 1
            while index < bytes.count {
                if bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
                if bytes[index] == UInt8(ascii: "\"") { return index + 1 }
                index += 1
            }
            return nil
        }
        func value() -> JSONTree? {
            guard at < bytes.count else { return nil }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var members: [(key: String, value: JSONTree)] = []
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                while true {
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), let keyEnd = stringEnd(from: at),
                          keyEnd < bytes.count, bytes[keyEnd] == UInt8(ascii: ":") else { return nil }
                    let key = String(decoding: bytes[(at + 1)..<(keyEnd - 1)], as: UTF8.self)
                    at = keyEnd + 1
                    guard let member = value() else { return nil }
                    members.append((key, member))
                    guard at < bytes.count else { return nil }
                    if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                    guard bytes[at] == UInt8(ascii: ",") else { return nil }
                    at += 1
                }
            case UInt8(ascii: "["):
                at += 1
                var elements: [JSONTree] = []
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
                while true {
                    guard let element = value() else { return nil }
                    elements.append(element)
                    guard at < bytes.count else { return nil }
                    if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(elements) }
                    guard bytes[at] == UInt8(ascii: ",") else { return nil }
                    at += 1
                }
            case UInt8(ascii: "\""):
                guard let end = stringEnd(from: at) else { return nil }
                defer { at = end }
                return .scalar(String(decoding: bytes[at..<end], as: UTF8.self))
            default:
                let start = at
                while at < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")].contains(bytes[at]) { at += 1 }
                return at > start ? .scalar(String(decoding: bytes[start..<at], as: UTF8.self)) : nil
            }
        }
        guard let tree = value(), at == bytes.count else { return nil }
        return tree
    }
}
