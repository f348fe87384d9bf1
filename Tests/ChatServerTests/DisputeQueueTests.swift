import ChatServer
import Foundation
import MilestoneCore
import Storage
import Testing

/// The moderators' side of disputes, on the real server with real WebSocket clients: a dispute raised in any
/// preset's thread shows up in `GET /api/disputes` with what a moderator needs to triage it; rulings typed in
/// the thread or posted to the API settle the ledger and are announced to both parties.
@Suite struct DisputeQueueTests {
    /// One contract per preset, each with a dispute on M1.
    struct Case {
        var preset: String
        var thread: String
        /// M1's amount, in cents; the dispute holds all of it.
        var amount: Int64
        var raisedBy: Role
        var reason: String
        /// Has a second milestone that is funded but not disputed (not for sequential orders).
        var fundsSecond: Bool
    }

    static let second: Int64 = 20_000

    static let cases: [Case] = [
        Case(preset: "indeelancer", thread: "d-indeelancer", amount: 50_000, raisedBy: .buyer, reason: "the logo files are empty", fundsSecond: true),
        Case(preset: "freelancer-com", thread: "d-freelancer-com", amount: 10_000, raisedBy: .freelancer, reason: "the buyer will not release finished work", fundsSecond: true),
        Case(preset: "fiverr", thread: "d-fiverr", amount: 25_000, raisedBy: .buyer, reason: "nothing was delivered", fundsSecond: false),
        Case(preset: "whitelabel", thread: "d-whitelabel", amount: 80_000, raisedBy: .freelancer, reason: "the customer keeps adding scope", fundsSecond: true),
        Case(preset: "skillscoop", thread: "d-skillscoop", amount: 5_000, raisedBy: .buyer, reason: "the copy is plagiarised", fundsSecond: true),
    ]

    struct Queue: Decodable {
        var disputes: [Item]
    }

    struct Item: Decodable {
        var thread: String
        var title: String
        var preset: String
        var about: String
        var milestone: String?
        var description: String
        var held: Int64
        var heldText: String
        var currency: String
        var raisedBy: String
        var raisedByUser: String
        var reason: String
        var openedAt: String
        var openSeconds: Int
        var otherSideLastSpoke: String?
        var status: String
        var respondBy: String?
        var noResponse: Bool
        var statements: [Statement]
        var assignee: String?
        var resolvedAt: String?
        var resolution: String?

        struct Statement: Decodable {
            var by: String
            var text: String
            var at: String
        }

        enum CodingKeys: String, CodingKey {
            case thread, title, preset, about, milestone, description, held, heldText = "held_text", currency, raisedBy = "raised_by",
                raisedByUser = "raised_by_user", reason, openedAt = "opened_at", openSeconds = "open_seconds",
                otherSideLastSpoke = "other_side_last_spoke", status, respondBy = "respond_by", noResponse = "no_response", statements, assignee,
                resolvedAt = "resolved_at", resolution
        }
    }

    /// `GET /api/contracts/:id/cases/:about`, as documented.
    struct CaseFileBody: Decodable {
        var thread: String
        var about: String
        var milestone: String?
        var status: String
        var raisedBy: String
        var reason: String
        var respondent: String
        var respondBy: String?
        var respondedAt: String?
        var noResponse: Bool
        var waitingSeconds: Int?
        var assignee: String?
        var statements: [Item.Statement]
        var held: Int64
        var resolvedAt: String?
        var resolution: String?
        var timeline: [Entry]
        var ledger: [Line]
        var earlier: [Earlier]

        struct Entry: Decodable { var seq: Int64; var at: String; var event: String?; var text: String; var seen_by: [Seen] }
        struct Seen: Decodable { var user: String; var role: String; var at: String }
        struct Line: Decodable { var kind: String; var amount: Int64; var amount_text: String; var at: String; var seq: Int64; var processor_ref: String? }
        struct Earlier: Decodable { var opened_at: String; var raised_by: String; var reason: String; var resolved_at: String?; var resolution: String? }

        enum CodingKeys: String, CodingKey {
            case thread, about, milestone, status, raisedBy = "raised_by", reason, respondent, respondBy = "respond_by", respondedAt = "responded_at",
                noResponse = "no_response", waitingSeconds = "waiting_seconds", assignee, statements, held, resolvedAt = "resolved_at", resolution,
                timeline, ledger, earlier
        }
    }

