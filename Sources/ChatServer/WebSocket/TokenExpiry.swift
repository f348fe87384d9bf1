import Foundation
import NIOCore
import Synchronization

/// When a WebSocket's token expires. The connection's handler moves it when the client presents a fresh
/// token (`auth`); a timer on the connection's event loop closes the socket (4401 `token_expired`) once it
/// has passed, so an idle connection does not outlive its token either. Moving the expiry re-arms the timer.
final class TokenExpiry: Sendable {
    private struct Watch {
        let loop: any EventLoop
        let clock: @Sendable () -> Date
        let expired: @Sendable () -> Void
    }

    private struct State {
        var expiresAt: Date
        var watch: Watch?
        var timer: Scheduled<Void>?
        var stopped = false
    }

    private let state: Mutex<State>

    init(_ expiresAt: Date) {
        state = Mutex(State(expiresAt: expiresAt))
    }

    var expiresAt: Date { state.withLock { $0.expiresAt } }

    /// A fresh token's expiry, earlier or later: the timer now fires then.
    func set(_ expiresAt: Date) {
        let watch = state.withLock { state -> Watch? in
            state.expiresAt = expiresAt
            return state.watch
        }
        if let watch { arm(watch) }
    }

    /// Calls `expired` once the expiry has passed by `clock`, checking at the expiry (long waits are taken
    /// in steps of at most an hour).
    func watch(on loop: any EventLoop, clock: @escaping @Sendable () -> Date, expired: @escaping @Sendable () -> Void) {
        arm(Watch(loop: loop, clock: clock, expired: expired))
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

    private func arm(_ watch: Watch) {
        let wait = min(max(expiresAt.timeIntervalSince(watch.clock()), 0), 3_600)
        let timer = watch.loop.scheduleTask(in: .milliseconds(Int64(wait * 1_000) + 5)) { [self] in
            if watch.clock() >= expiresAt { watch.expired() } else { arm(watch) }
        }
        let replaced = state.withLock { state -> (cancel: Scheduled<Void>?, stopped: Bool) in
            guard !state.stopped else { return (nil, true) }
            defer {
                state.timer = timer
                state.watch = watch
            }
            return (state.timer, false)
        }
        if replaced.stopped { timer.cancel() }
        replaced.cancel?.cancel()
    }
}
