import Foundation
import MilestoneCore
import Storage
import Testing

/// The same guarantees from both back ends: what SQLite does, PostgreSQL does, test for test.
@Suite struct TranscriptStoreTests {
    @Test(arguments: StoreKind.allCases)
    func aConversationWithMoneyIsStoredInOrderAndVerifies(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            let created = try await Stores.contract(store)
            #expect(created.milestones.count == 2)
            var seqs: [Int64] = []
            for (text, user) in [("Hi Bob \u{05D0} \u{1F600}", "alice"), ("/fund M1", "alice"), ("Starting now", "bob"), ("/submit M1 done", "bob"), ("/release M1", "alice")] {
                let receipt = try await store.appendLine(Stores.line(text, by: user))
                #expect(!receipt.isDuplicate)
                if text.hasPrefix("/") {
                    guard case .applied = receipt.outcome else { Issue.record("\(text): \(receipt.outcome)"); continue }
                    #expect(!receipt.replies.isEmpty, "the bot announces what \(text) did")
                }
                seqs.append(receipt.line.seq)
            }
            #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count)
            let all = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: Participant(user: "mia", role: .moderator))
            #expect(all.messages.map(\.seq) == Array(1...all.lastSeq), "gap-free from 1")
            #expect(all.messages.first { $0.body.hasPrefix("Hi Bob") }?.body == "Hi Bob \u{05D0} \u{1F600}", "text comes back byte for byte")
            let verdict = try await store.verifyChain(of: "c-1")
            #expect(verdict.isIntact && verdict.messages == Int(all.lastSeq), "\(verdict.summary)")
            #expect(verdict.headHash == all.messages.last?.hash)
            let contract = try #require(try await store.loadContract("c-1"))
            #expect(contract.milestone(MilestoneNumber(1))?.released == 50_000)
            let postings = try await store.ledgerPostings(of: "c-1")
            #expect(postings.map(\.kind) == [.hold, .post] && postings.allSatisfy { $0.amount == 50_000 }, "\(postings)")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aResentCommandIDGetsTheFirstReceiptAndChangesNothing(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            _ = try await Stores.contract(store, "c-2")
            let first = try await store.appendLine(Stores.line("/fund M1", by: "alice", id: "fund-once"))
            let again = try await store.appendLine(Stores.line("/fund M1", by: "alice", id: "fund-once"))
            #expect(again.isDuplicate && again.line.seq == first.line.seq && again.replies.map(\.seq) == first.replies.map(\.seq))
            #expect(try await store.ledgerPostings(of: "c-1").count == 1, "the money moved once")
            await #expect(throws: StorageError.commandIDReused("fund-once")) {
                try await store.appendLine(Stores.line("/fund M1", by: "alice", in: "c-2", id: "fund-once"))
            }
            await #expect(throws: StorageError.commandIDReused("fund-once")) {
                try await store.appendLine(Stores.line("/fund M1", by: "bob", id: "fund-once"))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRefusedCommandStaysBetweenItsSenderAndTheBot(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            let refused = try await store.appendLine(Stores.line("/release M1", by: "bob"))
            guard case .rejected = refused.outcome else { Issue.record("\(refused.outcome)"); return }
            #expect(refused.line.visibleTo == "bob" && refused.replies.allSatisfy { $0.visibleTo == "bob" && $0.kind == .notice })
            let alice = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: Participant(user: "alice", role: .buyer))
            #expect(!alice.messages.contains { $0.seq == refused.line.seq }, "the buyer does not see the freelancer's refusal")
            let mia = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: Participant(user: "mia", role: .moderator))
            #expect(mia.messages.contains { $0.seq == refused.line.seq }, "a moderator does")
            #expect(try await store.ledgerPostings(of: "c-1").isEmpty)
            // Someone claiming to be a party who is not stores nothing at all.
            let before = try await store.verifyChain(of: "c-1").messages
            await #expect(throws: StorageError.self) { try await store.appendLine(Stores.line("hello", by: "eve", as: .buyer)) }
            #expect(try await store.verifyChain(of: "c-1").messages == before)
        }
    }

    /// The heart of several writers: lines from many connections at once to one thread get 1, 2, 3 ... with
    /// no gap and no repeat, and the chain stays one line.
    @Test(arguments: StoreKind.allCases)
    func concurrentWritersKeepTheThreadGapFreeAndTheChainIntact(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            let before = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: Participant(user: "mia", role: .moderator)).lastSeq
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for line in 0..<25 {
                            _ = try await store.appendLine(Stores.line("writer \(writer) line \(line)", by: writer.isMultiple(of: 2) ? "alice" : "bob"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let all = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: Participant(user: "mia", role: .moderator))
            #expect(all.lastSeq == before + 200)
            #expect(all.messages.map(\.seq) == Array(1...all.lastSeq))
            for writer in 0..<8 {
                let mine = all.messages.filter { $0.body.hasPrefix("writer \(writer) ") }.map(\.body)
                #expect(mine == (0..<25).map { "writer \(writer) line \($0)" }, "each writer's lines in the order it sent them")
            }
            let verdict = try await store.verifyChain(of: "c-1")
            #expect(verdict.isIntact, "\(verdict.summary)")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func pagesAndCatchUpAgree(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            for index in 0..<30 { _ = try await store.appendLine(Stores.line("line \(index)", by: index.isMultiple(of: 3) ? "bob" : "alice")) }
            _ = try await store.appendLine(Stores.line("/status", by: "bob"))
            let alice = Participant(user: "alice", role: .buyer)
            let all = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: alice)
            var paged: [StoredMessage] = []
            var before: Int64?
            while true {
                let page = try await store.messagePage(in: "c-1", before: before, limit: 7, visibleTo: alice)
                paged = page.messages + paged
                guard page.hasMore, let first = page.messages.first else { break }
                before = first.seq
            }
            #expect(paged == all.messages, "paging back from the newest gives exactly what a catch-up from 0 gives")
            let limited = try await store.messages(in: "c-1", after: 10, limit: 5, visibleTo: alice)
            #expect(limited.messages.map(\.seq) == Array(all.messages.filter { $0.seq > 10 }.prefix(5)).map(\.seq))
            await #expect(throws: StorageError.unknownContract("nope")) {
                try await store.messages(in: "nope", after: 0, limit: nil, visibleTo: alice)
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aContractIsCreatedOnceWithItsChecks(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            await #expect(throws: StorageError.contractExists("c-1")) { try await Stores.contract(store) }
            await #expect(throws: StorageError.self) {
                try await store.newContract(NewContract(id: "c-\u{202E}x", title: "t", currency: .usd, buyer: "alice", freelancer: "bob",
                    policy: Stores.presets["indeelancer"]!), at: Date())
            }
            #expect(try await store.loadContract("c-\u{202E}x") == nil)
        }
    }
}

