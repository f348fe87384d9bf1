import Foundation
import Hummingbird
import MilestoneCore
import NIOCore
import Storage

/// `GET /api/contracts/:id/cases/:about` (moderators): one dispute's case file in one answer: the claim,
/// the response and every statement, who has not answered and since when, the assignee, the milestone's
/// (or the contract's) timeline from the thread and its ledger, and how earlier disputes about it ended.
struct CaseFile: ResponseEncodable {
    struct TimelineEntry: Encodable {
        var seq: Int64
        var at: String
        var author: String?
        var event: String?
        var text: String
        /// The files the message carries (a delivery, evidence).
        var files: [String]
        /// When each party first had this message shown to them (their read marker reached it), if they have.
        var seenBy: [Seen]

        struct Seen: Encodable {
            var user: String
            var role: String
            var at: String
        }

        enum CodingKeys: String, CodingKey { case seq, at, author, event, text, files, seenBy = "seen_by" }
    }

    struct LedgerLine: Encodable {
        var kind: String
        var amount: Int64
        var amountText: String
        var at: String
        var seq: Int64
        var processorRef: String?

        enum CodingKeys: String, CodingKey { case kind, amount, amountText = "amount_text", at, seq, processorRef = "processor_ref" }
    }

    struct Earlier: Encodable {
        var openedAt: String
        var raisedBy: String
        var reason: String
        var resolvedAt: String?
        var resolution: String?

        enum CodingKeys: String, CodingKey { case openedAt = "opened_at", raisedBy = "raised_by", reason, resolvedAt = "resolved_at", resolution }
    }

    var thread: String
    var about: String
    var milestone: String?
    /// `awaiting_response`, `ready` or `resolved`.
    var status: String
    var raisedBy: String
    var raisedByUser: String
    var reason: String
    var openedAt: String
    /// Who has to answer and by when; when they answered (nil: not yet); whether the time ran out.
    var respondent: String
    var respondBy: String?
    var respondedAt: String?
    var noResponse: Bool
    /// Since when the case waits for the respondent's first word (nil once they answered or it closed).
    var waitingSeconds: Int?
    var assignee: String?
    var statements: [DisputeQueue.Item.Statement]
    var held: Int64
    var heldText: String
    var resolvedAt: String?
    var resolution: String?
    var timeline: [TimelineEntry]
    var ledger: [LedgerLine]
    /// Earlier disputes about the same milestone (or the contract), oldest first.
    var earlier: [Earlier]
    /// Every file uploaded to the thread, with its SHA-256 id.
    var files: [FileInfo]

    enum CodingKeys: String, CodingKey {
        case thread, about, milestone, status, raisedBy = "raised_by", raisedByUser = "raised_by_user", reason, openedAt = "opened_at",
            respondent, respondBy = "respond_by", respondedAt = "responded_at", noResponse = "no_response", waitingSeconds = "waiting_seconds",
            assignee, statements, held, heldText = "held_text", resolvedAt = "resolved_at", resolution, timeline, ledger, earlier, files
    }

    /// Every field, `null` included: the documented shape does not change with the case.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(thread, forKey: .thread)
        try c.encode(about, forKey: .about)
        try c.encode(milestone, forKey: .milestone)
        try c.encode(status, forKey: .status)
        try c.encode(raisedBy, forKey: .raisedBy)
        try c.encode(raisedByUser, forKey: .raisedByUser)
        try c.encode(reason, forKey: .reason)
        try c.encode(openedAt, forKey: .openedAt)
        try c.encode(respondent, forKey: .respondent)
        try c.encode(respondBy, forKey: .respondBy)
        try c.encode(respondedAt, forKey: .respondedAt)
        try c.encode(noResponse, forKey: .noResponse)
        try c.encode(waitingSeconds, forKey: .waitingSeconds)
        try c.encode(assignee, forKey: .assignee)
        try c.encode(statements, forKey: .statements)
        try c.encode(held, forKey: .held)
        try c.encode(heldText, forKey: .heldText)
        try c.encode(resolvedAt, forKey: .resolvedAt)
        try c.encode(resolution, forKey: .resolution)
        try c.encode(timeline, forKey: .timeline)
        try c.encode(ledger, forKey: .ledger)
        try c.encode(earlier, forKey: .earlier)
        try c.encode(files, forKey: .files)
    }
}

