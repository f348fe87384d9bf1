import NIOCore
import NIOWebSocket

/// A whole message from the client, its fragments joined and (for text) its UTF-8 checked.
enum InboundMessage: Sendable {
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
/// front of it: joins fragments, checks UTF-8, masking, reserved bits and opcodes, answers pings, pings an
/// idle client and drops one that stops answering, and runs the closing handshake.
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
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var heardFromClient = true
    private var pinger: RepeatedTask?
    private var closeTimer: Scheduled<Void>?
    /// Our close frame went out: everything but the client's close is ignored from now on.
    private(set) var closeSent = false

    init(limits: Limits) {
        self.limits = limits
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
        if error is NIOWebSocketError { closeSent = true } else { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        heardFromClient = true
        if closeSent {
            // Waiting for the client's answer to our close frame.
            if frame.opcode == .connectionClose { context.close(promise: nil) }
            return
        }
        // RFC 6455 5.1: a server must close the connection on an unmasked frame from a client.
        guard frame.maskKey != nil else { return fail(.protocolError, "client frames must be masked") }
        guard frame.reservedBits.isEmpty else { return fail(.protocolError, "reserved bits set without an extension") }
        switch frame.opcode {
        case .ping:
            write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
            context.flush()
        case .pong:
            break
        case .connectionClose:
            answerClose(frame.unmaskedData)
        case .text, .binary:
            guard fragments == nil else { return fail(.protocolError, "a new message began inside a fragmented one") }
            if frame.fin {
                deliver(frame.unmaskedData, isText: frame.opcode == .text)
            } else {
                fragments = frame.unmaskedData
                fragmentsAreText = frame.opcode == .text
            }
        case .continuation:
            guard var joined = fragments else { return fail(.protocolError, "a continuation frame without a message to continue") }
            guard joined.readableBytes + frame.length <= limits.maxMessageBytes else {
                return fail(.messageTooLarge, "the message is longer than \(limits.maxMessageBytes) bytes")
            }
            var part = frame.unmaskedData
            joined.writeBuffer(&part)
            if frame.fin {
                fragments = nil
                deliver(joined, isText: fragmentsAreText)
            } else {
                fragments = joined
            }
        default:
            fail(.protocolError, "reserved opcode")
        }
    }

    private func deliver(_ data: ByteBuffer, isText: Bool) {
        guard isText else {
            endpoint?.received(.binary(data))
            return
        }
        guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
            return fail(.dataInconsistentWithMessage, "the text is not valid UTF-8")
        }
        endpoint?.received(.text(text))
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
        guard let context, !closeSent else { return }
        closeSent = true
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

    // MARK: Protocol

    private func fail(_ code: WebSocketErrorCode, _ reason: String) {
        fragments = nil
        close(code, reason: reason)
    }

    /// The client closes: answer with a close frame (RFC 6455 7.4 decides its code), then drop the connection.
    private func answerClose(_ payload: ByteBuffer) {
        guard let context else { return }
        var payload = payload
        let answer: WebSocketErrorCode
        switch payload.readableBytes {
        case 0:
            answer = .normalClosure
        case 1:
            answer = .protocolError
        default:
            let code = payload.readInteger(as: UInt16.self) ?? 0
            if !Self.isValidCloseCode(code) {
                answer = .protocolError
            } else if payload.readableBytes > 0, String(validating: payload.readableBytesView, as: UTF8.self) == nil {
                answer = .dataInconsistentWithMessage
            } else {
                answer = .normalClosure
            }
        }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: answer)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry; 3000-4999 for libraries and apps).
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    private func pingOrGiveUp() {
        guard let context, !closeSent else { return }
        if !heardFromClient {
            close(.goingAway, reason: "ping timeout")
            return
        }
        heardFromClient = false
        write(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0)))
        context.flush()
    }

    private func stopTimers() {
        pinger?.cancel()
        pinger = nil
        closeTimer?.cancel()
        closeTimer = nil
    }
}
