import NIOCore
import NIOWebSocket

/// The client side of the WebSocket opening handshake, written out by hand: send the upgrade request with
/// the bearer token, wait for `101`, then swap itself for the frame decoder, the encoder and `client`.
/// (A benchmark client: it does not check `Sec-WebSocket-Accept`.)
final class WebSocketHandshake: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let request: String
    private let client: BenchClient
    private var received: ByteBuffer?

    init(host: String, port: Int, path: String, token: String?, client: BenchClient) {
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        self.request = request + "\r\n"
        self.client = client
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil { received = bytes } else { received!.writeBuffer(&bytes) }
        guard let buffer = received, let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
        let headLength = buffer.readableBytesView.distance(from: buffer.readableBytesView.startIndex, to: end.upperBound)
        let head = buffer.getString(at: buffer.readerIndex, length: headLength) ?? ""
        guard head.hasPrefix("HTTP/1.1 101") else {
            client.failHandshake("handshake refused: \(head.prefix { $0 != "\r" })")
            context.close(promise: nil)
            return
        }
        var rest = buffer
        rest.moveReaderIndex(forwardBy: headLength)
        received = nil
        do {
            try context.pipeline.syncOperations.addHandlers(
                [ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)), WebSocketFrameEncoder(), client],
                position: .after(self))
        } catch {
            client.failHandshake("pipeline: \(error)")
            context.close(promise: nil)
            return
        }
        if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.failHandshake("closed during the handshake")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        client.failHandshake("handshake: \(error)")
        context.close(promise: nil)
    }
}
