import NIOCore
import NIOHTTP1

/// Slowloris defence: a connection must deliver its whole first request (head and end; for a WebSocket, the
/// upgrade request) within `limits.handshake_timeout_seconds` of being accepted, or it is closed.
///
/// Hummingbird 2 installs the HTTP idle timeout only once a complete request head has been
/// parsed, so before that a socket that sends nothing, half a head, or one header byte a second would stay
/// open for ever. This is a total deadline, not an idle timer: bytes arriving do not extend it.
///
/// After the first request, keep-alive HTTP connections are covered by `limits.idle_timeout_seconds`;
/// WebSocket upgrades are always a connection's first request (Hummingbird redirects an upgrade attempted on
/// a reused connection to a new one), so every handshake is under this deadline.
final class HandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let timeout: TimeAmount
    private let onTimeout: @Sendable () -> Void
    private var deadline: Scheduled<Void>?
    private var done = false

    init(timeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let onTimeout = self.onTimeout
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            onTimeout()
            // As if the peer had gone: the upgrade handler then ends its negotiation quietly (a plain close would
            // make Hummingbird log every timed-out socket at error level), and the channel is closed.
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        context.fireChannelRead(data)
        if case .end = part, !done {
            // The first request is complete: from here the idle timeout (HTTP) or pings (WebSocket) take over.
            // Removed now, before an upgrade takes the HTTP decoder out from in front of this handler.
            done = true
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

