import Foundation
import Hummingbird
import Logging
import MilestoneCore
import NIOCore
import Payments
import ServiceLifecycle
import Storage

/// The running pieces of a chat server: the HTTP/WebSocket application plus the services beside it.
public struct ChatServerApp: Sendable {
    public let context: ServerContext
    public let application: Application<RouterResponder<ChatRequestContext>>
    /// Services to run in one group, the application first; shutdown runs in reverse order, so the
    /// hub closes sockets with "going away" before the application stops.
    public var services: [any Service] {
        var services: [any Service] = [application, DeadlineService(context: context), FileCollectionService(context: context)]
        if let url = context.settings.webhookURL {
            services.append(NotificationService(context: context, url: url, secret: context.settings.webhookSecret))
            services.append(UnreadDigestService(context: context))
        }
        if let desk = context.desk { services.append(PaymentService(context: context, desk: desk)) }
        services.append(GoingAwayService(hub: context.hub))
        return services
    }
}

/// Builds the server from settings. `onServerRunning` receives the bound port (useful with port 0).
/// `conformanceEcho` (tests only, off by default) adds an unauthenticated echo WebSocket at
/// `/conformance/echo` for the Autobahn conformance suite (Tests/Reliability/autobahn_test.sh).
public func buildChatServer(
    settings: ServerSettings, database: AppDatabase, clock: @escaping @Sendable () -> Date = Date.init,
    logger: Logger = Logger(label: "milestone-bot"), conformanceEcho: Bool = false,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> ChatServerApp {
    // What a commit made visible goes to the hub straight from the commit, on the writer's queue and so in
    // commit order: messages, the senders' acknowledgements and the contracts' new states, together.
    let hub = ThreadHub()
    let metrics = ServerMetrics()
    var database = database.reportingCommits { [testMoney = settings.testMoney] report in
        metrics.committed(lines: report.lines.count)
        hub.publish(report, testMoney: testMoney, now: clock())
    }
    if settings.webhookURL != nil { database = database.recordingNotifications() }
    var desk: PaymentDesk?
    if settings.processor == "stripe" {
        database = database.requiringPayments()
        desk = PaymentDesk(database: database, processor: StripeProcessor(settings: settings.stripe.settings, now: clock),
            settings: settings.stripe, clock: clock, logger: logger)
    }
    let blobs = try FileBlobStore(folder: settings.files.directory.isEmpty ? database.filesFolder : URL(fileURLWithPath: settings.files.directory))
    let context = ServerContext(
        settings: settings, database: database, blobs: blobs, hub: hub,
        verifier: await TokenVerifier(secret: settings.signingSecret, audience: settings.audience, maxLifetime: settings.maxTokenLifetime, now: clock),
        tickets: TicketBook(now: clock), metrics: metrics, desk: desk, clock: clock, logger: logger)
    // Money movements a crash interrupted are completed before anyone can send a new command.
    if let desk {
        let recovered = await desk.recover()
        if !recovered.isEmpty { logger.notice("completed \(recovered.count) interrupted payment(s) at start-up") }
    }

    let router = Router(context: ChatRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: RouteTableMiddleware())
    // The browser chat page (Sources/ChatServer/Public) at `/`, for paths no route answers.
    if let resources = Bundle.module.resourceURL {
        router.add(middleware: FileMiddleware(resources.appendingPathComponent("Public").path, searchForIndexHtml: true, logger: logger))
    }
    router.get("/health") { _, _ in
        let connections = context.hub.connectionCount
        return Health(status: "ok", connections: connections, testMoney: context.testMoney)
    }
    // The API's contract (docs/openapi.yaml), as built into the server.
    router.get("/api/openapi.yaml") { _, _ -> Response in
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "OpenAPI"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { throw APIError(.notFound, "not_found", "the OpenAPI document is not built into this server") }
        return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    // The public half of the key that signs transcript heads, for anyone checking an export.
    router.get("/api/signing-key") { _, _ -> SigningKey in
        guard let signer = context.headSigner else {
            throw APIError(.notFound, "not_signing", "this server does not sign transcript heads (transcripts.signing_key is empty)")
        }
        return SigningKey(publicKey: signer.publicKey)
    }
    router.get("/ws") { _, _ -> Response in
        throw APIError(.upgradeRequired, "upgrade_required", "this is the WebSocket endpoint: open it with a WebSocket client (docs/PROTOCOL.md)")
    }
    router.get("/metrics") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: context.metrics.render())))
    }
    ContractsAPI.addRoutes(to: router, server: context)
    PreviewAPI.addRoutes(to: router, server: context)
    if let desk, !settings.stripe.webhookSecret.isEmpty {
        StripeWebhookAPI.addRoutes(to: router, server: context, desk: desk, secret: settings.stripe.webhookSecret)
    } else {
        router.post("/webhooks/stripe") { request, _ -> Response in
            guard request.headers[.init("Stripe-Signature")!] != nil else {
                throw APIError(.badRequest, "bad_signature", "a Stripe webhook carries a Stripe-Signature header")
            }
            throw APIError(.notFound, "api_disabled", "Stripe webhooks are off here: payments.processor is not stripe, or payments.stripe.webhook_secret is empty")
        }
    }
    ModerationAPI.addRoutes(to: router, server: context)
    CaseFileAPI.addRoutes(to: router, server: context)
    FilesAPI.addRoutes(to: router, server: context)

    let application = Application(
        router: router,
        server: .chat(server: context, conformanceEcho: conformanceEcho),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "milestone-bot"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? settings.port
            context.boundPort.withLock { $0 = port }
            await onServerRunning(port)
        },
        logger: logger)
    return ChatServerApp(context: context, application: application)
}

