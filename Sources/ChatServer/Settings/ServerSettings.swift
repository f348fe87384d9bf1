import BotConfig
import Foundation
import MilestoneCore
import Payments

/// Everything the server needs to run, read from `bot-config/server.yaml` with environment variables and
/// flags on top. Values are checked when loaded; a bad one stops start-up with a message naming it.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Base URL printed in links; defaults to `http://host:port`.
    public var publicURL: String?
    public var databasePath = "milestone-bot.sqlite"
    /// HS256 secret of user tokens, at least 32 bytes.
    public var signingSecret = ""
    public var audience = "milestone-bot"
    public var maxTokenLifetime: TimeInterval = 86_400
    /// The platform backend's key for the contracts API; empty turns that API off.
    public var apiKey = ""
    public var limits = Limits()
    public var files = Files()
    public var presets: PolicyCatalog
    /// `simulated` (the ledger alone, test money) or `stripe`.
    public var processor = "simulated"
    /// Payments are simulated: every amount shown is test money.
    public var testMoney: Bool { processor == "simulated" }
    public var stripe = StripePayments()
    /// Where every milestone event is POSTed as signed JSON; nil: no notifications.
    public var webhookURL: URL?
    /// The HMAC-SHA256 secret that signs notifications (`Milestone-Signature`).
    public var webhookSecret = ""
    /// A chat line a party has not had (not connected, not read) is told to the platform (`message.created`)
    /// once it is this old; lines arriving meanwhile join the same event.
    public var unreadAfter: TimeInterval = 60
    /// The Ed25519 private key (32 bytes, base64) that signs transcript heads; empty: heads are not signed.
    public var transcriptSigningKey = ""

    /// `payments.stripe.*`: used when `processor` is `stripe`.
    public struct StripePayments: Sendable {
        /// `sk_live_...`/`sk_test_...`; from `payments.stripe.secret_key` or `STRIPE_SECRET_KEY`. Never logged.
        public var secretKey = ""
        /// Stripe itself, or a local emulator (localstripe) in tests.
        public var apiBase = URL(string: "https://api.stripe.com")!
        public var mode = HoldMode.authorizeAndCapture
        /// The `whsec_...` secret of the webhook endpoint (`POST /webhooks/stripe`); empty turns it off.
        public var webhookSecret = ""
        public var authorizationLifetime: TimeInterval = 7 * 86_400
        /// How long before an authorization expires the thread is warned.
        public var holdWarningLead: TimeInterval = 24 * 3_600
        /// How long before it expires the action is taken.
        public var holdActionLead: TimeInterval = 6 * 3_600
        public var onHoldExpiry = HoldExpiryAction.capture
        /// How often pending processor calls are retried.
        public var retryInterval: TimeInterval = 15

        public var settings: StripeSettings {
            StripeSettings(secretKey: secretKey, apiBase: apiBase, mode: mode, authorizationLifetime: authorizationLifetime)
        }
    }

    /// Files people attach to a thread (deliverables, evidence).
    public struct Files: Sendable {
        /// Where the bytes are kept; empty: a folder `<database>.files` beside the database.
        public var directory = ""
        /// The largest file one upload may be.
        public var maxFileBytes = 25 << 20
        /// All files of one contract together.
        public var contractQuotaBytes = 500 << 20
        /// A file no message references is removed this long after it was uploaded.
        public var unreferencedGrace: TimeInterval = 24 * 3_600

        public init() {}
    }

    public struct Limits: Sendable {
        public var maxFrameBytes = 16_384
        public var messagesPerSecond = 20.0
        public var messageBurst = 40.0
        public var floodStrikesBeforeClose = 100
        public var pingInterval: TimeInterval = 30
        public var idleTimeout: TimeInterval = 30
        public var maxQueuedMessages = 5_000
        /// Bytes of frames queued for one connection; past it (a client that does not read) it is dropped.
        public var maxQueuedBytes = 8 << 20
        /// The largest `history` frame, in bytes of message text: a page that would be larger holds fewer
        /// messages (`has_more` says so).
        public var maxHistoryBytes = 1 << 20
        /// Bytes of history (`join` backlogs, `history` pages) one user may read per second, across all
        /// their connections, and at once.
        public var readBytesPerSecond = 1 << 20
        public var readBytesBurst = 4 << 20
        /// A connection must complete its first request (a WebSocket's upgrade) this soon after it is accepted.
        public var handshakeTimeout: TimeInterval = 10
        /// WebSockets one user may hold open at once; more are refused (`too_many_connections`, 4429).
        public var maxConnectionsPerUser = 20
        /// Browser origins allowed to open a WebSocket; `*` allows any.
        public var allowedOrigins: Set<String> = ["http://127.0.0.1:8080", "http://localhost:8080"]

        public init() {}

        public func allows(origin: String?) -> Bool {
            guard let origin else { return true }
            return allowedOrigins.contains("*") || allowedOrigins.contains(origin)
        }
    }

    public init(presets: PolicyCatalog) {
        self.presets = presets
    }

    /// The URL people reach the server at.
    public var baseURL: String { publicURL ?? "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)" }

    /// Problems that stop start-up.
    public func problems(requireSecret: Bool) -> [String] {
        var found: [String] = []
        if requireSecret && signingSecret.utf8.count < 32 {
            found.append("auth.signing_secret must be at least 32 bytes (set AUTH_SIGNING_SECRET); it has \(signingSecret.utf8.count)")
        }
        if !(0...65_535).contains(port) { found.append("server.port must be 0-65535, not \(port)") }
        if limits.maxFrameBytes < 256 || limits.maxFrameBytes > 16 << 20 { found.append("limits.max_frame_bytes must be 256 B - 16 MiB") }
        if limits.messagesPerSecond <= 0 || limits.messageBurst < 1 { found.append("limits.messages_per_second and limits.message_burst must be positive") }
        if limits.pingInterval < 1 { found.append("limits.ping_interval_seconds must be at least 1") }
        if limits.idleTimeout < 1 { found.append("limits.idle_timeout_seconds must be at least 1") }
        if limits.handshakeTimeout < 0.1 { found.append("limits.handshake_timeout_seconds must be at least 0.1") }
        if files.maxFileBytes < 1 || files.contractQuotaBytes < files.maxFileBytes {
            found.append("files.max_file_bytes must be at least 1 and files.contract_quota_bytes at least max_file_bytes")
        }
        if files.unreferencedGrace < 60 { found.append("files.unreferenced_grace_hours must be at least 60 seconds (0.0167 hours)") }
        if limits.maxConnectionsPerUser < 1 { found.append("limits.max_connections_per_user must be at least 1") }
        switch processor {
        case "simulated": break
        case "stripe":
            if !(stripe.secretKey.hasPrefix("sk_") && stripe.secretKey.count > 8) {
                found.append("payments.stripe.secret_key must be a Stripe secret key (sk_...) when payments.processor is stripe (set STRIPE_SECRET_KEY)")
            }
            if !["http", "https"].contains(stripe.apiBase.scheme ?? "") { found.append("payments.stripe.api_base must be an http(s) URL") }
            if stripe.holdActionLead >= stripe.holdWarningLead { found.append("payments.stripe.hold_action_hours must be less than hold_warning_hours") }
            if stripe.holdWarningLead >= stripe.authorizationLifetime { found.append("payments.stripe.hold_warning_hours must be shorter than the authorization lifetime") }
            if stripe.retryInterval < 1 { found.append("payments.stripe.retry_seconds must be at least 1") }
        default:
            found.append("payments.processor must be simulated or stripe, not \(processor)")
        }
        if !apiKey.isEmpty && apiKey.utf8.count < 16 { found.append("auth.api_key must be at least 16 characters") }
        if !transcriptSigningKey.isEmpty && HeadSigner(base64: transcriptSigningKey) == nil {
            found.append("transcripts.signing_key must be a 32-byte Ed25519 private key in base64 (`milestone-bot signing-key` makes one)")
        }
        if webhookURL != nil && webhookSecret.utf8.count < 16 {
            found.append("notifications.secret must be at least 16 bytes when notifications.webhook_url is set (set NOTIFICATIONS_SECRET)")
        }
        return found
    }
}
