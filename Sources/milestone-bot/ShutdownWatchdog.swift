import Dispatch
import Foundation
import Logging

/// Ends the process if a graceful shutdown has not finished in time after SIGTERM or SIGINT.
///
/// The service group stops the server in order and normally exits within milliseconds. Once, under load,
/// it hung instead (twice in one benchmark session, never reproduced on demand): a lock inside swift-async-algorithms' `merge` (used by Hummingbird's date cache through
/// `cancelOnGracefulShutdown`) was waited for by both event loops while the service group cancelled its
/// tasks, and nothing ran again. Nothing is at stake at that point (every acknowledged line is already
/// durable, and the sockets were closed with 1001 "going away"), so rather than hang until a supervisor's
/// SIGKILL, the watchdog, on its own dispatch queue and independent of the event loops, exits.
final class ShutdownWatchdog: Sendable {
    private let queue = DispatchQueue(label: "milestone-bot.shutdown-watchdog")
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []

    /// Arms on the first SIGTERM or SIGINT: `grace` later, logs and exits with status 0.
    init(grace: Duration, logger: Logger) {
        let seconds = Double(grace.components.seconds)
        queue.sync {
            sources = [SIGTERM, SIGINT].map { signalNumber in
                // As the service group does: the signal is handled by dispatch sources, not the default action.
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { [queue] in
                    queue.asyncAfter(deadline: .now() + seconds) {
                        logger.warning("graceful shutdown did not finish within \(Int(seconds)) s; exiting (every acknowledged line is already stored)")
                        exit(0)
                    }
                }
                source.resume()
                return source
            }
        }
    }
}