/// `GET /api/signing-key`.
struct SigningKey: ResponseEncodable {
    var algorithm = "Ed25519"
    /// The raw 32-byte public key, base64.
    var publicKey: String
    /// What a signature covers, with the placeholders a verifier fills in.
    var statement = "milestone-bot transcript head v1\n<thread>\n<messages>\n<head_hash>"

    enum CodingKeys: String, CodingKey { case algorithm, publicKey = "public_key", statement }
}

struct Health: ResponseEncodable {
    var status: String
    var connections: Int
    var testMoney: Bool

    enum CodingKeys: String, CodingKey {
        case status, connections, testMoney = "test_money"
    }
}

/// Removes uploaded files no message references, `files.unreferenced_grace_hours` after their upload.
struct FileCollectionService: Service {
    let context: ServerContext

    func run() async throws {
        let grace = context.settings.files.unreferencedGrace
        let interval = Duration.seconds(max(1, min(grace / 4, 3_600)))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let removed = try await context.database.collectUnreferencedFiles(uploadedBefore: context.clock().addingTimeInterval(-grace), blobs: context.blobs)
                if removed > 0 { context.logger.info("removed \(removed) unreferenced file(s)") }
            } catch {
                context.logger.error("could not remove unreferenced files", metadata: ["error": "\(error)"])
            }
            // Woken by shutdown instead of sleeping through it.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// On shutdown, closes every WebSocket with 1001 "going away" before the application stops.
struct GoingAwayService: Service {
    let hub: ThreadHub

    func run() async throws {
        try? await gracefulShutdown()
        hub.closeAll()
    }
}

/// Fires due deadlines (review periods, reminders, end-request time limits) through the core, once each.
struct DeadlineService: Service {
    let context: ServerContext
    var interval: Duration = .seconds(1)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await fireDue()
            try? await Task.sleep(for: interval)
        }
    }

    func fireDue() async {
        do {
            let now = context.clock()
            for due in try await context.offloaded({ try context.database.dueDeadlines(at: now) }) {
                if let (transition, _) = try await context.fire(due, at: now), !transition.isEmpty {
                    context.metrics.deadlineFired()
                    context.hub.contractChanged(transition.contract, testMoney: context.testMoney, now: now)
                }
            }
        } catch {
            context.logger.error("firing deadlines failed", metadata: ["error": "\(error)"])
        }
    }
}
