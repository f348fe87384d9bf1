import NIOCore
import NIOPosix

/// One HTTP/1.1 request on its own connection (`Connection: close`): enough for creating contracts and
/// polling `/health`, without an HTTP client library.
enum OneShotHTTP {
    struct Response {
        var status: Int
        var body: String
    }

    static func request(
        on group: any EventLoopGroup, host: String, port: Int, method: String, path: String,
        headers: [(String, String)] = [], body: String? = nil
    ) -> EventLoopFuture<Response> {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        let text = head + "\r\n" + (body ?? "")
        let loop = group.next()
        let promise = loop.makePromise(of: Response.self)
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(request: text, promise: promise)) }
            }
            .connect(host: host, port: port)
            .whenFailure { promise.fail($0) }
        return promise.futureResult
    }

    /// Writes the request, keeps every byte of the answer, parses it when the server closes.
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let request: String
        let promise: EventLoopPromise<Response>
        var answer = ByteBuffer()
        var done = false

        init(request: String, promise: EventLoopPromise<Response>) {
            self.request = request
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: request)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            answer.writeBuffer(&bytes)
        }

        func channelInactive(context: ChannelHandlerContext) {
            guard !done else { return }
            done = true
            let text = answer.getString(at: answer.readerIndex, length: answer.readableBytes) ?? ""
            let parts = text.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else {
                promise.fail(BenchError.setup("no HTTP answer"))
                return
            }
            let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
            promise.succeed(Response(status: status, body: body))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if !done { promise.fail(error) }
            done = true
            context.close(promise: nil)
        }
    }
}