/// Deadlines: armed with the command that starts them, fired once with what they do, whoever races for them.
@Suite struct DeadlineStoreTests {
    @Test(arguments: StoreKind.allCases)
    func aReviewPeriodReleasesOnceEvenWhenFourCallersRaceForIt(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            _ = try await store.appendLine(Stores.line("/fund M1", by: "alice"))
            _ = try await store.appendLine(Stores.line("/submit M1 the logo files", by: "bob"))
            let armed = try await store.armedDeadlines(of: "c-1")
            #expect(!armed.isEmpty, "submitting starts the review period")
            #expect(try await store.fireNextDue(at: Date(timeIntervalSince1970: 1_800_000_200)) == nil, "nothing is due yet")
            let later = (armed.map(\.at).max() ?? Date()).addingTimeInterval(1)
            let fired = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var count = 0
                        while let (transition, _) = try await store.fireNextDue(at: later) {
                            if !transition.isEmpty { count += 1 }
                        }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(fired >= 1)
            #expect(try await store.armedDeadlines(of: "c-1").isEmpty, "every due deadline fired and was removed")
            let contract = try #require(try await store.loadContract("c-1"))
            #expect(contract.milestone(MilestoneNumber(1))?.released == 50_000, "released automatically")
            let postings = try await store.ledgerPostings(of: "c-1")
            #expect(postings.filter { $0.kind == .post }.count == 1, "the money moved once: \(postings)")
            let verdict = try await store.verifyChain(of: "c-1")
            #expect(verdict.isIntact, "\(verdict.summary)")
            let events = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: Participant(user: "mia", role: .moderator)).messages.compactMap(\.event)
            #expect(events.filter { $0 == "milestone_released" }.count == 1, "announced once: \(events)")
        }
    }
}

