import Foundation
import Hummingbird
import MilestoneCore
import Storage

/// `POST /api/contracts/:id/preview`: what a line would do if sent now, said by the server for the exact
/// text typed (the page's confirmation shows this instead of guessing from a template). The core runs the
/// line on the contract as it is, and nothing is stored, charged or announced.
struct LinePreview: ResponseEncodable {
    struct Effect: Encodable {
        var event: String
        var milestone: String?
        /// The bot's words, as the thread would show them.
        var text: String
        var amounts: [String: Amount]
    }

    struct Amount: Encodable {
        var minor: Int64
        var currency: String
        var text: String
    }

    /// `chat` (not a command), `applied` (it would change the contract), `answered` (a question) or
    /// `rejected` (`refusal` says why).
    var outcome: String
    var movesMoney: Bool
    var effects: [Effect]
    var refusal: String?

    enum CodingKeys: String, CodingKey { case outcome, movesMoney = "moves_money", effects, refusal }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(movesMoney, forKey: .movesMoney)
        try container.encode(effects, forKey: .effects)
        try container.encode(refusal, forKey: .refusal)
    }

    init(_ result: Result<CommandOutcome, Rejection>?) {
        effects = []
        refusal = nil
        movesMoney = false
        switch result {
        case nil: outcome = "chat"
        case .failure(let rejection):
            outcome = "rejected"
            refusal = rejection.description
        case .success(.answered): outcome = "answered"
        case .success(.applied(let transition)):
            outcome = "applied"
            movesMoney = !transition.postings.isEmpty
            effects = transition.events.map { event in
                Effect(event: event.name, milestone: event.milestone?.description, text: event.text,
                    amounts: Dictionary(event.amounts.map { ($0.name, Amount(minor: $0.money.minorUnits, currency: $0.money.currency.code, text: $0.money.description)) },
                        uniquingKeysWith: { first, _ in first }))
            }
        }
    }
}

struct PreviewRequest: Decodable {
    var text: String
}

enum PreviewAPI {
    static func addRoutes(to router: Router<ChatRequestContext>, server: ServerContext) {
        let api = router.group("/api").add(middleware: AuthMiddleware(server: server))
        api.post("contracts/:id/preview") { request, context -> LinePreview in
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            let body = try await StrictBody.decode(PreviewRequest.self, from: request, shape: .object(["text": .value]),
                what: "a JSON object with text: the line as typed")
            guard body.text.utf8.count <= 4 * AppDatabase.maximumLineLength else {
                throw APIError(.badRequest, "bad_request", "text is longer than a line may be", field: "text")
            }
            let parsed = ParsedLine(body.text.trimmingCharacters(in: .whitespacesAndNewlines), currency: contract.currency)
            return LinePreview(parsed.apply(to: contract, by: viewer, at: server.clock()))
        }
    }
}
