import ChatServer
import Foundation
import MilestoneCore
import Storage
import Testing

/// `GET /api/contracts/{id}/transcript` on a busy thread: every message exactly once, in order, with
/// outcomes, the ledger and the chain's head; JSON, text, and HTML that escapes what people typed and that
/// a real browser renders with a row per message. Parties get their own view only.
@Suite struct TranscriptExportTests {
    struct Document: Decodable {
        var thread: String
        var viewer: String
        var viewerRole: String
        var messages: [Entry]
        var ledger: [LedgerRow]
        var balances: [String: Int64]
        var headHash: String
        var chainIntact: Bool
        var chainProblem: String?

        enum CodingKeys: String, CodingKey {
            case thread, viewer, viewerRole = "viewer_role", messages, ledger, balances, headHash = "head_hash",
                chainIntact = "chain_intact", chainProblem = "chain_problem"
        }
    }

    struct Entry: Decodable {
        var message: WireMessage
        var visibleTo: String?
        var outcome: String?
        enum CodingKeys: String, CodingKey { case message, visibleTo = "visible_to", outcome }
    }

    struct LedgerRow: Decodable {
        var id: Int64
        var milestone: String
        var kind: String
        var amount: Int64
        var messageSeq: Int64
        enum CodingKeys: String, CodingKey { case id, milestone, kind, amount, messageSeq = "message_seq" }
    }

    static let alice = Participant(user: "alice", role: .buyer)
    static let bob = Participant(user: "bob", role: .freelancer)
    static let mia = Participant(user: "mia", role: .moderator)
    static let script = "<script>alert(1)</script>"

    /// Fills `c-1` with at least `count` messages straight through the database (no WebSocket round trips):
    /// chat, commands that apply, commands refused, private answers, a moderator's note and ruling.
    /// Returns each line's outcome by its seq.
    static func fill(_ server: TestServer, upTo count: Int64) async throws -> [Int64: LineOutcome] {
        var outcomes: [Int64: LineOutcome] = [:]
        var lastSeq: Int64 = 0
        var index = 0
        func line(_ index: Int) -> (String, Participant) {
            switch index {
            case 10: ("/fund M1", alice)
            case 20: ("/submit M1 first version", bob)
            case 30: ("/release M1", alice)
            case 40: ("/fund M2", alice)
            case 50: ("/dispute M2 it is late", alice)
            case 55: ("Let me look at this. Both of you, please stay in the thread.", mia)
            case 60: ("/fund M3", alice)
            case 75: (script, bob)
            case 80: ("/submit M3 done", bob)
            case 90: ("/revise M3 make it bigger", alice)
            case 100: ("/resolve M2 split 50 half of it arrived", mia)
            case 110: ("Fish & chips \"quoted\" 'single' <b>bold</b>", alice)
            case let i where i % 37 == 0: ("/release M1", bob)        // refused: only the buyer releases
            case let i where i % 41 == 0: ("/help", alice)            // answered privately
            case let i where i % 43 == 0: ("/status", bob)            // answered privately
            case let i where i % 47 == 0: ("/fund M99", alice)        // refused: no such milestone
            case let i where i % 53 == 0: ("/resolve M3 release x", bob) // refused: not a moderator
            case let i where i.isMultiple(of: 2): ("Line \(i) from the buyer: how is it going?", alice)
            case let i: ("Line \(i) from the freelancer: going well, multi\nline too.", bob)
            }
        }
        while lastSeq < count {
            let (text, who) = line(index)
            server.clock.advance(by: 1)
            let receipt = try await server.database.handle(LineRequest(
                commandID: CommandID("line-\(index)"), thread: "c-1", author: who, text: text, clientMessageID: "line-\(index)",
                receivedAt: server.clock.now))
            outcomes[receipt.line.seq] = receipt.outcome
            if [10, 20, 30, 40, 50, 60, 80, 90, 100].contains(index) {
                guard case .applied = receipt.outcome else {
                    Issue.record("\(text) did not apply: \(receipt.outcome)")
                    return outcomes
                }
            }
            lastSeq = receipt.replies.last?.seq ?? receipt.line.seq
            index += 1
        }
        return outcomes
    }

    static func get(_ server: TestServer, _ path: String, as user: String, role: String = "user") async throws -> (String, Int) {
        try await AccessTests.get("\(server.baseURL)\(path)", token: try await server.token(user, role: role))
    }

    static func occurrences(of needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    @Test func aBusyThreadExportsCompletelyInEveryFormat() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [
                MilestoneDraft(amount: 10_000, description: "Sketches"),
                MilestoneDraft(amount: 20_000, description: "Design"),
                MilestoneDraft(amount: 30_000, description: "Build"),
            ])
            let outcomes = try await Self.fill(server, upTo: 1_000)
            let stored = try server.database.fullTranscript(of: "c-1")
            let count = Int64(stored.count)
            #expect(count >= 1_000)
            #expect(stored.map(\.seq) == Array(1...count))
            #expect(stored.contains { $0.kind == .note } && stored.contains { $0.isPrivate } && stored.contains { $0.kind == .system })

