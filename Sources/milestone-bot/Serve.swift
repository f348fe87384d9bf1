import ArgumentParser
import ChatServer
import MilestoneCore
import Foundation
import Logging
import ServiceLifecycle
import Storage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the chat server.")

    @Option(help: "The server settings file (default: bot-config/server.yaml in this folder if there is one, else the settings built in).")
    var config: String?
    @Option(help: "Address to listen on (server.host).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (server.port).") var port: Int?
    @Option(help: "SQLite database file (database.path).") var database: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Any setting, as KEY=VALUE (repeatable), e.g. --set limits.messages_per_second=5.", valueName: "key=value"))
    var assignments: [String] = []
    @Flag(help: "Create a demo contract and print how each demo user connects.") var demo = false
    @Flag(help: "Tests only: add an unauthenticated echo WebSocket at /conformance/echo (Autobahn suite).") var conformanceEcho = false

    func run() async throws {
        var flags: [String: String] = [:]
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ValidationError("--set takes KEY=VALUE, like --set limits.messages_per_second=5; got \"\(assignment)\"")
            }
            flags[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
        }
        if let host { flags["server.host"] = host }
        if let port { flags["server.port"] = String(port) }
        if let database { flags["database.path"] = database }
        var settings = try await ServerSettings.load(file: try ServerSettings.settingsFile(named: config), flags: flags)
        if demo {
            // Kept beside the database, so a restart of the demo signs nobody out.
            let kept = try DemoSecrets.load(besideDatabase: settings.databasePath)
            if settings.signingSecret.isEmpty { settings.signingSecret = kept.signingSecret }
            if settings.apiKey.isEmpty { settings.apiKey = kept.apiKey }
        }
        let problems = settings.problems(requireSecret: true)
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "\n")) }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        let logger = Logger(label: "milestone-bot")
        let store = try AppDatabase.open(path: settings.databasePath)
        if demo { try Demo.ensure(in: store, settings: settings, now: Date()) }
        let announced = settings
        let server = try await buildChatServer(settings: settings, database: store, logger: logger, conformanceEcho: conformanceEcho) { port in
            var live = announced
            live.port = port
            Self.say("milestone-bot serving on \(live.baseURL) (database \(announced.databasePath), payments: \(announced.processor), test money)")
            if !["127.0.0.1", "localhost", "::1"].contains(announced.host) {
                Self.say("Listening beyond this machine (\(announced.host)): pages this server serves connect from any of its addresses; "
                    + "a page served elsewhere needs its origin in limits.allowed_origins (--set limits.allowed_origins=https://app.example)")
            }
            if demo {
                let tokens = await Self.demoTokens(settings: live)
                Self.say(Demo.instructions(baseURL: live.baseURL, tokens: tokens, apiKey: live.apiKey))
            }
        }
        var configuration = ServiceGroupConfiguration(
            services: server.services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // In-flight commands finish within milliseconds; a client that will not close cannot hold shutdown up.
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        // After the group's own limit (the 10 s above) and its cancellation, the process ends regardless.
        let watchdog = ShutdownWatchdog(grace: .seconds(15), logger: logger)
        try await group.run()
        withExtendedLifetime(watchdog) {}
    }

    /// Writes a line to stdout unbuffered, so whoever started us sees the address at once.
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }


    static func demoTokens(settings: ServerSettings) async -> [(UserID, String, String)] {
        let verifier = await TokenVerifier(secret: settings.signingSecret, audience: settings.audience, maxLifetime: settings.maxTokenLifetime)
        var tokens: [(UserID, String, String)] = []
        for (user, role) in [(Demo.buyer, "buyer"), (Demo.freelancer, "freelancer"), (Demo.moderator, "moderator")] {
            let token = (try? await verifier.mint(user: user, role: role, lifetime: min(settings.maxTokenLifetime, 12 * 3600))) ?? "?"
            tokens.append((user, role, token))
        }
        return tokens
    }
}
