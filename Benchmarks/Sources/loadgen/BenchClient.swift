import NIOCore
import NIOWebSocket

/// One WebSocket connection of the generator. It waits for `hello`, joins its thread (if it has one), then
/// counts and times what arrives: every `message` carrying the generator's stamp is a delivery, its latency
/// is now minus the stamp; every `ack` is a stored line. All of it runs on the connection's event loop and
/// lands in that loop's `LoopStats`.
final class BenchClient: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let index: Int
    let thread: String?
    /// Connections that receive every line sent to `thread` (the sender's own included).
    let threadSize: Int
    let stats: LoopStats
    /// Succeeds on `hello`, or on `joined` when the client has a thread.
    let ready: EventLoopPromise<Void>
    /// Join with `after` (resume) instead of taking the newest page.
    var joinAfter: Int64?
    /// The newest `seq` seen in the thread (`last_seq` of `joined`, then each message).
    private(set) var lastSeq: Int64 = -1
    /// Called for each acknowledgement and each stamped message, on the loop, after counting.
    var onAck: ((BenchClient, ScannedFrame) -> Void)?
    var onMessage: ((BenchClient, ScannedFrame) -> Void)?

    private var context: ChannelHandlerContext?
    private var fragments: ByteBuffer?
    private var isReady = false
    private var closing = false
    private var lines = 0

    init(index: Int, thread: String?, threadSize: Int, stats: LoopStats, ready: EventLoopPromise<Void>) {
        self.index = index
        self.thread = thread
        self.threadSize = threadSize
        self.stats = stats
        self.ready = ready
    }

    var isOpen: Bool { context != nil && !closing }

    // MARK: sending

    /// Sends a chat line stamped with the current time: `bench t=<ns> s=<index>`.
    func sendStampedLine() {
        let stamp = nowNanos()
        send(text: "bench t=\(stamp) s=\(index)", stamp: stamp)
    }

    /// Sends `text` (a command, or a chat line) to the client's thread; the id carries the send time.
    func send(text: String, stamp: UInt64 = nowNanos()) {
        guard let thread else { return }
        lines += 1
        stats.counts.sent += 1
        if stats.inWindow(stamp) { stats.counts.sentInWindow += 1 }
        write(#"{"type":"send","thread":"\#(thread)","id":"k\#(stamp)-\#(index)-\#(lines)","text":"\#(text)"}"#)
    }

    func write(_ json: String) {
        guard let context, !closing else { return }
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: context.channel.allocator.buffer(string: json))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    func close() {
        guard let context, !closing else { return }
        closing = true
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: context.channel.allocator.buffer(bytes: [0x03, 0xE8]))
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in context.close(promise: nil) }
    }

    // MARK: receiving

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            var data = frame.unmaskedData
            if !frame.fin || fragments != nil {
                if fragments == nil { fragments = data } else { fragments!.writeBuffer(&data) }
                guard frame.fin else { return }
                data = fragments!
                fragments = nil
            }
            data.withUnsafeReadableBytes { handle(FrameScanner.scan($0), raw: $0) }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            if !closing {
                stats.counts.closedByServer += 1
                stats.noteProblem("connection \(index) closed by the server: \(frame.unmaskedData.getInteger(at: frame.unmaskedData.readerIndex, as: UInt16.self).map(String.init) ?? "no code")")
            }
            closing = true
            context.close(promise: nil)
        default:
            break
        }
    }

    private func handle(_ frame: ScannedFrame, raw: UnsafeRawBufferPointer) {
        switch frame.kind {
        case .hello:
            stats.counts.hellos += 1
            if let thread {
                let after = joinAfter.map { #","after":\#($0)"# } ?? ""
                write(#"{"type":"join","thread":"\#(thread)"\#(after)}"#)
            } else {
                becomeReady()
            }
        case .joined:
            stats.counts.joined += 1
            lastSeq = max(lastSeq, frame.seq)
            becomeReady()
        case .message, .notice:
            if lastSeq >= 0 {
                if frame.seq > lastSeq + 1 { stats.counts.seqGaps += 1 } else if frame.seq <= lastSeq { stats.counts.seqRepeats += 1 }
            }
            lastSeq = max(lastSeq, frame.seq)
            guard frame.stamp != 0 else { return }
            stats.counts.deliveries += 1
            let now = nowNanos()
            if stats.inWindow(now) { stats.counts.deliveriesInWindow += 1 }
            if stats.inWindow(frame.stamp) { _ = stats.delivery.record(now &- frame.stamp) }
            onMessage?(self, frame)
        case .ack:
            stats.counts.acks += 1
            stats.counts.expectedDeliveries += threadSize
            if frame.rejected {
                stats.counts.rejected += 1
                stats.noteProblem("rejected: " + String(String(decoding: raw, as: UTF8.self).prefix(300)))
            }
            let now = nowNanos()
            if stats.inWindow(now) { stats.counts.acksInWindow += 1 }
            if frame.stamp != 0, stats.inWindow(frame.stamp) { _ = stats.ack.record(now &- frame.stamp) }
            onAck?(self, frame)
        case .error:
            stats.counts.errors += 1
            stats.noteProblem(String(String(decoding: raw, as: UTF8.self).prefix(300)))
        case .other:
            break
        }
    }

    private func becomeReady() {
        guard !isReady else { return }
        isReady = true
        ready.succeed(())
    }

    /// The handshake failed, or the connection closed before it was ready.
    func failHandshake(_ reason: String) {
        guard !isReady else { return }
        isReady = true
        stats.noteProblem("connection \(index): \(reason)")
        ready.fail(BenchError.connection(reason))
    }

    func channelInactive(context: ChannelHandlerContext) {
        failHandshake("closed before it was ready")
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stats.noteProblem("connection \(index): \(error)")
        context.close(promise: nil)
    }
}

enum BenchError: Error, CustomStringConvertible {
    case connection(String)
    case setup(String)

    var description: String {
        switch self {
        case .connection(let reason): "connection failed: \(reason)"
        case .setup(let reason): reason
        }
    }
}
