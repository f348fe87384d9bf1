import NIOCore
import NIOWebSocket

/// RFC 6455's rules for one connection, as a value: what a client frame means (deliver a message, answer a
/// ping, answer or finish a close, or fail the connection), when a ping goes out or the client is given
/// up, and the closing handshake's one close frame. No channel and no timers: ``WebSocketFrameHandler``
/// feeds it frames and timer ticks and carries out the actions it returns.
struct WebSocketProtocolState {
    /// What to do with a frame the client sent.
    enum ReadAction: Equatable {
        /// Nothing (a pong; a fragment kept for later; a frame after our close frame).
        case none
        /// A whole message, fragments joined, text checked as UTF-8.
        case deliver(InboundMessage)
        /// Answer a ping with this payload.
        case pong(ByteBuffer)
        /// The client closed first: send a close frame with this code, then drop the connection.
        case answerClose(WebSocketErrorCode)
        /// The client broke the protocol: start the closing handshake with this code and reason.
        case fail(WebSocketErrorCode, reason: String)
        /// The client answered our close frame: drop the connection.
        case dropConnection
    }

    /// What the ping timer does.
    enum PingAction: Equatable {
        case none
        case ping
        /// Nothing heard since the last ping: close.
        case giveUp
    }

    let maxMessageBytes: Int
    private var fragments: ByteBuffer?
    private var fragmentsAreText = false
    private var heardFromClient = true
    /// Our close frame went out (or the client's was answered): everything but the client's close is
    /// ignored from now on.
    private(set) var closeSent = false

    init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    mutating func read(_ frame: WebSocketFrame) -> ReadAction {
        heardFromClient = true
        if closeSent {
            // Waiting for the client's answer to our close frame.
            return frame.opcode == .connectionClose ? .dropConnection : .none
        }
        // RFC 6455 5.1: a server must close the connection on an unmasked frame from a client.
        guard frame.maskKey != nil else { return fail(.protocolError, "client frames must be masked") }
        guard frame.reservedBits.isEmpty else { return fail(.protocolError, "reserved bits set without an extension") }
        switch frame.opcode {
        case .ping:
            return .pong(frame.unmaskedData)
        case .pong:
            return .none
        case .connectionClose:
            closeSent = true
            return .answerClose(Self.answer(toClose: frame.unmaskedData))
        case .text, .binary:
            guard fragments == nil else { return fail(.protocolError, "a new message began inside a fragmented one") }
            guard frame.fin else {
                fragments = frame.unmaskedData
                fragmentsAreText = frame.opcode == .text
                return .none
            }
            return deliver(frame.unmaskedData, isText: frame.opcode == .text)
        case .continuation:
            guard var joined = fragments else { return fail(.protocolError, "a continuation frame without a message to continue") }
            guard joined.readableBytes + frame.length <= maxMessageBytes else {
                return fail(.messageTooLarge, "the message is longer than \(maxMessageBytes) bytes")
            }
            var part = frame.unmaskedData
            joined.writeBuffer(&part)
            guard frame.fin else {
                fragments = joined
                return .none
            }
            fragments = nil
            return deliver(joined, isText: fragmentsAreText)
        default:
            return fail(.protocolError, "reserved opcode")
        }
    }

    /// The ping timer fired: ping a client heard from since the last tick, give up on one that was not.
    mutating func pingTimerFired() -> PingAction {
        guard !closeSent else { return .none }
        guard heardFromClient else { return .giveUp }
        heardFromClient = false
        return .ping
    }

    /// We close (a failure, a server-side ending): true when our close frame should go out now, false
    /// when one already did.
    mutating func startClosing() -> Bool {
        guard !closeSent else { return false }
        closeSent = true
        fragments = nil
        return true
    }

    /// NIO's decoder rejected a frame and its error handler already sent the close frame.
    mutating func decoderClosed() {
        closeSent = true
    }

    private mutating func deliver(_ data: ByteBuffer, isText: Bool) -> ReadAction {
        guard isText else { return .deliver(.binary(data)) }
        guard let text = String(validating: data.readableBytesView, as: UTF8.self) else {
            return fail(.dataInconsistentWithMessage, "the text is not valid UTF-8")
        }
        return .deliver(.text(text))
    }

    private mutating func fail(_ code: WebSocketErrorCode, _ reason: String) -> ReadAction {
        fragments = nil
        return .fail(code, reason: reason)
    }

    /// The code of our answer to a client's close frame (RFC 6455 7.4): its own code when valid, 1002 for
    /// a malformed or reserved one, 1007 for a reason that is not UTF-8.
    static func answer(toClose payload: ByteBuffer) -> WebSocketErrorCode {
        var payload = payload
        switch payload.readableBytes {
        case 0: return .normalClosure
        case 1: return .protocolError
        default:
            let code = payload.readInteger(as: UInt16.self) ?? 0
            if !isValidCloseCode(code) { return .protocolError }
            if payload.readableBytes > 0, String(validating: payload.readableBytesView, as: UTF8.self) == nil {
                return .dataInconsistentWithMessage
            }
            return .normalClosure
        }
    }

    /// Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry; 3000-4999 for libraries and apps).
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}

