import Foundation
import MilestoneCore
import Storage
import Testing

/// The page's confirmation once said "pay $1,250.50 to the freelancer" for a split that paid $800 and returned
/// $450.50. The server now says what a line would do, for the exact text typed, and what it says is what
/// sending the line then does.
@Suite struct PreviewTests {
    struct Preview: Decodable {
        struct Effect: Decodable {
            var event: String
            var milestone: String?
            var text: String
            var amounts: [String: Amount]
        }
        struct Amount: Decodable, Equatable {
            var minor: Int64
            var currency: String
            var text: String
        }
        var outcome: String
        var moves_money: Bool
        var effects: [Effect]
        var refusal: String?
    }

    static func preview(_ server: TestServer, _ text: String, as token: String, in thread: String = "p-1") async throws -> Preview {
        let body = String(data: try JSONSerialization.data(withJSONObject: ["text": text]), encoding: .utf8)!
        let (answer, status) = try await AccessTests.post("\(server.baseURL)/api/contracts/\(thread)/preview", token: token, json: body)
        #expect(status == 200, "\(answer)")
        return try JSONDecoder().decode(Preview.self, from: Data(answer.utf8))
    }

    @Test func aSplitRulingIsDescribedAsItWillBeDoneAndNothingIsStored() async throws {
        try await TestServer.with { server in
            try server.contract("p-1", milestones: [MilestoneDraft(amount: 125_050, description: "Design")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            let mia = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator"))
            for client in [alice, bob, mia] { _ = try await client.join("p-1") }
            let aliceToken = try await server.token("alice")
            let fund = try await Self.preview(server, "/fund M1", as: aliceToken)
            #expect(fund.outcome == "applied" && fund.moves_money)
            #expect(fund.effects.first?.amounts["amount"] == .init(minor: 125_050, currency: "USD", text: "$1,250.50"))
            _ = try await alice.say("/fund M1", in: "p-1")
            _ = try await bob.say("/submit M1", in: "p-1")
            _ = try await alice.say("/dispute M1 the brief changed", in: "p-1")

            let miaToken = try await server.token("mia", role: "moderator")
            let before = try await server.database.catchUp(in: ContractID("p-1"), after: 0, visibleTo: Participant(user: UserID("mia"), role: .moderator)).lastSeq
            let split = try await Self.preview(server, "/resolve M1 split 800 half the pages were done", as: miaToken)
            #expect(split.outcome == "applied" && split.moves_money)
            let ruling = try #require(split.effects.first { $0.event == "dispute_resolved" })
            #expect(ruling.amounts["released"] == .init(minor: 80_000, currency: "USD", text: "$800.00"))
            #expect(ruling.amounts["refunded"] == .init(minor: 45_050, currency: "USD", text: "$450.50"))
            let refund = try await Self.preview(server, "/resolve M1 refund nothing was delivered", as: miaToken)
            #expect(refund.effects.first { $0.event == "dispute_resolved" }?.amounts["refunded"]?.minor == 125_050)
            #expect(refund.effects.first { $0.event == "dispute_resolved" }?.amounts["released"]?.minor == 0)
            let after = try await server.database.catchUp(in: ContractID("p-1"), after: 0, visibleTo: Participant(user: UserID("mia"), role: .moderator)).lastSeq
            #expect(after == before, "a preview stores nothing")

            // What the preview said is what the ruling then does, word for word.
            _ = try await mia.say("/resolve M1 split 800 half the pages were done", in: "p-1")
            let announced = try await bob.next { if case .message(let m) = $0 { m.event == "dispute_resolved" } else { false } }
            guard case .message(let message) = announced else { return }
            #expect(message.text == ruling.text)
            let milestone = try #require(try await server.database.contract(ContractID("p-1"))?.milestone(MilestoneNumber(1)))
            #expect(milestone.released == 80_000 && milestone.refunded == 45_050)
            for client in [alice, bob, mia] { await client.close() }
        }
    }

    @Test func chatQuestionsAndRefusalsAreSaidPlainly() async throws {
        try await TestServer.with { server in
            try server.contract("p-1", milestones: [MilestoneDraft(amount: 10_000, description: "Work")])
            let bobToken = try await server.token("bob")
            let chat = try await Self.preview(server, "hello there", as: bobToken)
            #expect(chat.outcome == "chat" && !chat.moves_money && chat.effects.isEmpty && chat.refusal == nil)
            let help = try await Self.preview(server, "/help", as: bobToken)
            #expect(help.outcome == "answered" && !help.moves_money)
            let refused = try await Self.preview(server, "/release M1", as: bobToken)
            #expect(refused.outcome == "rejected" && !refused.moves_money && refused.refusal?.isEmpty == false)
            // Strict input, and only the contract's people.
            let (unknown, unknownStatus) = try await AccessTests.post("\(server.baseURL)/api/contracts/p-1/preview", token: bobToken, json: #"{"txt":"/fund M1"}"#)
            #expect(unknownStatus == 400 && unknown.contains("txt"), "\(unknown)")
            let (_, strangerStatus) = try await AccessTests.post("\(server.baseURL)/api/contracts/p-1/preview", token: try await server.token("eve"), json: #"{"text":"/fund M1"}"#)
            #expect(strangerStatus == 403)
        }
    }
}

/// The attack: under double-blind reviews the buyer previews `/review 5 x` after the freelancer sealed theirs;
/// the preview's effects would have shown the freelancer's sealed review without anything being committed.
@Suite struct PreviewSealedReviewTests {
    @Test func aPreviewOfAReviewShowsNoSealedReview() async throws {
        let settings = TestServer.settings()
        var blind = settings.presets["indeelancer"]!
        blind.reviewBlindSeconds = 14 * 86_400
        let policy = blind
        try await TestServer.with(settings: settings) { server in
            try server.database.createContract(NewContract(id: "r-1", title: "Reviewed", currency: .usd, buyer: "alice", freelancer: "bob",
                policy: policy, milestones: [MilestoneDraft(amount: 10_000, description: "Work")]), at: server.clock.now)
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            for client in [alice, bob] { _ = try await client.join("r-1") }
            for (client, line) in [(alice, "/fund M1"), (bob, "/submit M1"), (alice, "/release M1"), (alice, "/complete"), (bob, "/review 1 a nightmare client, never again")] {
                let reply = try await client.say(line, in: "r-1")
                guard case .ack(let ack) = reply, ack.outcome == "applied" else { Issue.record("\(line): \(reply)"); return }
            }
            let preview = try await PreviewTests.preview(server, "/review 5 lovely to work with", as: try await server.token("alice"), in: "r-1")
            #expect(preview.outcome == "applied" && preview.effects.isEmpty, "\(preview.effects.map(\.text))")
            let (raw, _) = try await AccessTests.post("\(server.baseURL)/api/contracts/r-1/preview", token: try await server.token("alice"),
                json: #"{"text":"/review 5 lovely to work with"}"#)
            #expect(!raw.contains("nightmare") && !raw.contains("review_sealed") && !raw.contains("reviews_revealed"), "\(raw)")
            for client in [alice, bob] { await client.close() }
        }
    }

    @Test func aPreviewChecksTheLineAsASendWould() async throws {
        try await TestServer.with { server in
            try server.contract("p-1")
            let token = try await server.token("alice")
            let long = String(repeating: "x", count: 4_001)
            let (tooLong, status) = try await AccessTests.post("\(server.baseURL)/api/contracts/p-1/preview", token: token, json: #"{"text":"\#(long)"}"#)
            #expect(status == 400 && tooLong.contains("invalid_message"), "\(status) \(tooLong.prefix(200))")
            let (control, controlStatus) = try await AccessTests.post("\(server.baseURL)/api/contracts/p-1/preview", token: token, json: #"{"text":"/fund M1\u0007"}"#)
            #expect(controlStatus == 400, "\(control)")
        }
    }
}
