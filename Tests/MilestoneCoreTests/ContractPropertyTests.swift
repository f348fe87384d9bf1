import CommandScripts
import Foundation
import MilestoneCore
import PropertyBased
import Testing

/// Thousands of random command sequences from random actors, against every preset: after each step money
/// is conserved, nothing is paid out twice, terminal states stay terminal, and a rejection changes nothing.
@Suite struct ContractPropertyTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func invariantsHoldForRandomCommandSequences() async {
        await propertyCheck(
            count: 4000,
            input: Gen.int(in: 0...(Presets.variants.count - 1)),
            Gen.int(in: 0...Int(Int32.max)).array(of: 1...150)
        ) { presetIndex, seeds in
            var seen: Set<String> = []
            Self.run(policy: Presets.variants[presetIndex], seeds: seeds, seen: &seen)
        }
    }

    /// The scripts must reach the interesting paths, or the invariants prove little. Random scripts cannot
    /// promise that every run, so this corpus is fixed (the same every run) and goes on until every event
    /// was seen; a new template cannot quietly shrink what the invariants cover.
    @Test func invariantsHoldOnAFixedCorpusReachingEveryEvent() {
        let expected: Set<String> = [
            "milestone_added", "milestone_requested", "milestone_edited", "milestone_deleted", "milestone_approved",
            "milestone_funded", "work_submitted", "revision_requested", "milestone_released", "milestone_cancelled",
            "dispute_opened", "dispute_resolved", "contract_live", "end_requested", "end_accepted",
            "end_declined", "contract_completed", "review_posted", "offer_made", "offer_accepted", "offer_declined",
            "offer_withdrawn", "offer_lapsed", "order_placed", "contract_dispute_opened", "contract_dispute_resolved", "order_cancelled",
            "bonus_paid", "cancellation_offered", "cancellation_accepted", "cancellation_declined", "cancellation_withdrawn",
            "cancellation_lapsed",
        ]
        var seen: Set<String> = []
        var random = SplitMix64(seed: 11)
        for script in 0..<20_000 {
            if script >= 1_000, expected.isSubset(of: seen) { break }
            let seeds = (0..<(1 + Int(random.next() % 150))).map { _ in Int(random.next() % UInt64(Int32.max)) }
            Self.run(policy: Presets.variants[script % Presets.variants.count], seeds: seeds, seen: &seen)
        }
        #expect(expected.subtracting(seen).isEmpty, "never reached: \(expected.subtracting(seen).sorted())")
    }

    /// Runs one script, checking the invariants after every step and collecting the events it reached.
    static func run(policy: Policy, seeds: [Int], seen: inout Set<String>) {
        var sim = SimulatedContract(policy: policy, title: "Property", now: Self.start)
        for seed in seeds {
            let step = CommandScript.step(seed)
            let before = sim
            let result: SimulatedContract.StepResult
            do { result = try sim.run(step) } catch {
                Issue.record("\(policy.name): ledger refused the core's postings at \(step): \(error)")
                return
            }
            switch result {
            case .rejected(let rejection):
                #expect(sim.contract == before.contract, "\(policy.name): rejected \(step) changed the contract")
                #expect(sim.ledger == before.ledger, "\(policy.name): rejected \(step) changed the ledger")
                #expect(sim.record == before.record, "\(policy.name): rejected \(step) posted to the transcript")
                #expect(!rejection.reason.isEmpty)
            case .answered, .chat:
                #expect(sim.contract == before.contract && sim.ledger == before.ledger && sim.record == before.record)
            case .applied(let transition):
                seen.formUnion(transition.events.map(\.name))
            case .advanced(let transitions):
                seen.formUnion(transitions.flatMap(\.events).map(\.name))
            }
            if !Self.check(sim, after: before, policy: policy.name, step: step) { return }
        }
    }

    /// The invariants; records issues and returns false on the first broken one.
    static func check(_ sim: SimulatedContract, after before: SimulatedContract, policy: String, step: ScriptStep) -> Bool {
        let ledger = sim.ledger
        let contract = sim.contract
        var ok = true
        func expect(_ condition: Bool, _ message: String) {
            if !condition {
                Issue.record("\(policy) after \(step): \(message)")
                ok = false
            }
        }
        expect(ledger.total == 0, "ledger does not balance: \(ledger.total)")
        var released: Int64 = 0
        var refunded: Int64 = 0
        var funded: Int64 = 0
        for milestone in contract.milestones {
            let m = milestone.number
            expect(milestone.held >= 0, "\(m) holds \(milestone.held)")
            expect(milestone.held == milestone.funded - milestone.released - milestone.refunded, "\(m) held != funded - released - refunded")
            expect(ledger.balance(.held(m)) == milestone.held, "\(m): ledger holds \(ledger.balance(.held(m))), milestone \(milestone.held)")
            expect(milestone.funded == 0 || milestone.funded == milestone.amount, "\(m) funded \(milestone.funded) of \(milestone.amount)")
            expect(milestone.released + milestone.refunded <= milestone.funded, "\(m) paid out more than funded")
            expect(milestone.state.holdsMoney == (milestone.held > 0), "\(m) is \(milestone.state.name) but holds \(milestone.held)")
            let holds = ledger.postings.filter { $0.milestone == m && $0.kind == .hold }.count
            expect(holds <= 1, "\(m) was funded \(holds) times")
            if milestone.state.isTerminal, milestone.funded > 0 {
                expect(ledger.resolvedHolds.contains(m), "\(m) is \(milestone.state.name) but its hold is open")
            }
            if let previous = before.contract.milestone(m), previous.state.isTerminal {
                expect(milestone == previous, "\(m) left terminal state \(previous.state.name) for \(milestone.state.name)")
            }
            released += milestone.released
            refunded += milestone.refunded
            funded += milestone.funded
        }
        for previous in before.contract.milestones {
            expect(contract.milestone(previous.number) != nil, "\(previous.number) disappeared")
        }
        expect(ledger.balance(.freelancer) == released, "freelancer received \(ledger.balance(.freelancer)), milestones say \(released)")
        expect(ledger.balance(.buyer) == refunded - funded, "buyer balance \(ledger.balance(.buyer)) != refunded - funded")
        if before.contract.isClosed {
            expect(contract.phase == before.contract.phase, "closed contract went from \(before.contract.phase) to \(contract.phase)")
        }
        return ok
    }
}
