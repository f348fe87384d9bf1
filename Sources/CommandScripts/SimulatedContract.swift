import Foundation
import MilestoneCore

/// A contract run entirely in memory: the core, a ledger, armed deadlines and the public record.
/// The reference model the property tests compare the real storage against.
public struct SimulatedContract: Sendable {
    public private(set) var contract: Contract
    public private(set) var ledger = Ledger()
    public private(set) var deadlines: [DeadlineKind: Date] = [:]
    /// The system messages posted so far.
    public private(set) var record: [String] = []
    public private(set) var now: Date

    /// A new contract between the scripts' buyer and freelancer under `policy`, in US dollars.
    public init(policy: Policy, title: String, now: Date) {
        self.init(contract: Contract(id: "c-1", title: title, currency: .usd, buyer: CommandScript.buyer.user,
            freelancer: CommandScript.freelancer.user, policy: policy), now: now)
    }

    public init(contract: Contract, now: Date) {
        self.contract = contract
        self.now = now
    }

    public enum StepResult: Sendable {
        case applied(Transition)
        /// A line that is not a command: stored as chat, nothing else happens.
        case chat
        case answered
        case rejected(Rejection)
        /// Time passed; these deadline firings did something.
        case advanced([Transition])
    }

    /// Runs one step. Throws only when the ledger refuses the core's postings: a bug.
    public mutating func run(_ step: ScriptStep) throws(LedgerViolation) -> StepResult {
        switch step {
        case .line(let text, let who):
            guard CommandParser.isCommand(text) else { return .chat }
            switch contract.apply(line: text, by: who, at: now) {
            case .failure(let rejection): return .rejected(rejection)
            case .success(.answered): return .answered
            case .success(.applied(let transition)):
                try absorb(transition)
                return .applied(transition)
            }
        case .advance(let hours):
            now = now.addingTimeInterval(TimeInterval(hours) * 3600)
            var fired: [Transition] = []
            while let (kind, _) = deadlines.filter({ $0.value <= now }).min(by: { ($0.value, $0.key.key) < ($1.value, $1.key.key) }) {
                deadlines[kind] = nil
                let transition = contract.fire(kind, at: now)
                try absorb(transition)
                if !transition.isEmpty { fired.append(transition) }
            }
            return .advanced(fired)
        }
    }

    private mutating func absorb(_ transition: Transition) throws(LedgerViolation) {
        try ledger.apply(transition.postings)
        contract = transition.contract
        record += transition.events.map(\.text)
        for change in transition.deadlines {
            switch change {
            case .arm(let deadline): deadlines[deadline.kind] = deadline.at
            case .cancel(let kind): deadlines[kind] = nil
            }
        }
    }
}
