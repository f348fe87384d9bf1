import CommandScripts
import Foundation
import GRDB
@testable import MilestoneCore
@testable import Storage
import Testing

/// The hand-written row reading and writing of contracts, milestones and ledger entries against the
/// Codable records they replaced: over random scripts of every preset, both read the same values and the
/// rows written are exactly the rows the records would have written.
@Suite struct RowCodingTests {
    @Test func handWrittenRowsMatchTheCodableRecords() async throws {
        await Fixtures.forRandomScripts(count: 80, steps: 60) { preset, seeds in try Self.run(preset: preset, seeds: seeds) }
    }

    static func run(preset: String, seeds: [Int]) throws {
        let db = try AppDatabase.inMemory()
        try db.createContract(Fixtures.newContract(preset: preset, milestones: [MilestoneDraft(amount: 5_000, description: "first")]), at: Fixtures.start)
        var now = Fixtures.start
        for (index, seed) in seeds.enumerated() {
            switch CommandScript.step(seed) {
            case .advance(let hours):
                now = now.addingTimeInterval(TimeInterval(hours) * 3600)
                try db.fireDueDeadlines(at: now)
            case .line(let text, let who):
                _ = try? db.handle(LineRequest(commandID: CommandID("cmd-\(index)"), thread: "c-1", author: who, text: text, receivedAt: now))
            }
            try db.writer.read { db in try Self.compare(db, after: "\(preset) step \(index)") }
        }
    }

    /// Both paths agree on what is stored now.
    static func compare(_ db: Database, after step: String) throws {
        let loaded = try AppDatabase.loadContract(db, "c-1")
        let record = try #require(try ContractRecord.fetchOne(db, key: "c-1"))
        let milestoneRecords = try MilestoneRecord.filter(Column("contract_id") == "c-1").order(Column("number")).fetchAll(db)
        let reference = try record.contract(milestones: milestoneRecords)
        #expect(loaded == reference, "\(step): the contract reads differently")
        // What the records would write for the contract now is what is stored.
        let rewritten = try ContractRecord(reference, createdAt: Date(milliseconds: record.createdAt))
        #expect(rewritten.phase == record.phase && rewritten.endRequest == record.endRequest && rewritten.reviews == record.reviews, "\(step): contract row")
        #expect(try reference.milestones.map { try MilestoneRecord($0, contract: "c-1") } == milestoneRecords, "\(step): milestone rows")
        let entries = try AppDatabase.ledgerEntries(db, "c-1")
        let referenceEntries = try LedgerEntryRecord.filter(Column("contract_id") == "c-1").order(Column("id")).fetchAll(db).map { try $0.entry() }
        #expect(entries == referenceEntries, "\(step): ledger entries read differently")
    }

    @Test func storedJSONIsWhatJSONWrites() throws {
        let at = Date(milliseconds: 1_800_000_123_456)
        var states: [MilestoneState] = [
            .agreed, .funded, .released, .refunded, .split, .cancelled,
            .submitted(.init(at: at, note: nil, reviewEnds: nil)), .submitted(.init(at: at, note: "files \"here\"", reviewEnds: at)),
            .revisionRequested(feedback: "more contrast"), .disputed(.init(raisedBy: .freelancer, reason: "late", at: at)),
        ]
        for awaiting in Role.allCases { for requested in [false, true] { states.append(.proposed(awaiting: awaiting, requested: requested)) } }
        for state in states {
            let text = try JSON.string(state)
            #expect(try StoredJSON.string(state) == text)
            #expect(try StoredJSON.state(decoding: text) == state)
            #expect(try StoredJSON.state(decoding: text) == JSON.decode(MilestoneState.self, text))
        }
        for reviews in [[], [Contract.Review(by: .buyer, stars: 4, text: "good", at: at)]] as [[Contract.Review]] {
            let text = try JSON.string(reviews)
            #expect(try StoredJSON.string(reviews) == text)
            #expect(try StoredJSON.reviews(decoding: text) == reviews)
        }
        let outcomes: [LineOutcome] = [.chat, .answered, .applied(events: []), .applied(events: ["milestone_funded"]),
            .applied(events: ["milestone_released", "contract_completed"]), .rejected(Rejection(.wrongState, "no"))]
        for outcome in outcomes {
            // Twice: the first encodes, the second may come from the cache.
            #expect(try StoredJSON.string(outcome) == JSON.string(outcome))
            #expect(try StoredJSON.string(outcome) == JSON.string(outcome))
        }
    }
}
