import Crypto
import Foundation
import GRDB
import MilestoneCore
@testable import Storage
import Testing

/// The transcript's hash chain on a real SQLite file: an untouched database verifies; changing a byte,
/// removing a row, cutting the end or swapping rows is caught and the first bad message is named — by the
/// library and by the `milestone-bot verify` command.
@Suite struct TamperEvidenceTests {
    static let marker = "MARKER-7f3a"

    /// A database file with two contracts; `c-1` has a few dozen messages of every kind, one chat line
    /// carrying `marker`. Returns the seq of that line and the thread's last seq.
    static func busyThread(in file: TemporaryDatabaseFile) throws -> (db: AppDatabase, markerSeq: Int64, lastSeq: Int64) {
        let db = try file.open()
        try db.createContract(Fixtures.newContract(milestones: [
            MilestoneDraft(amount: 50_000, description: "Design"),
            MilestoneDraft(amount: 30_000, description: "Build"),
        ]), at: Fixtures.start)
        try db.createContract(Fixtures.newContract("c-2"), at: Fixtures.start)
        try Fixtures.say(db, "Other thread, untouched.", by: Fixtures.buyer, in: "c-2")

        let script: [(String, Participant)] = [
            ("Hi! Let's get started.", Fixtures.buyer),
            ("Great, fund M1 and I begin.", Fixtures.freelancer),
            ("/release M1", Fixtures.freelancer),          // refused: a private notice
            ("/help", Fixtures.buyer),                      // answered privately
            ("/fund M1", Fixtures.buyer),                   // applied: system message + ledger
            ("Funded.", Fixtures.buyer),
            ("/status", Fixtures.freelancer),
            ("Working on it, the draft is coming along.", Fixtures.freelancer),
            ("Here is the reference: \(marker) please keep it.", Fixtures.buyer),
            ("/fund M9", Fixtures.buyer),                   // refused: unknown milestone
            ("/submit M1 first draft attached", Fixtures.freelancer),
            ("Looks good overall.", Fixtures.buyer),
            ("/revise M1 bigger logo please", Fixtures.buyer),
            ("On it.", Fixtures.freelancer),
            ("/submit M1 bigger logo", Fixtures.freelancer),
            ("/release M1", Fixtures.buyer),
            ("Thanks! Paid.", Fixtures.buyer),
            ("/fund M2", Fixtures.buyer),
            ("/milestone add abc broken", Fixtures.buyer), // refused: bad amount
            ("Starting the build.", Fixtures.freelancer),
            ("Any update?", Fixtures.buyer),
            ("Tomorrow.", Fixtures.freelancer),
            ("Please read the thread, both of you.", Fixtures.moderator), // a moderator's note
            ("/dispute M2 the build never arrived", Fixtures.buyer),
            ("It is almost done!", Fixtures.freelancer),
            ("/resolve M2 split 100 part of the work was delivered", Fixtures.moderator),
            ("OK, thanks.", Fixtures.buyer),
            ("Bye.", Fixtures.freelancer),
        ]
        var markerSeq: Int64 = 0
        for (index, (text, who)) in script.enumerated() {
            let receipt = try Fixtures.say(db, text, by: who, at: Fixtures.start.addingTimeInterval(Double(index + 1) * 60))
            if text.contains(marker) { markerSeq = receipt.line.seq }
        }
        let transcript = try db.fullTranscript(of: "c-1")
        let kinds = Set(transcript.map(\.kind))
        #expect(kinds == Set(MessageKind.allCases), "the thread has every kind of message: \(kinds)")
        #expect(transcript.contains { $0.isPrivate })
        #expect(transcript.count >= 36, "a few dozen messages: \(transcript.count)")
        #expect(try db.ledger(of: "c-1").total == 0)
        return (db, markerSeq, try #require(transcript.last?.seq))
    }

    /// The chain's encoding never changes: these hashes were computed by `Benchmarks/fill_database.py`, an
    /// independent implementation of the same canonical encoding (a stored transcript must verify forever).
    @Test func theCanonicalEncodingIsStable() {
        let genesis = String(repeating: "0", count: 64)
        let chat = TranscriptChain.canonical(thread: "c-1", seq: 7, author: "buyer-1", authorRole: .buyer, kind: .chat, visibleTo: nil,
            body: "héllo \"world\" 😀", clientMessageID: "m-7", event: nil, milestone: nil, createdAt: 1_800_000_000_123)
        #expect(TranscriptChain.hash(prev: genesis, canonical: chat) == "6fd000fc6c2d8c31bb3a7b3ee54abef97c179aec7c92c69f0c33ec5d1e5fd94b")
        let system = TranscriptChain.canonical(thread: "c-1", seq: 8, author: nil, authorRole: nil, kind: .system, visibleTo: "freelancer-1",
            body: "M1 funded", clientMessageID: nil, event: "milestone_funded", milestone: MilestoneNumber(1), createdAt: 1_800_000_000_124)
        #expect(TranscriptChain.hash(prev: genesis, canonical: system) == "532e4a7e2a7523781c9693e21c190b936dca1be41b1bf0bc08d0134b4bca5b07")
    }

    /// PROTOCOL.md's worked example (*The hash chain*), byte for byte: computed there from the documented rules
    /// alone (Python's hashlib), so the document and the code cannot drift apart.
    @Test func theDocumentsWorkedExampleIsWhatTheServerHashes() throws {
        let genesis = String(repeating: "0", count: 64)
        let funded = TranscriptChain.canonical(thread: "demo", seq: 1, author: nil, authorRole: nil, kind: .system, visibleTo: nil,
            body: "Buyer funded M1: $500.00 is now held.", clientMessageID: nil, event: "milestone_funded", milestone: MilestoneNumber(1),
            createdAt: 1_800_000_000_042)
        #expect(String(decoding: funded, as: UTF8.self) == "4:demo;1:1;-;-;6:system;-;37:Buyer funded M1: $500.00 is now held.;-;16:milestone_funded;1:1;13:1800000000042;")
        let first = TranscriptChain.hash(prev: genesis, canonical: funded)
        #expect(first == "646d94b96c5bc0daf2720320fa690086ab6e19b812f1e350be6559c92c2f5691")
        let file = try #require(FileID("09e7ec4a4da43c371f7e20befbd7d2dc3f500c05a72939fa9a3a5b862a022dc4"))
        #expect(SHA256.hash(data: Data("logo v2\n".utf8)).map { String(format: "%02x", $0) }.joined() == file.rawValue)
        let submitted = TranscriptChain.canonical(thread: "demo", seq: 2, author: "bob", authorRole: .freelancer, kind: .command, visibleTo: nil,
            body: "/submit M1 final files ✓", clientMessageID: "b-7", event: nil, milestone: nil, createdAt: 1_800_000_000_123, files: [file])
        #expect(String(decoding: submitted, as: UTF8.self)
            == "4:demo;1:2;3:bob;10:freelancer;7:command;-;26:/submit M1 final files ✓;3:b-7;-;-;13:1800000000123;64:\(file.rawValue);")
        #expect(TranscriptChain.hash(prev: first, canonical: submitted) == "42401f864347e8dd4d0446b0a3e0c832c911946e67c24dc6d098a4e77217ab72")
    }

