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
        let expected: Set<String> = ["proposed", "requested", "agreed", "funded", "submitted", "revision_requested", "disputed", "released", "refunded", "split", "cancelled"]
        // At least 600 scripts, and on (still the same sequence every run) until every state was passed, so
        // a new command in the scripts' templates cannot quietly shrink what this covers.
        for script in 0..<3_000 {
            if script >= 600, expected.isSubset(of: tally.states) { break }
            let seeds = (0..<(1 + Int(random.next() % 150))).map { _ in Int(random.next() % UInt64(Int32.max)) }
            Self.compare(policy: Presets.variants[script % Presets.variants.count], seeds: seeds, into: &tally)
        }
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

    /// Every command offered that would post money is marked `moves_money` (so a client confirms before
    /// sending it), whichever command it is: over every state the scripts reach in every preset, each
    /// complete suggestion is parsed from its text and applied.
    @Test func everyOfferedCommandThatWouldPostMoneySaysSo() {
        var random = SplitMix64(seed: 7)
        var checked = 0, posting = 0
        for script in 0..<400 {
            let policy = Presets.variants[script % Presets.variants.count]
            var sim = SimulatedContract(policy: policy, title: "Money", now: Self.start)
            for _ in 0..<(1 + Int(random.next() % 60)) {
                guard (try? sim.run(CommandScript.step(Int(random.next() % UInt64(Int32.max))))) != nil else { break }
                for viewer in Self.viewers {
                    for suggestion in sim.contract.availableCommands(for: viewer, at: sim.now) where suggestion.isComplete {
                        guard case .success(let command) = CommandParser(currency: sim.contract.currency).parse(suggestion.template),
                            case .success(.applied(let transition)) = sim.contract.apply(command, by: viewer, at: sim.now)
                        else { continue }
                        checked += 1
                        guard !transition.postings.isEmpty else { continue }
                        posting += 1
                        #expect(suggestion.movesMoney, "\(policy.name): \(suggestion.template) posts \(transition.postings) but is not marked moves_money")
                    }
                }
            }
        }
        #expect(checked > 1_000 && posting > 100)
    }

    /// White-label with "take payment when the freelancer approves": approved milestones are charged when
    /// the buyer makes the contract live, so `/golive` is a money command there (and only there).
    @Test func goLiveThatChargesIsMarkedMovesMoney() throws {
        let base = try #require(Presets.variants.first { $0.chargeOn == .approval && !$0.contractStartsLive })
        for chargeOn in [Policy.ChargeMoment.approval, .fund] {
            var policy = base
            policy.chargeOn = chargeOn
            var contract = Contract(id: "c-1", title: "t", currency: .usd, buyer: CommandScript.buyer.user,
                freelancer: CommandScript.freelancer.user, policy: policy)
            let creator = policy.milestoneCreator == .buyer ? CommandScript.buyer : CommandScript.freelancer
            let approver = policy.milestoneCreator == .buyer ? CommandScript.freelancer : CommandScript.buyer
            for command: (ChatCommand, Participant) in [(.addMilestone(MilestoneDraft(amount: 500, description: "x")), creator), (.approve(.number(MilestoneNumber(1))), approver)] {
                guard case .success(.applied(let transition)) = contract.apply(command.0, by: command.1, at: Self.start) else {
                    Issue.record("\(command.0) refused"); return
                }
                contract = transition.contract
            }
            let goLive = try #require(contract.availableCommands(for: CommandScript.buyer, at: Self.start).first { $0.template == "/golive" })
            #expect(goLive.movesMoney == (chargeOn == .approval), "charge_on \(chargeOn)")
        }
    }
}
