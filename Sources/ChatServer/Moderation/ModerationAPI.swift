import Foundation
import Hummingbird
import MilestoneCore
import Storage

/// `GET /api/contracts/:id/reviews`: the reviews the caller may see, as data.
struct ReviewList: ResponseEncodable {
    var thread: String
    var reviews: [ContractView.ReviewView]
    var reviewsSealed: Int

    enum CodingKeys: String, CodingKey { case thread, reviews, reviewsSealed = "reviews_sealed" }
}

struct DisputeQueue: ResponseEncodable {
    struct Item: Encodable {
        var thread: String
        var title: String
        var preset: String
        /// `milestone` or `contract` (a dispute about the contract as a whole).
        var about: String
        /// Nil for a dispute about the contract.
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
        /// `awaiting_response` (the other party has until `respond_by`) or `ready` for a ruling.
        var status: String
        var respondBy: String?
        /// The other party let the response time pass.
        var noResponse: Bool
        /// The statements both sides added, oldest first (the claim is the first).
        var statements: [Statement]
        /// The moderator who took the case, or nil.
        var assignee: String?
        /// For a resolved case: when, and the thread's words for how; nil while open.
        var resolvedAt: String? = nil
        var resolution: String? = nil

        struct Statement: Encodable {
            var by: String
            var text: String
            var at: String

            /// Every statement of a case, oldest first (the claim is the first).
            static func all(of file: DisputeCase?) -> [Statement] {
                (file?.statements ?? []).map { Statement(by: $0.by.rawValue, text: $0.text, at: Timestamp.text($0.at)) }
            }
        }

        enum CodingKeys: String, CodingKey {
            case thread, title, preset, about, milestone, description, held, heldText = "held_text", currency, raisedBy = "raised_by",
                raisedByUser = "raised_by_user", reason, openedAt = "opened_at", openSeconds = "open_seconds",
                otherSideLastSpoke = "other_side_last_spoke", status, respondBy = "respond_by", noResponse = "no_response", statements, assignee,
                resolvedAt = "resolved_at", resolution
        }

        /// Every field, `null` included: the documented shape does not change with the dispute.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(thread, forKey: .thread)
            try container.encode(title, forKey: .title)
            try container.encode(preset, forKey: .preset)
            try container.encode(about, forKey: .about)
            try container.encode(milestone, forKey: .milestone)
            try container.encode(description, forKey: .description)
            try container.encode(held, forKey: .held)
            try container.encode(heldText, forKey: .heldText)
            try container.encode(currency, forKey: .currency)
            try container.encode(raisedBy, forKey: .raisedBy)
            try container.encode(raisedByUser, forKey: .raisedByUser)
            try container.encode(reason, forKey: .reason)
            try container.encode(openedAt, forKey: .openedAt)
            try container.encode(openSeconds, forKey: .openSeconds)
            try container.encode(otherSideLastSpoke, forKey: .otherSideLastSpoke)
            try container.encode(status, forKey: .status)
            try container.encode(respondBy, forKey: .respondBy)
            try container.encode(noResponse, forKey: .noResponse)
            try container.encode(statements, forKey: .statements)
            try container.encode(assignee, forKey: .assignee)
            try container.encode(resolvedAt, forKey: .resolvedAt)
            try container.encode(resolution, forKey: .resolution)
        }
    }

    var disputes: [Item]
}

extension DisputeQueue.Item {
    /// A resolved case: nothing is held any more; how it closed is `resolution`.
    init(resolved record: CaseRecord, now: Date) {
        let money = Money(minorUnits: 0, currency: record.currency)
        self.init(thread: record.contract.rawValue, title: record.title, preset: record.preset,
            about: record.about == .contract ? "contract" : "milestone", milestone: record.about == .contract ? nil : record.about.description,
            description: record.about == .contract ? "the contract as a whole" : record.about.description, held: 0, heldText: money.description,
            currency: record.currency.code, raisedBy: record.raisedBy.rawValue,
            raisedByUser: (record.raisedBy == .buyer ? record.buyer : record.freelancer).rawValue, reason: record.reason,
            openedAt: Timestamp.text(record.openedAt), openSeconds: Int(now.timeIntervalSince(record.openedAt)), otherSideLastSpoke: nil,
            status: "resolved", respondBy: record.file.map { Timestamp.text($0.respondBy) }, noResponse: record.file?.noResponse ?? false,
            statements: DisputeQueue.Item.Statement.all(of: record.file),
            assignee: record.file?.assignee?.rawValue, resolvedAt: record.closedAt.map(Timestamp.text), resolution: record.resolution)
    }
}

