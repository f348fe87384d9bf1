import Synchronization

/// Lines waiting for the writer. The first line to arrive starts a drain; every line that arrives while a
/// transaction is being written waits for the next one, so under load many lines share one commit and one
/// fsync (group commit), and alone a line is written at once.
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
        var draining = false
    }

    private let state = Mutex(State())

    func submit(_ item: Item) async throws -> LineReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = state.withLock { state in
                state.waiting.append((item, continuation))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDrain { Task { await drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state in
                let batch = Array(state.waiting.prefix(Self.maximumBatch))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard let first = batch.first else { return }
            do {
                let results = try await first.0.database.handleBatch(batch.map(\.0))
                for ((_, continuation), result) in zip(batch, results) { continuation.resume(with: result) }
            } catch {
                // The transaction itself failed (the disk, say): none of these lines is stored.
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
    }
}
