import Foundation
import Hummingbird
import MilestoneCore
import Payments
import Storage

/// `POST /api/contracts`: the platform creates a contract and its thread (guarded by `X-Api-Key`).
struct CreateContractRequest: Decodable {
    var id: String?
    var title: String
    var buyer: String
    var freelancer: String
    var currency: String
    var preset: String
    var milestones: [Draft]?
    /// The buyer's and freelancer's ids at Stripe (needed when the processor is stripe).
    var payment: PaymentPartiesBody?

    static let shape: BodyShape = .object([
        "id": .value, "title": .value, "buyer": .value, "freelancer": .value, "currency": .value, "preset": .value,
        "milestones": .array(.object(["amount": .value, "description": .value, "due": .value, "revisions": .value])),
        "payment": PaymentPartiesBody.shape,
    ])

    struct Draft: Decodable {
        /// Integer minor units (`50000` is $500.00), as every amount the API sends; or a string as a person
        /// types it (`500`, `1,250.50`, `$500`).
        var amount: AmountInput
        var description: String
        /// `YYYY-MM-DD`
        var due: String?
        /// The milestone's own revision allowance (0-100), where the preset counts revisions; left out: the preset's.
        var revisions: Int?
    }
}

/// An amount in a request: integer minor units, or text as a person types it.
enum AmountInput: Decodable, Sendable {
    case minorUnits(Int64)
    case typed(String)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self) {
            self = .minorUnits(value)
        } else if let text = try? container.decode(String.self) {
            self = .typed(text)
        } else {
            throw DecodingError.typeMismatch(Int64.self, .init(codingPath: decoder.codingPath,
                debugDescription: "an amount is a whole number of minor units (50000 for 500.00) or text like \"500.00\""))
        }
    }
}

/// `{"customer": "cus_...", "payment_method": "pm_...", "payout_account": "acct_..."}`, each optional.
struct PaymentPartiesBody: Decodable {
    static let shape: BodyShape = .object(["customer": .value, "payment_method": .value, "payout_account": .value])

    var customer: String?
    var paymentMethod: String?
    var payoutAccount: String?

    enum CodingKeys: String, CodingKey {
        case customer, paymentMethod = "payment_method", payoutAccount = "payout_account"
    }

    var parties: PaymentParties { PaymentParties(customer: customer, paymentMethod: paymentMethod, payoutAccount: payoutAccount) }
}

struct ContractCreated: ResponseEncodable {
    var thread: String
    var title: String
    var preset: String
    var phase: String
    var websocket: String
    var milestones: [String]
}

struct ThreadList: ResponseEncodable {
    var threads: [ThreadEntry]

    struct ThreadEntry: Encodable {
        var thread: String
        var title: String
        var preset: String
        var phase: String
        var role: String
        var buyer: String
        var freelancer: String
        var lastSeq: Int64
        var lastAt: String?
        var preview: String?
        var unread: Int

        enum CodingKeys: String, CodingKey {
            case thread, title, preset, phase, role, buyer, freelancer, lastSeq = "last_seq", lastAt = "last_at", preview, unread
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(thread, forKey: .thread)
            try c.encode(title, forKey: .title)
            try c.encode(preset, forKey: .preset)
            try c.encode(phase, forKey: .phase)
            try c.encode(role, forKey: .role)
            try c.encode(buyer, forKey: .buyer)
            try c.encode(freelancer, forKey: .freelancer)
            try c.encode(lastSeq, forKey: .lastSeq)
            try c.encode(lastAt, forKey: .lastAt)
            try c.encode(preview, forKey: .preview)
            try c.encode(unread, forKey: .unread)
        }
    }
}

struct MessagePage: ResponseEncodable {
    var thread: String
    var messages: [WireMessage]
    var lastSeq: Int64

    enum CodingKeys: String, CodingKey {
        case thread, messages, lastSeq = "last_seq"
    }
}

struct Ticket: ResponseEncodable {
    var ticket: String
    var expiresIn: Int

    enum CodingKeys: String, CodingKey {
        case ticket, expiresIn = "expires_in"
    }
}

extension ContractView: ResponseEncodable {}

