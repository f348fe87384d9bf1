/// An account in the double-entry ledger of one contract.
public enum LedgerAccount: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The buyer's card or balance at the processor: goes negative by what they paid in.
    case buyer
    /// Money the processor holds for one milestone.
    case held(MilestoneNumber)
    /// Paid out to the freelancer.
    case freelancer

    public var description: String {
        switch self {
        case .buyer: "buyer"
        case .held(let number): "held:\(number)"
        case .freelancer: "freelancer"
        }
    }

    public init?(_ text: String) {
        switch text {
        case "buyer": self = .buyer
        case "freelancer": self = .freelancer
        default:
            guard text.hasPrefix("held:M"), let value = Int(text.dropFirst(6)), value > 0 else { return nil }
            self = .held(MilestoneNumber(value))
        }
    }
}

/// One ledger posting, modelled on two-phase transfers: a pending `hold` moves money from the buyer into a
/// milestone's hold; `post` completes (part of) it to the freelancer; `void` returns (part of) it to the
/// buyer. A hold is resolved exactly once, by posts and voids that add up to it in one step.
public struct LedgerPosting: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case hold
        case post
        case void
    }

    public var kind: Kind
    public var milestone: MilestoneNumber
    /// Minor units of the contract's currency; always positive.
    public var amount: Int64

    public init(kind: Kind, milestone: MilestoneNumber, amount: Int64) {
        self.kind = kind
        self.milestone = milestone
        self.amount = amount
    }

    /// The account money leaves.
    public var debit: LedgerAccount {
        kind == .hold ? .buyer : .held(milestone)
    }

    /// The account money enters.
    public var credit: LedgerAccount {
        switch kind {
        case .hold: .held(milestone)
        case .post: .freelancer
        case .void: .buyer
        }
    }
}

/// Why a set of postings cannot be applied. Any of these is a bug in the caller, never user input.
public enum LedgerViolation: Error, Hashable, Sendable {
    case nonPositiveAmount(LedgerPosting)
    case holdAlreadyOpen(MilestoneNumber)
    case noOpenHold(MilestoneNumber)
    case resolutionDoesNotMatchHold(MilestoneNumber, hold: Int64, resolved: Int64)
}

/// The balances of one contract's ledger, rebuilt from its postings. Pure: checks the two-phase rules.
public struct Ledger: Hashable, Sendable {
    public private(set) var balances: [LedgerAccount: Int64] = [:]
    /// The open (pending) hold of each milestone.
    public private(set) var openHolds: [MilestoneNumber: Int64] = [:]
    /// Milestones whose hold has been resolved; a hold is resolved at most once.
    public private(set) var resolvedHolds: Set<MilestoneNumber> = []
    public private(set) var postings: [LedgerPosting] = []

    public init() {}

    /// Applies one step's postings atomically: either all of them or, on a violation, none.
    public mutating func apply(_ step: [LedgerPosting]) throws(LedgerViolation) {
        var next = self
        var resolving: [MilestoneNumber: Int64] = [:]
        for posting in step {
            guard posting.amount > 0 else { throw .nonPositiveAmount(posting) }
            switch posting.kind {
            case .hold:
                guard next.openHolds[posting.milestone] == nil else { throw .holdAlreadyOpen(posting.milestone) }
                next.openHolds[posting.milestone] = posting.amount
            case .post, .void:
                // A hold opened earlier, or earlier in this step (a bonus is charged and paid at once).
                guard next.openHolds[posting.milestone] != nil else { throw .noOpenHold(posting.milestone) }
                resolving[posting.milestone, default: 0] += posting.amount
            }
            next.balances[posting.debit, default: 0] -= posting.amount
            next.balances[posting.credit, default: 0] += posting.amount
            next.postings.append(posting)
        }
        for (milestone, resolved) in resolving {
            let hold = next.openHolds[milestone] ?? 0
            guard resolved == hold else { throw .resolutionDoesNotMatchHold(milestone, hold: hold, resolved: resolved) }
            next.openHolds[milestone] = nil
            next.resolvedHolds.insert(milestone)
        }
        self = next
    }

    public init(replaying steps: [[LedgerPosting]]) throws(LedgerViolation) {
        self.init()
        for step in steps { try apply(step) }
    }

    public func balance(_ account: LedgerAccount) -> Int64 { balances[account] ?? 0 }

    /// Double entry: every posting debits one account and credits another, so this is always zero.
    public var total: Int64 { balances.values.reduce(0, +) }
}
