/// The decisions of a ``LineQueue``, as a value: when a batch starts, what it takes, and what follows a
/// commit (nothing, the next batch now, or a short wait for more lines to share it). No I/O, no locking, no
/// clock; the queue holds it in a mutex, runs the batches and the gathering timer. Generic over what waits,
/// so the tests can use plain values.
struct LineQueueState<Waiter> {
    /// What the writer is doing.
    enum Phase: Equatable {
        /// Nothing written or waiting: the next line starts a batch at once.
        case idle
        /// A batch is being written; lines that arrive wait for the next one.
        case writing
        /// The previous batch committed and the next is held back for more lines: the timer starts it,
        /// unless it fills up first.
        case gathering
    }

    /// What follows a commit.
    enum AfterCommit: Equatable {
        /// Nothing is waiting; the writer is idle.
        case idle
        /// Enough lines wait: write the next batch now.
        case writeNow
        /// A few lines wait: start the gathering timer; ``gatheringEnded()`` then says whether to write.
        case gather
    }

    /// The most lines one transaction takes, so a huge queue still commits (and acknowledges) in steps.
    let maximumBatch: Int
    /// A batch this size goes at once; a smaller one (under load) waits for the gathering timer.
    let fullEnough: Int
    private(set) var phase = Phase.idle
    private(set) var waiting: [Waiter] = []

    init(maximumBatch: Int, fullEnough: Int) {
        self.maximumBatch = maximumBatch
        self.fullEnough = fullEnough
    }

    /// A line arrives; true: the caller writes a batch now (the writer was idle, or the gathering batch is
    /// full enough to go without waiting for the timer).
    mutating func submit(_ waiter: Waiter) -> Bool {
        waiting.append(waiter)
        switch phase {
        case .idle:
            phase = .writing
            return true
        case .gathering where waiting.count >= fullEnough:
            phase = .writing
            return true
        case .writing, .gathering:
            return false
        }
    }

    /// The lines of the batch to write now (up to `maximumBatch`, oldest first); empty, and idle, when
    /// none waits.
    mutating func takeBatch() -> [Waiter] {
        let batch = Array(waiting.prefix(maximumBatch))
        waiting.removeFirst(batch.count)
        phase = batch.isEmpty ? .idle : .writing
        return batch
    }

    /// A batch committed (or failed); what the writer does next.
    mutating func committed() -> AfterCommit {
        if waiting.isEmpty {
            phase = .idle
            return .idle
        }
        if waiting.count >= fullEnough { return .writeNow }
        phase = .gathering
        return .gather
    }

    /// The gathering timer fired; true: write the batch now (false: it already started, filled up by a
    /// submit).
    mutating func gatheringEnded() -> Bool {
        guard phase == .gathering else { return false }
        phase = .writing
        return true
    }
}
