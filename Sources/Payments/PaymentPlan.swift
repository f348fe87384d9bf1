import MilestoneCore

/// How funded money is held at the processor.
public enum HoldMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// Funding authorizes the card (manual capture); release captures, refund cancels, a split captures part.
    case authorizeAndCapture = "authorize_and_capture"
    /// Funding charges the card into the platform's balance; release pays the freelancer by a Transfer
    /// (separate charges and transfers, one `transfer_group` per contract); refund refunds. For holds that
    /// outlast a card authorization.
    case chargeAndTransfer = "charge_and_transfer"
}

/// Turns one step's ledger postings into the processor calls that move that money. Pure.
public struct PaymentPlan: Hashable, Sendable {
    public var calls: [KeyedCall]

    /// - Parameters:
    ///   - operation: the command id (or deadline key) the postings come from; each call's key derives from it.
    ///   - holds: the processor's current hold per milestone.
    public init(
        operation: String, postings: [LedgerPosting], contract: ContractID, currency: Currency, parties: PaymentParties,
        holds: [MilestoneNumber: ProcessorHold], mode: HoldMode
    ) throws(PaymentFailure) {
        var calls: [KeyedCall] = []
        let transferGroup = "contract_\(contract.rawValue)"
        var order: [MilestoneNumber] = []
        var paid: [MilestoneNumber: Int64] = [:]
        var returned: [MilestoneNumber: Int64] = [:]
        // Held and paid out in the same step (a bonus): charged at once, then transferred.
        let chargedAndPaid = Set(postings.filter { $0.kind == .hold }.map(\.milestone))
            .intersection(postings.filter { $0.kind != .hold }.map(\.milestone))
        for posting in postings {
            if !order.contains(posting.milestone) { order.append(posting.milestone) }
            switch posting.kind {
            case .hold:
                guard parties.paymentMethod != nil else {
                    throw .declined("no card is on file for the buyer; the platform must add a payment method to this contract")
                }
                calls.append(KeyedCall(operation: operation, call: .hold(
                    milestone: posting.milestone, amount: posting.amount, currency: currency.code.lowercased(), parties: parties,
                    transferGroup: mode == .chargeAndTransfer ? transferGroup : nil,
                    manualCapture: mode == .authorizeAndCapture && !chargedAndPaid.contains(posting.milestone))))
            case .post: paid[posting.milestone, default: 0] += posting.amount
            case .void: returned[posting.milestone, default: 0] += posting.amount
            }
        }
        for milestone in order where chargedAndPaid.contains(milestone) {
            // The charge is the hold; all of it goes on to the freelancer (the core never returns part of one).
            guard returned[milestone] == nil, let toFreelancer = paid[milestone] else {
                throw .declined("a payment charged and settled in one step can only be paid out whole")
            }
            if let destination = parties.payoutAccount {
                calls.append(KeyedCall(operation: operation, call: .transfer(milestone: milestone, amount: toFreelancer, currency: currency.code.lowercased(),
                    destination: destination, transferGroup: transferGroup, paymentIntent: nil)))
            }
        }
        for milestone in order where !chargedAndPaid.contains(milestone) && (paid[milestone] != nil || returned[milestone] != nil) {
            guard let hold = holds[milestone] else {
                throw .declined("the payment processor has no record of money held for \(milestone)")
            }
            let toFreelancer = paid[milestone] ?? 0
            let toBuyer = returned[milestone] ?? 0
            var steps: [PaymentCall] = []
            switch hold.kind {
            case .authorization:
                steps.append(toFreelancer > 0
                    ? .capture(milestone: milestone, paymentIntent: hold.paymentIntent, amount: toFreelancer)
                    : .cancel(milestone: milestone, paymentIntent: hold.paymentIntent))
            case .charge:
                if toBuyer > 0 { steps.append(.refund(milestone: milestone, paymentIntent: hold.paymentIntent, amount: toBuyer)) }
            }
            if toFreelancer > 0, let destination = parties.payoutAccount {
                steps.append(.transfer(milestone: milestone, amount: toFreelancer, currency: currency.code.lowercased(),
                    destination: destination, transferGroup: transferGroup, paymentIntent: hold.paymentIntent))
            }
            calls += steps.map { KeyedCall(operation: operation, call: $0) }
        }
        self.calls = calls
    }
}
