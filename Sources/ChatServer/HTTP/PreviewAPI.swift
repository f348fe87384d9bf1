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
            // A review's effects say nothing: under double-blind reviews they would show the other party's
            // sealed review (or that there is one) without anything being committed.
            guard !transition.keepsLinePrivate, !transition.events.contains(where: \.concernsSealedReviews) else { return }
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
                what: "a JSON object with text: the line as typed", maximumBytes: 32 * 1024)
            // The same checks as a line sent for real (length, control characters), and the history read budget:
            // each preview runs the core on the whole contract.
            let text: String
            do {
                text = try AppDatabase.checkedText(LineRequest(commandID: CommandID("preview"), thread: contract.id, author: viewer, text: body.text,
                    parsed: nil, receivedAt: server.clock()))
            } catch let error as StorageError {
                throw APIError(.badRequest, "invalid_message", error.description, field: "text")
            }
            guard server.readBudget.allows(viewer.user) else {
                throw APIError(.tooManyRequests, "rate_limited", "too many previews; try again in a moment")
            }
            server.readBudget.charge(viewer.user, bytes: 4_096)
            let parsed = ParsedLine(text, currency: contract.currency)
            return LinePreview(parsed.apply(to: contract, by: viewer, at: server.clock()))
        }
    }
}
