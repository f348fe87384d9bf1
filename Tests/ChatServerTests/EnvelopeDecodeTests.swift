@testable import ChatServer
import Foundation
import MilestoneCore
import PropertyBased
import Testing

/// `ClientMessage.decode` (the fast reader, falling back to JSONDecoder) against JSONDecoder alone:
/// the same value for every frame JSONDecoder reads, the same error text for every frame it refuses.
@Suite struct EnvelopeDecodeTests {
    /// Both paths agree; strings are compared byte for byte, not only as equal Swift strings.
    func expectSameAsJSONDecoder(_ frame: String, seed: Int = 0, sourceLocation: SourceLocation = #_sourceLocation) {
        let decoded = ClientMessage.decode(frame)
        let reference = ClientMessage.decodeWithJSONDecoder(frame)
        #expect(decoded == reference, "seed \(seed), frame \(frame.debugDescription)", sourceLocation: sourceLocation)
        if case .success(let message) = decoded, case .success(let expected) = reference {
            #expect(Self.utf8(message) == Self.utf8(expected), "seed \(seed), frame \(frame.debugDescription)", sourceLocation: sourceLocation)
        }
    }

    static func utf8(_ message: ClientMessage) -> [[UInt8]] {
        switch message {
        case .send(let thread, let id, let text, let files): [Array(thread.rawValue.utf8), Array(id.utf8), Array(text.utf8)] + files.map { Array($0.rawValue.utf8) }
        case .auth(let token): [Array(token.utf8)]
        default: [Array(message.thread!.rawValue.utf8)]
        }
    }

    /// A JSON string for `value`, each character written plainly or escaped in one of the ways JSON allows.
    static func jsonString(_ value: String, _ random: inout WireRandom) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            let escapeAll = random.chance(15)
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/" where random.chance(50): out += "\\/"
            case "\u{08}": out += random.chance(50) ? "\\b" : "\\u0008"
            case "\u{0C}": out += random.chance(50) ? "\\f" : "\\u000C"
            case "\n": out += random.chance(50) ? "\\n" : "\\u000a"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || escapeAll:
                for unit in String(scalar).utf16 {
                    out += "\\u" + String(format: random.chance(50) ? "%04x" : "%04X", unit)
                }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static let whitespace = ["", "", "", " ", "  ", "\n", "\t", "\r\n", " \n\t "]

    /// An object with these members in this order, with random JSON whitespace around every token.
    static func object(_ members: [(String, String)], _ random: inout WireRandom) -> String {
        func space() -> String { random.pick(whitespace) }
        let body = members.map { "\(space())\"\($0.0)\"\(space()):\(space())\($0.1)\(space())" }.joined(separator: ",")
        return space() + "{" + body + (members.isEmpty ? space() : "") + "}" + space()
    }

    /// A valid envelope of a random type, with optional fields absent, null or set, members shuffled.
    static func envelope(_ random: inout WireRandom) -> [(String, String)] {
        func optionalNumber() -> String? {
            switch Int.random(in: 0..<3, using: &random) {
            case 0: nil
            case 1: "null"
            default: String(random.chance(20) ? random.int64() : Int64.random(in: 0...500, using: &random))
            }
        }
        var members: [(String, String?)] = [("thread", jsonString(random.text(maxLength: 12), &random))]
        switch Int.random(in: 0..<6, using: &random) {
        case 0: members += [("type", "\"join\""), ("after", optionalNumber())]
        case 1: members += [("type", "\"leave\"")]
        case 2: members += [("type", "\"history\""), ("before", optionalNumber()), ("limit", optionalNumber())]
        default: members += [("type", "\"send\""), ("id", jsonString(random.text(maxLength: 36), &random)),
                             ("text", jsonString(random.text(maxLength: 200), &random))]
        }
        // Known fields the type does not read are ignored by JSONDecoder whatever their value.
        let unread = members.contains { $0.0 == "type" && $0.1 == "\"join\"" } ? "limit" : "after"
        if random.chance(15) { members.append((unread, random.pick(["true", "\"x\"", "null", "3"]))) }
        return members.compactMap { key, value in value.map { (key, $0) } }.shuffled(using: &random)
    }

    @Test func generatedEnvelopesDecodeAsJSONDecoderDecodesThemWithoutIt() async {
        await propertyCheck(count: 1500, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            let members = Self.envelope(&random)
            guard Set(members.map(\.0)).count == members.count else { return }
            let frame = Self.object(members, &random)
            expectSameAsJSONDecoder(frame, seed: seed)
            #expect(ClientMessage.fastDecode(frame) != nil, "the fast path gave up on seed \(seed): \(frame.debugDescription)")
        }
    }