/// A dispute's case is kept after it closes, with how: the same rows from both stores.
@Suite struct CaseStoreTests {
    @Test(arguments: StoreKind.allCases)
    func aDisputeIsKeptAfterItIsRuledOnWithTheRulingAndTheStatements(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            for (text, user) in [("/fund M1", "alice"), ("/submit M1 the logo", "bob"), ("/dispute M1 the colours are wrong", "alice"),
                                 ("/evidence M1 they match the brief we signed", "bob"), ("/resolve M1 split 200 half of it was right", "mia")] {
                let receipt = try await store.appendLine(Stores.line(text, by: user))
                guard case .applied = receipt.outcome else { Issue.record("\(text): \(receipt.outcome)"); return }
            }
            let cases = try await store.caseHistory(of: "c-1", about: .milestone(MilestoneNumber(1)))
            #expect(cases.count == 1)
            let record = try #require(cases.first)
            #expect(record.raisedBy == .buyer && record.reason == "the colours are wrong" && record.closedAt != nil)
            #expect(record.closedBy == "dispute_resolved" && record.released == 20_000 && record.refunded == 30_000, "\(record)")
            #expect(record.resolution?.contains("$200.00") == true, "\(String(describing: record.resolution))")
            #expect(record.file?.statements.map(\.text).contains("they match the brief we signed") == true, "the response is kept with the case")
            #expect(try await store.caseHistory(of: "c-1", about: .contract).isEmpty)
            #expect(try await store.verifyChain(of: "c-1").isIntact)
        }
    }
}

/// Many writers across several threads at once (PostgreSQL writes them in batches that lock several heads):
/// every thread stays gap-free and intact, and a line that fails takes no other line with it.
@Suite struct ManyThreadsStoreTests {
    @Test(arguments: StoreKind.allCases)
    func writersAcrossThreadsNeverDeadlockAndAFailingLineFailsAlone(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            let threads = ["t-1", "t-2", "t-3", "t-4"]
            for thread in threads { _ = try await Stores.contract(store, thread) }
            let refused = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        var refused = 0
                        for line in 0..<20 {
                            // Each writer walks the threads in its own order, so batches mix them every way.
                            let thread = threads[(writer + line * (writer % 3 + 1)) % threads.count]
                            if line % 7 == 3 {
                                do {
                                    _ = try await store.appendLine(Stores.line("not a party", by: "eve", as: .buyer, in: thread))
                                } catch { refused += 1 }
                            } else {
                                _ = try await store.appendLine(Stores.line("w\(writer) l\(line)", by: line.isMultiple(of: 2) ? "alice" : "bob", in: thread))
                            }
                        }
                        return refused
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(refused == 16 * 3, "every line from a non-party refused, and only those")
            var stored = 0
            for thread in threads {
                let all = try await store.messages(in: ContractID(thread), after: 0, limit: nil, visibleTo: Participant(user: "mia", role: .moderator))
                #expect(all.messages.map(\.seq) == Array(1...all.lastSeq), "\(thread) gap-free")
                #expect(!all.messages.contains { $0.body == "not a party" })
                stored += all.messages.filter { $0.body.hasPrefix("w") }.count
                let verdict = try await store.verifyChain(of: ContractID(thread))
                #expect(verdict.isIntact, "\(verdict.summary)")
            }
            #expect(stored == 16 * 17)
        }
    }
}

/// Read markers: forward only, never past the head, the newest per party.
@Suite struct ReadMarkerStoreTests {
    @Test(arguments: StoreKind.allCases)
    func markersMoveOnlyForwardAndNeverPastTheHead(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            _ = try await Stores.contract(store)
            for index in 0..<4 { _ = try await store.appendLine(Stores.line("line \(index)", by: "alice")) }
            let head = try await store.messages(in: "c-1", after: 0, limit: nil, visibleTo: Participant(user: "bob", role: .freelancer)).lastSeq
            let at = Date(timeIntervalSince1970: 1_800_000_300)
            #expect(try await store.markRead("c-1", user: "bob", through: head - 1, at: at)?.seq == head - 1)
            #expect(try await store.markRead("c-1", user: "bob", through: 2, at: at) == nil, "never backward")
            #expect(try await store.markRead("c-1", user: "bob", through: head - 1, at: at) == nil, "nor to where it is")
            await #expect(throws: StorageError.self) { try await store.markRead("c-1", user: "bob", through: head + 1, at: at) }
            #expect(try await store.markRead("c-1", user: "alice", through: head, at: at)?.seq == head)
            #expect(try await store.markRead("c-1", user: "bob", through: head, at: at.addingTimeInterval(5))?.seq == head)
            let markers = try await store.readMarkers(in: "c-1")
            #expect(markers.map(\.user.rawValue) == ["alice", "bob"] && markers.allSatisfy { $0.seq == head })
            #expect(markers.last?.at == at.addingTimeInterval(5))
        }
    }
}

