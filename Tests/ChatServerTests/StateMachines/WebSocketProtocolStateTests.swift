@testable import ChatServer
import NIOCore
import NIOWebSocket
import Testing

/// ``WebSocketProtocolState`` step by step: frames in, actions out.
@Suite struct WebSocketProtocolStateTests {
    static func frame(_ opcode: WebSocketOpcode, _ text: String = "", fin: Bool = true, masked: Bool = true) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, maskKey: masked ? WebSocketMaskingKey([0, 0, 0, 0]) : nil, data: ByteBuffer(string: text))
    }

    static func close(code: UInt16?, reason: [UInt8] = []) -> WebSocketFrame {
        var data = ByteBuffer()
        if let code { data.writeInteger(code) }
        data.writeBytes(reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: WebSocketMaskingKey([0, 0, 0, 0]), data: data)
    }

    @Test func fragmentsAreJoinedIntoOneMessage() {
        var state = WebSocketProtocolState(maxMessageBytes: 100)
        let step1 = state.read(Self.frame(.text, "he", fin: false))
        #expect(step1 == .none)
        let step2 = state.read(Self.frame(.ping, "p"))
        #expect(step2 == .pong(ByteBuffer(string: "p")), "a control frame may come between fragments")
        let step3 = state.read(Self.frame(.continuation, "ll", fin: false))
        #expect(step3 == .none)
        let step4 = state.read(Self.frame(.continuation, "o"))
        #expect(step4 == .deliver(.text("hello")))
        let step5 = state.read(Self.frame(.binary, "b"))
        #expect(step5 == .deliver(.binary(ByteBuffer(string: "b"))), "the next message starts clean")
    }

    @Test func aFragmentedMessageOverTheLimitFailsWith1009() {
        var state = WebSocketProtocolState(maxMessageBytes: 5)
        _ = state.read(Self.frame(.text, "abc", fin: false))
        let step6 = state.read(Self.frame(.continuation, "def"))
        #expect(step6 == .fail(.messageTooLarge, reason: "the message is longer than 5 bytes"))
    }

    @Test func protocolErrorsFailTheConnection() {
        var state = WebSocketProtocolState(maxMessageBytes: 100)
        let step7 = state.read(Self.frame(.text, "x", masked: false))
        #expect(step7 == .fail(.protocolError, reason: "client frames must be masked"))
        state = WebSocketProtocolState(maxMessageBytes: 100)
        let step8 = state.read(Self.frame(.continuation, "x"))
        #expect(step8 == .fail(.protocolError, reason: "a continuation frame without a message to continue"))
        state = WebSocketProtocolState(maxMessageBytes: 100)
        _ = state.read(Self.frame(.text, "a", fin: false))
        let step9 = state.read(Self.frame(.text, "b"))
        #expect(step9 == .fail(.protocolError, reason: "a new message began inside a fragmented one"))
        state = WebSocketProtocolState(maxMessageBytes: 100)
        let step10 = state.read(WebSocketFrame(fin: true, opcode: .text, maskKey: WebSocketMaskingKey([0, 0, 0, 0]), data: ByteBuffer(bytes: [0xC3, 0x28])))
        #expect(step10
            == .fail(.dataInconsistentWithMessage, reason: "the text is not valid UTF-8"))
    }

    @Test func theClientsCloseIsAnsweredWithTheCodeRFC6455Decides() {
        let cases: [(WebSocketFrame, WebSocketErrorCode)] = [
            (Self.close(code: nil), .normalClosure),
            (Self.close(code: 1000), .normalClosure),
            (Self.close(code: 4000, reason: Array("bye".utf8)), .normalClosure),
            (Self.close(code: 1005), .protocolError),
            (Self.close(code: 999), .protocolError),
            (Self.close(code: 1000, reason: [0xFF]), .dataInconsistentWithMessage),
        ]
        for (frame, answer) in cases {
            var state = WebSocketProtocolState(maxMessageBytes: 100)
            let step11 = state.read(frame)
            #expect(step11 == .answerClose(answer))
            #expect(state.closeSent)
            let step12 = state.read(Self.frame(.text, "late"))
            #expect(step12 == .none, "nothing is read after the close")
        }
        var state = WebSocketProtocolState(maxMessageBytes: 100)
        var oneByte = ByteBuffer(bytes: [3])
        let step13 = state.read(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: WebSocketMaskingKey([0, 0, 0, 0]), data: oneByte))
        #expect(step13 == .answerClose(.protocolError))
        oneByte.clear()
    }

    @Test func afterOurCloseOnlyTheClientsCloseCountsAndItDropsTheConnection() {
        var state = WebSocketProtocolState(maxMessageBytes: 100)
        let step14 = state.startClosing()
        #expect(step14)
        let step15 = state.startClosing()
        #expect(!step15, "one close frame")
        let step16 = state.read(Self.frame(.text, "hi"))
        #expect(step16 == .none)
        let step17 = state.read(Self.frame(.ping))
        #expect(step17 == .none)
        let step18 = state.read(Self.close(code: 1000))
        #expect(step18 == .dropConnection)
    }

    @Test func anIdleClientIsPingedAndGivenUpAfterASilentInterval() {
        var state = WebSocketProtocolState(maxMessageBytes: 100)
        let step19 = state.pingTimerFired()
        #expect(step19 == .ping)
        let step20 = state.read(Self.frame(.pong))
        #expect(step20 == .none)
        let step21 = state.pingTimerFired()
        #expect(step21 == .ping, "it answered: ping again")
        let step22 = state.pingTimerFired()
        #expect(step22 == .giveUp, "silent since the last ping")
        _ = state.startClosing()
        let step23 = state.pingTimerFired()
        #expect(step23 == .none, "no pings once closing")
    }

    @Test func anyFrameCountsAsHearingFromTheClient() {
        var state = WebSocketProtocolState(maxMessageBytes: 100)
        let step24 = state.pingTimerFired()
        #expect(step24 == .ping)
        _ = state.read(Self.frame(.text, "still here"))
        let step25 = state.pingTimerFired()
        #expect(step25 == .ping)
    }
}