    /// The case file of a milestone's dispute while it is open and after the parties settled it, with an
    /// earlier dispute on the same milestone kept in `earlier`; moderators only.
    @Test func aMilestonesCaseFileShowsTheClaimTheResponseTheTimelineAndTheLedger() async throws {
        try await TestServer.with { server in
            try server.contract("k-1", preset: "indeelancer", milestones: [MilestoneDraft(amount: 50_000, description: "Checkout")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice", lifetime: 86_400))
            let bob = try await TestClient.connect(server, token: try await server.token("bob", lifetime: 86_400))
            for client in [alice, bob] { _ = try await client.join("k-1") }
            let token = try await server.token("mia", role: "moderator")
            try await Self.applied(alice, "/fund M1", in: "k-1")
            let delivery = try await Self.applied(bob, "/submit M1", in: "k-1")
            // The buyer's page shows the delivery: "the buyer read the delivery on ..." is in the case file.
            try await alice.send(.read(thread: ContractID("k-1"), seq: delivery + 1))
            _ = try await bob.next { if case .read = $0 { true } else { false } }
            try await Self.applied(alice, "/dispute M1 the checkout crashes", in: "k-1")
            try await Self.applied(bob, "/offer M1 release 400", in: "k-1")
            try await Self.applied(alice, "/offer decline M1", in: "k-1")
            let (waitingBody, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/k-1/cases/M1", token: token)
            let waiting = try Self.decode(CaseFileBody.self, waitingBody)
            #expect(waiting.status == "awaiting_response" && waiting.respondent == "freelancer" && waiting.respondedAt == nil)
            #expect(waiting.waitingSeconds != nil && waiting.held == 50_000 && waiting.resolution == nil)
            #expect(waiting.ledger.map(\.kind) == ["hold"])
            try await Self.applied(bob, "/evidence M1 it works in every browser we support: drive/checkout-v2", in: "k-1")
            try await Self.applied(alice, "/offer M1 release 300", in: "k-1")
            try await Self.applied(bob, "/offer accept M1", in: "k-1")

            let (body, status) = try await AccessTests.get("\(server.baseURL)/api/contracts/k-1/cases/M1", token: token)
            #expect(status == 200, "\(body)")
            let file = try Self.decode(CaseFileBody.self, body)
            #expect(file.status == "resolved" && file.milestone == "M1" && file.raisedBy == "buyer" && file.reason == "the checkout crashes")
            #expect(file.statements.map(\.by) == ["buyer", "freelancer"] && file.respondedAt != nil && file.waitingSeconds == nil)
            #expect(file.resolution?.hasPrefix("Freelancer accepted the offer on M1: $300.00 released to the freelancer and $200.00 refunded to the buyer") == true, "\(String(describing: file.resolution))")
            let events = file.timeline.compactMap(\.event)
            for event in ["milestone_funded", "work_submitted", "dispute_opened", "response_requested", "offer_made", "offer_declined", "evidence_added", "offer_accepted"] {
                #expect(events.contains(event), "timeline lacks \(event): \(events)")
            }
            let submitted = try #require(file.timeline.first { $0.event == "work_submitted" })
            #expect(submitted.seen_by.map(\.user) == ["alice"] && submitted.seen_by.first?.role == "buyer", "\(submitted.seen_by)")
            #expect(file.timeline.first { $0.event == "offer_accepted" }?.seen_by.isEmpty == true, "nobody marked the last lines read")
            #expect(file.ledger.map(\.kind) == ["hold", "post", "void"] && file.ledger.map(\.amount) == [50_000, 30_000, 20_000])
            #expect(file.held == 0 && file.earlier.isEmpty)
            let resolved = try await Self.queue(server, "?status=resolved")
            #expect(resolved.map(\.thread) == ["k-1"] && resolved.first?.milestone == "M1")

            // Parties cannot read case files; an unknown subject is a clear 404.
            let (_, partyStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/k-1/cases/M1", token: try await server.token("alice"))
            #expect(partyStatus == 403)
            let (unknown, unknownStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/k-1/cases/M9", token: token)
            #expect(unknownStatus == 404 && unknown.contains("unknown_case"), "\(unknown)")
            let (none, noneStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/k-1/cases/contract", token: token)
            #expect(noneStatus == 404 && none.contains("no_case"), "\(none)")
            for client in [alice, bob] { await client.close() }
        }
    }

    struct Ruling: Decodable {
        var thread: String
        var seq: Int64
        var outcome: String
        var duplicate: Bool
        var replies: [WireMessage]
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(body.utf8))
    }

    static func date(_ text: String) throws -> Date {
        try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    static func queue(_ server: TestServer, _ query: String = "", sourceLocation: SourceLocation = #_sourceLocation) async throws -> [Item] {
        let token = try await server.token("mia", role: "moderator")
        let (body, status) = try await AccessTests.get("\(server.baseURL)/api/disputes\(query)", token: token)
        #expect(status == 200, "GET /api/disputes\(query): \(body)", sourceLocation: sourceLocation)
        return try decode(Queue.self, body).disputes
    }

    /// Sends a command and expects it to apply; on a refusal, records the bot's private answer.
    @discardableResult
    static func applied(_ client: TestClient, _ line: String, in thread: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int64 {
        let reply = try await client.say(line, in: thread)
        guard case .ack(let ack) = reply else {
            Issue.record("\(line) in \(thread): \(reply)", sourceLocation: sourceLocation)
            return -1
        }
        if ack.outcome != "applied" {
            let answer = try? await client.next(timeout: 2) { if case .notice(let m) = $0, m.thread == thread, m.seq > ack.seq { true } else { false } }
            Issue.record("\(line) in \(thread) was \(ack.outcome): \(String(describing: answer))", sourceLocation: sourceLocation)
        }
        return ack.seq
    }

    static func chat(_ client: TestClient, _ line: String, in thread: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reply = try await client.say(line, in: thread)
        guard case .ack(let ack) = reply, ack.outcome == "chat" else {
            Issue.record("\(line) in \(thread): \(reply)", sourceLocation: sourceLocation)
            return
        }
    }

    /// Waits until `client` received the public system message `text` in `thread`.
    static func receives(_ client: TestClient, _ text: String, in thread: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        do {
            _ = try await client.next(timeout: 5) {
                if case .message(let m) = $0, m.thread == thread, m.kind == "system", m.author == nil, m.text == text { true } else { false }
            }
        } catch {
            Issue.record("did not receive \"\(text)\" in \(thread): \(error); have \(client.transcript(thread).map(\.text))", sourceLocation: sourceLocation)
        }
    }

    /// Balances after M1's dispute gave `toFreelancer` of its money to the freelancer and the rest back.
    static func expectSettled(_ server: TestServer, _ item: Case, toFreelancer: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ledger = try server.database.ledger(of: ContractID(item.thread))
        let second = item.fundsSecond ? Self.second : 0
        #expect(ledger.total == 0, "\(item.thread)", sourceLocation: sourceLocation)
        #expect(ledger.balance(.held(MilestoneNumber(1))) == 0, "\(item.thread): nothing held for M1", sourceLocation: sourceLocation)
        #expect(ledger.openHolds[MilestoneNumber(1)] == nil && ledger.resolvedHolds.contains(MilestoneNumber(1)), "\(item.thread)", sourceLocation: sourceLocation)
        #expect(ledger.balance(.held(MilestoneNumber(2))) == second, "\(item.thread): M2 untouched", sourceLocation: sourceLocation)
        #expect(ledger.balance(.freelancer) == toFreelancer, "\(item.thread)", sourceLocation: sourceLocation)
        #expect(ledger.balance(.buyer) == -(item.amount + second) + (item.amount - toFreelancer), "\(item.thread)", sourceLocation: sourceLocation)
    }

    static func resolve(_ server: TestServer, _ thread: String, json: String, token: String? = nil) async throws -> (String, Int) {
        var bearer = token
        if bearer == nil { bearer = try await server.token("mia", role: "moderator") }
        return try await AccessTests.post("\(server.baseURL)/api/contracts/\(thread)/resolve", token: bearer, json: json)
    }

    /// How one preset's dispute is settled, and what the bot then says.
    struct RulingCase {
        var viaThread: Bool
        var ruling: String
        var amount: String?
        /// For a split: the freelancer's part.
        var split: Int64?

        func toFreelancer(_ held: Int64) -> Int64 {
            switch ruling {
            case "release": held
            case "refund": 0
            default: split!
            }
        }

        func announcement(_ held: Int64) -> String {
            let paid = Money(minorUnits: toFreelancer(held), currency: .usd)
            let returned = Money(minorUnits: held - toFreelancer(held), currency: .usd)
            let outcome = switch ruling {
            case "release": "\(paid) released to the freelancer"
            case "refund": "\(returned) refunded to the buyer"
            default: "\(paid) released to the freelancer and \(returned) refunded to the buyer"
            }
            return "Moderator resolved the dispute on M1: \(outcome). Note: half done"
        }
    }

    /// SkillScoop: "If declined ... either party can submit a Dispute Assistance Form", with nothing funded:
    /// a dispute about the contract reaches the moderators' queue (about: contract, milestone null, every field
    /// present), a minimum amount leaves it out, and the moderator's ruling closes it.
    @Test func aDisputeAboutTheContractReachesTheQueueAndIsRuledOn() async throws {
        try await TestServer.with { server in
            try server.contract("s-1", preset: "skillscoop", milestones: [MilestoneDraft(amount: 40_000, description: "Research")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice", lifetime: 86_400))
            let bob = try await TestClient.connect(server, token: try await server.token("bob", lifetime: 86_400))
            let mia = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator", lifetime: 86_400))
            for client in [alice, bob, mia] { _ = try await client.join("s-1") }
            try await Self.applied(alice, "/endcontract we changed direction", in: "s-1")
            try await Self.applied(bob, "/endcontract decline", in: "s-1")
            try await Self.applied(bob, "/dispute contract the client will not say what is wrong", in: "s-1")
            let state = try await alice.next { if case .state(let view) = $0 { view.dispute != nil } else { false } }
            guard case .state(let view) = state else { return }
            #expect(view.dispute?.hasPrefix("The freelancer opened a dispute about the contract at ") == true)

            let token = try await server.token("mia", role: "moderator")
            let (body, _) = try await AccessTests.get("\(server.baseURL)/api/disputes", token: token)
            #expect(body.contains(#""milestone":null"#) && body.contains(#""about":"contract""#), "\(body)")
            let open = try await Self.queue(server)
            #expect(open.count == 1)
            let item = try #require(open.first)
            #expect(item.thread == "s-1" && item.about == "contract" && item.milestone == nil && item.held == 0)
            #expect(item.raisedBy == "freelancer" && item.raisedByUser == "bob" && item.reason == "the client will not say what is wrong")
            #expect(try await Self.queue(server, "?min_amount=1").isEmpty)
            // The case: the client is asked to respond; the statuses filter.
            #expect(item.status == "awaiting_response" && !item.noResponse && item.respondBy != nil)
            #expect(item.statements.map(\.by) == ["freelancer"])
            #expect(try await Self.queue(server, "?status=ready").isEmpty)
            try await Self.applied(alice, "/evidence contract the design direction changed after the first draft", in: "s-1")
            let answered = try #require(try await Self.queue(server, "?status=ready").first)
            #expect(answered.statements.map(\.text) == ["the client will not say what is wrong", "the design direction changed after the first draft"])
            #expect(try await Self.queue(server, "?status=awaiting_response").isEmpty)
            let (refusal, status) = try await AccessTests.get("\(server.baseURL)/api/disputes?status=open", token: token)
            #expect(status == 400 && refusal.contains("awaiting_response, ready or resolved"))

            // A moderator takes the case; an internal note reaches moderators, never the parties.
            #expect(try await Self.queue(server, "?assignee=none").count == 1)
            try await Self.applied(mia, "/take contract", in: "s-1")
            #expect(try await Self.queue(server, "?assignee=mia").first?.assignee == "mia")
            #expect(try await Self.queue(server, "?assignee=none").isEmpty)
            let max = try await TestClient.connect(server, token: try await server.token("max", role: "moderator", lifetime: 86_400))
            _ = try await max.join("s-1")
            try await Self.applied(mia, "/note called the client; they want out because of the budget", in: "s-1")
            _ = try await max.next { if case .notice(let m) = $0 { m.text.contains("because of the budget") } else { false } }
            try await Task.sleep(for: .milliseconds(300))
            for party in [alice, bob] {
                #expect(!party.transcript("s-1").contains { $0.text.contains("because of the budget") })
            }
            let (bobsTranscript, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/s-1/transcript?format=text", token: try await server.token("bob"))
            #expect(!bobsTranscript.contains("because of the budget"))
            let (moderatorsTranscript, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/s-1/transcript?format=text", token: token)
            #expect(moderatorsTranscript.contains("because of the budget"))
            await max.close()

            try await Self.applied(mia, "/resolve contract the client may end it; nothing was funded, so nothing is owed", in: "s-1")
            #expect(try await Self.queue(server).isEmpty)
            // Resolved cases stay on record: the queue's resolved filter and the case file.
            let resolved = try #require(try await Self.queue(server, "?status=resolved").first)
            #expect(resolved.status == "resolved" && resolved.about == "contract" && resolved.assignee == "mia")
            #expect(resolved.resolution == "Moderator ruled on the dispute about the contract: the client may end it; nothing was funded, so nothing is owed")
            #expect(resolved.resolvedAt != nil && resolved.statements.count == 2)
            #expect(try await Self.queue(server, "?status=resolved&assignee=none").isEmpty)
            let (caseBody, caseStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/s-1/cases/contract", token: token)
            #expect(caseStatus == 200, "\(caseBody)")
            let file = try Self.decode(CaseFileBody.self, caseBody)
            #expect(file.status == "resolved" && file.about == "contract" && file.respondent == "buyer" && file.respondedAt != nil)
            #expect(file.timeline.map(\.event).contains("contract_dispute_opened") && file.timeline.map(\.event).contains("contract_dispute_resolved"))
            #expect(file.ledger.isEmpty && file.earlier.isEmpty)
            let contract = try #require(try await server.database.contract("s-1"))
            #expect(contract.dispute == nil)
            for client in [alice, bob, mia] { await client.close() }
        }
    }

    @Test func everyPresetsDisputesReachTheQueueAndAreResolved() async throws {
        try await TestServer.with { server in
            let start = server.clock.now
            let alice = try await TestClient.connect(server, token: try await server.token("alice", lifetime: 86_400))
            let bob = try await TestClient.connect(server, token: try await server.token("bob", lifetime: 86_400))
            let mia = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator", lifetime: 86_400))

            // Each preset's own way to a funded milestone, then the other side speaks, and ten minutes later a dispute.
            for (index, item) in Self.cases.enumerated() {
                server.clock.advance(by: index == 0 ? 0 : 3_000)
                let thread = item.thread
                try server.contract(thread, preset: item.preset, milestones: [
                    MilestoneDraft(amount: item.amount, description: "Disputed work"),
                    MilestoneDraft(amount: Self.second, description: "Later work"),
                ])
                _ = try await alice.join(thread)
                _ = try await bob.join(thread)
                _ = try await mia.join(thread)
                switch item.preset {
                case "whitelabel":
                    // A proposal until the buyer makes it live; the freelancer's own milestones need no approval.
                    try await Self.applied(alice, "/golive", in: thread)
                case "skillscoop":
                    // The freelancer approves the client's milestones before they can be funded.
                    try await Self.applied(bob, "/approve M1", in: thread)
                    try await Self.applied(bob, "/approve M2", in: thread)
                default: break
                }
                if item.preset == "fiverr" {
                    // The buyer accepts the seller's offer: placing the order charges M1.
                    try await Self.applied(alice, "/placeorder", in: thread)
                } else {
                    try await Self.applied(alice, "/fund M1", in: thread)
                }
                if item.fundsSecond { try await Self.applied(alice, "/fund M2", in: thread) }
                let (raiser, other) = item.raisedBy == .buyer ? (alice, bob) : (bob, alice)
                try await Self.chat(other, "I think we are nearly done here.", in: thread)
                server.clock.advance(by: 600)
                try await Self.applied(raiser, "/dispute M1 \(item.reason)", in: thread)
                try await Self.chat(raiser, "I have raised a dispute.", in: thread) // the raiser speaking does not count
                let contract = try #require(try await server.database.contract(ContractID(thread)))
                #expect(contract.milestones.first?.state.name == "disputed", "\(thread)")
            }
            // Now: the last dispute is half an hour old, the first four and a half hours.
            server.clock.advance(by: 1_800)
            let now = server.clock.now
            let opened = Self.cases.indices.map { start.addingTimeInterval(Double($0) * 3_600 + 600) }
            let spoke = Self.cases.indices.map { start.addingTimeInterval(Double($0) * 3_600) }

            let all = try await Self.queue(server)
            #expect(all.map(\.thread) == Self.cases.map(\.thread), "every dispute, oldest first, and no undisputed milestone")
            for (index, item) in Self.cases.enumerated() {
                guard let entry = all.first(where: { $0.thread == item.thread }) else { continue }
                #expect(entry.preset == item.preset)
                #expect(entry.title == "Test contract")
                #expect(entry.milestone == "M1")
                #expect(entry.description == "Disputed work")
                #expect(entry.held == item.amount, "\(item.thread)")
                #expect(entry.heldText == Money(minorUnits: item.amount, currency: .usd).description)
                #expect(entry.currency == "USD")
                #expect(entry.raisedBy == item.raisedBy.rawValue)
                #expect(entry.raisedByUser == (item.raisedBy == .buyer ? "alice" : "bob"))
                #expect(entry.reason == item.reason)
                #expect(try Self.date(entry.openedAt) == opened[index], "\(item.thread) \(entry.openedAt)")
                #expect(entry.openSeconds == Int(now.timeIntervalSince(opened[index])), "\(item.thread)")
                let lastSpoke = try #require(entry.otherSideLastSpoke, "\(item.thread): the other side spoke")
                #expect(try Self.date(lastSpoke) == spoke[index], "\(item.thread): \(lastSpoke)")
            }
            #expect(all.map(\.openSeconds) == [16_200, 12_600, 9_000, 5_400, 1_800])

            // Filters: by age (inclusive), by amount held (inclusive, typed like in the chat), both.
            #expect(try await Self.queue(server, "?min_age_hours=2").map(\.thread) == ["d-indeelancer", "d-freelancer-com", "d-fiverr"])
            #expect(try await Self.queue(server, "?min_age_hours=2.5").map(\.thread) == ["d-indeelancer", "d-freelancer-com", "d-fiverr"])
            #expect(try await Self.queue(server, "?min_age_hours=2.6").map(\.thread) == ["d-indeelancer", "d-freelancer-com"])
            #expect(try await Self.queue(server, "?min_age_hours=5").isEmpty)
            #expect(try await Self.queue(server, "?min_amount=250").map(\.thread) == ["d-indeelancer", "d-fiverr", "d-whitelabel"])
            #expect(try await Self.queue(server, "?min_amount=250.01").map(\.thread) == ["d-indeelancer", "d-whitelabel"])
            #expect(try await Self.queue(server, "?min_amount=250&min_age_hours=3").map(\.thread) == ["d-indeelancer"])
            #expect(try await Self.queue(server, "?min_amount=1000").isEmpty)
            let moderator = try await server.token("mia", role: "moderator")
            let (bad, badStatus) = try await AccessTests.get("\(server.baseURL)/api/disputes?min_amount=lots", token: moderator)
            #expect(badStatus == 400 && bad.contains("min_amount"), "\(bad)")

            // Parties have no queue.
            for user in ["alice", "bob"] {
                let (body, status) = try await AccessTests.get("\(server.baseURL)/api/disputes", token: try await server.token(user))
                #expect(status == 403, "\(user): \(body)")
                #expect(body.contains("not_moderator"))
            }
            let (unauthenticated, noTokenStatus) = try await AccessTests.get("\(server.baseURL)/api/disputes")
            #expect(noTokenStatus == 401, "\(unauthenticated)")

            // Rulings: in the thread or through the API, release, refund and split; each balances the ledger
            // and is announced to both parties.
            let rulings: [RulingCase] = [
                RulingCase(viaThread: true, ruling: "split", amount: "200", split: 20_000),
                RulingCase(viaThread: false, ruling: "refund", amount: nil, split: nil),
                RulingCase(viaThread: true, ruling: "release", amount: nil, split: nil),
                RulingCase(viaThread: false, ruling: "split", amount: "300", split: 30_000),
                RulingCase(viaThread: true, ruling: "refund", amount: nil, split: nil),
            ]
            for (item, rule) in zip(Self.cases, rulings) {
                let thread = item.thread
                if rule.viaThread {
                    try await Self.applied(mia, ["/resolve M1", rule.ruling, rule.amount, "half done"].compactMap { $0 }.joined(separator: " "), in: thread)
                } else {
                    let amount = rule.amount.map { #", "amount": "\#($0)""# } ?? ""
                    let (body, status) = try await Self.resolve(server, thread, json: #"{"id": "ruling-\#(thread)", "milestone": "M1", "ruling": "\#(rule.ruling)"\#(amount), "note": "half done"}"#)
                    #expect(status == 200, "\(thread): \(body)")
                    let result = try Self.decode(Ruling.self, body)
                    #expect(result.outcome == "applied" && !result.duplicate, "\(thread): \(body)")
                    #expect(result.replies.map(\.text).contains(rule.announcement(item.amount)), "\(thread): \(body)")
                }
                try Self.expectSettled(server, item, toFreelancer: rule.toFreelancer(item.amount))
                for client in [alice, bob, mia] {
                    try await Self.receives(client, rule.announcement(item.amount), in: thread)
                }
                let contract = try #require(try await server.database.contract(ContractID(thread)))
                let expectedState = rule.ruling == "release" ? "released" : (rule.ruling == "refund" ? "refunded" : "split")
                #expect(contract.milestones.first?.state.name == expectedState, "\(thread)")
                #expect(try server.database.verify(thread: ContractID(thread)).isIntact)
            }
            #expect(try await Self.queue(server).isEmpty, "every dispute was resolved")
            await alice.close()
            await bob.close()
            await mia.close()
        }
    }

    @Test func rulingsThroughTheAPIAreIdempotentAndOnlyForModerators() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [
                MilestoneDraft(amount: 40_000, description: "Design"),
                MilestoneDraft(amount: 60_000, description: "Build"),
                MilestoneDraft(amount: 10_000, description: "Docs"),
            ])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            for m in 1...3 { try await Self.applied(alice, "/fund M\(m)", in: "c-1") }
            try await Self.applied(alice, "/dispute M1 wrong colours", in: "c-1")
            try await Self.applied(bob, "/dispute M2 the buyer vanished", in: "c-1")

            // Parties cannot rule, not even on their own dispute; nothing is written.
            let before = try server.database.fullTranscript(of: "c-1").count
            for user in ["alice", "bob"] {
                let (body, status) = try await Self.resolve(server, "c-1", json: #"{"id": "r-x", "milestone": "M1", "ruling": "release", "note": "mine"}"#,
                    token: try await server.token(user))
                #expect(status == 403, "\(user): \(body)")
            }
            #expect(try server.database.fullTranscript(of: "c-1").count == before)
            // A malformed body is a 400.
            let (malformed, malformedStatus) = try await Self.resolve(server, "c-1", json: #"{"milestone": "M1"}"#)
            #expect(malformedStatus == 400, "\(malformed)")

            // M2 refunded through the API; resending the same id changes nothing.
            let json = #"{"id": "r-2", "milestone": "M2", "ruling": "refund", "note": "the freelancer was paid nothing for nothing"}"#
            let (first, status) = try await Self.resolve(server, "c-1", json: json)
            #expect(status == 200, "\(first)")
            let ruling = try Self.decode(Ruling.self, first)
            #expect(ruling.outcome == "applied" && !ruling.duplicate)
            let announcement = "Moderator resolved the dispute on M2: $600.00 refunded to the buyer. Note: the freelancer was paid nothing for nothing"
            #expect(ruling.replies.map(\.text) == [announcement])
            try await Self.receives(alice, announcement, in: "c-1")
            try await Self.receives(bob, announcement, in: "c-1")
            let stored = try #require(try server.database.fullTranscript(of: "c-1").first { $0.seq == ruling.seq })
            #expect(stored.kind == .command && stored.author == "mia" && stored.authorRole == .moderator && !stored.isPrivate)
            #expect(stored.body == "/resolve M2 refund the freelancer was paid nothing for nothing")
            let entries = try server.database.ledgerEntries(of: "c-1")
            let (again, againStatus) = try await Self.resolve(server, "c-1", json: json)
            #expect(againStatus == 200)
            let repeated = try Self.decode(Ruling.self, again)
            #expect(repeated.duplicate && repeated.seq == ruling.seq && repeated.outcome == "applied")
            #expect(try server.database.ledgerEntries(of: "c-1") == entries, "a resent ruling moves no money")

            // A ruling on a milestone that is not in dispute is refused, privately, and moves nothing.
            let (refused, refusedStatus) = try await Self.resolve(server, "c-1", json: #"{"id": "r-3", "milestone": "M3", "ruling": "release", "note": "why not"}"#)
            #expect(refusedStatus == 200)
            let refusal = try Self.decode(Ruling.self, refused)
            #expect(refusal.outcome == "rejected")
            #expect(refusal.replies.count == 1 && refusal.replies[0].private, "\(refused)")
            // A split must leave something on each side.
            let (tooMuch, _) = try await Self.resolve(server, "c-1", json: #"{"id": "r-4", "milestone": "M1", "ruling": "split", "amount": "400", "note": "all of it"}"#)
            #expect(try Self.decode(Ruling.self, tooMuch).outcome == "rejected", "\(tooMuch)")
            #expect(try server.database.ledgerEntries(of: "c-1") == entries)
            // A split without an amount (or with one that is not one word) is a bad request: the amount must never
            // be taken from the note.
            for amount in [nil, "", "1 000"] {
                let field = amount.map { #", "amount": "\#($0)""# } ?? ""
                let (noAmount, noAmountStatus) = try await Self.resolve(server, "c-1",
                    json: #"{"id": "r-split-\#(amount ?? "nil")", "milestone": "M1", "ruling": "split"\#(field), "note": "50 percent was delivered"}"#)
                #expect(noAmountStatus == 400, "amount \(String(describing: amount)): \(noAmount)")
                #expect(try server.database.ledgerEntries(of: "c-1") == entries, "amount \(String(describing: amount))")
            }

            // M1 split through the API with an amount typed like in the chat.
            let (split, _) = try await Self.resolve(server, "c-1", json: #"{"id": "r-5", "milestone": "M1", "ruling": "split", "amount": "$150.50", "note": "some of it"}"#)
            #expect(try Self.decode(Ruling.self, split).outcome == "applied", "\(split)")
            try await Self.receives(bob, "Moderator resolved the dispute on M1: $150.50 released to the freelancer and $249.50 refunded to the buyer. Note: some of it", in: "c-1")
            let ledger = try server.database.ledger(of: "c-1")
            #expect(ledger.total == 0)
            #expect(ledger.balance(.held(MilestoneNumber(1))) == 0 && ledger.balance(.held(MilestoneNumber(2))) == 0)
            #expect(ledger.balance(.held(MilestoneNumber(3))) == 10_000)
            #expect(ledger.balance(.freelancer) == 15_050)
            #expect(ledger.balance(.buyer) == -110_000 + 60_000 + 24_950)
            #expect(try await Self.queue(server).isEmpty)
            await alice.close()
            await bob.close()
        }
    }

    @Test func aModeratorsChatLineIsANoteBothPartiesSee() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 40_000, description: "Design")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            let mia = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            _ = try await mia.join("c-1")
            try await Self.applied(alice, "/fund M1", in: "c-1")
            try await Self.applied(bob, "/dispute M1 no answer for a week", in: "c-1")

            let note = "Hello both, I am looking at this dispute. Please post your evidence here."
            guard case .ack(let ack) = try await mia.say(note) else { Issue.record("no ack"); return }
            #expect(ack.outcome == "chat")
            let stored = try #require(try server.database.fullTranscript(of: "c-1").first { $0.seq == ack.seq })
            #expect(stored.kind == .note)
            #expect(stored.author == "mia" && stored.authorRole == .moderator)
            #expect(stored.visibleTo == nil)
            for client in [alice, bob] {
                let seen = try await client.next(timeout: 5) { if case .message(let m) = $0, m.seq == ack.seq { true } else { false } }
                guard case .message(let message) = seen else { continue }
                #expect(message.kind == "note" && message.role == "moderator" && message.author == "mia" && message.text == note)
                #expect(!message.private)
            }
            // A party's chat line stays `chat`.
            guard case .ack(let reply) = try await alice.say("Thanks, uploading now.") else { Issue.record("no ack"); return }
            #expect(try server.database.fullTranscript(of: "c-1").first { $0.seq == reply.seq }?.kind == .chat)
            await alice.close()
            await bob.close()
            await mia.close()
        }
    }
}
