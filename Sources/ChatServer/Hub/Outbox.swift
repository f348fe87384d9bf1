import NIOCore
import NIOWebSocket
import Synchronization

/// The frames waiting to be written to one connection. Any thread may push; the frames are written on the
/// connection's event loop in push order, many to one flush. A client that stops reading fills it: its
/// socket stops being writable, frames wait here, and past the limit the connection is closed, so it cannot
/// hold the server's memory hostage.
final class Outbox: Sendable {
    /// A frame to write.
    enum Frame: Sendable {
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

    /// Why the outbox stopped; after any of these, pushes are dropped.
    enum Ending: Sendable, Equatable {
        /// The client left or broke the protocol; the frame handler has closed or is closing.
        case clientGone
        /// The client is not reading (more than `limit` frames or `byteLimit` bytes queued): drop it at once.
        case overflow
        /// The client kept flooding past its rate limit: close with 1008 after what is already queued.
        case flood
        /// The server is stopping: close with 1001 "going away" after what is already queued.
        case shutdown
        /// Close with this code after the frames already queued (the `error` frame saying why): a refused
        /// handshake (4401, 4403, 4429), or an expired token (4401).
        case closing(code: UInt16, reason: String)
    }

    private struct State {
        var queue: [Frame] = []
        var queuedBytes = 0
        /// A drain is scheduled on the event loop.
        var scheduled = false
        var ending: Ending?
        var endingHandled = false
    }

    let limit: Int
    let byteLimit: Int
    private let channel: any Channel
    private let handler: NIOLoopBound<WebSocketFrameHandler>
    private let state = Mutex(State())

    init(limit: Int, byteLimit: Int = .max, channel: any Channel, handler: NIOLoopBound<WebSocketFrameHandler>) {
        self.limit = limit
        self.byteLimit = byteLimit
        self.channel = channel
        self.handler = handler
    }

    /// Queues a frame; false when it is dropped: the outbox has ended, or the client is too far behind (the
    /// connection is then closed).
    @discardableResult
    func push(_ frame: Frame) -> Bool {
        let (accepted, schedule) = enqueue(frame)
        if schedule { scheduleDrain() }
        return accepted
    }

    /// Frames queued for many connections, whose writing is scheduled together: one event-loop task per
    /// loop for everything gathered (a committed batch of lines to thousands of connections, or one line to
    /// a room of 100 watchers, is two tasks on two loops, not one per connection).
    struct Drains {
        private var byLoop: [ObjectIdentifier: (any EventLoop, [Outbox])] = [:]

        init() {}

        mutating func push(_ frame: Frame, to outbox: Outbox) {
            guard outbox.enqueue(frame).scheduleDrain else { return }
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

    /// Adds a frame to the queue; `scheduleDrain` says the caller must arrange a drain on the event loop.
    private func enqueue(_ frame: Frame) -> (accepted: Bool, scheduleDrain: Bool) {
        state.withLock { state -> (Bool, Bool) in
            guard state.ending == nil else { return (false, false) }
            let bytes = frame.byteCount
            if state.queue.count >= limit || state.queuedBytes + bytes > byteLimit {
                state.ending = .overflow
                state.queue.removeAll()
                state.queuedBytes = 0
            } else {
                state.queue.append(frame)
                state.queuedBytes += bytes
            }
            guard !state.scheduled else { return (state.ending == nil, false) }
            state.scheduled = true
            return (state.ending == nil, true)
        }
    }

    func push(_ message: ServerMessage) {
        push(.text(Wire.text(message)))
    }

    /// Stops the outbox; the first reason given wins. Frames already queued are still written (except after
    /// an overflow), then the connection is closed as the reason says.
    func finish(_ reason: Ending) {
        let schedule = state.withLock { state -> Bool in
            if state.ending == nil { state.ending = reason }
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule { scheduleDrain() }
    }

    /// A drain unless one is scheduled already.
    private func scheduleDrainIfIdle() {
        let schedule = state.withLock { state -> Bool in
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule { scheduleDrain() }
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
        let (frames, ending) = state.withLock { state -> ([Frame], Ending?) in
            state.scheduled = false
            if !writable, state.ending == .flood, !state.endingHandled {
                state.ending = .overflow
                state.queue.removeAll()
                state.queuedBytes = 0
            }
            guard writable || state.ending == .overflow else { return ([], nil) }
            let frames = state.queue
            state.queue = []
            state.queuedBytes = 0
            guard let ending = state.ending, !state.endingHandled else { return (frames, nil) }
            state.endingHandled = true
            return (frames, ending)
        }
        var written = 0
        // Only while the socket takes them: past NIO's high-water mark the rest stays here, counted against
        // the byte bound (a client that stops reading is dropped, not buffered without limit).
        while written < frames.count, ending == .overflow || written == 0 || handler.isWritable {
            switch frames[written] {
            case .text(let text): handler.writeText(text)
            case .encodedText(let data): handler.write(WebSocketFrame(fin: true, opcode: .text, data: data))
            case .binary(let data): handler.write(WebSocketFrame(fin: true, opcode: .binary, data: data))
            }
            written += 1
        }
        let rest = frames[written...]
        if !rest.isEmpty {
            // Back in the queue before the flush: a flush that empties the socket's buffer reports the
            // writability change (and drains) from inside it, and must find them.
            state.withLock { state in
                state.queue.insert(contentsOf: rest, at: 0)
                state.queuedBytes += rest.reduce(0) { $0 + $1.byteCount }
                // The ending waits for the rest.
                if ending != nil { state.endingHandled = false }
            }
        }
        if written > 0 { handler.flush() }
        if !rest.isEmpty {
            // Still writable after the flush (the kernel took it all): drain the rest now rather than wait
            // for a writability change that already happened.
            if handler.isWritable { scheduleDrainIfIdle() }
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
