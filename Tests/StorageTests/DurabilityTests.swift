import Foundation
import GRDB
import MilestoneCore
import Storage
import Testing

@Suite struct DurabilityTests {
    @Test func fileDatabaseRunsWALWithFullSynchronous() throws {
        let file = try TemporaryDatabaseFile()
        let db = try file.open()
        #expect(try db.journalMode() == "wal")
        #expect(try db.synchronousSetting() == 2, "PRAGMA synchronous must read back FULL (2)")
        // Still FULL after writes on the same writer connection.
        try db.createContract(Fixtures.newContract(), at: Fixtures.start)
        #expect(try db.synchronousSetting() == 2)
    }

    @Test func reopeningTheFileRestoresEverything() throws {
        let file = try TemporaryDatabaseFile()
        let before: (Contract?, [StoredMessage], [LedgerEntry], [Deadline])
        do {
            let db = try file.open()
            try db.createContract(Fixtures.newContract(milestones: [MilestoneDraft(amount: 50_000, description: "Design")]), at: Fixtures.start)
            try Fixtures.say(db, "Hi! Funding now.", by: Fixtures.buyer)
            try Fixtures.say(db, "/fund M1", by: Fixtures.buyer)
            try Fixtures.say(db, "/submit M1 done", by: Fixtures.freelancer)
            before = (try db.contract("c-1"), try db.fullTranscript(of: "c-1"), try db.ledgerEntries(of: "c-1"), try db.deadlines(of: "c-1"))
        }
        let reopened = try file.open()
        let contract = try #require(try reopened.contract("c-1"))
        #expect(contract == before.0)
        #expect(contract.milestones.first?.held == 50_000)
        #expect(try reopened.fullTranscript(of: "c-1") == before.1)
        #expect(try reopened.ledgerEntries(of: "c-1") == before.2)
        #expect(try reopened.deadlines(of: "c-1") == before.3)
        #expect(!before.3.isEmpty, "the review period and reminders are armed")
        #expect(try reopened.synchronousSetting() == 2)
    }

