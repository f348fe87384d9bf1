import Foundation
import Logging
import MilestoneCore
import Payments
import Storage

/// Runs every step that moves money through the payment processor. For each one it plans the calls from
/// the step's ledger postings, stores them with their idempotency keys (before the first call), makes the
/// calls, and commits the step with what the processor did, in one transaction with its ledger entries
/// and messages. A crash anywhere leaves a pending operation that `recover` completes without moving money
/// twice. One contract at a time.
final class PaymentDesk: Sendable {
    let database: AppDatabase
    let processor: any PaymentProcessor
    let settings: ServerSettings.StripePayments
    let clock: @Sendable () -> Date
    let logger: Logger
    private let locks = ContractLocks()

    /// The line the bot adds when a payment is completed after a crash or an outage.
    static let recoveredNote = "The payment processor confirmed this payment after an interruption, so it is recorded now; no money moved twice."

    init(database: AppDatabase, processor: any PaymentProcessor, settings: ServerSettings.StripePayments, clock: @escaping @Sendable () -> Date, logger: Logger) {
        self.database = database
        self.processor = processor
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// A typed line: lines that move no money go straight to storage.
    /// A pending payment keeps its line's text, not the parse: a line loaded back is read again here, in
    /// the contract's currency (a command's meaning does not change: the currency is fixed at creation).
    private func read(_ request: LineRequest) async throws -> LineRequest {
        guard request.parsed == nil else { return request }
        guard let contract = try await database.contract(request.thread) else { throw StorageError.unknownContract(request.thread.rawValue) }
        var request = request
        request.parsed = ParsedLine(request.text, currency: contract.currency)
        return request
    }

    func handle(_ request: LineRequest) async throws -> LineReceipt {
        // Chat moves no money: it needs no lock, and so shares group commits with the thread's other lines.
        guard request.parsed?.isCommand == true else { return try await database.handle(request) }
        return try await locks.withLock(request.thread) {
            if let pending = try await database.pendingPayment(request.commandID.rawValue) {
                // Another user's command id that happens to be spelled the same ("a/x" + "1", "a" + "x/1").
                if case .line(let first) = pending.work, first.author.user != request.author.user {
                    throw StorageError.commandIDReused(request.commandID.rawValue)
                }
                guard case .line(let receipt)? = try await complete(pending, retrying: true) else { throw PaymentPending(reason: "still in progress") }
                return receipt
            }
            guard let (context, transition) = try await database.moneyMovement(of: request) else {
                // A command that moves no money still waits for a payment under way on the contract: it could
                // change what that payment's step settles or numbers (a bonus's milestone) when it completes.
                if case .command(let command)? = request.parsed, !command.isQuery, try await database.hasPendingPayment(request.thread) {
                    throw PaymentPending(reason: "a payment on this contract is being completed first")
                }
                return try await database.handle(request)
            }
            if try await database.hasPendingPayment(request.thread) {
                throw PaymentPending(reason: "another payment on this contract is being completed first")
            }
            let operation = request.commandID.rawValue
            let plan: PaymentPlan
            do {
                plan = try self.plan(operation, transition, context)
            } catch let failure as PaymentFailure {
                return try await database.handle(request, payment: .failed(operation: operation, reason: failure.description))
            }
            let pending: PendingPayment
            do {
                pending = try await database.beginPayment(key: operation, work: .line(request), calls: plan.calls, at: clock())
            } catch StorageError.alreadyHandled {
                // The id was stored meanwhile (a resend as another line): its first outcome stands, no money moves.
                return try await database.handle(request)
            }
            guard case .line(let receipt)? = try await complete(pending, retrying: false) else { throw PaymentPending(reason: "still in progress") }
            return receipt
        }
    }

    /// A due deadline: one that moves money (a review period's auto-release) goes through the processor.
    func fire(_ due: DueDeadline, at now: Date) async throws -> (Transition, [StoredMessage])? {
        try await locks.withLock(due.contract) {
            guard let (context, transition) = try await database.moneyMovement(of: due, at: now) else {
                return try await database.fire(due, at: now)
            }
            let operation = "deadline/\(due.contract)/\(due.kind.key)/\(Int64(due.firesAt.timeIntervalSince1970 * 1000))"
            if let pending = try await database.pendingPayment(operation) {
                return try await complete(pending, retrying: true)?.change
            }
            let plan = try self.plan(operation, transition, context)
            let pending = try await database.beginPayment(key: operation, work: .deadline(due, at: now), calls: plan.calls, at: now)
            return try await complete(pending, retrying: false)?.change
        }
    }

    private func plan(_ operation: String, _ transition: Transition, _ context: PaymentContext) throws(PaymentFailure) -> PaymentPlan {
        try PaymentPlan(
            operation: operation, postings: transition.postings, contract: context.contract.id, currency: context.contract.currency,
            parties: context.parties, holds: context.holds, mode: settings.mode)
    }

    // MARK: - Card authorizations that expire

    /// Warns threads about authorizations that expire within the warning lead, and captures or releases
    /// those within the action lead. Returns the contracts that changed.
    func attendExpiringHolds() async throws -> [Transition] {
        let now = clock()
        var changed: [Transition] = []
        for expiring in try await database.authorizations(expiringBefore: now.addingTimeInterval(settings.holdWarningLead)) {
            guard let expiresAt = expiring.hold.expiresAt else { continue }
            let milestone = expiring.hold.milestone
            if expiresAt.addingTimeInterval(-settings.holdActionLead) <= now {
                let action = settings.onHoldExpiry
                let operation = "hold-expiry/\(expiring.contract)/\(milestone)/\(expiring.hold.paymentIntent)"
                let change = try await locks.withLock(expiring.contract) { () -> Transition? in
                    let pending = try await database.pendingPayment(operation)
                    let call: PaymentCall = action == .capture
                        ? .capture(milestone: milestone, paymentIntent: expiring.hold.paymentIntent, amount: expiring.hold.amount)
                        : .cancel(milestone: milestone, paymentIntent: expiring.hold.paymentIntent)
                    var started = pending
                    if started == nil {
                        started = try await database.beginPayment(
                            key: operation, work: .holdExpiry(expiring.contract, milestone, action), calls: [KeyedCall(operation: operation, call: call)], at: now)
                    }
                    guard let started else { return nil }
                    return try await complete(started, retrying: pending != nil)?.change?.0
                }
                if let change { changed.append(change) }
            } else if !expiring.warned {
                let warning = try await locks.withLock(expiring.contract) {
                    try await database.commitProcessorChange(
                        of: expiring.contract, settlement: Settlement(operation: "hold-warning/\(expiring.hold.paymentIntent)"), warned: milestone, at: now
                    ) { context in context.contract.warnHoldExpiry(of: milestone, expiresAt: expiresAt, action: self.settings.onHoldExpiry, at: now) }
                }
                if let (transition, _) = warning { changed.append(transition) }
            }
        }
        return changed
    }

    // MARK: - Completing

    enum Completion {
        case line(LineReceipt)
        case change((Transition, [StoredMessage])?)

        /// What a deadline or an expiry changed (nil for lines, or when nothing changed).
        var change: (Transition, [StoredMessage])? {
            if case .change(let change) = self { return change }
            return nil
        }
    }

    /// Makes the calls of a stored operation and commits its work. With `retrying`, the calls may have
    /// happened before (a crash or a timeout came after them): the processor checks before repeating.
    /// Nil when the processor did not answer (the operation stays pending for the next try).
    private func complete(_ pending: PendingPayment, retrying: Bool) async throws -> Completion? {
        var results: [PaymentResult] = []
        for planned in pending.calls {
            let call = planned.naming(chargesIn: results)
            do {
                let key = pending.key
                results.append(try await processor.perform(call, retrying: retrying, checkpoint: pending.checkpoints[call.key]) { [database] value in
                    try await database.recordCheckpoint(value, call: call.key, of: key)
                })
            } catch {
                if case .declined(let reason) = error, results.isEmpty, case .line(let request) = pending.work {
                    // The first call was refused: nothing moved. The command is refused with the reason.
                    logger.notice("payment declined", metadata: ["operation": "\(pending.key)", "reason": "\(reason)"])
                    return .line(try await database.handle(try await read(request), payment: .failed(operation: pending.key, reason: reason)))
                }
                logger.error("payment processor call failed; will retry", metadata: ["operation": "\(pending.key)", "call": "\(call.call.verb)", "error": "\(error)"])
                try await database.recordAttempt(of: pending.key, error: error.description, at: clock())
                if case .line = pending.work { throw PaymentPending(reason: error.description) }
                return nil
            }
        }
        let settlement = Settlement(operation: pending.key, results: results, note: retrying ? Self.recoveredNote : nil)
        switch pending.work {
        case .line(let request):
            return .line(try await database.handle(try await read(request), payment: .settled(settlement)))
        case .deadline(let due, let at):
            return .change(try await database.fire(due, at: at, settlement: settlement))
        case .holdExpiry(let contract, let milestone, let action):
            let now = clock()
            var settled = settlement
            settled.note = nil
            if action == .capture {
                // The authorization is now a charge: release transfers it, a refund refunds it.
                settled.results = zip(pending.calls, results).map { call, result in
                    var result = result
                    if case .capture(_, let intent, let amount) = call.call {
                        result.hold = ProcessorHold(milestone: milestone, kind: .charge, paymentIntent: intent, amount: amount, createdAt: now, expiresAt: nil)
                    }
                    return result
                }
            }
            return .change(try await database.commitProcessorChange(of: contract, settlement: settled, at: now) { context in
                action == .capture
                    ? context.contract.holdCaptured(of: milestone, at: now)
                    : context.contract.reverseFunding(of: milestone, reason: "the card authorization was about to expire, so it was released", at: now)
            })
        }
    }

    /// Completes every operation left pending by a crash or an outage. Returns the contracts that changed.
    func recover() async -> [Contract] {
        var changed: [Contract] = []
        let pending: [PendingPayment]
        do { pending = try await database.pendingPayments() } catch {
            logger.error("could not read pending payments", metadata: ["error": "\(error)"])
            return []
        }
        for operation in pending {
            do {
                let completion = try await locks.withLock(operation.work.contract) { () -> Completion? in
                    // Still pending under the lock (a resend may have completed it meanwhile)?
                    guard let current = try await database.pendingPayment(operation.key) else { return nil }
                    return try await complete(current, retrying: true)
                }
                switch completion {
                case .line(let receipt)?: if let transition = receipt.transition { changed.append(transition.contract) }
                case .change(let change?)?: changed.append(change.0.contract)
                default: break
                }
                if completion != nil { logger.notice("completed a pending payment", metadata: ["operation": "\(operation.key)"]) }
            } catch {
                logger.error("could not complete a pending payment", metadata: ["operation": "\(operation.key)", "error": "\(error)"])
            }
        }
        return changed
    }

    // MARK: - Webhooks

    /// Brings a milestone in line with a Stripe event: a payment that failed or was cancelled at Stripe
    /// while we count its money as held returns the milestone to unfunded with a notice. Each event id is
    /// applied once. Returns the contract's change, if any.
    func apply(_ event: StripeEvent) async throws -> Transition? {
        guard ["payment_intent.payment_failed", "payment_intent.canceled"].contains(event.type),
            let intent = event.paymentIntent, let held = try await database.hold(onPaymentIntent: intent)
        else {
            // Nothing to bring in line (a success, or an intent that holds nothing of ours): noted once.
            try await database.recordProcessorEvent(id: event.id, type: event.type, at: clock())
            return nil
        }
        let reason = event.type == "payment_intent.canceled"
            ? "the payment was cancelled at the payment processor"
            : (event.data.object.lastPaymentError?.message ?? "the payment failed")
        let now = clock()
        return try await locks.withLock(held.contract) {
            try await database.commitProcessorChange(
                of: held.contract, eventID: (event.id, event.type), settlement: Settlement(operation: event.id, results: [PaymentResult(key: "\(event.id)/\(held.hold.milestone)/event", milestone: held.hold.milestone, reference: event.id)]), at: now
            ) { context in
                // Only if that intent still holds the milestone's money.
                guard context.holds[held.hold.milestone]?.paymentIntent == intent else { return nil }
                return context.contract.reverseFunding(of: held.hold.milestone, reason: reason, at: now)
            }?.0
        }
    }
}
