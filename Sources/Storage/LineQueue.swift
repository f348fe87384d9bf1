import Synchronization

/// Lines waiting for the writer. The first line to arrive starts a batch; every line that arrives while a
/// transaction is being written waits for the next one, so under load many lines share one commit and one
/// fsync (group commit), and alone a line is written at once.
///
/// The batches chain on the writer's own queue: when one commits, its lines are answered and the next batch
/// is scheduled from there, so the writer never waits for a busy event loop to hand it more work.
final class LineQueue: Sendable {
    struct Item: Sendable {
        var request: LineRequest
        var text: String
        /// The handle that submitted it (it carries the commit callbacks to announce with).
        var database: AppDatabase
    }

    /// The most lines one transaction takes, so a huge queue still commits (and acknowledges) in steps.
    static let maximumBatch = 512

    private struct State {
        var waiting: [(Item, CheckedContinuation<LineReceipt, any Error>)] = []
        var writing = false
    }

    private let state = Mutex(State())

    func submit(_ item: Item) async throws -> LineReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.waiting.append((item, continuation))
                guard !state.writing else { return false }
                state.writing = true
                return true
            }
            if start { writeNextBatch() }
        }
    }

    /// Takes up to `maximumBatch` waiting lines and writes them in one transaction; its completion (on the
    /// writer's queue) answers them and writes the next batch, until none is waiting.
    private func writeNextBatch() {
        let batch = state.withLock { state in
            let batch = Array(state.waiting.prefix(Self.maximumBatch))
            state.waiting.removeFirst(batch.count)
            if batch.isEmpty { state.writing = false }
            return batch
        }
        guard let first = batch.first else { return }
        first.0.database.handleBatch(batch.map(\.0)) { outcome in
            switch outcome {
            case .success(let results):
                for ((_, continuation), result) in zip(batch, results) { continuation.resume(with: result) }
            case .failure(let error):
                // The transaction itself failed (the disk, say): none of these lines is stored.
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
            self.writeNextBatch()
        }
    }
}
