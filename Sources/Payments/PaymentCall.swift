import MilestoneCore

/// One request that moves money at the processor, planned from ledger postings.
public enum PaymentCall: Hashable, Sendable, Codable {
    /// Takes the buyer's money for a milestone: a PaymentIntent, created and confirmed; with `manualCapture`
    /// it is an authorization, otherwise a charge. `transferGroup` is set in the charge-and-transfer mode,
    /// whose transfers are paid from their charges (nil otherwise; before it could be nil, the processor
    /// sent it with every charge).
    case hold(milestone: MilestoneNumber, amount: Int64, currency: String, parties: PaymentParties, transferGroup: String?, manualCapture: Bool)
    /// Captures `amount` of an authorization; the processor returns the rest to the buyer.
    case capture(milestone: MilestoneNumber, paymentIntent: String, amount: Int64)
    /// Lets an authorization go: all of it returns to the buyer.
    case cancel(milestone: MilestoneNumber, paymentIntent: String)
    /// Returns `amount` of a charge to the buyer.
    case refund(milestone: MilestoneNumber, paymentIntent: String, amount: Int64)
    /// Pays `amount` from the platform's balance to the freelancer's connected account; `paymentIntent` names
    /// the charge it pays out (nil when it is created by the same operation, as a bonus's is).
    case transfer(milestone: MilestoneNumber, amount: Int64, currency: String, destination: String, transferGroup: String, paymentIntent: String?)

    public var milestone: MilestoneNumber {
        switch self {
        case .hold(let m, _, _, _, _, _), .capture(let m, _, _), .cancel(let m, _), .refund(let m, _, _), .transfer(let m, _, _, _, _, _): m
        }
    }

    /// `hold`, `capture`, `cancel`, `refund`, `transfer`.
    public var verb: String {
        switch self {
        case .hold: "hold"
        case .capture: "capture"
        case .cancel: "cancel"
        case .refund: "refund"
        case .transfer: "transfer"
        }
    }
}

/// A call with the key that makes it happen at most once: `<operation>/<milestone>/<verb>`. It is stored
/// before the call is made and sent as the `Idempotency-Key`, so a retry after a crash repeats the same
/// request instead of moving money again.
public struct KeyedCall: Hashable, Sendable, Codable {
    public var key: String
    public var call: PaymentCall

    public init(operation: String, call: PaymentCall) {
        self.key = "\(operation)/\(call.milestone)/\(call.verb)"
        self.call = call
    }
}

extension KeyedCall {
    /// A transfer of a charge made earlier in the same operation (a bonus: charged, then paid out) names that
    /// charge's PaymentIntent, known only once `results` has it; every other call is as planned.
    public func naming(chargesIn results: [PaymentResult]) -> KeyedCall {
        guard case .transfer(let milestone, let amount, let currency, let destination, let group, nil) = call,
            let charged = results.first(where: { $0.milestone == milestone && $0.hold != nil })
        else { return self }
        var named = self
        named.call = .transfer(milestone: milestone, amount: amount, currency: currency, destination: destination, transferGroup: group,
            paymentIntent: charged.reference)
        return named
    }
}

/// What the processor did for one call.
public struct PaymentResult: Hashable, Sendable, Codable {
    public var key: String
    /// The milestone whose money moved.
    public var milestone: MilestoneNumber
    /// The processor's id of what it did: `pi_...`, `re_...`, `tr_...`.
    public var reference: String
    /// For `hold`: the new hold.
    public var hold: ProcessorHold?

    public init(key: String, milestone: MilestoneNumber, reference: String, hold: ProcessorHold? = nil) {
        self.key = key
        self.milestone = milestone
        self.reference = reference
        self.hold = hold
    }

    /// What the processor did for `call`.
    public init(_ call: KeyedCall, reference: String, hold: ProcessorHold? = nil) {
        self.init(key: call.key, milestone: call.call.milestone, reference: reference, hold: hold)
    }
}

/// Why a call did not go through.
public enum PaymentFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// The processor said no for good (a declined card, an invalid request): the command is refused.
    case declined(String)
    /// The processor could not be reached or failed; the same call is tried again later.
    case unavailable(String)

    public var description: String {
        switch self {
        case .declined(let reason), .unavailable(let reason): reason
        }
    }
}

/// A payment processor: it moves the money the ledger records.
public protocol PaymentProcessor: Sendable {
    /// `stripe`.
    var name: String { get }
    /// Performs one call. With `retrying`, the call may already have been made (a crash came between it
    /// and the commit): the processor first looks whether it happened and returns that instead of doing it
    /// twice. `checkpoint` is what `record` saved during an earlier attempt (the PaymentIntent a `hold`
    /// created before confirming it); `record` must store its argument durably before returning.
    func perform(_ call: KeyedCall, retrying: Bool, checkpoint: String?, record: @escaping @Sendable (String) async throws -> Void) async throws(PaymentFailure) -> PaymentResult
}
