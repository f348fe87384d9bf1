import CommandScripts
import Foundation
import MilestoneCore
import Storage
import Testing

/// Random scripts through the real storage: it must agree with the in-memory reference after every step,
/// and a rejected command must add exactly the line and a private notice, nothing else.
@Suite struct StoragePropertyTests {
    @Test func storageAgreesWithTheCoreAndRejectionsChangeNothing() async throws {
        await Fixtures.forRandomScripts(count: 150, steps: 50) { preset, seeds in try Self.run(preset: preset, seeds: seeds) }
    }

    static func run(preset: String, seeds: [Int]) throws {
        let db = try AppDatabase.inMemory()
        let (contract, _) = try db.createContract(Fixtures.newContract(preset: preset), at: Fixtures.start)
        var sim = SimulatedContract(contract: contract, now: Fixtures.start)
        for (index, seed) in seeds.enumerated() {
            let step = CommandScript.step(seed)
            let transcriptBefore = try db.fullTranscript(of: "c-1")
            let ledgerBefore = try db.ledgerEntries(of: "c-1")
            let deadlinesBefore = try db.deadlines(of: "c-1")
            let expected = try sim.run(step)
            switch step {
            case .advance:
                try db.fireDueDeadlines(at: sim.now)
            case .line(let text, let who):
                let request = LineRequest(commandID: CommandID("cmd-\(index)"), thread: "c-1", author: who, text: text, receivedAt: sim.now)
                if who == CommandScripts.CommandScript.stranger {
                    #expect(throws: StorageError.self) { try db.handle(request) }
                    continue
                }
                let receipt = try db.handle(request)
                if case .rejected = expected {
                    guard case .rejected = receipt.outcome else {
                        Issue.record("\(preset) \(step): storage did not reject")
                        return
                    }
                    let transcript = try db.fullTranscript(of: "c-1")
                    #expect(transcript.count == transcriptBefore.count + 2)
                    #expect(transcript.last?.kind == .notice && transcript.last?.visibleTo == who.user)
                    #expect(try db.ledgerEntries(of: "c-1") == ledgerBefore)
                    #expect(try db.deadlines(of: "c-1") == deadlinesBefore)
                }
            }
            let stored = try db.contract("c-1")
            #expect(stored == sim.contract, "\(preset) after \(step): storage and core disagree")
            let storedLedger = try db.ledger(of: "c-1")
            #expect(storedLedger.balances == sim.ledger.balances, "\(preset) after \(step): ledger balances differ")
            #expect(Set(try db.deadlines(of: "c-1").map(\.kind)) == Set(sim.deadlines.keys))
            if stored != sim.contract { return }
        }
    }
}