/// Lines to a party who is away: one `message.created` per batch, once the oldest is old enough.
@Suite struct UnreadStoreTests {
    @Test(arguments: StoreKind.allCases)
    func anAbsentPartyIsToldOncePerBatchWithTheUnreadCount(kind: StoreKind) async throws {
        try await Stores.with(kind, recordsNotifications: true) { store in
            _ = try await Stores.contract(store, milestones: [])
            let start = Date(timeIntervalSince1970: 1_800_000_100)
            for (index, text) in ["Hi Bob", "Are you there?", "Ping \u{05D0}"].enumerated() {
                _ = try await store.appendLine(Stores.line(text, by: "alice", at: start.addingTimeInterval(Double(index))))
            }
            let again = try await store.tellUnread(in: "c-1", connected: ["alice"], window: 60, at: start.addingTimeInterval(10))
            #expect(again == start.addingTimeInterval(60), "the batch waits for the window: \(String(describing: again))")
            #expect(try await store.claimNotifications(for: "n", at: start.addingTimeInterval(10), lease: 30, limit: 10).isEmpty)
            #expect(try await store.tellUnread(in: "c-1", connected: ["alice"], window: 60, at: start.addingTimeInterval(61)) == nil)
            #expect(try await store.tellUnread(in: "c-1", connected: ["alice"], window: 60, at: start.addingTimeInterval(62)) == nil, "told once")
            let told = try await store.claimNotifications(for: "n", at: start.addingTimeInterval(62), lease: 30, limit: 10)
            #expect(told.count == 1)
            let first = try #require(told.first)
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(first.payload.utf8)) as? [String: Any])
            #expect(payload["type"] as? String == "message.created" && payload["to"] as? [String: String] == ["user": "bob", "role": "freelancer"])
            #expect(payload["unread"] as? Int == 3 && payload["batch"] as? Int == 3 && payload["from"] as? [String] == ["alice"])
            #expect(payload["preview"] as? String == "Ping \u{05D0}")
            // Bob reads two of them and goes away again; one more line: the next event counts what he has not read.
            _ = try await store.markRead("c-1", user: "bob", through: 3, at: start.addingTimeInterval(70))
            _ = try await store.appendLine(Stores.line("Last call", by: "alice", at: start.addingTimeInterval(80)))
            _ = try await store.tellUnread(in: "c-1", connected: [], window: 60, at: start.addingTimeInterval(141))
            for item in told { try await store.markDelivered(item, by: "n", at: start.addingTimeInterval(142)) }
            let next = try await store.claimNotifications(for: "n", at: start.addingTimeInterval(142), lease: 30, limit: 10)
            let following = try #require(next.first)
            let second = try #require(try JSONSerialization.jsonObject(with: Data(following.payload.utf8)) as? [String: Any])
            #expect(second["batch"] as? Int == 1 && second["unread"] as? Int == 2, "\(second)")
        }
    }
}

/// The moderators' queue: the same open disputes, in the same order, from both stores.
@Suite struct DisputeQueueStoreTests {
    @Test(arguments: StoreKind.allCases)
    func openDisputesAreQueuedOldestFirstAndLeaveOnceRuled(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            var at = Date(timeIntervalSince1970: 1_800_000_100)
            func say(_ text: String, _ user: String, in thread: String) async throws {
                at = at.addingTimeInterval(60)
                let receipt = try await store.appendLine(Stores.line(text, by: user, in: thread, at: at))
                if text.hasPrefix("/"), case .applied = receipt.outcome {} else if text.hasPrefix("/") { Issue.record("\(text): \(receipt.outcome)") }
            }
            for thread in ["q-1", "q-2"] { _ = try await Stores.contract(store, thread) }
            try await say("/fund M1", "alice", in: "q-2")
            try await say("/submit M1 done", "bob", in: "q-2")
            try await say("/dispute M1 it is late", "alice", in: "q-2")
            try await say("/fund M2", "alice", in: "q-1")
            try await say("/submit M2 done", "bob", in: "q-1")
            try await say("I did what we agreed", "bob", in: "q-1")
            try await say("/dispute M2 missing pages", "alice", in: "q-1")
            let now = at.addingTimeInterval(3_600)
            let queue = try await store.disputeQueue(at: now, minimumAge: 0, minimumHeld: 0, currency: nil)
            #expect(queue.map(\.contract.rawValue) == ["q-2", "q-1"], "oldest first")
            #expect(queue.map { $0.milestone?.rawValue } == [1, 2])
            #expect(queue.last?.held.minorUnits == 125_050 && queue.last?.raisedByUser == "alice" && queue.last?.reason == "missing pages")
            #expect(queue.last?.otherSideLastSpoke != nil && queue.first?.otherSideLastSpoke != nil, "the freelancer spoke in both")
            #expect(try await store.disputeQueue(at: now, minimumAge: 0, minimumHeld: 100_000, currency: nil).map(\.contract.rawValue) == ["q-1"])
            #expect(try await store.disputeQueue(at: now, minimumAge: 0, minimumHeld: 0, currency: .eur).isEmpty)
            try await say("/resolve M1 refund it was late", "mia", in: "q-2")
            #expect(try await store.disputeQueue(at: now, minimumAge: 0, minimumHeld: 0, currency: nil).map(\.contract.rawValue) == ["q-1"])
        }
    }
}

