import NIOCore
import NIOWebSocket

/// A whole message from the client, its fragments joined and (for text) its UTF-8 checked.
enum InboundMessage: Sendable, Hashable {
    case text(String)
    case binary(ByteBuffer)
}

/// What serves a WebSocket once its frames are checked: a chat session, a refusal, or the conformance echo.
/// Called on the connection's event loop.
protocol WebSocketEndpoint: AnyObject, Sendable {
    /// The socket is open (the 101 response is out).
    func opened()
    /// One complete message, in the order the client sent them.
    func received(_ message: InboundMessage)
    /// The connection is gone; called once.
    func closed()
}

/// RFC 6455 on a NIO channel, after `NIOTypedWebSocketServerUpgrader` put the frame decoder and encoder in
/// front of it: carries out what ``WebSocketProtocolState`` decides (joined fragments, checked UTF-8,
/// masking, reserved bits and opcodes, pongs, pings to an idle client, the closing handshake) with the
/// channel and its timers.
///
/// A connection is served without a Swift task of its own: an idle socket costs only its NIO objects, and
/// ``Outbox`` writes through this handler on the event loop.
final class WebSocketFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    struct Limits {
        /// The longest message (all fragments together), in bytes; longer closes with 1009.
        var maxMessageBytes: Int
        /// A ping goes out after this long without hearing from the client; no answer by the next one closes.
        var pingInterval: TimeAmount
        /// How long to wait for the client's answer to our close frame before dropping the connection.
        var closeTimeout: TimeAmount = .seconds(1)
    }

    private let limits: Limits
    private(set) var endpoint: (any WebSocketEndpoint)?
    /// What the endpoint writes through; drained again when a full socket becomes writable.
    private var outbox: Outbox?
    private var context: ChannelHandlerContext?
    private var state: WebSocketProtocolState
    private var pinger: RepeatedTask?
    private var closeTimer: Scheduled<Void>?
    /// Our close frame went out: everything but the client's close is ignored from now on.
    var closeSent: Bool { state.closeSent }

    init(limits: Limits) {
        self.limits = limits
        state = WebSocketProtocolState(maxMessageBytes: limits.maxMessageBytes)
    }

    /// Connects the endpoint and the outbox it writes through; done on the event loop before the handler is added.
    func attach(_ endpoint: any WebSocketEndpoint, outbox: Outbox) {
        self.endpoint = endpoint
        self.outbox = outbox
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        pinger = context.eventLoop.scheduleRepeatedTask(initialDelay: limits.pingInterval, delay: limits.pingInterval) { _ in
            handler.value.pingOrGiveUp()
        }
        endpoint?.opened()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimers()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimers()
        outbox = nil
        if let endpoint {
            self.endpoint = nil
            endpoint.closed()
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { outbox?.drainOnLoop() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A malformed frame: `WebSocketProtocolErrorHandler` (in front of us) already sent the close code and
        // closes the channel. Anything else (a reset connection) ends it too.
        if error is NIOWebSocketError { state.decoderClosed() } else { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state.read(unwrapInboundIn(data)) {
        case .none: break
        case .deliver(let message): endpoint?.received(message)
        case .pong(let payload):
            write(WebSocketFrame(fin: true, opcode: .pong, data: payload))
            context.flush()
        case .answerClose(let code):
            var data = context.channel.allocator.buffer(capacity: 2)
            data.write(webSocketErrorCode: code)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))).whenComplete { _ in
                channel.close(promise: nil)
            }
        case .fail(let code, let reason): close(code, reason: reason)
        case .dropConnection: context.close(promise: nil)
        }
    }

    // MARK: Writing (event loop only)

    func write(_ frame: WebSocketFrame) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }

    func writeText(_ text: String) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    /// Starts the closing handshake: our close frame, then the client's answer or `closeTimeout`, then the
    /// TCP close. `immediately` drops the connection at once (a client that is not reading would never see
    /// the frame anyway).
    func close(_ code: WebSocketErrorCode, reason: String, immediately: Bool = false) {
        guard let context, state.startClosing() else { return }
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(String(reason.utf8.prefix(123)) ?? "")
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        if immediately {
            // Not waiting for the frame to go out: it would wait behind what the client is not reading.
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        closeTimer = context.eventLoop.scheduleTask(in: limits.closeTimeout) { channel.close(promise: nil) }
    }

    private func pingOrGiveUp() {
        guard let context else { return }
        switch state.pingTimerFired() {
        case .none: break
        case .ping:
            write(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0)))
            context.flush()
        case .giveUp: close(.goingAway, reason: "ping timeout")
        }
    }

    private func stopTimers() {
        pinger?.cancel()
        pinger = nil
        closeTimer?.cancel()
        closeTimer = nil
    }
}
