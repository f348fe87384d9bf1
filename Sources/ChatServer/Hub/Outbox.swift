import Foundation
import Synchronization

/// The frames waiting to be written to one connection. A client that stops reading fills it; past the
/// limit the connection is marked overflowing and closed, so it cannot hold the server's memory hostage.
final class Outbox: Sendable {
    let frames: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let queued = Mutex(0)
    let limit: Int

    /// Called once when the queue overflows: the writer is stuck on a full socket, so the connection must
    /// be cut from outside.
    private let onOverflow: @Sendable () -> Void

    init(limit: Int, onOverflow: @escaping @Sendable () -> Void = {}) {
        (frames, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        self.limit = limit
        self.onOverflow = onOverflow
    }

    /// Queues a frame; false when the client is too far behind (the frame is dropped and the
    /// connection must close).
    @discardableResult
    func push(_ frame: String) -> Bool {
        let accepted = queued.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        if accepted {
            continuation.yield(frame)
        } else if endedBecause == nil {
            finish(.overflow)
            onOverflow()
        }
        return accepted
    }

    func push(_ message: ServerMessage) {
        push(Wire.text(message))
    }

    /// Called by the writer after each frame went out.
    func didWrite() {
        queued.withLock { $0 -= 1 }
    }

    /// Why the outbox stopped: the writer closes the socket accordingly.
    enum Ending: Sendable {
        /// The client left or broke the protocol; the WebSocket layer closes with its own code.
        case clientGone
        /// The client is not reading: close with 1008.
        case overflow
        /// The client kept flooding past its rate limit: close with 1008 after what is already queued.
        case flood
        /// The server is stopping: close with 1001 "going away".
        case shutdown
    }

    private let ending = Mutex<Ending?>(nil)

    var endedBecause: Ending? { ending.withLock { $0 } }

    /// Stops the outbox; the first reason given wins.
    func finish(_ reason: Ending) {
        ending.withLock { if $0 == nil { $0 = reason } }
        continuation.finish()
    }
}