/// The thread list: most recently active first, with a preview and what the user has not read.
@Suite struct ThreadListStoreTests {
    @Test(arguments: StoreKind.allCases)
    func threadsComeByActivityWithAPreviewAndTheUnreadCount(kind: StoreKind) async throws {
        try await Stores.with(kind) { store in
            for thread in ["l-1", "l-2"] { _ = try await Stores.contract(store, thread) }
            let start = Date(timeIntervalSince1970: 1_800_000_100)
            _ = try await store.appendLine(Stores.line("first thread, older", by: "alice", in: "l-1", at: start.addingTimeInterval(10)))
            _ = try await store.appendLine(Stores.line("second thread \u{05D0}", by: "alice", in: "l-2", at: start.addingTimeInterval(20)))
            _ = try await store.appendLine(Stores.line("and again", by: "alice", in: "l-2", at: start.addingTimeInterval(30)))
            _ = try await store.appendLine(Stores.line("/status", by: "bob", in: "l-1", at: start.addingTimeInterval(40)))
            let bob = try await store.threadList(for: "bob", role: .freelancer)
            #expect(bob.map(\.id.rawValue) == ["l-2", "l-1"], "the private /status does not count as activity others see")
            #expect(bob.first?.preview == "and again" && bob.first?.unread == 2 && bob.last?.unread == 1)
            let head = try await store.messages(in: "l-2", after: 0, limit: nil, visibleTo: Participant(user: "bob", role: .freelancer)).lastSeq
            _ = try await store.markRead("l-2", user: "bob", through: head, at: start.addingTimeInterval(50))
            #expect(try await store.threadList(for: "bob", role: .freelancer).first?.unread == 0)
            let mia = try await store.threadList(for: "mia", role: .moderator)
            #expect(mia.count == 2 && mia.allSatisfy { $0.unread == 0 })
            #expect(try await store.threadList(for: "eve", role: .buyer).isEmpty)
        }
    }
}

/// The record a moderator exports: the same from both stores, field for field (but the ledger's row ids).
@Suite struct ExportStoreTests {
    @Test func bothStoresExportTheSameRecordOfTheSameConversation() async throws {
        let lines: [(String, String)] = [("Hi", "alice"), ("/fund M1", "alice"), ("/release M1", "bob"), ("/submit M1 done", "bob"),
                                         ("/status", "alice"), ("/release M1", "alice"), ("thanks", "bob")]
        let now = Date(timeIntervalSince1970: 1_800_000_900)
        var exports: [TranscriptExport] = []
        for kind in StoreKind.allCases {
            exports.append(try await Stores.with(kind) { store in
                _ = try await Stores.contract(store)
                for (index, (text, user)) in lines.enumerated() {
                    _ = try await store.appendLine(Stores.line(text, by: user, id: "line-\(index)", at: Date(timeIntervalSince1970: 1_800_000_100 + Double(index))))
                }
                return try await store.exportTranscript("c-1", for: Participant(user: "mia", role: .moderator), at: now)
            })
        }
        let (sqlite, postgres) = (exports[0], exports[1])
        #expect(sqlite.entries == postgres.entries, "the same messages, hashes and outcomes")
        #expect(sqlite.entries.contains { $0.outcome?.hasPrefix("rejected") == true } && sqlite.entries.contains { $0.outcome == "answered privately" })
        #expect(sqlite.timelines == postgres.timelines && sqlite.balances == postgres.balances && sqlite.contract == postgres.contract)
        #expect(sqlite.ledger.map(\.posting) == postgres.ledger.map(\.posting) && sqlite.ledger.map(\.messageSeq) == postgres.ledger.map(\.messageSeq))
        #expect(sqlite.verification == postgres.verification && sqlite.verification.isIntact)
        let bob = try await Stores.with(.postgres) { store in
            _ = try await Stores.contract(store)
            _ = try await store.appendLine(Stores.line("/status", by: "alice"))
            return try await store.exportTranscript("c-1", for: Participant(user: "bob", role: .freelancer), at: now)
        }
        #expect(!bob.entries.contains { $0.message.visibleTo == "alice" }, "a party's export leaves out the other party's private lines")
    }
}