/// `POST /api/contracts/{id}/resolve`: each field is read as its type, never joined into text for a
/// parser to split again (`"milestone": "M1 release"` is not a milestone).
struct ResolveRequest: Decodable {
    /// The client's id for this ruling: resending it is safe.
    var id: String
    var milestone: String
    /// release, refund or split
    var ruling: String
    /// For a split: the freelancer's part, in minor units (or typed like in the chat).
    var amount: AmountInput?
    var note: String

    /// The ruling these fields make, and the line that records it in the thread; or why they make none.
    func command(currency: Currency) throws(APIError) -> (ChatCommand, String) {
        guard let number = MilestoneNumber(name: milestone) else {
            throw APIError(.badRequest, "bad_request", "milestone must name one milestone, like M1", field: "milestone")
        }
        let resolution: Resolution
        switch ruling {
        case "release", "refund":
            guard amount == nil else { throw APIError(.badRequest, "bad_request", "amount is only for a split", field: "amount") }
            resolution = ruling == "release" ? .release : .refund
        case "split":
            switch amount {
            case nil, .typed(""):
                throw APIError(.badRequest, "bad_request", "a split needs amount: the freelancer's part in minor units, e.g. 20000", field: "amount")
            case .minorUnits(let minorUnits):
                guard minorUnits > 0 else { throw APIError(.badRequest, "bad_amount", "amount must be more than zero", field: "amount") }
                resolution = .split(toFreelancer: minorUnits)
            case .typed(let text):
                switch AmountParser.parse(Substring(text), currency: currency) {
                case .success(let minorUnits): resolution = .split(toFreelancer: minorUnits)
                case .failure(let failure): throw APIError(.badRequest, "bad_amount", "amount: \(failure.explanation(for: currency))", field: "amount")
                }
            }
        default:
            throw APIError(.badRequest, "bad_request", "ruling must be release, refund or split", field: "ruling")
        }
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty else { throw APIError(.badRequest, "bad_request", "note must explain the ruling", field: "note") }
        if let problem = IdentifierRules.textProblem(note, what: "note", allowing: ["\n", "\r", "\t"]) {
            throw APIError(.badRequest, "bad_request", problem, field: "note")
        }
        let command = ChatCommand.resolve(.number(number), resolution, note: note)
        return (command, ChatCommand.resolveLine(number, resolution, note: note, currency: currency))
    }
}

struct CommandResult: ResponseEncodable {
    var thread: String
    var seq: Int64
    var outcome: String
    var duplicate: Bool
    var replies: [WireMessage]
}

extension ChainVerification: ResponseEncodable {}

/// A chain's verification and, when the server signs heads and the chain is intact, its head's signature.
struct SignedVerification: ResponseEncodable {
    var chain: ChainVerification
    var signature: String?

    enum CodingKeys: String, CodingKey { case signature }

    func encode(to encoder: any Encoder) throws {
        try chain.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(signature, forKey: .signature)
    }

    init(_ chain: ChainVerification, signer: HeadSigner?) {
        self.chain = chain
        signature = chain.isIntact ? signer?.sign(thread: chain.thread.rawValue, messages: chain.messages, headHash: chain.headHash) : nil
    }
}

struct VerificationList: ResponseEncodable {
    var threads: [ChainVerification]
    var intact: Bool
}

