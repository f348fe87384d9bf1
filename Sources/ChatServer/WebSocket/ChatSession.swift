import Logging
import MilestoneCore
import NIOCore
import Synchronization

/// A chat WebSocket: queues the client's messages as the frame handler delivers them and runs them one at
/// a time in a short-lived task that exists only while there is work. An idle connection has no task.
///
/// Reading from the socket pauses while `maxWaiting` messages wait, so a client that sends faster than its
/// lines are stored is slowed by TCP instead of growing a queue.
final class ChatSession: WebSocketEndpoint {
    private struct Inbox {
        /// Each message with the moment it arrived: the rate limit judges arrivals, not how fast they are stored.
        var waiting: [(InboundMessage, ContinuousClock.Instant)] = []
        var head = 0
        /// A task is running the queue (or connecting, or cleaning up).
        var running = true
        var closed = false
        /// The connection is ending (flooding, an expired token): nothing more it sends is handled.
        var stopped = false
        var readingPaused = false
        var count: Int { waiting.count - head }

        mutating func next() -> (InboundMessage, ContinuousClock.Instant)? {
            guard head < waiting.count else { return nil }
            let message = waiting[head]
            head += 1
            if head == waiting.count {
                waiting.removeAll(keepingCapacity: waiting.count <= 16)
                head = 0
            }
            return message
        }
    }

    static let maxWaiting = 64
    static let resumeBelow = 16
    /// Messages waiting past which the client is flooding: reading pauses at `maxWaiting`, but frames already
    /// read keep arriving, and a client that pipelines this many before any is handled would run past the
    /// flood strikes anyway. Closing now spares decoding the rest of what it sent (measured: decoding the
    /// frames of three such clients kept both cores busy and slowed everyone else's acks to p95 ~230 ms).
    static let floodWaiting = 256

    let outbox: Outbox
    private let channel: any Channel
    private let context: ServerContext
    private let user: UserID
    private let expiry: TokenExpiry
    private let inbox = Mutex(Inbox())
    /// Touched only by the one task running the queue.
    private let state: Mutex<ChatConnection>

    /// `context.userConnections` must already hold a slot for the user; the session gives it back.
    init(context: ServerContext, identity: Identity, outbox: Outbox, channel: any Channel, logger: Logger) {
        self.context = context
        self.outbox = outbox
        self.channel = channel
        user = identity.user
        expiry = TokenExpiry(identity.expiresAt)
        state = Mutex(ChatConnection(context: context, identity: identity, expiry: expiry, outbox: outbox, logger: logger))
    }

    func opened() {
        // `running` starts true: this first task registers with the hub, says hello, then runs the queue.
        Task { await self.run(connecting: true) }
        let outbox = outbox
        expiry.watch(on: channel.eventLoop, clock: context.clock) { ChatConnection.closeForExpiredToken(outbox) }
    }

    func received(_ message: InboundMessage) {
        let (start, pause, flooding) = inbox.withLock { inbox -> (Bool, Bool, Bool) in
            guard !inbox.closed, !inbox.stopped else { return (false, false, false) }
            guard inbox.count < Self.floodWaiting else {
                inbox.stopped = true
                inbox.waiting.removeAll()
                inbox.head = 0
                return (false, false, true)
            }
            inbox.waiting.append((message, .now))
            var pause = false
            if inbox.count >= Self.maxWaiting, !inbox.readingPaused {
                inbox.readingPaused = true
                pause = true
            }
            guard !inbox.running else { return (false, pause, false) }
            inbox.running = true
            return (true, pause, false)
        }
        if flooding {
            context.metrics.protocolError("flood")
            outbox.finish(.flood)
            channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            return
        }
        if pause { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        if start { Task { await self.run(connecting: false) } }
    }

    func closed() {
        let start = inbox.withLock { inbox -> Bool in
            inbox.closed = true
            inbox.waiting.removeAll()
            inbox.head = 0
            guard !inbox.running else { return false }
            inbox.running = true
            return true
        }
        outbox.finish(.clientGone)
        expiry.stop()
        if start { Task { await self.run(connecting: false) } }
    }

    /// Runs queued messages until none is left; the last run after the socket closed leaves the hub.
    private func run(connecting: Bool) async {
        var connection = state.withLock { $0 }
        if connecting { connection.connect() }
        while true {
            // Published before `running` can turn false below: the next run (started by the next message or
            // by the close) starts from this state. Written back only at the end, a message arriving in
            // between started a run on a stale copy: a `send` right after `joined` was refused `not_joined`
            // (seen once in the crash test), and a close could leave the hub holding a connection.
            state.withLock { $0 = connection }
            let (next, resume, closed) = inbox.withLock { inbox -> ((InboundMessage, ContinuousClock.Instant)?, Bool, Bool) in
                let message = inbox.closed ? nil : inbox.next()
                var resume = false
                if inbox.readingPaused, inbox.count < Self.resumeBelow {
                    inbox.readingPaused = false
                    resume = true
                }
                if message == nil { inbox.running = false }
                return (message, resume, inbox.closed)
            }
            if resume { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
            guard let (message, arrived) = next else {
                if closed {
                    connection.disconnect()
                    state.withLock { $0 = connection }
                    context.userConnections.release(user)
                }
                return
            }
            if await !connection.handle(message, arrived: arrived) {
                // Flooding or an expired token: the outbox closes the socket after what is queued; nothing
                // more is read or handled.
                inbox.withLock { inbox in
                    inbox.stopped = true
                    inbox.waiting.removeAll()
                    inbox.head = 0
                }
                channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            }
        }
    }
}

/// A handshake that was refused (bad credentials, a forbidden origin, too many connections): the socket
/// says why in one `error` frame, then closes with 4401, 4403 or 4429.
final class RefusedSession: WebSocketEndpoint {
    private let outbox: Outbox
    private let channel: any Channel
    private let code: String
    private let message: String
    private let closeCode: UInt16

    init(outbox: Outbox, channel: any Channel, code: String, message: String, closeCode: UInt16) {
        self.outbox = outbox
        self.channel = channel
        self.code = code
        self.message = message
        self.closeCode = closeCode
    }

    func opened() {
        // Some clients (HummingbirdWSClient 2.8) drop frames that arrive in the same read as the 101
        // response; a moment's pause keeps the reason from being lost.
        let outbox = outbox, code = code, message = message, closeCode = closeCode
        channel.eventLoop.scheduleTask(in: .milliseconds(25)) {
            outbox.push(ServerMessage.error(.init(code: code, message: message, thread: nil, id: nil)))
            outbox.finish(.closing(code: closeCode, reason: code))
        }
    }

    func received(_ message: InboundMessage) {}

    func closed() { outbox.finish(.clientGone) }
}

/// Test-only (`serve --conformance-echo`): echoes every message back, with the same frame rules as `/ws`,
/// for the Autobahn conformance suite (Tests/Reliability/autobahn_test.sh). No authentication.
final class EchoSession: WebSocketEndpoint {
    private let outbox: Outbox

    init(outbox: Outbox) {
        self.outbox = outbox
    }

    func opened() {}

    func received(_ message: InboundMessage) {
        switch message {
        case .text(let text): outbox.push(.text(text))
        case .binary(let data): outbox.push(.binary(data))
        }
    }

    func closed() { outbox.finish(.clientGone) }
}