enum ContractsAPI {
    static func addRoutes(to router: Router<ChatRequestContext>, server: ServerContext) {
        router.post("/api/contracts") { request, context -> EditedResponse<ContractCreated> in
            try checkPlatformKey(request, server: server)
            let body = try await StrictBody.decode(CreateContractRequest.self, from: request, shape: CreateContractRequest.shape,
                what: "a JSON object with title, buyer, freelancer, currency and preset (and optionally id, milestones, payment)")
            let created = try await create(body, server: server)
            return EditedResponse(status: .created, response: created)
        }

        // The platform updates the card on file (after a failed payment, say) or the freelancer's payout account.
        router.put("/api/contracts/:id/payment") { request, context -> Response in
            try checkPlatformKey(request, server: server)
            let id = ContractID(try context.parameters.require("id"))
            let body = try await StrictBody.decode(PaymentPartiesBody.self, from: request, shape: PaymentPartiesBody.shape,
                what: "a JSON object with customer, payment_method and/or payout_account")
            do {
                try await server.offloaded { try server.database.setPaymentParties(body.parties, of: id) }
            } catch let error as StorageError {
                if case .unknownContract = error { throw APIError(.notFound, "unknown_thread", "there is no contract \(id.rawValue.prefix(100))") }
                throw APIError(.badRequest, "bad_payment", "\(error)")
            }
            return Response(status: .noContent)
        }

        let authenticated = router.group("/api").add(middleware: AuthMiddleware(server: server))
        authenticated.get("threads") { _, context -> ThreadList in
            let identity = context.identity!
            let role: Role = identity.isModerator ? .moderator : .buyer
            let contracts = try await server.offloaded { try server.database.contracts(for: identity.user, role: role) }
            return ThreadList(threads: contracts.map { summary in
                // As ServerContext.viewer decides: a moderator who is a party is that party there.
                let role = identity.isPlatform ? "moderator"
                    : summary.buyer == identity.user ? "buyer" : (summary.freelancer == identity.user ? "freelancer" : "moderator")
                return .init(thread: summary.id.rawValue, title: summary.title, preset: summary.preset, phase: summary.phase, role: role,
                    buyer: summary.buyer.rawValue, freelancer: summary.freelancer.rawValue, lastSeq: summary.lastSeq,
                    lastAt: summary.lastAt.map { Timestamp.text(unixMilliseconds: $0.milliseconds) }, preview: summary.preview, unread: summary.unread)
            })
        }
        authenticated.get("contracts/:id") { _, context -> ContractView in
            let (contract, viewer) = try await access(context, server: server)
            return ContractView(contract, viewer: viewer, testMoney: server.testMoney, now: server.clock())
        }
        authenticated.get("contracts/:id/messages") { request, context -> MessagePage in
            let (contract, viewer) = try await access(context, server: server)
            let after = request.uri.queryParameters.get("after", as: Int64.self) ?? 0
            if request.uri.queryParameters["after"] != nil, request.uri.queryParameters.get("after", as: Int64.self).map({ $0 >= 0 }) != true {
                throw APIError(.badRequest, "bad_request", "after must be a whole number from 0 (a sequence number)", field: "after")
            }
            if request.uri.queryParameters["limit"] != nil, request.uri.queryParameters.get("limit", as: Int.self) == nil {
                throw APIError(.badRequest, "bad_request", "limit must be a whole number (1-1000)", field: "limit")
            }
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 500, 1), 1000)
            // The same per-user history budget as the WebSocket's join and history.
            guard server.readBudget.allows(viewer.user) else {
                throw APIError(.tooManyRequests, "rate_limited", "you are reading history faster than \(server.settings.limits.readBytesPerSecond) bytes a second; try again in a moment")
            }
            let caughtUp = try await server.database.catchUp(in: contract.id, after: max(after, 0), limit: limit, visibleTo: viewer)
            server.readBudget.charge(viewer.user, bytes: ChatConnection.wireBytes(caughtUp.messages))
            return MessagePage(thread: contract.id.rawValue, messages: caughtUp.messages.map(WireMessage.init), lastSeq: caughtUp.lastSeq)
        }
        authenticated.post("ws-ticket") { _, context -> Ticket in
            let (ticket, expiresIn) = await server.tickets.issue(for: context.identity!)
            return Ticket(ticket: ticket, expiresIn: expiresIn)
        }
    }

    /// The platform's own endpoints are guarded by `X-Api-Key`.
    static func checkPlatformKey(_ request: Request, server: ServerContext) throws {
        guard !server.settings.apiKey.isEmpty else {
            throw APIError(.notFound, "api_disabled", "the platform API is off: set auth.api_key")
        }
        guard let key = request.headers[.init("X-Api-Key")!], constantTimeEquals(key, server.settings.apiKey) else {
            throw APIError(.unauthorized, "bad_api_key", "send the platform's key as X-Api-Key")
        }
    }

    /// The contract named in the path, and the caller's role in it; 404 or 403 otherwise.
    static func access(_ context: ChatRequestContext, server: ServerContext) async throws -> (Contract, Participant) {
        let id = ContractID(try context.parameters.require("id"))
        guard let contract = try await server.database.contract(id) else {
            throw APIError(.notFound, "unknown_thread", "there is no contract \(id.rawValue.prefix(100))")
        }
        guard let viewer = server.viewer(context.identity!, of: contract) else {
            throw APIError(.forbidden, "not_member", "you are not a party to contract \(id)")
        }
        return (contract, viewer)
    }

    static func create(_ body: CreateContractRequest, server: ServerContext) async throws -> ContractCreated {
        guard let currency = Currency(code: body.currency) else {
            throw APIError(.badRequest, "bad_currency", "currency \(body.currency.prefix(10)) is not supported; use one of \(Currency.supportedCodes)")
        }
        guard let policy = server.settings.presets[body.preset] else {
            throw APIError(.badRequest, "bad_preset", "preset \(body.preset.prefix(40)) does not exist; use one of \(server.settings.presets.names.joined(separator: ", "))")
        }
        var drafts: [MilestoneDraft] = []
        for (index, draft) in (body.milestones ?? []).enumerated() {
            let amount: Int64
            switch draft.amount {
            case .minorUnits(let value):
                guard (1...Money.maximumMinorUnits).contains(value) else {
                    throw APIError(.badRequest, "bad_milestone", "milestones[\(index)].amount is in minor units (cents) and must be from 1 to \(Money.maximumMinorUnits)",
                        field: "milestones[\(index)].amount")
                }
                amount = value
            case .typed(let text):
                switch AmountParser.parse(Substring(text), currency: currency) {
                case .success(let value): amount = value
                case .failure(let failure):
                    throw APIError(.badRequest, "bad_milestone", "milestones[\(index)].amount: \(failure.explanation(for: currency))", field: "milestones[\(index)].amount")
                }
            }
            var due: DueDate?
            if let text = draft.due {
                guard let parsed = DueDate(iso: Substring(text)) else {
                    throw APIError(.badRequest, "bad_milestone", "milestones[\(index)].due: write it as YYYY-MM-DD")
                }
                due = parsed
            }
            drafts.append(MilestoneDraft(amount: amount, description: draft.description, dueDate: due, revisions: draft.revisions))
        }
        let id = ContractID(body.id ?? "c-\(UUID().uuidString.lowercased().prefix(12))")
        let new = NewContract(id: id, title: body.title, currency: currency, buyer: UserID(body.buyer), freelancer: UserID(body.freelancer), policy: policy, milestones: drafts,
            parties: body.payment?.parties ?? PaymentParties())
        let contract: Contract
        do {
            let now = server.clock()
            contract = try await server.offloaded { try server.database.createContract(new, at: now).0 }
        } catch let error as StorageError {
            switch error {
            case .contractExists: throw APIError(.conflict, "contract_exists", "\(error)")
            default: throw APIError(.badRequest, "bad_contract", "\(error)")
            }
        }
        return ContractCreated(thread: contract.id.rawValue, title: contract.title, preset: contract.policy.name, phase: contract.phase.rawValue,
            websocket: server.webSocketURL, milestones: contract.milestones.map(\.number.description))
    }
}

/// Compares secrets without leaking where they differ through timing.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    for index in 0..<max(x.count, y.count) {
        difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
    }
    return difference == 0
}
