import BotConfig
import Configuration
import Foundation
import MilestoneCore
import Payments
import Yams

extension ServerSettings {
    /// The settings shipped inside the binary (a copy of the repository's `bot-config/`), for a server
    /// started outside a checkout.
    public static var builtInSettingsFile: String? {
        builtInConfig.map { $0.appendingPathComponent("server.yaml").path }
    }

    /// The package's copy of `bot-config/`, beside the binary.
    static var builtInConfig: URL? { Bundle.module.resourceURL?.appendingPathComponent("bot-config") }

    /// The settings file to read: the one named (which must exist), else `bot-config/server.yaml` in the
    /// working folder, else the built-in one.
    public static func settingsFile(named: String?, in folder: String = FileManager.default.currentDirectoryPath) throws -> String {
        if let named {
            guard FileManager.default.fileExists(atPath: named) else { throw ConfigError(file: named, "file not found") }
            return named
        }
        let local = URL(fileURLWithPath: folder).appendingPathComponent("bot-config/server.yaml").path
        if FileManager.default.fileExists(atPath: local) { return local }
        guard let builtIn = builtInSettingsFile, FileManager.default.fileExists(atPath: builtIn) else {
            throw ConfigError(file: local, "file not found, and the built-in settings are missing beside the binary")
        }
        return builtIn
    }

