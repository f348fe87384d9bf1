import MilestoneCore

/// One money movement at a time per contract: between planning processor calls from the contract's state
/// and committing their results, nothing else may change that contract's money.
actor ContractLocks {
    private var held: Set<ContractID> = []
    private var waiting: [ContractID: [CheckedContinuation<Void, Never>]] = [:]

    func withLock<T: Sendable>(_ contract: ContractID, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(contract)
        defer { release(contract) }
        return try await body()
    }

    private func acquire(_ contract: ContractID) async {
        guard held.contains(contract) else {
            held.insert(contract)
            return
        }
        await withCheckedContinuation { waiting[contract, default: []].append($0) }
    }

    private func release(_ contract: ContractID) {
        if var queue = waiting[contract], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[contract] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            held.remove(contract)
        }
    }
}
