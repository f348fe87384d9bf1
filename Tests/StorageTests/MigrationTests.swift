import Foundation
import GRDB
import MilestoneCore
@testable import Storage
import Testing

/// A database written by the previous release (schema v3: the thread's head on the contract row, a unique
/// index on client message ids) opens under the current schema with every thread intact and continuing.
@Suite struct MigrationTests {
    @Test func aVersion3DatabaseKeepsItsHeadsAndItsChainsContinue() throws {
        let file = try TemporaryDatabaseFile()
        let old = try DatabaseQueue(path: file.path, configuration: AppDatabase.configuration)
        try AppDatabase.migrator.migrate(old, upTo: "v3: payment processor")
        var lastHash = TranscriptChain.genesis
        try old.write { db in
            let policy = try JSON.string(Fixtures.presets["indeelancer"]!)
            for (index, thread) in ["c-1", "c-2"].enumerated() {
                var head = TranscriptChain.genesis
                let count = index + 2
                for seq in 1...Int64(count) {
                    let body = "line \(seq) of \(thread)"
                    let canonical = TranscriptChain.canonical(
                        thread: ContractID(thread), seq: seq, author: Fixtures.buyer.user, authorRole: .buyer, kind: .chat,
                        visibleTo: nil, body: body, clientMessageID: "m-\(seq)", event: nil, milestone: nil, createdAt: 1_000)
                    let hash = TranscriptChain.hash(prev: head, canonical: canonical)
                    if seq == 1 {
                        try db.execute(sql: """
                            INSERT INTO contract (id, title, currency, buyer_id, freelancer_id, preset, policy, phase, reviews, last_seq, head_hash, created_at)
                            VALUES (?, 'Old contract', 'USD', ?, ?, 'indeelancer', ?, 'live', '[]', 0, ?, 1000)
                            """, arguments: [thread, Fixtures.buyer.user.rawValue, Fixtures.freelancer.user.rawValue, policy, TranscriptChain.genesis])
                    }
                    try db.execute(sql: """
                        INSERT INTO message (thread_id, seq, author_id, author_role, kind, body, client_message_id, created_at, prev_hash, hash)
                        VALUES (?, ?, ?, 'buyer', 'chat', ?, ?, 1000, ?, ?)
                        """, arguments: [thread, seq, Fixtures.buyer.user.rawValue, body, "m-\(seq)", head, hash])
                    try db.execute(sql: """
                        INSERT INTO command_log (command_id, contract_id, user_id, outcome, first_seq, last_seq, created_at)
                        VALUES (?, ?, ?, '{"chat":{}}', ?, ?, 1000)
                        """, arguments: ["\(Fixtures.buyer.user.rawValue)/\(thread)/m-\(seq)", thread, Fixtures.buyer.user.rawValue, seq, seq])
                    head = hash
                }
                try db.execute(sql: "UPDATE contract SET last_seq = ?, head_hash = ? WHERE id = ?", arguments: [count, head, thread])
                if thread == "c-1" { lastHash = head }
            }
        }
        try old.close()

        let db = try file.open()
        #expect(try db.verifyAll().map(\.problem) == [nil, nil])
        #expect(try db.verify(thread: "c-1").headHash == lastHash)
        #expect(try db.catchUp(in: "c-2", after: 0, visibleTo: Fixtures.buyer).lastSeq == 3)
        #expect(try db.contracts(for: Fixtures.buyer.user, role: .buyer).map(\.lastSeq).sorted() == [2, 3])
        // What was in the threads before the upgrade is not "unread" (an upgrade must not tell the platform
        // that everyone has thousands of unread lines): counts start after it.
        #expect(try db.contracts(for: Fixtures.freelancer.user, role: .freelancer).map(\.unread) == [0, 0])
        // The chain goes on from the migrated head.
        let receipt = try Fixtures.say(db, "after the upgrade", by: Fixtures.freelancer)
        #expect(try db.contracts(for: Fixtures.buyer.user, role: .buyer).map(\.unread).sorted() == [0, 1], "a line after the upgrade counts")
        #expect(receipt.line.seq == 3 && receipt.line.prevHash == lastHash)
        #expect(try db.verify(thread: "c-1").problem == nil)
        // The idempotency log came along: a line sent before the upgrade, sent again, is a duplicate.
        let resent = try db.handle(LineRequest(commandID: CommandID("\(Fixtures.buyer.user.rawValue)/c-2/m-2"), thread: "c-2",
            author: Fixtures.buyer, text: "line 2 of c-2", clientMessageID: "m-2", receivedAt: Fixtures.start))
        #expect(resent.isDuplicate && resent.line.seq == 2)
        #expect(try db.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM command_log") } == 6)
        // The head left the contract row; only the indexes queries use are left.
        let columns = try db.writer.read { try $0.columns(in: "contract").map(\.name) }
        #expect(!columns.contains("last_seq") && !columns.contains("head_hash"))
        #expect(try db.writer.read { try $0.indexes(on: "message").map(\.name) }.filter { !$0.hasPrefix("sqlite_") } == [])
        #expect(try db.writer.read { try $0.indexes(on: "milestone").map(\.name) }.filter { !$0.hasPrefix("sqlite_") } == ["milestone_disputed"])
    }

    /// Deleting a thread's head record is caught like cutting the end of its transcript.
    @Test func aMissingHeadRecordIsReportedAsTruncation() throws {
        let file = try TemporaryDatabaseFile()
        let db = try file.open()
        try db.createContract(Fixtures.newContract(), at: Fixtures.start)
        try Fixtures.say(db, "hello", by: Fixtures.buyer)
        try db.writer.write { try $0.execute(sql: "DELETE FROM thread_head WHERE thread_id = 'c-1'") }
        let result = try db.verify(thread: "c-1")
        #expect(result.problem == .truncated, "\(result.summary)")
        #expect(result.detail?.contains("head record is missing") == true)
    }
}