enum CaseFileAPI {
    static func addRoutes(to router: Router<ChatRequestContext>, server: ServerContext) {
        let api = router.group("/api").add(middleware: AuthMiddleware(server: server))
        api.get("contracts/:id/cases/:about") { _, context -> CaseFile in
            try ModerationAPI.requireModerator(context)
            let (contract, _) = try await ContractsAPI.access(context, server: server)
            let name = try context.parameters.require("about")
            let about: DisputeScope
            if name.lowercased() == "contract" {
                about = .contract
            } else if let number = MilestoneNumber(name: name), contract.milestone(number) != nil {
                about = .milestone(number)
            } else {
                throw APIError(.notFound, "unknown_case", "name a milestone of this contract (M1) or `contract`")
            }
            let now = server.clock()
            let (records, timeline, entries, files, carrying) = try await server.offloaded {
                (try server.database.cases(of: contract.id, about: about), try server.database.timeline(of: contract.id, about: about),
                    try server.database.ledgerEntries(of: contract.id), try server.database.files(of: contract.id),
                    try server.database.messagesWithFiles(in: contract.id))
            }
            let reads = try await server.database.readHistory(in: contract.id)
            // The timeline: the system messages about it, and every message that carries files, in order.
            let merged = (timeline + carrying.filter { message in !timeline.contains { $0.seq == message.seq } }).sorted { $0.seq < $1.seq }
            var file = try caseFile(contract, about: about, records: records, timeline: merged, entries: entries, reads: reads, now: now)
            file.files = files.map(FileInfo.init)
            return file
        }

        // The case bundle: one ZIP with the transcript, the hash chain, every file and how to check them offline.
        api.get("contracts/:id/bundle") { _, context -> Response in
            try ModerationAPI.requireModerator(context)
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            guard viewer.role == .moderator else {
                throw APIError(.forbidden, "not_moderator", "only a moderator who is not a party exports a case bundle")
            }
            let now = server.clock()
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("case-\(UUID().uuidString).zip")
            try await server.offloaded {
                try CaseBundle.write(try server.database.export(contract.id, for: viewer, at: now), files: try server.database.files(of: contract.id),
                    blobs: server.blobs, testMoney: server.testMoney, signer: server.headSigner, to: url)
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
            // Streamed from the temporary file, which goes once it is sent (or the client left).
            let body = ResponseBody(contentLength: size) { writer in
                defer { try? FileManager.default.removeItem(at: url) }
                guard let handle = FileHandle(forReadingAtPath: url.path) else { throw APIError(.internalServerError, "internal", "the bundle was not written") }
                defer { try? handle.close() }
                while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
                    try await writer.write(ByteBuffer(data: chunk))
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [
                .contentType: "application/zip", .contentDisposition: "attachment; filename=\"case-\(FilesAPI.asciiFallback(contract.id.rawValue)).zip\"",
            ], body: body)
        }
    }

    static func caseFile(
        _ contract: Contract, about: DisputeScope, records: [CaseRecord], timeline: [StoredMessage], entries: [LedgerEntry], reads: [ReadMarker] = [],
        now: Date
    ) throws -> CaseFile {
        /// The first time each party's marker reached `seq` (markers move forward in time, so the earliest
        /// row at or past it).
        func seen(_ seq: Int64) -> [CaseFile.TimelineEntry.Seen] {
            [(contract.buyer, Role.buyer), (contract.freelancer, .freelancer)].compactMap { user, role in
                reads.filter { $0.user == user && $0.seq >= seq }.map(\.at).min().map {
                    CaseFile.TimelineEntry.Seen(user: user.rawValue, role: role.rawValue, at: Timestamp.text(unixMilliseconds: $0.milliseconds))
                }
            }
        }
        // The open dispute, if there is one; else the last one that closed.
        var open: (raisedBy: Role, reason: String, at: Date, file: DisputeCase?)?
        var held: Int64 = 0
        switch about {
        case .milestone(let number):
            let milestone = contract.milestone(number)
            held = milestone?.held ?? 0
            if case .disputed(let dispute)? = milestone?.state { open = (dispute.raisedBy, dispute.reason, dispute.at, dispute.file) }
        case .contract:
            if let dispute = contract.dispute { open = (dispute.raisedBy, dispute.reason, dispute.at, dispute.file) }
        }
        let closed = records.filter { $0.closedAt != nil }
        let last = closed.last
        guard let raisedBy = open?.raisedBy ?? last?.raisedBy, let openedAt = open?.at ?? last?.openedAt else {
            throw APIError(.notFound, "no_case", "there has been no dispute about \(about == .contract ? "the contract" : about.description)")
        }
        let file = open != nil ? open?.file : last?.file
        let respondent = raisedBy.counterparty ?? .freelancer
        let earlier = (open != nil ? closed : closed.dropLast()).map {
            CaseFile.Earlier(openedAt: Timestamp.text($0.openedAt), raisedBy: $0.raisedBy.rawValue, reason: $0.reason,
                resolvedAt: $0.closedAt.map(Timestamp.text), resolution: $0.resolution)
        }
        let milestone: MilestoneNumber? = if case .milestone(let number) = about { number } else { nil }
        let status = open == nil ? "resolved" : (file?.status ?? .ready).rawValue
        let waiting = open != nil && file != nil && file?.respondedAt == nil && file?.noResponse == false
        return CaseFile(
            thread: contract.id.rawValue, about: about == .contract ? "contract" : "milestone", milestone: milestone?.description,
            status: status, raisedBy: raisedBy.rawValue, raisedByUser: (raisedBy == .buyer ? contract.buyer : contract.freelancer).rawValue,
            reason: open?.reason ?? last?.reason ?? "", openedAt: Timestamp.text(openedAt), respondent: respondent.rawValue,
            respondBy: file.map { Timestamp.text($0.respondBy) }, respondedAt: file?.respondedAt.map(Timestamp.text),
            noResponse: file?.noResponse ?? false, waitingSeconds: waiting ? Int(now.timeIntervalSince(openedAt)) : nil,
            assignee: file?.assignee?.rawValue,
            statements: DisputeQueue.Item.Statement.all(of: file),
            held: held, heldText: contract.money(held).description,
            resolvedAt: open == nil ? last?.closedAt.map(Timestamp.text) : nil, resolution: open == nil ? last?.resolution : nil,
            timeline: timeline.map {
                .init(seq: $0.seq, at: Timestamp.text(unixMilliseconds: $0.createdAt.milliseconds), author: $0.author?.rawValue, event: $0.event, text: $0.body, files: $0.files.map(\.rawValue),
                    seenBy: seen($0.seq))
            },
            ledger: entries.filter { milestone != nil && $0.posting.milestone == milestone }.map {
                .init(kind: $0.posting.kind.rawValue, amount: $0.posting.amount, amountText: $0.amount.description, at: Timestamp.text(unixMilliseconds: $0.createdAt.milliseconds),
                    seq: $0.messageSeq, processorRef: $0.processorReference)
            },
            earlier: Array(earlier), files: [])
    }
}