    @Test func aCommandCommitsAtomically() throws {
        let file = try TemporaryDatabaseFile()
        let db = try file.open()
        try db.createContract(Fixtures.newContract(milestones: [MilestoneDraft(amount: 50_000, description: "Design")]), at: Fixtures.start)
        let transcriptBefore = try db.fullTranscript(of: "c-1")
        let contractBefore = try db.contract("c-1")
        // Make the ledger write fail, after the line, the milestone and the system message were written.
        try db.writer.write { db in
            try db.execute(sql: "CREATE TRIGGER fail_ledger BEFORE INSERT ON ledger_entry BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
        }
        #expect(throws: (any Error).self) { try Fixtures.say(db, "/fund M1", by: Fixtures.buyer, id: "cmd-1") }
        #expect(try db.fullTranscript(of: "c-1") == transcriptBefore, "no message of the failed command remains")
        #expect(try db.contract("c-1") == contractBefore, "the milestone is still unfunded")
        #expect(try db.ledgerEntries(of: "c-1").isEmpty)
        // Nothing was logged as handled, so the same command id can run once the fault is gone.
        try db.writer.write { db in try db.execute(sql: "DROP TRIGGER fail_ledger") }
        let receipt = try Fixtures.say(db, "/fund M1", by: Fixtures.buyer, id: "cmd-1")
        #expect(receipt.isDuplicate == false)
        #expect(receipt.replies.map(\.body) == ["Buyer funded M1: $500.00 is now held."])
        #expect(try db.ledgerEntries(of: "c-1").map(\.posting) == [LedgerPosting(kind: .hold, milestone: MilestoneNumber(1), amount: 50_000)])
    }

    @Test func theSameCommandIDAppliesOnce() throws {
        let file = try TemporaryDatabaseFile()
        let db = try file.open()
        try db.createContract(Fixtures.newContract(milestones: [MilestoneDraft(amount: 50_000, description: "Design")]), at: Fixtures.start)
        let first = try Fixtures.say(db, "/fund M1", by: Fixtures.buyer, id: "fund-once")
        let second = try Fixtures.say(db, "/fund M1", by: Fixtures.buyer, at: Fixtures.start.addingTimeInterval(5), id: "fund-once")
        #expect(first.isDuplicate == false)
        #expect(second.isDuplicate)
        #expect(second.line == first.line)
        #expect(second.replies == first.replies)
        #expect(second.outcome == first.outcome)
        #expect(try db.ledgerEntries(of: "c-1").count == 1)
        #expect(try db.fullTranscript(of: "c-1").count == first.replies.last!.seq)
        // A different id is a new command: now rejected, as M1 is already funded.
        let third = try Fixtures.say(db, "/fund M1", by: Fixtures.buyer, id: "fund-again")
        guard case .rejected(let rejection) = third.outcome else { Issue.record("expected a rejection"); return }
        #expect(rejection.code == .wrongState)
        #expect(third.replies.count == 1 && third.replies[0].visibleTo == Fixtures.buyer.user)
        // Reusing an id from another user is refused, not replayed.
        #expect(throws: StorageError.self) { try Fixtures.say(db, "/submit M1", by: Fixtures.freelancer, id: "fund-once") }
    }

    @Test func aDeadlineFiresOnceAcrossRestarts() throws {
        let file = try TemporaryDatabaseFile()
        do {
            let db = try file.open()
            try db.createContract(Fixtures.newContract(milestones: [MilestoneDraft(amount: 50_000, description: "Design")]), at: Fixtures.start)
            try Fixtures.say(db, "/fund M1", by: Fixtures.buyer)
            try Fixtures.say(db, "/submit M1", by: Fixtures.freelancer)
        }
        let later = Fixtures.start.addingTimeInterval(15 * 86_400)
        do {
            let db = try file.open()
            // Back after the review period: the reminders are stale and say nothing; the auto-release happens once.
            #expect(try db.fireDueDeadlines(at: later) == 1)
        }
        let db = try file.open()
        #expect(try db.fireDueDeadlines(at: later.addingTimeInterval(86_400)) == 0)
        let contract = try #require(try db.contract("c-1"))
        #expect(contract.milestones[0].state == .released)
        let holds = try db.ledgerEntries(of: "c-1").map(\.posting.kind)
        #expect(holds == [.hold, .post])
        let released = try db.fullTranscript(of: "c-1").filter { $0.body.contains("review period for M1 passed") }
        #expect(released.count == 1)
    }
}

@Suite struct GroupCommitTests {
    /// Lines sent at once share transactions (group commit); a line that fails after its first writes rolls
    /// back alone, in its own savepoint, and every other line is stored, in order, with an intact chain.
    @Test func aLineThatFailsInsideABatchRollsBackAloneAndTheOthersAreStored() async throws {
        let file = try TemporaryDatabaseFile()
        let db = try file.open()
        try db.createContract(Fixtures.newContract(milestones: [MilestoneDraft(amount: 50_000, description: "Design")]), at: Fixtures.start)
        // The ledger write fails: `/fund` has by then written its line, the milestone and the bot's message.
        try await db.writer.write { db in
            try db.execute(sql: "CREATE TRIGGER fail_ledger BEFORE INSERT ON ledger_entry BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
        }
        let lines = (0..<40).map { $0 == 20 ? "/fund M1" : "line \($0)" }
        let outcomes = await withTaskGroup(of: (Int, Result<LineReceipt, any Error>).self) { group in
            for (index, text) in lines.enumerated() {
                group.addTask {
                    let request = LineRequest(commandID: CommandID("batch-\(index)"), thread: "c-1", author: Fixtures.buyer, text: text, receivedAt: Fixtures.start)
                    do { return (index, .success(try await db.handle(request))) } catch { return (index, .failure(error)) }
                }
            }
            var all: [Int: Result<LineReceipt, any Error>] = [:]
            for await (index, outcome) in group { all[index] = outcome }
            return all
        }
        for (index, outcome) in outcomes {
            switch outcome {
            case .success(let receipt): #expect(index != 20 && receipt.line.body == lines[index])
            case .failure: #expect(index == 20, "only the failing command is refused")
            }
        }
        let stored = try db.fullTranscript(of: "c-1").filter { $0.kind == .chat }.map(\.body)
        #expect(Set(stored) == Set(lines.filter { $0 != "/fund M1" }))
        #expect(try db.fullTranscript(of: "c-1").allSatisfy { $0.kind != .command }, "no trace of the failed command")
        #expect(try db.ledgerEntries(of: "c-1").isEmpty)
        let chain = try db.verify(thread: "c-1")
        #expect(chain.problem == nil, "the hash chain is intact: \(chain)")
    }
}