    @Test func anUntouchedDatabaseVerifies() throws {
        let file = try TemporaryDatabaseFile()
        let (db, _, lastSeq) = try Self.busyThread(in: file)
        let result = try db.verify(thread: "c-1")
        #expect(result.isIntact, "\(result.summary)")
        #expect(result.problem == nil && result.seq == nil)
        #expect(result.messages == Int(lastSeq))
        #expect(result.headHash == (try db.fullTranscript(of: "c-1").last?.hash))
        let all = try db.verifyAll()
        #expect(all.map(\.thread) == ["c-1", "c-2"])
        #expect(all.allSatisfy { $0.isIntact }, "\(all.map(\.summary))")
        // Still intact after closing and reopening the file.
        let reopened = try file.open()
        #expect(try reopened.verifyAll().allSatisfy { $0.isIntact })
    }

    @Test func changingOneByteOfTheFileIsCaughtAsAltered() throws {
        let file = try TemporaryDatabaseFile()
        let markerSeq: Int64
        do {
            let (db, seq, _) = try Self.busyThread(in: file)
            markerSeq = seq
            #expect(try db.verify(thread: "c-1").isIntact)
            try db.writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } // the database closes here

        // Everything is in the main file: no write-ahead log is left to override the change.
        let wal = (try? FileManager.default.attributesOfItem(atPath: file.path + "-wal")[.size] as? Int) ?? 0
        #expect(wal == 0, "the WAL was checkpointed")

        // Flip one letter of the marker in the file's bytes: `MARKER-7f3a` becomes `MARKER-7f3b`.
        let url = URL(fileURLWithPath: file.path)
        var bytes = [UInt8](try Data(contentsOf: url))
        let needle = Array(Self.marker.utf8)
        var found: [Int] = []
        var index = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], Array(bytes[index..<(index + needle.count)]) == needle { found.append(index) }
            index += 1
        }
        // The marker is stored once (no stale copy in free page space), so exactly one byte changes.
        let offset = try #require(found.count == 1 ? found.first : nil, "the marker is in the database file exactly once: \(found.count)")
        #expect(bytes[offset + needle.count - 1] == UInt8(ascii: "a"))
        bytes[offset + needle.count - 1] = UInt8(ascii: "b")
        try Data(bytes).write(to: url)

        let db = try file.open()
        let stored = try #require(try db.fullTranscript(of: "c-1").first { $0.seq == markerSeq })
        #expect(stored.body.contains("MARKER-7f3b"), "the change reached the stored body")
        let result = try db.verify(thread: "c-1")
        #expect(result.problem == .altered, "\(result.summary)")
        #expect(result.seq == markerSeq)
        #expect(result.summary.contains("message \(markerSeq)"))
        let all = try db.verifyAll()
        #expect(all.first { $0.thread == "c-1" }?.problem == .altered)
        #expect(all.first { $0.thread == "c-2" }?.isIntact == true, "the other thread is unaffected")
    }

    @Test func deletingAMessageIsCaughtAsMissing() throws {
        let file = try TemporaryDatabaseFile()
        let (db, markerSeq, _) = try Self.busyThread(in: file)
        try db.writer.write { try $0.execute(sql: "DELETE FROM message WHERE thread_id = ? AND seq = ?", arguments: ["c-1", markerSeq]) }
        let result = try db.verify(thread: "c-1")
        #expect(result.problem == .missing, "\(result.summary)")
        #expect(result.seq == markerSeq)
        #expect(try db.verify(thread: "c-2").isIntact)
    }

    @Test func deletingTheLastMessageIsCaughtAsTruncated() throws {
        let file = try TemporaryDatabaseFile()
        let (db, _, lastSeq) = try Self.busyThread(in: file)
        try db.writer.write { try $0.execute(sql: "DELETE FROM message WHERE thread_id = ? AND seq = ?", arguments: ["c-1", lastSeq]) }
        let result = try db.verify(thread: "c-1")
        #expect(result.problem == .truncated, "\(result.summary)")
        #expect(result.seq == lastSeq)
        #expect(result.messages == Int(lastSeq) - 1)
    }

    @Test func swappingTwoBodiesIsCaughtAtTheFirstOfThem() throws {
        let file = try TemporaryDatabaseFile()
        let (db, markerSeq, lastSeq) = try Self.busyThread(in: file)
        let (a, b) = (markerSeq, lastSeq - 2)
        try #require(a < b)
        try db.writer.write { db in
            let bodyA = try String.fetchOne(db, sql: "SELECT body FROM message WHERE thread_id = 'c-1' AND seq = ?", arguments: [a])
            let bodyB = try String.fetchOne(db, sql: "SELECT body FROM message WHERE thread_id = 'c-1' AND seq = ?", arguments: [b])
            try db.execute(sql: "UPDATE message SET body = ? WHERE thread_id = 'c-1' AND seq = ?", arguments: [bodyB, a])
            try db.execute(sql: "UPDATE message SET body = ? WHERE thread_id = 'c-1' AND seq = ?", arguments: [bodyA, b])
        }
        let swapped = try db.fullTranscript(of: "c-1")
        #expect(swapped.first { $0.seq == b }?.body.contains(Self.marker) == true, "the bodies really were swapped")
        let result = try db.verify(thread: "c-1")
        #expect(result.problem == .altered, "\(result.summary)")
        #expect(result.seq == a)
    }

    @Test func swappingTwoSequenceNumbersIsCaughtAtTheFirstOfThem() throws {
        let file = try TemporaryDatabaseFile()
        let (db, markerSeq, lastSeq) = try Self.busyThread(in: file)
        let (a, b) = (markerSeq, markerSeq + 5)
        try #require(b < lastSeq)
        try db.writer.write { db in
            let temporary: Int64 = 1_000_000
            try db.execute(sql: "UPDATE message SET seq = ? WHERE thread_id = 'c-1' AND seq = ?", arguments: [temporary, a])
            try db.execute(sql: "UPDATE message SET seq = ? WHERE thread_id = 'c-1' AND seq = ?", arguments: [a, b])
            try db.execute(sql: "UPDATE message SET seq = ? WHERE thread_id = 'c-1' AND seq = ?", arguments: [b, temporary])
        }
        #expect(try db.fullTranscript(of: "c-1").map(\.seq) == Array(1...lastSeq), "no gap: only the order changed")
        let result = try db.verify(thread: "c-1")
        #expect(result.problem == .altered || result.problem == .reordered, "\(result.summary)")
        #expect(result.seq == a)
    }

    @Test func theVerifyCommandExitsZeroWhenIntactAndOneWhenTampered() throws {
        let binary = Self.packageRoot.appendingPathComponent(".build/debug/milestone-bot")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("\(binary.path) is missing: run `swift build` first")
            return
        }
        let file = try TemporaryDatabaseFile()
        let markerSeq: Int64
        do {
            let (db, seq, _) = try Self.busyThread(in: file)
            markerSeq = seq
            try db.writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }

        let clean = try Self.run(binary, ["verify", "--database", file.path])
        #expect(clean.status == 0, "\(clean.output)")
        #expect(clean.output.contains("c-1: intact"), "\(clean.output)")
        #expect(clean.output.contains("2 intact, 0 broken"), "\(clean.output)")

        do {
            let db = try file.open()
            try db.writer.write { try $0.execute(sql: "UPDATE message SET body = body || '!' WHERE thread_id = 'c-1' AND seq = ?", arguments: [markerSeq]) }
            try db.writer.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }
        let tampered = try Self.run(binary, ["verify", "--database", file.path])
        #expect(tampered.status == 1, "\(tampered.output)")
        #expect(tampered.output.contains("c-1: altered at message \(markerSeq)"), "\(tampered.output)")
        #expect(tampered.output.contains("1 intact, 1 broken"), "\(tampered.output)")

        let one = try Self.run(binary, ["verify", "--database", file.path, "--thread", "c-2"])
        #expect(one.status == 0, "only the untouched thread: \(one.output)")
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs a program; returns its exit status and what it wrote to stdout and stderr.
    static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("verify-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
    }
}
