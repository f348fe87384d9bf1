@testable import ChatServer
import Foundation
import MilestoneCore
import PropertyBased
import Testing

/// The hand-written `ack`, `message`, `notice` and `error` frames against JSONEncoder: the same members
/// with byte-identical values (JSONEncoder's key order on Linux is per process, so the order is checked
/// against the declaration instead), and JSONDecoder reads the frame back to the same value.
@Suite struct WireFrameTests {
    static let messageKeys = ["type", "thread", "seq", "author", "role", "kind", "text", "private", "client_id", "visible_to",
                              "event", "milestone", "at", "hash", "files"]

    /// The fast frame against `Wire.encoder`, member by member (nested values, like `files`, compared as trees).
    func expectSameAsJSONEncoder(_ message: ServerMessage, keys: [String], seed: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fast = Wire.text(message)
        let reference = String(decoding: try Wire.encoder.encode(message), as: UTF8.self)
        let fastTree = try #require(JSONTree.parse(fast), "not compact JSON: \(fast)", sourceLocation: sourceLocation)
        let referenceTree = try #require(JSONTree.parse(reference), "not compact JSON: \(reference)", sourceLocation: sourceLocation)
        #expect(fastTree.keys == keys, "seed \(seed): \(fast)", sourceLocation: sourceLocation)
        #expect(fastTree == referenceTree, "seed \(seed):\n fast \(fast)\n JSONEncoder \(reference)", sourceLocation: sourceLocation)
        #expect(fast.utf8.count == reference.utf8.count, "seed \(seed)", sourceLocation: sourceLocation)
        #expect(try Wire.decoder.decode(ServerMessage.self, from: Data(fast.utf8)) == message, "seed \(seed): \(fast)", sourceLocation: sourceLocation)
    }

    func wireMessage(_ random: inout WireRandom) throws -> WireMessage {
        let json = #"{"thread":"t","seq":0,"kind":"chat","text":"","private":false,"at":"","hash":""}"#
        // WireMessage has no memberwise initializer (it is built from a stored message): fill in a skeleton.
        var message = try Wire.decoder.decode(WireMessage.self, from: Data(json.utf8))
        message.thread = random.text(maxLength: 10)
        message.seq = random.int64()
        message.author = random.optionalText()
        message.role = random.optionalText()
        message.kind = random.text(maxLength: 8)
        message.text = random.text(maxLength: random.chance(10) ? 400 : 40)
        message.private = random.chance(50)
        message.clientID = random.optionalText()
        message.visibleTo = random.optionalText()
        message.event = random.optionalText()
        message.milestone = random.optionalText()
        message.at = random.chance(80) ? Timestamp.text(Date(timeIntervalSince1970: Double.random(in: 0...4e9, using: &random))) : random.text()
        message.hash = random.text(maxLength: 64)
        message.files = (0..<(random.chance(20) ? Int.random(in: 1...3, using: &random) : 0)).map { _ in random.text(maxLength: 64) }
        return message
    }

    @Test func messageAndNoticeFramesMatchJSONEncoder() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            let message = try wireMessage(&random)
            try expectSameAsJSONEncoder(.message(message), keys: Self.messageKeys, seed: seed)
            try expectSameAsJSONEncoder(.notice(message), keys: Self.messageKeys, seed: seed)
        }
    }

    @Test func ackFramesMatchJSONEncoder() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            let ack = ServerMessage.Ack(thread: random.text(maxLength: 10), id: random.text(maxLength: 20), seq: random.int64(),
                                        duplicate: random.chance(50), outcome: random.text(maxLength: 10))
            try expectSameAsJSONEncoder(.ack(ack), keys: ["type", "thread", "id", "seq", "duplicate", "outcome"], seed: seed)
        }
    }

    @Test func errorFramesMatchJSONEncoder() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            let error = ServerMessage.WireError(code: random.text(maxLength: 10), message: random.text(), thread: random.optionalText(),
                                                id: random.optionalText())
            try expectSameAsJSONEncoder(.error(error), keys: ["type", "code", "message", "thread", "id"], seed: seed)
        }
    }

    @Test func everyEscapedByteIsWrittenAsJSONEncoderWritesIt() throws {
        let all = String(String.UnicodeScalarView((0...0x7F).compactMap(Unicode.Scalar.init))) + "\u{80}\u{2028}\u{2029}é😀"
        let error = ServerMessage.WireError(code: "c", message: all, thread: "/a/b/", id: "\u{0}")
        try expectSameAsJSONEncoder(.error(error), keys: ["type", "code", "message", "thread", "id"], seed: 0)
        #expect(Wire.text(.error(error)).contains(#"\u0000\u0001"#))
        #expect(Wire.text(.error(error)).contains(#"\b\t\n\u000b\f\r"#))
    }

    @Test func aTypicalAckIsExactlyTheDocumentedText() {
        let ack = ServerMessage.Ack(thread: "c-1", id: "m-1", seq: 42, duplicate: false, outcome: "chat")
        #expect(Wire.text(.ack(ack)) == #"{"type":"ack","thread":"c-1","id":"m-1","seq":42,"duplicate":false,"outcome":"chat"}"#)
    }

    @Test func aTypicalJoinedIsExactlyTheDocumentedText() throws {
        let joined = ServerMessage.joined(.init(thread: "c-1", lastSeq: 7, role: "buyer"))
        let text = Wire.text(joined)
        #expect(text == #"{"type":"joined","thread":"c-1","last_seq":7,"role":"buyer"}"#)
        #expect(try Wire.decoder.decode(ServerMessage.self, from: Data(text.utf8)) == joined)
    }
}
