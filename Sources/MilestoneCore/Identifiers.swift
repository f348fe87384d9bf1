/// A string identifier tagged with what it identifies, so a user id cannot be passed as a contract id.
///
/// Ids are opaque: two are equal when their UTF-8 bytes are, as SQLite compares them. Swift's `String ==`
/// would make `"jos\u{E9}"` and `"jose\u{301}"` (canonically equivalent, different bytes) one user in memory
/// and two in the database, and let one act as the other.
public struct Tagged<Tag>: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.rawValue.utf8.elementsEqual(rhs.rawValue.utf8) }
    public func hash(into hasher: inout Hasher) {
        let utf8 = rawValue.utf8
        hasher.combine(utf8.count)
        let hashed: Void? = utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil { for byte in utf8 { hasher.combine(byte) } }
    }
    /// Byte order, as SQLite's `BINARY` collation sorts them.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8) }
    /// The same id, byte for byte.
    public func isSame(as text: String) -> Bool { rawValue.utf8.elementsEqual(text.utf8) }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public enum UserTag {}
public enum ContractTag {}
public enum CommandTag {}
public enum ClientMessageTag {}

/// A user of the platform, as named by the platform's signed token.
public typealias UserID = Tagged<UserTag>
/// A contract; its chat thread carries the same id.
public typealias ContractID = Tagged<ContractTag>
/// The unique id of one command; applying the same id twice returns the first outcome.
public typealias CommandID = Tagged<CommandTag>
/// The id a client gave one of its lines (unique per line it sends), compared by its bytes.
public typealias ClientMessageID = Tagged<ClientMessageTag>

/// A milestone's number within its contract: `M1`, `M2` ...
public struct MilestoneNumber: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "M\(rawValue)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
