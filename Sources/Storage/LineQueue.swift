import Dispatch
import Synchronization

/// Lines waiting for the writer. The first line to arrive when the writer is idle is written at once; lines
/// that arrive while a transaction is being written wait for the next one, so under load many lines share
/// one commit and one fsync (group commit).
///
/// The batches chain on the writer's own queue: when one commits, its lines are answered and the next batch
/// is started from there, so the writer never waits for a busy event loop to hand it more work. Under load
/// a short batch is held back up to `gatheringDelay` for more lines: a commit costs about as much for 4 lines
/// as for 40 (the fsync, the WAL pages of the table and index tails), and at 6,000 lines/s the batches
/// averaged 4 lines without it.
final class LineQueue: Sendable {
    /// A class: it is copied into the queue, the batch and the writer's closure, and a copy of a struct
    /// of ten references was ten retains (5 % of the writer in profiles).
    final class Item: Sendable {
        let request: LineRequest
        let text: String
        /// The handle that submitted it (it carries the commit callbacks to announce with).
        let database: AppDatabase

        init(request: LineRequest, text: String, database: AppDatabase) {
            self.request = request
            self.text = text
            self.database = database
        }
    }

    /// The most lines one transaction takes, so a huge queue still commits (and acknowledges) in steps.
    static let maximumBatch = 512
    /// A batch this size goes at once; a smaller one (under load) waits up to `gatheringDelay`.
    static let fullEnough = 48
    /// The most a line waits for others to share its commit; only while the previous batch was just written.
    static let gatheringDelay = DispatchTimeInterval.microseconds(800)

    private typealias Waiter = (Item, CheckedContinuation<LineReceipt, any Error>)
    private let state = Mutex(LineQueueState<Waiter>(maximumBatch: LineQueue.maximumBatch, fullEnough: LineQueue.fullEnough))
    private let timers = DispatchQueue(label: "milestone-bot.line-queue")

    func submit(_ item: Item) async throws -> LineReceipt {
        try await withCheckedThrowingContinuation { continuation in
            if state.withLock({ $0.submit((item, continuation)) }) { writeNextBatch() }
        }
    }

    /// Takes up to `maximumBatch` waiting lines and writes them in one transaction; its completion (on the
    /// writer's queue) answers them and starts or schedules the next batch, until none is waiting.
    private func writeNextBatch() {
        let batch = state.withLock { $0.takeBatch() }
        guard let first = batch.first else { return }
        first.0.database.handleBatch(batch.map(\.0)) { outcome in
            switch outcome {
            case .success(let results):
                for ((_, continuation), result) in zip(batch, results) { continuation.resume(with: result) }
            case .failure(let error):
                // The transaction itself failed (the disk, say): none of these lines is stored.
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
            self.continueAfterCommit()
        }
    }

    private func continueAfterCommit() {
        switch state.withLock({ $0.committed() }) {
        case .idle: break
        case .writeNow: writeNextBatch()
        case .gather:
            timers.asyncAfter(deadline: .now() + Self.gatheringDelay) {
                if self.state.withLock({ $0.gatheringEnded() }) { self.writeNextBatch() }
            }
        }
    }
}