            // JSON: every message once, in order, private ones marked, commands with their outcome.
            let (json, status) = try await Self.get(server, "/api/contracts/c-1/transcript?format=json", as: "mia", role: "moderator")
            #expect(status == 200)
            let document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
            #expect(document.thread == "c-1" && document.viewer == "mia" && document.viewerRole == "moderator")
            #expect(document.messages.map(\.message.seq) == Array(1...count))
            for (entry, message) in zip(document.messages, stored) {
                #expect(entry.message.text == message.body && entry.message.kind == message.kind.rawValue && entry.message.hash == message.hash, "#\(message.seq)")
                #expect(entry.message.private == message.isPrivate, "#\(message.seq)")
                #expect(entry.visibleTo == message.visibleTo?.rawValue, "#\(message.seq)")
                if message.kind == .command {
                    let outcome = try #require(entry.outcome, "#\(message.seq) \(message.body) has no outcome")
                    switch outcomes[message.seq] {
                    case .applied: #expect(outcome.hasPrefix("applied: "), "#\(message.seq): \(outcome)")
                    case .rejected(let rejection): #expect(outcome.hasPrefix("rejected (\(rejection.code.rawValue)): "), "#\(message.seq): \(outcome)")
                    case .answered: #expect(outcome == "answered privately", "#\(message.seq): \(outcome)")
                    case .chat, nil: Issue.record("#\(message.seq) is a command without a recorded outcome")
                    }
                } else {
                    #expect(entry.outcome == nil, "#\(message.seq)")
                }
            }
            #expect(document.messages.filter(\.message.private).count == stored.filter(\.isPrivate).count)
            #expect(document.messages.contains { $0.outcome?.hasPrefix("rejected") == true })
            #expect(document.messages.contains { $0.outcome == "answered privately" })
            // The ledger and balances.
            let entries = try server.database.ledgerEntries(of: "c-1")
            #expect(!entries.isEmpty)
            #expect(document.ledger.map(\.id) == entries.map(\.id))
            #expect(document.ledger.map(\.messageSeq) == entries.map(\.messageSeq))
            #expect(document.ledger.map(\.amount) == entries.map(\.posting.amount))
            let ledger = try server.database.ledger(of: "c-1")
            #expect(document.balances == Dictionary(uniqueKeysWithValues: ledger.balances.map { ($0.key.description, $0.value) }))
            #expect(document.balances["freelancer"] == Int64(10_000 + 5_000), "the release of M1 and the split of M2")
            #expect(document.balances.values.reduce(0, +) == 0)
            // The chain.
            #expect(document.chainIntact && document.chainProblem == nil)
            #expect(document.headHash == stored.last?.hash)
            #expect(document.headHash == (try server.database.verify(thread: "c-1").headHash))

            // Text: every message's line, once.
            let (text, textStatus) = try await Self.get(server, "/api/contracts/c-1/transcript?format=text", as: "mia", role: "moderator")
            #expect(textStatus == 200)
            let numbered = text.split(separator: "\n").filter { $0.hasPrefix("#") }.compactMap { Int64($0.dropFirst().prefix { $0 != " " }) }
            #expect(numbered == Array(1...count), "a `#seq` line per message, in order")
            #expect(text.contains("Head hash: \(document.headHash)"))
            #expect(text.contains(Self.script), "plain text is not escaped")

            // HTML: a row per message, what people typed escaped.
            let (html, htmlStatus) = try await Self.get(server, "/api/contracts/c-1/transcript?format=html", as: "mia", role: "moderator")
            #expect(htmlStatus == 200)
            #expect(Self.occurrences(of: "<tr class=\"msg", in: html) == Int(count))
            for seq in 1...count { #expect(html.contains("id=\"m\(seq)\""), "#\(seq)") }
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!html.contains("<script>alert"))
            #expect(!html.contains("<b>bold</b>"))
            #expect(html.contains("Fish &amp; chips &quot;quoted&quot; &#39;single&#39; &lt;b&gt;bold&lt;/b&gt;"))
            #expect(html.contains(document.headHash))

