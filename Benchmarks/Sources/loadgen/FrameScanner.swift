#if canImport(Glibc)
import Glibc
#endif

/// What the generator needs from a server frame, found by scanning its bytes for a few keys instead of
/// decoding JSON: at tens of thousands of frames a second a full decode per frame would cost more than the
/// server's work being measured. Both the server (Foundation's encoder) and the peer (JSON.stringify) write
/// compact JSON, `"key":value` with no spaces.
struct ScannedFrame {
    enum Kind { case hello, joined, message, notice, ack, error, other }
    var kind = Kind.other
    /// `seq` of a message or notice; `last_seq` of `joined`.
    var seq: Int64 = -1
    /// The sender's stamp (`bench t=<ns>` in a message's text, or the `k<ns>-` prefix of an ack's id), 0 if none.
    var stamp: UInt64 = 0
    /// An ack's outcome was `rejected`.
    var rejected = false
}

enum FrameScanner {
    /// Marks the generator's own lines: `bench t=<send time in ns> s=<sender>`.
    static let marker: StaticString = "bench t="

    static func scan(_ bytes: UnsafeRawBufferPointer) -> ScannedFrame {
        var frame = ScannedFrame()
        guard let type = find("\"type\":\"", in: bytes) else { return frame }
        switch bytes[type] {
        case UInt8(ascii: "m"): frame.kind = .message
        case UInt8(ascii: "a"): frame.kind = .ack
        case UInt8(ascii: "n"): frame.kind = .notice
        case UInt8(ascii: "j"): frame.kind = .joined
        case UInt8(ascii: "h") where bytes[type + 1] == UInt8(ascii: "e"): frame.kind = .hello
        case UInt8(ascii: "e"): frame.kind = .error
        default: return frame
        }
        switch frame.kind {
        case .message, .notice:
            if let at = find("\"seq\":", in: bytes) { frame.seq = Int64(number(at: at, in: bytes)) }
            if let at = find(marker, in: bytes) { frame.stamp = number(at: at, in: bytes) }
        case .joined:
            if let at = find("\"last_seq\":", in: bytes) { frame.seq = Int64(number(at: at, in: bytes)) }
        case .ack:
            if let at = find("\"id\":\"k", in: bytes) { frame.stamp = number(at: at, in: bytes) }
            frame.rejected = find("\"outcome\":\"rejected", in: bytes) != nil
        default:
            break
        }
        return frame
    }

    /// The offset just after the first occurrence of `needle` (memchr for its first byte, then memcmp).
    static func find(_ needle: StaticString, in bytes: UnsafeRawBufferPointer) -> Int? {
        let length = needle.utf8CodeUnitCount
        guard let base = bytes.baseAddress, bytes.count >= length else { return nil }
        let first = Int32(needle.utf8Start.pointee)
        var offset = 0
        while offset <= bytes.count - length {
            guard let hit = memchr(base + offset, first, bytes.count - length - offset + 1) else { return nil }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(hit, needle.utf8Start, length) == 0 { return at + length }
            offset = at + 1
        }
        return nil
    }

    /// The decimal digits starting at `offset` (0 when there are none).
    static func number(at offset: Int, in bytes: UnsafeRawBufferPointer) -> UInt64 {
        var value: UInt64 = 0
        var i = offset
        while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
            value = value &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0"))
            i += 1
        }
        return value
    }
}
