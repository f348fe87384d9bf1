import CommandScripts
import Foundation
@testable import MilestoneCore
import PropertyBased
import Testing

/// `availableCommands` skips milestone commands on milestones in states they always refuse; over random
/// contracts of every preset, for every role, the answer must be exactly that of trying every command.
@Suite struct AvailableCommandsTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let viewers = [CommandScript.buyer, CommandScript.freelancer, CommandScript.moderator, CommandScript.stranger]

    @Test func skippingImpossibleCommandsChangesNoAnswer() async {
        var tally = Tally()
        await propertyCheck(
            count: 600,
            input: Gen.int(in: 0...(Presets.variants.count - 1)),
            Gen.int(in: 0...Int(Int32.max)).array(of: 1...150)
        ) { presetIndex, seeds in
            Self.compare(policy: Presets.variants[presetIndex], seeds: seeds, into: &tally)
        }
        #expect(tally.compared > 50_000)
    }

    /// The same comparison over a fixed corpus of scripts (the same every run) that passes every milestone
    /// state. The random scripts above cannot promise that: a moderator's split comes up in about 1 script in
    /// 300, so 600 random scripts miss it one run in seven (a CI run failed so). Seed 1 is a corpus that has it.
    @Test func skippingImpossibleCommandsChangesNoAnswerInAnyState() {
        var tally = Tally()
        var random = SplitMix64(seed: 1)
        for script in 0..<600 {
            let seeds = (0..<(1 + Int(random.next() % 150))).map { _ in Int(random.next() % UInt64(Int32.max)) }
            Self.compare(policy: Presets.variants[script % Presets.variants.count], seeds: seeds, into: &tally)
        }
        let expected: Set<String> = ["proposed", "requested", "agreed", "funded", "submitted", "revision_requested", "disputed", "released", "refunded", "split", "cancelled"]
        #expect(expected.subtracting(tally.states).isEmpty, "never reached: \(expected.subtracting(tally.states).sorted())")
        #expect(tally.compared > 50_000)
    }

    struct Tally {
        var states: Set<String> = []
        var compared = 0
    }

    /// Runs the script and, after every step, asks both ways for every viewer, now and later.
    static func compare(policy: Policy, seeds: [Int], into tally: inout Tally) {
        var sim = SimulatedContract(policy: policy, title: "Available", now: start)
        for seed in seeds {
            guard (try? sim.run(CommandScript.step(seed))) != nil else { return }
            let contract = sim.contract
            tally.states.formUnion(contract.milestones.map(\.state.name))
            // Now, or later (past due dates and review periods).
            let now = seed % 2 == 0 ? sim.now : sim.now.addingTimeInterval(Double(seed % 40) * 86_400)
            for viewer in viewers {
                let fast = contract.suggestions(for: viewer, at: now, skippingImpossible: true)
                let tried = contract.suggestions(for: viewer, at: now, skippingImpossible: false)
                tally.compared += 1
                if fast != tried {
                    Issue.record("\(policy.name), \(viewer.role) at \(now): \(fast.map(\.template)) != \(tried.map(\.template)) for \(contract.milestones.map(\.state))")
                    return
                }
            }
        }
    }

    @Test func availableCommandsIsTheSkippingAnswer() {
        var contract = Contract(id: "c-1", title: "t", currency: .usd, buyer: CommandScript.buyer.user,
            freelancer: CommandScript.freelancer.user, policy: Presets.variants[0])
        contract.phase = .live
        for viewer in Self.viewers {
            #expect(contract.availableCommands(for: viewer, at: Self.start) == contract.suggestions(for: viewer, at: Self.start, skippingImpossible: false))
        }
    }
}

