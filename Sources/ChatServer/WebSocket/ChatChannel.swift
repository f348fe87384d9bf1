import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Every accepted connection: HTTP/1.1 for the API and the page, or a WebSocket upgrade at `/ws`.
///
/// Unlike HummingbirdWebSocket's channel, an upgraded socket is served by NIO handlers
/// (``WebSocketFrameHandler`` and an endpoint), not by Swift tasks that live as long as the connection:
/// each such task kept ~5 KB of async stack, four per connection. A connection's task here ends once the
/// handshake is done. ``HandshakeDeadlineHandler`` bounds the time to the first request (slowloris).
struct ChatChannel: ServerChildChannel, HTTPChannelHandler {
    enum Upgrade: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade was attempted but not made (not a WebSocket path, a malformed handshake): 400.
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// The socket is running in its NIO handlers.
        case webSocket
    }

    struct Value: ServerChildChannelValue {
        let upgrade: EventLoopFuture<Upgrade>
        let channel: any Channel
    }

    /// What a WebSocket handshake was granted.
    enum Admission: Sendable {
        case chat(Identity)
        case refused(APIError)
        case echo
    }

    let responder: HTTPChannelHandler.Responder
    let server: ServerContext
    let http1: HTTP1Channel.Configuration
    let conformanceEcho: Bool

    init(responder: @escaping HTTPChannelHandler.Responder, server: ServerContext, idleTimeout: TimeAmount, conformanceEcho: Bool) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.server = server
        http1 = .init(idleTimeout: idleTimeout)
        self.conformanceEcho = conformanceEcho
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let admission = NIOLoopBoundBox<Admission?>(nil, eventLoop: channel.eventLoop)
            let attempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let limits = server.settings.limits
            let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
                maxFrameSize: limits.maxFrameBytes,
                shouldUpgrade: { channel, head in
                    attempted.value = true
                    let decided = channel.eventLoop.makePromise(of: Admission?.self)
                    decided.completeWithTask { await self.admit(head) }
                    return decided.futureResult.map { granted in
                        admission.value = granted
                        return granted == nil ? nil : HTTPHeaders()
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let granted = admission.value else { throw NIOWebSocketUpgradeError.unsupportedWebSocketTarget }
                        try self.startWebSocket(on: channel, granted, logger: logger)
                        return Upgrade.webSocket
                    }
                })
            let upgrade = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try pipeline.addHandlers(http1.additionalChannelHandlers())
                        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return attempted.value ? Upgrade.failedUpgrade(http) : Upgrade.http(http)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Upgrade>(upgradeConfiguration: upgrade)
            configuration.enablePipelining = false  // NIOAsyncChannel pipelines HTTP
            configuration.enableErrorHandling = false  // Hummingbird answers errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes already validates
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let pipeline = channel.pipeline.syncOperations
            let result = try pipeline.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let server = self.server
            try pipeline.addHandler(
                HandshakeDeadlineHandler(timeout: .milliseconds(Int64(limits.handshakeTimeout * 1000))) { server.metrics.protocolError("handshake_timeout") },
                position: .after(decoder))
            return Value(upgrade: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgrade.get() {
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .failedUpgrade(let http):
                try await http.executeThenClose { _, outbound in
                    try await outbound.write(contentsOf: [
                        .head(HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])), .end(nil),
                    ])
                }
            case .webSocket:
                return
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("the connection closed during the handshake")
        } catch {
            logger.debug("a connection ended during its handshake", metadata: ["error": "\(error)"])
        }
    }

    /// Decides a WebSocket handshake: nil refuses the upgrade (a bare 400: not a WebSocket path). Refused
    /// credentials still upgrade, so the socket can say why before closing.
    private func admit(_ head: HTTPRequestHead) async -> Admission? {
        // Parsed as Hummingbird parses every HTTP request's URI, so `?ticket=` reads the same here as on the API.
        let uri = URI(head.uri)
        if conformanceEcho, uri.path == "/conformance/echo" { return .echo }
        guard uri.path == "/ws" else { return nil }
        let authenticator = Authenticator(server: server)
        do {
            try authenticator.checkOrigin(head.headers.first(name: "Origin"), host: head.headers.first(name: "Host"))
            return .chat(try await authenticator.identity(
                authorization: head.headers.first(name: "Authorization"), ticket: uri.queryParameters["ticket"].map(String.init), ticketAllowed: true))
        } catch {
            return .refused(error)
        }
    }

    /// Puts the frame handler and its endpoint on an upgraded channel (on its event loop).
    private func startWebSocket(on channel: any Channel, _ admission: Admission, logger: Logger) throws {
        let limits = server.settings.limits
        let handler = WebSocketFrameHandler(limits: .init(
            maxMessageBytes: limits.maxFrameBytes, pingInterval: .milliseconds(Int64(limits.pingInterval * 1000))))
        // Room for at least two of the largest messages a client may send (the conformance echo sends them back).
        let byteLimit = max(limits.maxQueuedBytes, 2 * limits.maxFrameBytes)
        let outbox = Outbox(limit: limits.maxQueuedMessages, byteLimit: byteLimit, channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
        let endpoint: any WebSocketEndpoint
        switch admission {
        case .echo:
            endpoint = EchoSession(outbox: outbox)
        case .refused(let refusal):
            server.metrics.protocolError(refusal.code)
            endpoint = RefusedSession(outbox: outbox, channel: channel, code: refusal.code, message: refusal.message,
                closeCode: refusal.status == .forbidden ? 4403 : 4401)
        case .chat(let identity):
            let cap = limits.maxConnectionsPerUser
            if server.userConnections.acquire(identity.user, limit: cap) {
                endpoint = ChatSession(context: server, identity: identity, outbox: outbox, channel: channel, logger: logger)
            } else {
                server.metrics.protocolError("too_many_connections")
                endpoint = RefusedSession(outbox: outbox, channel: channel, code: "too_many_connections",
                    message: "you already have \(cap) connections open (limits.max_connections_per_user); close one and reconnect",
                    closeCode: tooManyConnectionsCloseCode)
            }
        }
        handler.attach(endpoint, outbox: outbox)
        try channel.pipeline.syncOperations.addHandler(handler)
        // Small reads, one per wake-up: every byte read is decoded into frames before a pause or a close can
        // take effect, so a client that pipelines thousands of envelopes costs at most one small read after
        // it is told to stop (measured: 4 reads of 64 KiB each kept both cores decoding for flooders).
        if let options = channel.syncOptions {
            try options.setOption(.maxMessagesPerRead, value: 1)
            try options.setOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2_048, maximum: 16_384))
        }
    }

    /// NIO can upgrade only a connection's first request: an upgrade asked for later on a kept-alive
    /// connection is redirected to the same URL and the connection closed, so the client retries on a new one.
    static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct RedirectThenClose: Error {}
        return { request, responseWriter, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, responseWriter, channel)
            }
            var path = request.uri.path
            if let query = request.uri.query { path += "?\(query)" }
            try await responseWriter.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path]))
            throw RedirectThenClose()
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with WebSocket upgrades served by ``ChatChannel``.
    static func chat(server: ServerContext, conformanceEcho: Bool) -> HTTPServerBuilder {
        let idleTimeout = TimeAmount.milliseconds(Int64(server.settings.limits.idleTimeout * 1000))
        return .init { responder in
            ChatChannel(responder: responder, server: server, idleTimeout: idleTimeout, conformanceEcho: conformanceEcho)
        }
    }
}