    /// Reads `file` (YAML), then environment variables, then `flags` (highest priority), each keyed like
    /// `server.port`. Policy presets are loaded from `policies.presets_dir` with `policies.overrides` applied.
    public static func load(file: String, flags: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> ServerSettings {
        let fileProvider: FileProvider<YAMLSnapshot>
        do {
            fileProvider = try await FileProvider<YAMLSnapshot>(filePath: .init(file), allowMissing: false)
        } catch {
            throw ConfigError(file: file, "cannot be read as YAML: \(error)")
        }
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        try checkKnown(try keys(inYAML: text, file: file), file: file)
        try checkKnown(flags.keys.sorted(), file: "serve --set")
        if let open = flags.keys.first(where: openKeys.contains) {
            throw ConfigError(file: "serve --set", key: open, "is a mapping: set it in the settings file")
        }
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags { flagValues[AbsoluteConfigKey(stringLiteral: key)] = ConfigValue(.string(value), isSecret: key.contains("secret") || key.contains("key")) }
        let config = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: flagValues),
            EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: .specific(["AUTH_SIGNING_SECRET", "AUTH_API_KEY", "NOTIFICATIONS_SECRET"])),
            fileProvider,
        ])
        let presetsDirectory = try presetsDirectory(config.string(forKey: "policies.presets_dir"), settingsFile: file)
        let overrides = try policyOverrides(file: file)
        let catalog = try PolicyCatalog.load(directory: presetsDirectory, overrides: overrides, overridesFile: "\(file) policies.overrides")

        var settings = ServerSettings(presets: catalog)
        func int(_ key: ConfigKey, _ current: Int) throws -> Int {
            guard let text = config.string(forKey: key) else { return current }
            guard let value = Int(text) else { throw ConfigError(file: file, key: key.description, "expected a whole number, got \"\(text)\"") }
            return value
        }
        func double(_ key: ConfigKey, _ current: Double) throws -> Double {
            guard let text = config.string(forKey: key) else { return current }
            guard let value = Double(text) else { throw ConfigError(file: file, key: key.description, "expected a number, got \"\(text)\"") }
            return value
        }
        settings.host = config.string(forKey: "server.host", default: settings.host)
        settings.port = try int("server.port", settings.port)
        let publicURL = config.string(forKey: "server.public_url", default: "")
        settings.publicURL = publicURL.isEmpty ? nil : publicURL
        settings.databasePath = config.string(forKey: "database.path", default: settings.databasePath)
        settings.signingSecret = config.string(forKey: "auth.signing_secret", isSecret: true, default: "")
        settings.audience = config.string(forKey: "auth.audience", default: settings.audience)
        settings.maxTokenLifetime = try double("auth.max_token_lifetime_seconds", settings.maxTokenLifetime)
        settings.apiKey = config.string(forKey: "auth.api_key", isSecret: true, default: "")
        settings.files.directory = config.string(forKey: "files.directory", default: settings.files.directory)
        settings.files.maxFileBytes = try int("files.max_file_bytes", settings.files.maxFileBytes)
        settings.files.contractQuotaBytes = try int("files.contract_quota_bytes", settings.files.contractQuotaBytes)
        settings.files.unreferencedGrace = try double("files.unreferenced_grace_hours", settings.files.unreferencedGrace / 3_600) * 3_600
        settings.limits.maxFrameBytes = try int("limits.max_frame_bytes", settings.limits.maxFrameBytes)
        settings.limits.messagesPerSecond = try double("limits.messages_per_second", settings.limits.messagesPerSecond)
        settings.limits.messageBurst = try double("limits.message_burst", settings.limits.messageBurst)
        settings.limits.floodStrikesBeforeClose = try int("limits.flood_strikes_before_close", settings.limits.floodStrikesBeforeClose)
        settings.limits.pingInterval = try double("limits.ping_interval_seconds", settings.limits.pingInterval)
        settings.limits.idleTimeout = try double("limits.idle_timeout_seconds", settings.limits.idleTimeout)
        settings.limits.maxQueuedMessages = try int("limits.max_queued_messages", settings.limits.maxQueuedMessages)
        settings.limits.maxQueuedBytes = try int("limits.max_queued_bytes", settings.limits.maxQueuedBytes)
        settings.limits.maxHistoryBytes = try int("limits.max_history_bytes", settings.limits.maxHistoryBytes)
        guard settings.limits.maxHistoryBytes >= 64 << 10 else {
            throw ConfigError(file: file, key: "limits.max_history_bytes", "must be at least 65536 (a page must hold a message), got \(settings.limits.maxHistoryBytes)")
        }
        settings.limits.readBytesPerSecond = try int("limits.read_bytes_per_second", settings.limits.readBytesPerSecond)
        settings.limits.readBytesBurst = try int("limits.read_bytes_burst", settings.limits.readBytesBurst)
        guard settings.limits.readBytesPerSecond > 0, settings.limits.readBytesBurst > 0 else {
            throw ConfigError(file: file, key: "limits.read_bytes_per_second", "read_bytes_per_second and read_bytes_burst must be more than 0")
        }
        guard settings.limits.maxQueuedBytes >= 2 * settings.limits.maxHistoryBytes else {
            throw ConfigError(file: file, key: "limits.max_queued_bytes",
                "must be at least \(2 * settings.limits.maxHistoryBytes) (two history pages), got \(settings.limits.maxQueuedBytes)")
        }
        settings.limits.handshakeTimeout = try double("limits.handshake_timeout_seconds", settings.limits.handshakeTimeout)
        settings.limits.maxConnectionsPerUser = try int("limits.max_connections_per_user", settings.limits.maxConnectionsPerUser)
        let origins = config.string(forKey: "limits.allowed_origins", default: settings.limits.allowedOrigins.sorted().joined(separator: ","))
        settings.limits.allowedOrigins = Set(origins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        settings.processor = config.string(forKey: "payments.processor", default: settings.processor)
        settings.stripe.secretKey = config.string(forKey: "payments.stripe.secret_key", isSecret: true, default: "")
        if settings.stripe.secretKey.isEmpty, let key = environment["STRIPE_SECRET_KEY"] { settings.stripe.secretKey = key }
        let apiBase = config.string(forKey: "payments.stripe.api_base", default: settings.stripe.apiBase.absoluteString)
        guard let base = URL(string: apiBase), ["http", "https"].contains(base.scheme ?? "") else {
            throw ConfigError(file: file, key: "payments.stripe.api_base", "expected an http or https URL, got \"\(apiBase)\"")
        }
        settings.stripe.apiBase = base
        let mode = config.string(forKey: "payments.stripe.mode", default: settings.stripe.mode.rawValue)
        guard let holdMode = HoldMode(rawValue: mode) else {
            throw ConfigError(file: file, key: "payments.stripe.mode", "expected \(HoldMode.allCases.map(\.rawValue).joined(separator: " or ")), got \"\(mode)\"")
        }
        settings.stripe.mode = holdMode
        settings.stripe.webhookSecret = config.string(forKey: "payments.stripe.webhook_secret", isSecret: true, default: "")
        if settings.stripe.webhookSecret.isEmpty, let secret = environment["STRIPE_WEBHOOK_SECRET"] { settings.stripe.webhookSecret = secret }
        settings.stripe.authorizationLifetime = try double("payments.stripe.authorization_hours", settings.stripe.authorizationLifetime / 3_600) * 3_600
        settings.stripe.holdWarningLead = try double("payments.stripe.hold_warning_hours", settings.stripe.holdWarningLead / 3_600) * 3_600
        settings.stripe.holdActionLead = try double("payments.stripe.hold_action_hours", settings.stripe.holdActionLead / 3_600) * 3_600
        settings.stripe.retryInterval = try double("payments.stripe.retry_seconds", settings.stripe.retryInterval)
        let onExpiry = config.string(forKey: "payments.stripe.on_hold_expiry", default: settings.stripe.onHoldExpiry.rawValue)
        guard let action = HoldExpiryAction(rawValue: onExpiry) else {
            throw ConfigError(file: file, key: "payments.stripe.on_hold_expiry", "expected capture or release, got \"\(onExpiry)\"")
        }
        settings.stripe.onHoldExpiry = action
        let webhook = config.string(forKey: "notifications.webhook_url", default: "")
        if !webhook.isEmpty {
            guard let url = URL(string: webhook), ["http", "https"].contains(url.scheme ?? "") else {
                throw ConfigError(file: file, key: "notifications.webhook_url", "expected an http or https URL, got \"\(webhook)\"")
            }
            settings.webhookURL = url
        }
        settings.webhookSecret = config.string(forKey: "notifications.secret", isSecret: true, default: "")
        settings.unreadAfter = try double("notifications.unread_after_seconds", settings.unreadAfter)
        guard settings.unreadAfter >= 0, settings.unreadAfter <= 86_400 else {
            throw ConfigError(file: file, key: "notifications.unread_after_seconds", "expected 0 to 86400 seconds, got \(settings.unreadAfter)")
        }
        settings.transcriptSigningKey = config.string(forKey: "transcripts.signing_key", isSecret: true, default: "")
        return settings
    }

    /// `policies.presets_dir` as a folder: absolute; or relative to the working folder; or to the folder
    /// that holds the settings file's `bot-config/`. Not set and found nowhere: the built-in presets. Set
    /// and found nowhere: an error.
    static func presetsDirectory(_ configured: String?, settingsFile file: String) throws -> URL {
        let value = configured ?? "bot-config/presets"
        if value.hasPrefix("/") { return URL(fileURLWithPath: value) }
        let root = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(value), root.appendingPathComponent(value)]
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return found }
        if configured == nil, let builtIn = builtInConfig?.appendingPathComponent("presets"),
            FileManager.default.fileExists(atPath: builtIn.path) {
            return builtIn
        }
        throw ConfigError(file: file, key: "policies.presets_dir", "\"\(value)\" is not a folder here (\(candidates.map(\.path).joined(separator: " or ")))")
    }

    /// `policies.overrides` is a nested mapping, read straight from the YAML file.
    static func policyOverrides(file: String) throws -> [String: [String: Any]] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        guard let root = (try? Yams.load(yaml: text)) as? [String: Any],
            let policies = root["policies"] as? [String: Any], let overrides = policies["overrides"]
        else { return [:] }
        guard let mapping = overrides as? [String: Any] else {
            throw ConfigError(file: file, key: "policies.overrides", "expected a mapping of preset names to keys and values")
        }
        var result: [String: [String: Any]] = [:]
        for (preset, fields) in mapping {
            guard let fields = fields as? [String: Any] else {
                throw ConfigError(file: file, key: "policies.overrides.\(preset)", "expected a mapping of policy keys to values")
            }
            result[preset] = fields
        }
        return result
    }
}