    /// Damaged or unusual envelopes: whatever the fast reader does, the answer is JSONDecoder's.
    @Test func mutatedEnvelopesGetJSONDecodersAnswer() async {
        let values = ["42", "-7", "1.5", "1e2", "1E2", "-0", "01", "0", "99999999999999999999", "9223372036854775807",
                      "-9223372036854775808", "9223372036854775808", "123456789012345678", "1234567890123456789",
                      "true", "false", "null", "nul", "[]", "{}", "[1]", "{\"a\":1}", "\"\"", "\"send\"", "\"join\"",
                      "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83dx\"", "\"\\u12\"", "\"\\x\"", "\"a\u{1}b\"",
                      "\"\\u0000\"", "\"\u{7F}\"", "\"tab\there\""]
        let keys = ["type", "thread", "id", "text", "after", "before", "limit", "extra", "Type", "typ", "t\\u0079pe", ""]
        await propertyCheck(count: 2500, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            var members = Self.envelope(&random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !members.isEmpty:
                members[Int.random(in: 0..<members.count, using: &random)].1 = random.pick(values)
            case 1:
                members.insert((random.pick(keys), random.pick(values)), at: Int.random(in: 0...members.count, using: &random))
            case 2 where !members.isEmpty:
                members.remove(at: Int.random(in: 0..<members.count, using: &random))
            case 3 where !members.isEmpty:
                members.append(random.pick(members))
            default:
                break
            }
            var frame = Array(Self.object(members, &random).utf8)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: frame.removeLast(Int.random(in: 0...frame.count, using: &random))
            case 1 where !frame.isEmpty: frame.remove(at: Int.random(in: 0..<frame.count, using: &random))
            case 2: frame.insert(random.pick(Array("{}[],:\"\\ 0-ae\u{1}".utf8)), at: Int.random(in: 0...frame.count, using: &random))
            default: break
            }
            expectSameAsJSONDecoder(String(decoding: frame, as: UTF8.self), seed: seed)
        }
    }

    @Test(arguments: [
        "this is not json", "", " ", "[1, 2, 3]", "42", "\"send\"", "null", "{}", "{\"type\":\"join\"}", "{\"type\":\"join\",\"thread\":42}",
        "{\"type\":\"shout\",\"thread\":\"c-1\"}", "{\"type\":\"send\",\"thread\":\"c-1\",\"id\":null,\"text\":\"hi\"}",
        "{\"type\":\"send\",\"thread\":\"c-1\",\"id\":\"m\"}", "{\"type\":\"history\",\"thread\":\"c-1\",\"limit\":\"5\"}",
        "{\"type\":\"send\",\"thread\":\"c-1\",\"id\":\"m\",\"text\":\"hi\"} x", "{\"type\":\"send\",\"thread\":\"c-1\",\"id\":\"m\",\"text\":\"hi\",}",
        "\u{FEFF}{\"type\":\"leave\",\"thread\":\"c-1\"}", "{\"type\":\"leave\",\"thread\":\"c-1\",\"type\":\"leave\"}",
        "{\"type\":\"leave\",\"thread\":\"c-1\",\"extra\":[1,{\"a\":null}]}", "{\"type\":\"join\",\"thread\":\"c-1\",\"after\":1.0}",
        "{\"type\":\"join\",\"thread\":\"c-1\",\"after\":-0}", "{\"type\":\"join\",\"thread\":\"c-1\",\"after\":null}",
        "{\"type\":\"send\",\"thread\":\"c-1\",\"id\":\"\\ud83d\\ude00\",\"text\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"}",
    ])
    func fixedFrames(frame: String) {
        expectSameAsJSONDecoder(frame)
    }

    @Test func theDocumentedErrorsAreUnchanged() {
        func error(_ frame: String) -> String? {
            if case .failure(let error) = ClientMessage.decode(frame) { error.description } else { nil }
        }
        #expect(error("this is not json") == "the frame is not a JSON object")
        #expect(error(#"{"type":"join"}"#) == #"the field "thread" is missing"#)
        #expect(error(#"{"type":"join","thread":42}"#) == #"the field "thread" has the wrong type"#)
        #expect(error(#"{"type":"send","thread":"c-1","id":null,"text":"hi"}"#) == #"the field "id" is null"#)
        #expect(error(#"{"type":"shout","thread":"c-1"}"#) == #"unknown type "shout"; expected join, leave, send, history, typing, read or auth"#)
        #expect(error(#"{"type":"read","thread":"c-1"}"#) == #"the field "seq" is missing"#)
        #expect(error(#"{"type":"read","thread":"c-1","seq":0}"#) == #""seq" is a message's sequence number: 1 or more"#)
        #expect(error(#"{"type":"read","thread":"c-1","seq":"7"}"#) == #"the field "seq" has the wrong type"#)
    }

    @Test func theCommonShapesTakeTheFastPath() {
        #expect(ClientMessage.fastDecode(#"{"type":"send","thread":"c-1","id":"m-1","text":"Hi Bob, ready?"}"#)
            == .send(thread: ContractID("c-1"), id: "m-1", text: "Hi Bob, ready?"))
        #expect(ClientMessage.fastDecode(#" { "text" : "é😀\n" , "id":"x", "thread":"c-1" ,"type":"send" } "#)
            == .send(thread: ContractID("c-1"), id: "x", text: "é😀\n"))
        #expect(ClientMessage.fastDecode(#"{"type":"join","thread":"c-1","after":12}"#) == .join(thread: ContractID("c-1"), after: 12))
        #expect(ClientMessage.fastDecode(#"{"type":"history","thread":"c-1","before":null,"limit":50}"#)
            == .history(thread: ContractID("c-1"), before: nil, limit: 50))
        #expect(ClientMessage.fastDecode(#"{"type":"leave","thread":"c-1"}"#) == .leave(thread: ContractID("c-1")))
    }
}
