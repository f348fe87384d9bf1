import BotConfig
import ChatServer
import Foundation
import FoundationNetworking
import MilestoneCore
import Storage
import Testing

/// The platform's HTTP API, health and metrics, over real HTTP.
@Suite struct HTTPAPITests {
    static let createBody = #"""
        {"id": "c-42", "title": "Logo and site", "buyer": "alice", "freelancer": "bob", "currency": "USD",
         "preset": "skillscoop", "milestones": [{"amount": "$1,250.50", "description": "Landing page", "due": "2099-12-01"}]}
        """#

    @Test func thePlatformCreatesAContractAndItsPartiesFindTheThread() async throws {
        try await TestServer.with { server in
            let (created, status) = try await AccessTests.post("\(server.baseURL)/api/contracts", headers: ["X-Api-Key": TestServer.apiKey], json: Self.createBody)
            #expect(status == 201, "\(created)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])
            #expect(json["thread"] as? String == "c-42")
            #expect(json["milestones"] as? [String] == ["M1"])
            // SkillScoop: the buyer's milestone waits for the freelancer's approval.
            let contract = try #require(try await server.database.contract("c-42"))
            #expect(contract.milestones[0].amount == 125_050)
            #expect(contract.milestones[0].state == .proposed(awaiting: .freelancer, requested: false))

            let (again, conflict) = try await AccessTests.post("\(server.baseURL)/api/contracts", headers: ["X-Api-Key": TestServer.apiKey], json: Self.createBody)
            #expect(conflict == 409 && again.contains("contract_exists"))

            let (threads, ok) = try await AccessTests.get("\(server.baseURL)/api/threads", token: try await server.token("bob"))
            #expect(ok == 200 && threads.contains(#""thread":"c-42""#) && threads.contains(#""role":"freelancer""#))
            let (none, _) = try await AccessTests.get("\(server.baseURL)/api/threads", token: try await server.token("eve"))
            #expect(!none.contains("c-42"))

            let (state, stateStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-42", token: try await server.token("bob"))
            #expect(stateStatus == 200 && state.contains(#""template":"/approve M1""#) && state.contains(#""moves_money""#))
            let (_, forbidden) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-42", token: try await server.token("eve"))
            #expect(forbidden == 403)
            let (page, pageStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-42/messages?after=0", token: try await server.token("alice"))
            #expect(pageStatus == 200 && page.contains("Client added M1") == false && page.contains("Buyer added M1"))
        }
    }

    /// "Reads for the platform": with its API key the platform reads a contract's state, its messages page by
    /// page, its transcript and the disputes, to show them in its own pages; the key writes nothing as a person.
    @Test func thePlatformReadsWithItsKeyAndWritesNothing() async throws {
        try await TestServer.with { server in
            try server.contract("c-1", milestones: [MilestoneDraft(amount: 10_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            #expect(try await alice.say("/fund M1").ackOutcome == "applied")
            #expect(try await alice.say("/dispute M1 nothing arrived").ackOutcome == "applied")
            await alice.close()
            let key = ["X-Api-Key": TestServer.apiKey]
            let (state, stateStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1", headers: key)
            #expect(stateStatus == 200 && state.contains(#""role":"moderator""#), "\(state)")
            let (page, pageStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/messages?after=0&limit=2", headers: key)
            #expect(pageStatus == 200 && page.contains(#""seq":1"#) && page.contains(#""seq":2"#) && !page.contains(#""seq":3"#), "\(page)")
            let (transcript, transcriptStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/transcript?format=json", headers: key)
            #expect(transcriptStatus == 200 && transcript.contains("nothing arrived"))
            let (disputes, disputesStatus) = try await AccessTests.get("\(server.baseURL)/api/disputes", headers: key)
            #expect(disputesStatus == 200 && disputes.contains(#""thread":"c-1""#))
            let (threads, _) = try await AccessTests.get("\(server.baseURL)/api/threads", headers: key)
            #expect(threads.contains(#""thread":"c-1""#))
            // Writing with the key is refused; a wrong key reads nothing.
            let (ruling, rulingStatus) = try await AccessTests.post("\(server.baseURL)/api/contracts/c-1/resolve", headers: key,
                json: #"{"id": "r-1", "milestone": "M1", "ruling": "refund", "note": "platform"}"#)
            #expect(rulingStatus == 403 && ruling.contains("read_only_key"), "\(ruling)")
            let (_, ticketStatus) = try await AccessTests.post("\(server.baseURL)/api/ws-ticket", headers: key)
            #expect(ticketStatus == 403)
            let (_, wrongStatus) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1", headers: ["X-Api-Key": "not-the-key-0123456789"])
            #expect(wrongStatus == 401)
        }
    }

    @Test func badContractRequestsAreRefusedWithSpecificErrors() async throws {
        try await TestServer.with { server in
            let key = ["X-Api-Key": TestServer.apiKey]
            let cases: [(String, [String: String], Int, String)] = [
                (Self.createBody, [:], 401, "bad_api_key"),
                (Self.createBody, ["X-Api-Key": "wrong-key-wrong-key"], 401, "bad_api_key"),
                ("not json", key, 400, "bad_json"),
                (Self.createBody.replacingOccurrences(of: "USD", with: "XYZ"), key, 400, "bad_currency"),
                (Self.createBody.replacingOccurrences(of: "skillscoop", with: "ebay"), key, 400, "bad_preset"),
                (Self.createBody.replacingOccurrences(of: "$1,250.50", with: "12.345"), key, 400, "bad_milestone"),
                (Self.createBody.replacingOccurrences(of: #""bob""#, with: #""alice""#), key, 400, "bad_contract"),
            ]
            for (body, headers, expectedStatus, code) in cases {
                let (answer, status) = try await AccessTests.post("\(server.baseURL)/api/contracts", headers: headers, json: body)
                #expect(status == expectedStatus, "\(code): \(answer)")
                #expect(answer.contains(#""code":"\#(code)""#), "\(answer)")
            }
            #expect(try await server.database.contract("c-42") == nil, "nothing was created")
        }
    }

    @Test func healthAndMetricsReport() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 1000, description: "x")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            _ = try await alice.say("/fund M1")
            _ = try await alice.say("/release M1")
            let (health, status) = try await AccessTests.get("\(server.baseURL)/health")
            #expect(status == 200 && health.contains(#""status":"ok""#) && health.contains(#""connections":1"#))
            let (metrics, _) = try await AccessTests.get("\(server.baseURL)/metrics")
            #expect(metrics.contains(#"commands_total{command="/fund",outcome="applied"} 1"#))
            #expect(metrics.contains(#"commands_total{command="/release",outcome="rejected"} 1"#))
            #expect(metrics.contains("ws_connections 1"))
            #expect(metrics.contains("command_duration_seconds_bucket"))
            await alice.close()
        }
    }

    /// Metrics name a command by what was parsed, not by the text's first word: `/milestone delete` and
    /// `/milestone edit` were counted as `/milestone add`, aliases such as `/pay` as `other`.
    @Test func eachCommandIsCountedUnderItsOwnNameAsParsed() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 1000, description: "x"), MilestoneDraft(amount: 2000, description: "y")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            for line in ["/milestone delete M2", "/milestone edit M1 amount 20", "/pay M1", "/accept M1", "/frobnicate", "hello"] {
                _ = try await alice.say(line)
            }
            let (metrics, _) = try await AccessTests.get("\(server.baseURL)/metrics")
            for name in ["/milestone delete", "/milestone edit", "/fund", "/release", "unreadable"] {
                #expect(metrics.contains(#"commands_total{command="\#(name)""#), "\(name)")
            }
            #expect(!metrics.contains(#"command="/milestone add""#))
            #expect(!metrics.contains(#"command="other""#))
            await alice.close()
        }
    }

    /// Reviews as data: in the state frame and at `GET /api/contracts/:id/reviews` (rating, text, author,
    /// time), double-blind where the policy says so: the other side's review is sealed until both reviewed.
    @Test func reviewsAreDataAndDoubleBlindOnesStaySealedUntilBoth() async throws {
        let catalog = try PolicyCatalog.load(
            directory: TestServer.repositoryPresets, overrides: ["indeelancer": ["review_blind_days": 14]])
        var settings = TestServer.settings()
        settings.presets = catalog
        try await TestServer.with(settings: settings) { server in
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            for (client, line) in [(alice, "/fund M1"), (bob, "/submit M1"), (alice, "/release M1"), (alice, "/complete"), (alice, "/review 4 good work")] {
                #expect(try await client.say(line).ackOutcome == "applied", "\(line)")
            }
            func reviews(_ user: String, role: String = "user") async throws -> (body: String, status: Int) {
                try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/reviews", token: try await server.token(user, role: role))
            }
            let (sealed, status) = try await reviews("bob")
            #expect(status == 200)
            #expect(sealed.contains(#""reviews":[]"#) && sealed.contains(#""reviews_sealed":1"#), "\(sealed)")
            #expect(try await reviews("alice").body.contains(#""stars":4"#))
            #expect(try await reviews("mia", role: "moderator").body.contains(#""text":"good work""#))
            #expect(try await reviews("zed").status == 403)
            #expect(try server.database.fullTranscript(of: "c-1").allSatisfy { !$0.body.contains("good work") || $0.visibleTo != nil })

            #expect(try await bob.say("/review 5 great client").ackOutcome == "applied")
            let both = try await reviews("bob").body
            #expect(both.contains(#""author":"alice""#) && both.contains(#""author":"bob""#) && both.contains(#""reviews_sealed":0"#), "\(both)")
            let state = try await bob.next { if case .state(let view) = $0 { view.reviews.count == 2 } else { false } }
            guard case .state(let view) = state else { return }
            #expect(view.reviews.map(\.stars).sorted() == [4, 5])
            await alice.close()
            await bob.close()
        }
    }

    @Test func stateFramesFollowChanges() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 50_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            _ = try await alice.next { if case .state = $0 { true } else { false } }
            _ = try await bob.next { if case .state = $0 { true } else { false } }
            _ = try await alice.say("/fund M1")
            let state = try await bob.next { if case .state = $0 { true } else { false } }
            guard case .state(let view) = state else { return }
            #expect(view.role == "freelancer")
            #expect(view.held == 50_000 && view.heldText == "$500.00" && view.testMoney)
            #expect(view.milestones.first?.state == "funded")
            #expect(view.commands.map(\.template).contains("/submit M1"))
            #expect(!view.commands.map(\.template).contains("/release M1"))
            await alice.close()
            await bob.close()
        }
    }
}
