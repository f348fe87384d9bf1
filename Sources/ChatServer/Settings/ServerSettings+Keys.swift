import Foundation
import BotConfig
import Yams

extension ServerSettings {
    /// Every key a settings file or `serve --set` may give; anything else there stops start-up: a typo must
    /// not run production with a default. (Environment variables cannot be checked: the environment holds
    /// other programs' variables too.)
    public static let knownKeys: Set<String> = [
        "server.host", "server.port", "server.public_url",
        "database.path",
        "auth.signing_secret", "auth.audience", "auth.max_token_lifetime_seconds", "auth.api_key",
        "limits.max_frame_bytes", "limits.messages_per_second", "limits.message_burst", "limits.flood_strikes_before_close",
        "limits.ping_interval_seconds", "limits.idle_timeout_seconds", "limits.handshake_timeout_seconds",
        "limits.max_connections_per_user", "limits.max_queued_messages", "limits.max_queued_bytes",
        "limits.read_bytes_per_second", "limits.read_bytes_burst", "limits.max_history_bytes", "limits.allowed_origins",
        "policies.presets_dir", "policies.overrides",
        "payments.processor", "payments.stripe.secret_key", "payments.stripe.api_base", "payments.stripe.mode",
        "payments.stripe.webhook_secret", "payments.stripe.authorization_hours", "payments.stripe.hold_warning_hours",
        "payments.stripe.hold_action_hours", "payments.stripe.retry_seconds", "payments.stripe.on_hold_expiry",
        "notifications.webhook_url", "notifications.secret", "notifications.unread_after_seconds", "transcripts.signing_key",
        "files.directory", "files.max_file_bytes", "files.contract_quota_bytes", "files.unreferenced_grace_hours",
    ]

    /// Keys whose value is a mapping of their own, checked elsewhere (preset overrides: by the preset schema).
    static let openKeys: Set<String> = ["policies.overrides"]

    /// The dotted keys of a settings file's leaves; a mapping under an open key counts as one leaf, and so
    /// does one under a key no known key starts with (`policy_overrides`, not each key below it).
    public static func keys(inYAML text: String, file: String) throws(ConfigError) -> [String] {
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw ConfigError(file: file, "cannot be read as YAML: \(error)") }
        guard let root else { return [] }
        guard let mapping = root as? [String: Any] else { throw ConfigError(file: file, "expected a mapping of sections (server, auth, limits ...)") }
        var found: [String] = []
        func walk(_ mapping: [String: Any], prefix: String) {
            for (key, value) in mapping {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                let isSection = knownKeys.contains { $0.hasPrefix(path + ".") }
                if !openKeys.contains(path), isSection, let nested = value as? [String: Any] {
                    walk(nested, prefix: path)
                } else if isSection, value is NSNull {
                    // A section whose keys are all commented out: empty, not unknown.
                } else {
                    found.append(path)
                }
            }
        }
        walk(mapping, prefix: "")
        return found.sorted()
    }

    /// Refuses a key nobody reads, naming the nearest known one.
    static func checkKnown(_ keys: [String], file: String) throws(ConfigError) {
        for key in keys where !knownKeys.contains(key) {
            throw ConfigError(file: file, key: key, "unknown key; did you mean `\(nearestKey(to: key))`? (bot-config/server.yaml lists every key)")
        }
    }

    /// The known key closest to `key`, by edit distance over the whole path or its last part.
    static func nearestKey(to key: String) -> String {
        let last = key.split(separator: ".").last.map(String.init) ?? key
        return knownKeys.min { a, b in
            score(key, last, a) < score(key, last, b) || (score(key, last, a) == score(key, last, b) && a < b)
        } ?? "server.port"
    }

    private static func score(_ key: String, _ last: String, _ candidate: String) -> Int {
        let candidateLast = candidate.split(separator: ".").last.map(String.init) ?? candidate
        return min(editDistance(key, candidate), editDistance(last, candidateLast) + 1)
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
