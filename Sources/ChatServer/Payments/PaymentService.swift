import Foundation
import ServiceLifecycle

/// Beside the server: retries processor calls that failed for a passing reason, and warns about and acts
/// on card authorizations before they expire.
struct PaymentService: Service {
    let context: ServerContext
    let desk: PaymentDesk

    func run() async throws {
        var lastRetry = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            if ContinuousClock.now - lastRetry >= .seconds(context.settings.stripe.retryInterval) {
                lastRetry = .now
                for contract in await desk.recover() {
                    context.hub.contractChanged(contract, testMoney: context.testMoney, now: context.clock())
                }
            }
            do {
                for transition in try await desk.attendExpiringHolds() {
                    context.hub.contractChanged(transition.contract, testMoney: context.testMoney, now: context.clock())
                }
            } catch {
                context.logger.error("attending expiring card authorizations failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
