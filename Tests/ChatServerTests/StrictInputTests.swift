@testable import ChatServer
import Foundation
import FoundationNetworking
import HTTPTypes
import MilestoneCore
import Storage
import Testing

/// The integrator's mistakes, each answered with a 4xx that names the problem in one error shape
/// (`{"error": {"code", "message", "field"}}`): a typo in a field, an unknown field, a wrong type, a missing
/// field, a wrong method (405 with `Allow`), an unknown path; and amounts in minor units, as they come out.
@Suite struct StrictInputTests {
    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            var code: String
            var message: String
            var field: String?
        }
        var error: Detail
    }

    static func create(_ server: TestServer, _ json: String) async throws -> (Int, String) {
        let (answer, status) = try await AccessTests.post("\(server.baseURL)/api/contracts", headers: ["X-Api-Key": TestServer.apiKey], json: json)
        return (status, answer)
    }

    static func error(_ body: String) throws -> ErrorBody.Detail {
        try JSONDecoder().decode(ErrorBody.self, from: Data(body.utf8)).error
    }

    static let base = #""title": "Logo", "buyer": "alice", "freelancer": "bob", "currency": "USD", "preset": "indeelancer""#

    @Test func eachMistakeIsRefusedNamingItsFieldAndNothingIsCreated() async throws {
        try await TestServer.with { server in
            let cases: [(json: String, code: String, field: String?, says: String)] = [
                // The typo that used to create a contract with no milestones.
                (#"{"id": "t-1", \#(Self.base), "milestone": [{"amount": 50000, "description": "Logo"}]}"#, "unknown_field", "milestone", "did you mean `milestones`?"),
                (#"{"id": "t-2", \#(Self.base), "milestones": [{"amount": 50000, "description": "Logo", "price": 5}]}"#, "unknown_field", "milestones[0].price", "allowed here: amount, description, due, revisions"),
                (#"{"id": "t-3", \#(Self.base), "payment": {"card": "pm_x"}}"#, "unknown_field", "payment.card", "allowed here: customer, payment_method, payout_account"),
                (#"{"id": "t-4", "title": 5, "buyer": "alice", "freelancer": "bob", "currency": "USD", "preset": "indeelancer"}"#, "wrong_type", "title", "title must be a string"),
                (#"{"id": "t-5", "buyer": "alice", "freelancer": "bob", "currency": "USD", "preset": "indeelancer"}"#, "missing_field", "title", "title is required"),
                (#"{"id": "t-6", \#(Self.base), "milestones": [{"amount": true, "description": "Logo"}]}"#, "wrong_type", "milestones[0].amount", "milestones[0].amount must be"),
                (#"{"id": "t-7", \#(Self.base), "milestones": [{"amount": "12.345", "description": "Logo"}]}"#, "bad_milestone", "milestones[0].amount", "milestones[0].amount"),
                (#"{"id": "t-8", \#(Self.base), "milestones": [{"amount": 0, "description": "Logo"}]}"#, "bad_milestone", "milestones[0].amount", "minor units"),
                (#"{"id": "t-9", \#(Self.base), "milestones": {"amount": 1}}"#, "wrong_type", "milestones", "milestones must be an array"),
                ("[1, 2]", "bad_json", nil, "a JSON object"),
            ]
            for item in cases {
                let (status, body) = try await Self.create(server, item.json)
                #expect(status == 400, "\(item.json): \(body)")
                let error = try Self.error(body)
                #expect(error.code == item.code && error.field == item.field, "\(item.json): \(body)")
                #expect(error.message.contains(item.says), "\(error.message)")
                // Plain words, never Swift's own.
                #expect(!error.message.contains("CodingKeys") && !error.message.contains("Coding key"), "\(error.message)")
            }
            for id in (1...9).map({ "t-\($0)" }) { #expect(try await server.database.contract(ContractID(id)) == nil) }
            // Every error carries the field key, null when it is about no one field.
            let (noToken, _) = try await AccessTests.get("\(server.baseURL)/api/threads")
            #expect(noToken.contains(#""field":null"#), "\(noToken)")
        }
    }

    @Test func amountsGoInAsTheyComeOutInMinorUnits() async throws {
        try await TestServer.with { server in
            let (status, body) = try await Self.create(server, #"{"id": "m-1", \#(Self.base), "milestones": [{"amount": 125050, "description": "Site"}, {"amount": "$99.99", "description": "Hosting"}]}"#)
            #expect(status == 201, "\(body)")
            let (state, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/m-1", token: try await server.token("alice"))
            let view = try #require(try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])
            let milestones = view["milestones"] as? [[String: Any]] ?? []
            #expect(milestones.map { $0["amount"] as? Int } == [125_050, 9_999], "\(state)")
            #expect(milestones.first?["amount_text"] as? String == "$1,250.50")
        }
    }

    @Test func aWrongMethodIs405WithAllowAndAnUnknownPathAJSON404() async throws {
        try await TestServer.with { server in
            var request = URLRequest(url: URL(string: "\(server.baseURL)/api/contracts")!)
            request.httpMethod = "GET"
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            #expect(http.statusCode == 405 && http.value(forHTTPHeaderField: "Allow") == "POST")
            #expect(try Self.error(String(decoding: data, as: UTF8.self)).code == "method_not_allowed")
            var delete = URLRequest(url: URL(string: "\(server.baseURL)/api/contracts/c-1/files")!)
            delete.httpMethod = "DELETE"
            let (_, deleted) = try await URLSession.shared.data(for: delete)
            #expect((deleted as? HTTPURLResponse)?.statusCode == 405 && (deleted as? HTTPURLResponse)?.value(forHTTPHeaderField: "Allow") == "GET, POST, HEAD")
            // A trailing slash is the same path, as the router reads it.
            let (threads, threadsStatus) = try await AccessTests.get("\(server.baseURL)/api/threads/", token: try await server.token("alice"))
            #expect(threadsStatus == 200, "\(threads)")
            let (missing, status) = try await AccessTests.get("\(server.baseURL)/api/contract/c-1")
            let notFound = try Self.error(missing)
            #expect(status == 404 && notFound.code == "not_found", "\(missing)")
            // The chat page still answers its own paths.
            let (page, pageStatus) = try await AccessTests.get("\(server.baseURL)/")
            #expect(pageStatus == 200 && page.contains("<!doctype html>"))
        }
    }

    /// Found by schemathesis: an absurd age filter on resolved cases reached a time no 64-bit millisecond count
    /// holds and stopped the server. Query values are checked now, and times saturate instead of trapping.
    @Test func absurdQueryValuesAreRefusedNotFatal() async throws {
        try await TestServer.with { server in
            let token = try await server.token("mia", role: "moderator")
            for query in ["min_age_hours=9007199254740992.0&status=resolved", "min_age_hours=-1", "min_age_hours=abc", "assignee=", "limit=x"] {
                let path = query.hasPrefix("limit") ? "/api/contracts/c-1/messages" : "/api/disputes"
                let (body, status) = try await AccessTests.get("\(server.baseURL)\(path)?\(query)", token: token)
                #expect(status == 400 || status == 404, "\(query): \(status) \(body)")
            }
            let (health, status) = try await AccessTests.get("\(server.baseURL)/health")
            #expect(status == 200 && health.contains("ok"))
            #expect(Date(timeIntervalSince1970: -9e18).milliseconds == .min && Date(timeIntervalSince1970: 9e18).milliseconds == .max)
        }
    }

    /// The OpenAPI document is served as built in, and documents every route of the table (but the WebSocket).
    @Test func theOpenAPIDocumentIsServedAndCoversEveryRoute() async throws {
        try await TestServer.with { server in
            let (document, status) = try await AccessTests.get("\(server.baseURL)/api/openapi.yaml")
            #expect(status == 200 && document.hasPrefix("openapi: 3.1"), "\(document.prefix(80))")
            for (pattern, methods) in RouteTable.routes where pattern != "/ws" {
                let documented = pattern.replacingOccurrences(of: ":id", with: "{id}").replacingOccurrences(of: ":about", with: "{about}")
                    .replacingOccurrences(of: ":file", with: "{file}")
                #expect(document.contains("\n  \(documented):\n"), "\(documented) is not in docs/openapi.yaml")
                for method in methods {
                    let section = document.components(separatedBy: "\n  \(documented):\n").dropFirst().first?.components(separatedBy: "\n  /").first ?? ""
                    #expect(("\n" + section).contains("\n    \(method.rawValue.lowercased()):"), "\(method) \(documented) is not documented")
                }
            }
        }
    }

    /// The table the 405 answers come from lists only routes that exist: each answers its methods with
    /// something other than 404 or 405.
    @Test func everyRouteInTheTableIsRouted() async throws {
        try await TestServer.with { server in
            try server.contract("c-1")
            let token = try await server.token("mia", role: "moderator")
            for (pattern, methods) in RouteTable.routes where pattern != "/ws" {
                let path = pattern.replacingOccurrences(of: ":id", with: "c-1").replacingOccurrences(of: ":about", with: "contract")
                    .replacingOccurrences(of: ":file", with: String(repeating: "a", count: 64))
                for method in methods {
                    var request = URLRequest(url: URL(string: "\(server.baseURL)\(path)")!)
                    request.httpMethod = method.rawValue
                    request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
                    if method != .get { request.httpBody = Data("{}".utf8) }
                    let (data, response) = try await URLSession.shared.data(for: request)
                    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    let body = String(decoding: data, as: UTF8.self)
                    #expect(status != 405 && !(status == 404 && body.contains(#""not_found""#)), "\(method) \(path): \(status) \(body)")
                }
            }
        }
    }
}
