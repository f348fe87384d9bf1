import Crypto
import Foundation
import MilestoneCore

/// The transcript's hash chain: each message's hash covers the previous hash and the message's own
/// canonical encoding, so changing, removing or reordering any stored message is detectable.
public enum TranscriptChain {
    /// The `prev_hash` of a thread's first message.
    public static let genesis = String(repeating: "0", count: 64)

    /// A length-prefixed encoding of every stored field: unambiguous and independent of JSON formatting. A
    /// message with files has one more field, their ids joined by `,` (one without files is encoded exactly
    /// as before files existed, so older chains still verify).
    static func canonical(
        thread: ContractID, seq: Int64, author: UserID?, authorRole: Role?, kind: MessageKind, visibleTo: UserID?,
        body: String, clientMessageID: String?, event: String?, milestone: MilestoneNumber?, createdAt: Int64, files: [FileID] = []
    ) -> [UInt8] {
        // Built in one buffer of the right size: appending small arrays to `Data` showed up in profiles.
        var out: [UInt8] = []
        out.reserveCapacity(160 + body.utf8.count + thread.rawValue.utf8.count)
        func field(_ value: String?) {
            guard let value else {
                out.append(UInt8(ascii: "-"))
                out.append(UInt8(ascii: ";"))
                return
            }
            out.append(contentsOf: String(value.utf8.count).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: ";"))
        }
        field(thread.rawValue)
        field(String(seq))
        field(author?.rawValue)
        field(authorRole?.rawValue)
        field(kind.rawValue)
        field(visibleTo?.rawValue)
        field(body)
        field(clientMessageID)
        field(event)
        field(milestone.map { String($0.rawValue) })
        field(String(createdAt))
        if !files.isEmpty { field(files.map(\.rawValue).joined(separator: ",")) }
        return out
    }

    public static func hash(prev: String, canonical: [UInt8]) -> String {
        var hasher = SHA256()
        var prev = prev
        prev.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        hasher.update(data: canonical)
        return hex(hasher.finalize())
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Lower-case hex, without `String(format:)` (which showed up in profiles).
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hash a stored message should carry, recomputed from its fields.
    public static func expectedHash(of message: StoredMessage) -> String {
        hash(prev: message.prevHash, canonical: canonical(
            thread: message.thread, seq: message.seq, author: message.author, authorRole: message.authorRole,
            kind: message.kind, visibleTo: message.visibleTo, body: message.body,
            clientMessageID: message.clientMessageID, event: message.event, milestone: message.milestone,
            createdAt: message.createdAt.milliseconds, files: message.files))
    }
}