enum ModerationAPI {
    static func addRoutes(to router: Router<ChatRequestContext>, server: ServerContext) {
        let api = router.group("/api").add(middleware: AuthMiddleware(server: server))

        api.get("disputes") { request, context -> DisputeQueue in
            try requireModerator(context)
            let hours = request.uri.queryParameters.get("min_age_hours", as: Double.self) ?? 0
            if request.uri.queryParameters["min_age_hours"] != nil, !(hours.isFinite && hours >= 0 && hours <= 1_000_000 && request.uri.queryParameters.get("min_age_hours", as: Double.self) != nil) {
                throw APIError(.badRequest, "bad_request", "min_age_hours must be a number of hours from 0 to 1000000", field: "min_age_hours")
            }
            var minimumHeld: Int64 = 0
            var onlyCurrency: Currency?
            if let code = request.uri.queryParameters["currency"] {
                guard let currency = Currency(code: String(code)) else {
                    throw APIError(.badRequest, "bad_currency", "currency must be one of \(Currency.supportedCodes)")
                }
                onlyCurrency = currency
            }
            if let amount = request.uri.queryParameters["min_amount"] {
                // An amount means one currency: minor units of different currencies do not compare.
                let currency = onlyCurrency ?? .usd
                onlyCurrency = currency
                switch AmountParser.parse(amount, currency: currency) {
                case .success(let value): minimumHeld = value
                case .failure(let failure): throw APIError(.badRequest, "bad_request", "min_amount: \(failure.explanation(for: currency))", field: "min_amount")
                }
            }
            let now = server.clock()
            let threshold = minimumHeld
            let currency = onlyCurrency
            // `assignee=<moderator>` for one moderator's cases, `assignee=none` for the cases nobody took.
            let assignee = request.uri.queryParameters["assignee"].map(String.init)
            if let assignee, assignee.isEmpty || IdentifierRules.problem(assignee, what: "assignee", maxBytes: 200) != nil {
                throw APIError(.badRequest, "bad_request", "assignee names a moderator, or `none` for the cases nobody took", field: "assignee")
            }
            @Sendable func assigned(_ file: DisputeCase?) -> Bool {
                guard let assignee else { return true }
                guard let taken = file?.assignee else { return assignee == "none" }
                return taken.isSame(as: assignee)
            }
            var status: DisputeCase.Status?
            if let text = request.uri.queryParameters["status"] {
                if text == "resolved" {
                    let resolved = try await server.offloaded {
                        try server.database.resolvedCases(openedBefore: now.addingTimeInterval(-hours * 3600), currency: currency)
                    }
                    return DisputeQueue(disputes: resolved.filter { assigned($0.file) }.map { DisputeQueue.Item(resolved: $0, now: now) })
                }
                guard let value = DisputeCase.Status(rawValue: String(text)) else {
                    throw APIError(.badRequest, "bad_request", "status must be awaiting_response, ready or resolved")
                }
                status = value
            }
            let wanted = status
            let open = try await server.offloaded {
                try server.database.openDisputes(at: now, minimumAge: hours * 3600, minimumHeld: threshold, currency: currency)
                    .filter { (wanted == nil || $0.status == wanted) && assigned($0.file) }
            }
            return DisputeQueue(disputes: open.map {
                .init(thread: $0.contract.rawValue, title: $0.title, preset: $0.preset, about: $0.milestone == nil ? "contract" : "milestone",
                    milestone: $0.milestone?.description,
                    description: $0.description, held: $0.held.minorUnits, heldText: $0.held.description, currency: $0.held.currency.code,
                    raisedBy: $0.raisedBy.rawValue, raisedByUser: $0.raisedByUser.rawValue, reason: $0.reason, openedAt: Timestamp.text($0.openedAt),
                    openSeconds: Int($0.age(at: now)), otherSideLastSpoke: $0.otherSideLastSpoke.map(Timestamp.text),
                    status: $0.status.rawValue, respondBy: $0.file.map { Timestamp.text($0.respondBy) }, noResponse: $0.file?.noResponse ?? false,
                    statements: DisputeQueue.Item.Statement.all(of: $0.file),
                    assignee: $0.file?.assignee?.rawValue)
            })
        }

        api.get("contracts/:id/transcript") { request, context -> Response in
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            let name = request.uri.queryParameters["format"].map(String.init) ?? "json"
            guard let format = TranscriptRenderer.Format(rawValue: name) else {
                throw APIError(.badRequest, "bad_request", "format must be json, text or html")
            }
            let now = server.clock()
            let export = try await server.offloaded { try server.database.export(contract.id, for: viewer, at: now) }
            let body = TranscriptRenderer.render(export, as: format, testMoney: server.testMoney)
            return Response(status: .ok, headers: [.contentType: format.contentType], body: .init(byteBuffer: ByteBuffer(string: body)))
        }

        api.get("contracts/:id/reviews") { _, context -> ReviewList in
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            let now = server.clock()
            let visible = contract.reviews.filter { contract.reviewIsVisible($0, to: viewer.role, at: now) }
            return ReviewList(thread: contract.id.rawValue, reviews: visible.map { ContractView.review($0, of: contract) },
                reviewsSealed: contract.reviews.count - visible.count)
        }

        api.get("contracts/:id/verify") { _, context -> SignedVerification in
            let (contract, _) = try await ContractsAPI.access(context, server: server)
            return SignedVerification(try await server.offloaded { try server.database.verify(thread: contract.id, blobs: server.blobs) },
                signer: server.headSigner)
        }

        api.get("verify") { _, context -> VerificationList in
            try requireModerator(context)
            let all = try await server.offloaded { try server.database.verifyAll(blobs: server.blobs) }
            return VerificationList(threads: all, intact: all.allSatisfy(\.isIntact))
        }

        api.post("contracts/:id/resolve") { request, context -> CommandResult in
            try requireModerator(context)
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            guard viewer.role == .moderator else {
                throw APIError(.forbidden, "party_cannot_moderate",
                    "you are the \(viewer.role.rawValue) of contract \(contract.id.rawValue.prefix(100)); a moderator who is a party cannot rule on it")
            }
            let body = try await StrictBody.decode(ResolveRequest.self, from: request,
                shape: .object(["id": .value, "milestone": .value, "ruling": .value, "amount": .value, "note": .value]),
                what: "a JSON object with id, milestone, ruling (release, refund or split), amount (for a split) and note")
            let (command, line) = try body.command(currency: contract.currency)
            return try await runCommand(line, expecting: command, currency: contract.currency, id: body.id, in: contract.id, by: viewer, server: server)
        }
    }

