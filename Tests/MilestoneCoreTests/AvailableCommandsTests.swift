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
        var states: Set<String> = []
        var compared = 0
        await propertyCheck(
            count: 600,
            input: Gen.int(in: 0...(Presets.variants.count - 1)),
            Gen.int(in: 0...Int(Int32.max)).array(of: 1...150)
        ) { presetIndex, seeds in
            let policy = Presets.variants[presetIndex]
            var sim = SimulatedContract(policy: policy, title: "Available", now: Self.start)
            for seed in seeds {
                guard (try? sim.run(CommandScript.step(seed))) != nil else { return }
                let contract = sim.contract
                states.formUnion(contract.milestones.map(\.state.name))
                // Now, or later (past due dates and review periods).
                let now = seed % 2 == 0 ? sim.now : sim.now.addingTimeInterval(Double(seed % 40) * 86_400)
                for viewer in Self.viewers {
                    let fast = contract.suggestions(for: viewer, at: now, skippingImpossible: true)
                    let tried = contract.suggestions(for: viewer, at: now, skippingImpossible: false)
                    compared += 1
                    if fast != tried {
                        Issue.record("\(policy.name), \(viewer.role) at \(now): \(fast.map(\.template)) != \(tried.map(\.template)) for \(contract.milestones.map(\.state))")
                        return
                    }
                }
            }
        }
        // The contracts must reach every state, or the comparison proves little.
        let expected: Set<String> = ["proposed", "requested", "agreed", "funded", "submitted", "revision_requested", "disputed", "released", "refunded", "split", "cancelled"]
        #expect(expected.subtracting(states).isEmpty, "never reached: \(expected.subtracting(states).sorted())")
        #expect(compared > 100_000)
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
