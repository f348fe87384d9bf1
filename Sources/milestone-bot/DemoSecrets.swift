import Foundation

/// The demo's token-signing secret and platform API key, kept in `<database>.demo-secrets` (readable by its
/// owner only) so that a restart of `serve --demo` keeps everyone signed in and the printed links working.
/// Only for the demo: a real deployment sets `auth.signing_secret` and `auth.api_key`.
struct DemoSecrets: Codable {
    var signingSecret: String
    var apiKey: String

    enum CodingKeys: String, CodingKey { case signingSecret = "signing_secret", apiKey = "api_key" }

    /// The secrets kept beside `database`, made (and written) on first use.
    static func load(besideDatabase database: String) throws -> DemoSecrets {
        let url = URL(fileURLWithPath: database + ".demo-secrets")
        if let data = try? Data(contentsOf: url) {
            guard let kept = try? JSONDecoder().decode(DemoSecrets.self, from: data), kept.signingSecret.utf8.count >= 32, !kept.apiKey.isEmpty else {
                throw DemoSecretsError(path: url.path)
            }
            return kept
        }
        let made = DemoSecrets(signingSecret: random(), apiKey: random())
        FileManager.default.createFile(atPath: url.path, contents: try JSONEncoder().encode(made), attributes: [.posixPermissions: 0o600])
        return made
    }

    /// 256 random bits in hex.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let hex = String(generator.next(), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}

struct DemoSecretsError: Error, CustomStringConvertible {
    var path: String
    var description: String { "\(path) is not the demo's secrets file (signing_secret of 32+ bytes, api_key); remove it to make new ones" }
}
