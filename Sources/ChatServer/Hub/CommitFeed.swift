import Storage

/// Carries committed transcript messages from the database's commit hook (on the writer's queue, in
/// commit order) to the hub, without blocking the writer.
public final class CommitFeed: Sendable {
    public let batches: AsyncStream<[StoredMessage]>
    private let continuation: AsyncStream<[StoredMessage]>.Continuation

    public init() {
        (batches, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    public func send(_ batch: [StoredMessage]) {
        continuation.yield(batch)
    }

    public func finish() {
        continuation.finish()
    }

    /// Hands every batch to the hub, in order, until the feed finishes.
    public func run(into hub: ThreadHub) async {
        for await batch in batches {
            hub.publish(batch)
        }
    }
}
