@testable import ChatServer
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// ``WebSocketFrameHandler`` and ``Outbox`` on an `EmbeddedChannel`: frames in, frames out, virtual time
/// for the ping and close timers.
@Suite struct FrameHandlerChannelTests {
    final class RecordingEndpoint: WebSocketEndpoint, @unchecked Sendable {
        var openedCount = 0
        var messages: [InboundMessage] = []
        var closedCount = 0
        func opened() { openedCount += 1 }
        func received(_ message: InboundMessage) { messages.append(message) }
        func closed() { closedCount += 1 }
    }

    struct Harness {
        let channel = EmbeddedChannel()
        let endpoint = RecordingEndpoint()
        let handler: WebSocketFrameHandler
        let outbox: Outbox

        init(maxMessageBytes: Int = 100, outboxLimit: Int = 10) throws {
            handler = WebSocketFrameHandler(limits: .init(maxMessageBytes: maxMessageBytes, pingInterval: .seconds(10), closeTimeout: .seconds(1)))
            outbox = Outbox(limit: outboxLimit, channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
            handler.attach(endpoint, outbox: outbox)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
            try channel.pipeline.syncOperations.addHandler(handler)
        }

        func send(_ frame: WebSocketFrame) throws { try channel.writeInbound(frame) }

        /// Every frame the server wrote so far.
        func written() throws -> [WebSocketFrame] {
            var frames: [WebSocketFrame] = []
            while let frame = try channel.readOutbound(as: WebSocketFrame.self) { frames.append(frame) }
            return frames
        }

        func advance(_ time: TimeAmount) { channel.embeddedEventLoop.advanceTime(by: time) }
    }

    static func closeCode(_ frame: WebSocketFrame) -> UInt16? {
        guard frame.opcode == .connectionClose else { return nil }
        var data = frame.data
        return data.readInteger(as: UInt16.self)
    }

    static func text(_ frame: WebSocketFrame) -> String { String(buffer: frame.data) }

    @Test func fragmentsReachTheEndpointAsOneMessage() throws {
        let h = try Harness()
        #expect(h.endpoint.openedCount == 1)
        try h.send(WebSocketProtocolStateTests.frame(.text, "frag", fin: false))
        try h.send(WebSocketProtocolStateTests.frame(.continuation, "ment"))
        #expect(h.endpoint.messages == [.text("fragment")])
        #expect(try h.written().isEmpty)
    }

    @Test func aPingIsAnsweredWithAPongCarryingItsPayload() throws {
        let h = try Harness()
        try h.send(WebSocketProtocolStateTests.frame(.ping, "abc"))
        let out = try h.written()
        #expect(out.map(\.opcode) == [.pong])
        #expect(out.first.map(Self.text) == "abc")
    }

    @Test func theClientsCloseIsAnsweredThenTheConnectionIsDropped() throws {
        let h = try Harness()
        try h.send(WebSocketProtocolStateTests.close(code: 1000))
        let out = try h.written()
        #expect(out.compactMap(Self.closeCode) == [1000])
        #expect(!h.channel.isActive)
        #expect(h.endpoint.closedCount == 1)
    }

    @Test func ourCloseWaitsForTheClientsAnswerOrTheTimeout() throws {
        let h = try Harness()
        try h.send(WebSocketProtocolStateTests.frame(.text, "x", masked: false))
        #expect(try h.written().compactMap(Self.closeCode) == [1002])
        #expect(h.channel.isActive, "waiting for the client's close")
        try h.send(WebSocketProtocolStateTests.frame(.text, "ignored"))
        #expect(h.endpoint.messages.isEmpty)
        h.advance(.milliseconds(999))
        #expect(h.channel.isActive)
        h.advance(.milliseconds(1))
        #expect(!h.channel.isActive, "dropped after closeTimeout")
        #expect(h.endpoint.closedCount == 1)
    }

    @Test func theClientsAnswerToOurCloseDropsTheConnectionAtOnce() throws {
        let h = try Harness()
        h.handler.close(.goingAway, reason: "server shutting down")
        #expect(try h.written().compactMap(Self.closeCode) == [1001])
        try h.send(WebSocketProtocolStateTests.close(code: 1001))
        #expect(!h.channel.isActive)
        #expect(try h.written().isEmpty, "no second close frame")
    }

    @Test func aSilentClientIsPingedThenClosedWithPingTimeout() throws {
        let h = try Harness()
        h.advance(.seconds(10))
        #expect(try h.written().map(\.opcode) == [.ping])
        try h.send(WebSocketProtocolStateTests.frame(.pong))
        h.advance(.seconds(10))
        #expect(try h.written().map(\.opcode) == [.ping], "it answered: pinged again")
        h.advance(.seconds(10))
        let out = try h.written()
        #expect(out.compactMap(Self.closeCode) == [1001])
        #expect(out.first.map { Self.text($0).contains("ping timeout") } == true)
        h.advance(.seconds(1))
        #expect(!h.channel.isActive)
    }

    @Test func theOutboxWritesInPushOrderThenCarriesOutItsEnding() throws {
        let h = try Harness()
        h.outbox.push(.text("one"))
        h.outbox.push(.encodedText(ByteBuffer(string: "two")))
        h.outbox.finish(.closing(code: 4401, reason: "token expired"))
        #expect(!h.outbox.push(.text("three")), "ended: dropped")
        h.channel.embeddedEventLoop.run()
        let out = try h.written()
        #expect(out.map(\.opcode) == [.text, .text, .connectionClose])
        #expect(out.prefix(2).map(Self.text) == ["one", "two"])
        #expect(out.last.flatMap(Self.closeCode) == 4401)
    }

    @Test func anOverflowingOutboxDropsTheClientAtOnce() throws {
        let h = try Harness(outboxLimit: 2)
        #expect(h.outbox.push(.text("1")))
        #expect(h.outbox.push(.text("2")))
        #expect(!h.outbox.push(.text("3")))
        h.channel.embeddedEventLoop.run()
        let out = try h.written()
        #expect(out.map(\.opcode) == [.connectionClose], "the queued frames are dropped, the close goes out")
        #expect(out.first.flatMap(Self.closeCode) == 1008)
        #expect(!h.channel.isActive, "closed without waiting for an answer")
    }
}
