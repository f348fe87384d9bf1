import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy in front of PostgreSQL's Unix socket that, when armed, lets a COMMIT through to the server and
/// then cuts the client's connection before the answer comes back: the transaction committed, and the client
/// cannot know it (the "outcome unknown" a lost connection during COMMIT leaves).
final class CommitCutter: Sendable {
    let armed = Atomic<Bool>(false)
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let server = Mutex<(any Channel)?>(nil)

    /// Starts listening on a free loopback port, forwarding to `socket` (the server's `.s.PGSQL.<port>` file).
    func start(forwardingTo socket: String) async throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from the client until the server's side is connected and both relays are in place.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { client in
                let connected: EventLoopFuture<any Channel> = ClientBootstrap(group: client.eventLoop).connect(unixDomainSocketPath: socket)
                return connected.flatMap { upstream in
                    let toServer = Relay(partner: upstream, cutter: self, watchesCommit: true)
                    let toClient = Relay(partner: client, cutter: self, watchesCommit: false)
                    return client.pipeline.addHandler(toServer).flatMap {
                        upstream.pipeline.addHandler(toClient)
                    }.flatMap { client.setOption(.autoRead, value: true) }
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        server.withLock { $0 = channel }
        return channel.localAddress!.port!
    }

    func stop() async {
        let channel = server.withLock { $0 }
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    /// Copies bytes to its partner; on the client's side, watches for COMMIT while armed.
    private final class Relay: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let partner: any Channel
        let cutter: CommitCutter
        let watchesCommit: Bool

        init(partner: any Channel, cutter: CommitCutter, watchesCommit: Bool) {
            self.partner = partner
            self.cutter = cutter
            self.watchesCommit = watchesCommit
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            let isCommit = watchesCommit && String(buffer: buffer).uppercased().contains("COMMIT")
            let sent = partner.writeAndFlush(buffer)
            guard isCommit, cutter.armed.compareExchange(expected: true, desired: false, ordering: .relaxed).exchanged else { return }
            // The COMMIT is on its way to the server: the client hears nothing more.
            let client = context.channel
            sent.whenComplete { _ in client.close(promise: nil) }
            // The server gets time to commit before its side closes.
            let upstream = partner
            upstream.eventLoop.scheduleTask(in: .milliseconds(500)) { upstream.close(promise: nil) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
