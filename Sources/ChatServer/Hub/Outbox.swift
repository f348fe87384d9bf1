import NIOCore
import NIOWebSocket
import Synchronization

/// The frames waiting to be written to one connection. Any thread may push; the frames are written on the
/// connection's event loop in push order, many to one flush. A client that stops reading fills it: its
/// socket stops being writable, frames wait here, and past the limit the connection is closed, so it cannot
/// hold the server's memory hostage.
final class Outbox: Sendable {
    /// A frame to write.
    enum Frame: Sendable, OutboxFrame {
        case text(String)
        /// A text frame's UTF-8, encoded once and shared by every connection it goes to.
        case encodedText(ByteBuffer)
        case binary(ByteBuffer)

        /// What the frame holds in memory, for the queue's byte bound.
        var byteCount: Int {
            switch self {
            case .text(let text): text.utf8.count
            case .encodedText(let buffer), .binary(let buffer): buffer.readableBytes
            }
        }
    }

    typealias Ending = OutboxState<Frame>.Ending

    private let channel: any Channel
    private let handler: NIOLoopBound<WebSocketFrameHandler>
    private let state: Mutex<OutboxState<Frame>>

    init(limit: Int, byteLimit: Int = .max, channel: any Channel, handler: NIOLoopBound<WebSocketFrameHandler>) {
        self.channel = channel
        self.handler = handler
        state = Mutex(OutboxState(limit: limit, byteLimit: byteLimit))
    }

    /// Queues a frame; false when it is dropped: the outbox has ended, or the client is too far behind (the
    /// connection is then closed).
    @discardableResult
    func push(_ frame: Frame) -> Bool {
        let pushed = state.withLock { $0.push(frame) }
        if pushed.scheduleDrain { scheduleDrain() }
        return pushed.accepted
    }

    /// Frames queued for many connections, whose writing is scheduled together: one event-loop task per
    /// loop for everything gathered (a committed batch of lines to thousands of connections, or one line to
    /// a room of 100 watchers, is two tasks on two loops, not one per connection).
    struct Drains {
        private var byLoop: [ObjectIdentifier: (any EventLoop, [Outbox])] = [:]

        init() {}

        mutating func push(_ frame: Frame, to outbox: Outbox) {
            guard outbox.state.withLock({ $0.push(frame) }).scheduleDrain else { return }
            let loop = outbox.channel.eventLoop
            byLoop[ObjectIdentifier(loop), default: (loop, [])].1.append(outbox)
        }

        mutating func push(_ frame: Frame, to outboxes: [Outbox]) {
            for outbox in outboxes { push(frame, to: outbox) }
        }

        /// Schedules the writes; call once, after the pushes (outside any lock).
        func run() {
            for (loop, due) in byLoop.values {
                loop.execute { for outbox in due { outbox.drainOnLoop() } }
            }
        }
    }

    func push(_ message: ServerMessage) {
        push(.text(Wire.text(message)))
    }

    /// Stops the outbox; the first reason given wins. Frames already queued are still written (except after
    /// an overflow), then the connection is closed as the reason says.
    func finish(_ reason: Ending) {
        if state.withLock({ $0.finish(reason) }) { scheduleDrain() }
    }

    /// Deferred even on the event loop, so the frames pushed in the same turn share one flush.
    private func scheduleDrain() {
        channel.eventLoop.execute { self.drainOnLoop() }
    }

    /// Writes what is queued while the socket takes it, with one flush; then, once the queue is empty,
    /// carries out the ending. Runs on the event loop (scheduled by a push, or when the socket drains).
    /// A flooding client that does not read either is dropped at once, like an overflow: it would never
    /// read the close frame, and until then every frame it sent would still be read and answered.
    func drainOnLoop() {
        let handler = handler.value
        let writable = handler.isWritable
        guard case .write(let frames, let ending, let ignoringWritability) = state.withLock({ $0.startDrain(socketWritable: writable) }) else { return }
        var written = 0
        // Only while the socket takes them: past NIO's high-water mark the rest stays here, counted against
        // the byte bound (a client that stops reading is dropped, not buffered without limit).
        while written < frames.count, ignoringWritability || written == 0 || handler.isWritable {
            switch frames[written] {
            case .text(let text): handler.writeText(text)
            case .encodedText(let data): handler.write(WebSocketFrame(fin: true, opcode: .text, data: data))
            case .binary(let data): handler.write(WebSocketFrame(fin: true, opcode: .binary, data: data))
            }
            written += 1
        }
        let rest = frames[written...]
        if !rest.isEmpty { state.withLock { $0.unwritten(rest) } }
        if written > 0 { handler.flush() }
        if !rest.isEmpty {
            // Still writable after the flush (the kernel took it all): drain the rest now rather than wait
            // for a writability change that already happened.
            if handler.isWritable, state.withLock({ $0.claimDrain() }) { scheduleDrain() }
            return
        }
        switch ending {
        case nil, .clientGone: break
        case .overflow: handler.close(.policyViolation, reason: "too many messages queued; the client is not reading", immediately: true)
        case .flood: handler.close(.policyViolation, reason: "flooding: too many messages over the rate limit")
        case .shutdown: handler.close(.goingAway, reason: "server shutting down")
        case .closing(let code, let reason): handler.close(WebSocketErrorCode(codeNumber: Int(code)), reason: reason)
        }
    }
}
