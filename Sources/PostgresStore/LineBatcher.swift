import Foundation
import Storage
import Synchronization

/// Group commit for PostgreSQL: lines that arrive while other lines are being written wait and are stored
/// together in the next transaction, up to ``maxBatch`` per COMMIT, on up to ``maxWriters`` connections at
/// once. A quiet server writes each line at once (a writer is free); a busy one pays one COMMIT (one WAL
/// flush) per batch instead of per line. Each line has its own savepoint: one line's failure touches no other.
final class LineBatcher: Sendable {
    struct Item: Sendable {
        var request: LineRequest
        /// The line's text, checked.
        var text: String
    }

    private struct Waiting {
        var item: Item
        var continuation: CheckedContinuation<LineReceipt, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var writers = 0
    }

    let maxWriters: Int
    let maxBatch: Int
    private let state = Mutex(State())

    init(maxWriters: Int = 8, maxBatch: Int = 100) {
        self.maxWriters = maxWriters
        self.maxBatch = maxBatch
    }

    /// Returns once the line's transaction committed (or throws: then nothing of it was acknowledged).
    func submit(_ item: Item, to store: PostgresStore) async throws -> LineReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let startsWriter = state.withLock { state in
                state.waiting.append(Waiting(item: item, continuation: continuation))
                guard state.writers < maxWriters else { return false }
                state.writers += 1
                return true
            }
            if startsWriter { Task { await self.write(to: store) } }
        }
    }

    /// One writer: takes what waits, a batch at a time, until nothing does.
    private func write(to store: PostgresStore) async {
        while true {
            let batch = state.withLock { state in
                let taken = Array(state.waiting.prefix(maxBatch))
                state.waiting.removeFirst(taken.count)
                if taken.isEmpty { state.writers -= 1 }
                return taken
            }
            guard !batch.isEmpty else { return }
            let results = await store.writeBatch(batch.map(\.item))
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(with: result) }
        }
    }
}
