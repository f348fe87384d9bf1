/// The decisions of an ``Outbox``, as a value: what to do with a pushed frame, when to schedule a drain,
/// what a drain writes and how the connection ends. No I/O and no locking; the outbox holds it in a mutex
/// and carries out the actions it returns. Generic over the frame so the tests can use plain values.
struct OutboxState<Frame: OutboxFrame> {
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

    /// What a push did.
    struct Pushed: Equatable {
        /// The frame is queued (false: the outbox had ended, or this push overflowed it).
        var accepted: Bool
        /// The caller must schedule a drain on the event loop (none was scheduled).
        var scheduleDrain: Bool
    }

    /// What a drain does, on the event loop.
    enum Drain: Equatable {
        /// Nothing to write now: the socket is full; its writability change drains again.
        case wait
        /// Write these frames in order while the socket takes them (all of them when `ignoringWritability`),
        /// flush, give back what was not written with ``unwritten(_:)``, and once everything is out,
        /// carry out `ending` (nil: stay open).
        case write([Frame], ending: Ending?, ignoringWritability: Bool)
    }

    let limit: Int
    let byteLimit: Int
    private(set) var queue: [Frame] = []
    private(set) var queuedBytes = 0
    /// A drain is scheduled on the event loop.
    private(set) var drainScheduled = false
    private(set) var ending: Ending?
    /// The ending was handed to a drain to carry out.
    private var endingCarriedOut = false

    init(limit: Int, byteLimit: Int) {
        self.limit = limit
        self.byteLimit = byteLimit
    }

    /// Queues a frame, unless the outbox has ended; past the frame or byte limit it ends with `overflow`
    /// and drops what it holds.
    mutating func push(_ frame: Frame) -> Pushed {
        guard ending == nil else { return Pushed(accepted: false, scheduleDrain: false) }
        let bytes = frame.byteCount
        if queue.count >= limit || queuedBytes + bytes > byteLimit {
            ending = .overflow
            dropQueue()
        } else {
            queue.append(frame)
            queuedBytes += bytes
        }
        return Pushed(accepted: ending == nil, scheduleDrain: claimDrain())
    }

    /// Ends the outbox; the first reason wins. True: the caller must schedule a drain.
    mutating func finish(_ reason: Ending) -> Bool {
        if ending == nil { ending = reason }
        return claimDrain()
    }

    /// True when no drain was scheduled and the caller must schedule one now.
    mutating func claimDrain() -> Bool {
        guard !drainScheduled else { return false }
        drainScheduled = true
        return true
    }

    /// A drain starts on the event loop. A flooding client whose socket is full is dropped like an
    /// overflow: it would never read the close frame, and until then every frame it sent would be answered.
    mutating func startDrain(socketWritable writable: Bool) -> Drain {
        drainScheduled = false
        if !writable, ending == .flood, !endingCarriedOut {
            ending = .overflow
            dropQueue()
        }
        guard writable || ending == .overflow else { return .wait }
        let frames = queue
        dropQueue()
        guard let ending, !endingCarriedOut else { return .write(frames, ending: nil, ignoringWritability: false) }
        endingCarriedOut = true
        return .write(frames, ending: ending, ignoringWritability: ending == .overflow)
    }

    /// The frames a drain could not write (the socket filled up) go back to the front of the queue, before
    /// the flush (a flush that empties the socket drains again from inside it, and must find them); the
    /// ending waits for them.
    mutating func unwritten(_ rest: ArraySlice<Frame>) {
        guard !rest.isEmpty else { return }
        queue.insert(contentsOf: rest, at: 0)
        queuedBytes += rest.reduce(0) { $0 + $1.byteCount }
        if ending != nil { endingCarriedOut = false }
    }

    private mutating func dropQueue() {
        queue.removeAll()
        queuedBytes = 0
    }
}

/// A frame an ``OutboxState`` can bound by bytes.
protocol OutboxFrame: Equatable {
    /// What the frame holds in memory.
    var byteCount: Int { get }
}
