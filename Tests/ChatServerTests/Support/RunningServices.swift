import Logging
import ServiceLifecycle

/// Runs `services` in one group until `body` returns (given the port the server reported on `ports`), then
/// shuts them down gracefully, also when `body` throws.
func withRunningServices<T: Sendable>(
    _ services: [any Service], logger: Logger, ports: AsyncStream<Int>, _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}
