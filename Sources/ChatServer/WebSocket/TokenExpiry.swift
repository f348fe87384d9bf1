import Foundation
import NIOCore
import Synchronization

/// When a WebSocket's token expires. The connection's handler moves it forward when the client presents a
/// fresh token (`auth`); a timer on the connection's event loop closes the socket (4401 `token_expired`)
/// once it has passed, so an idle connection does not outlive its token either.
final class TokenExpiry: Sendable {
    private struct State {
        var expiresAt: Date
        var timer: Scheduled<Void>?
        var stopped = false
    }

    private let state: Mutex<State>

    init(_ expiresAt: Date) {
        state = Mutex(State(expiresAt: expiresAt))
    }

    var expiresAt: Date { state.withLock { $0.expiresAt } }

    func set(_ expiresAt: Date) {
        state.withLock { $0.expiresAt = expiresAt }
    }

    /// Checks at the expiry (re-reading it then, as a refresh may have moved it; long waits are taken in
    /// steps of at most an hour), and calls `expired` once it has passed.
    func watch(on loop: any EventLoop, clock: @escaping @Sendable () -> Date, expired: @escaping @Sendable () -> Void) {
        let wait = min(max(expiresAt.timeIntervalSince(clock()), 0), 3_600)
        let timer = loop.scheduleTask(in: .milliseconds(Int64(wait * 1_000) + 5)) { [self] in
            if clock() >= expiresAt {
                expired()
            } else {
                watch(on: loop, clock: clock, expired: expired)
            }
        }
        let cancel = state.withLock { state -> Bool in
            guard !state.stopped else { return true }
            state.timer = timer
            return false
        }
        if cancel { timer.cancel() }
    }

    /// The connection closed: no more checks.
    func stop() {
        let timer = state.withLock { state -> Scheduled<Void>? in
            state.stopped = true
            defer { state.timer = nil }
            return state.timer
        }
        timer?.cancel()
    }
}