            // A real browser renders a row for every message, and runs no script from the chat.
            try Self.render(html, expectRows: Int(count))
        }
    }

    /// Opens the page in headless Chromium and checks the DOM it built.
    static func render(_ html: String, expectRows rows: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard let dom = try dom(html, sourceLocation: sourceLocation) else { return }
        #expect(Self.occurrences(of: "<tr class=\"msg", in: dom) == rows, "a row per message in the browser's DOM", sourceLocation: sourceLocation)
        #expect(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the chat line is text in the DOM", sourceLocation: sourceLocation)
        #expect(!dom.contains("<script"), "no script element was created", sourceLocation: sourceLocation)
    }

    /// The DOM headless Chromium builds from `html`, serialized (`--dump-dom`); nil (with an issue recorded)
    /// when Chromium is missing or fails.
    static func dom(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
        guard let chromium = Self.executable(named: ["chromium", "chromium-browser"]) else {
            Issue.record("chromium is not on PATH: install it (apt-get install -y chromium) to check the HTML export in a browser", sourceLocation: sourceLocation)
            return nil
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("transcript-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let page = folder.appendingPathComponent("transcript.html")
        try html.write(to: page, atomically: true, encoding: .utf8)
        let dump = folder.appendingPathComponent("dom.html")
        let log = folder.appendingPathComponent("chromium.log")
        _ = FileManager.default.createFile(atPath: dump.path, contents: nil)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let out = try FileHandle(forWritingTo: dump)
        let err = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = chromium
        process.arguments = [
            "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--dump-dom", page.absoluteString,
        ]
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Issue.record("chromium did not finish within 60 s", sourceLocation: sourceLocation)
            return nil
        }
        try out.close()
        try err.close()
        let dom = try String(contentsOf: dump, encoding: .utf8)
        guard process.terminationStatus == 0, !dom.isEmpty else {
            Issue.record("chromium exited \(process.terminationStatus): \((try? String(contentsOf: log, encoding: .utf8)) ?? "")", sourceLocation: sourceLocation)
            return nil
        }
        return dom
    }

    static func executable(named names: [String]) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            for name in names {
                let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        return nil
    }

    @Test func partiesExportOnlyTheirOwnViewOfTheirOwnContracts() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 10_000, description: "Sketches")])
            try server.contract("c-2", buyer: "carol", freelancer: "dave")
            let lines: [(String, Participant)] = [
                ("Hello Bob.", Self.alice),
                ("/help", Self.alice),                       // private to alice
                ("/release M1", Self.bob),                    // refused: private to bob
                ("/fund M1", Self.alice),
                ("/status", Self.bob),                        // private to bob
                ("/fund M7", Self.alice),                     // refused: private to alice
                ("I am watching this thread.", Self.mia),
            ]
            for (index, (text, who)) in lines.enumerated() {
                _ = try await server.database.handle(LineRequest(commandID: CommandID("l-\(index)"), thread: "c-1", author: who, text: text, receivedAt: server.clock.now))
            }
            let stored = try server.database.fullTranscript(of: "c-1")
            let alicePrivate = stored.filter { $0.visibleTo == "alice" }
            let bobPrivate = stored.filter { $0.visibleTo == "bob" }
            #expect(alicePrivate.count == 4 && bobPrivate.count == 4)

            for (user, own, other) in [("alice", alicePrivate, bobPrivate), ("bob", bobPrivate, alicePrivate)] {
                let (json, status) = try await Self.get(server, "/api/contracts/c-1/transcript", as: user)
                #expect(status == 200, "\(user): \(json)")
                let document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
                let seqs = Set(document.messages.map(\.message.seq))
                #expect(seqs.isSuperset(of: own.map(\.seq)), "\(user) sees their own private notices")
                #expect(seqs.isDisjoint(with: other.map(\.seq)), "\(user) does not see the other party's")
                #expect(seqs == Set(stored.filter { $0.visibleTo == nil || $0.visibleTo?.rawValue == user }.map(\.seq)))
                #expect(document.viewerRole == (user == "alice" ? "buyer" : "freelancer"))
                // The same in text and HTML: none of the other party's private lines.
                for format in ["text", "html"] {
                    let (body, formatStatus) = try await Self.get(server, "/api/contracts/c-1/transcript?format=\(format)", as: user)
                    #expect(formatStatus == 200)
                    for message in other where message.kind == .notice {
                        let needle = format == "html" ? "id=\"m\(message.seq)\"" : "#\(message.seq) "
                        #expect(!body.contains(needle), "\(user) \(format) has #\(message.seq)")
                    }
                    for message in own {
                        let needle = format == "html" ? "id=\"m\(message.seq)\"" : "#\(message.seq) "
                        #expect(body.contains(needle), "\(user) \(format) lacks #\(message.seq)")
                    }
                }
                // Another contract's transcript is not theirs to read.
                let (foreign, foreignStatus) = try await Self.get(server, "/api/contracts/c-2/transcript", as: user)
                #expect(foreignStatus == 403 && foreign.contains("not_member"), "\(user): \(foreign)")
            }
            // The moderator sees everything.
            let (json, _) = try await Self.get(server, "/api/contracts/c-1/transcript", as: "mia", role: "moderator")
            let document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
            #expect(document.messages.map(\.message.seq) == stored.map(\.seq))
            #expect(document.messages.filter { $0.visibleTo != nil }.count == 8)
            let (other, otherStatus) = try await Self.get(server, "/api/contracts/c-2/transcript?format=html", as: "mia", role: "moderator")
            #expect(otherStatus == 200 && other.contains("<tr class=\"msg"))
            // Unknown contracts, unknown formats, no token.
            #expect(try await Self.get(server, "/api/contracts/nope/transcript", as: "mia", role: "moderator").1 == 404)
            #expect(try await Self.get(server, "/api/contracts/c-1/transcript?format=pdf", as: "mia", role: "moderator").1 == 400)
            #expect(try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/transcript").1 == 401)
        }
    }
}