    static func requireModerator(_ context: ChatRequestContext) throws {
        guard context.identity?.isModerator == true else {
            throw APIError(.forbidden, "not_moderator", "only moderators can do this")
        }
    }

    /// Runs a typed command in the thread, stored as the line a person would type for it: same core, same
    /// transaction, same transcript and fan-out. The line must read back as exactly `command`, or nothing runs.
    static func runCommand(_ line: String, expecting command: ChatCommand, currency: Currency, id: String, in thread: ContractID,
        by viewer: Participant, server: ServerContext) async throws -> CommandResult {
        if let problem = IdentifierRules.problem(id, what: "id", maxBytes: 100) { throw APIError(.badRequest, "invalid_id", problem) }
        guard case .success(let parsed) = CommandParser(currency: currency).parse(line), parsed == command else {
            throw APIError(.badRequest, "bad_request", "the fields do not make one ruling; check milestone, ruling, amount and note")
        }
        let receipt: LineReceipt
        do {
            receipt = try await server.handle(line, parsed: .command(command), id: id, in: thread, by: viewer)
        } catch let error as StorageError {
            if case .commandIDReused = error { throw APIError(.conflict, "invalid_id", "id \(id.prefix(100)) was already used for another thread; use a fresh id") }
            throw APIError(.badRequest, "invalid_message", "\(error)")
        }
        // The hub sent the thread the contract's new state with the commit.
        return CommandResult(thread: thread.rawValue, seq: receipt.line.seq, outcome: receipt.outcome.name, duplicate: receipt.isDuplicate,
            replies: receipt.replies.map(WireMessage.init))
    }
}
