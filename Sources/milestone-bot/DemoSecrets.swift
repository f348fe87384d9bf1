import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
                throw DemoSecretsError(path: url.path, reason: "is not the demo's secrets file (signing_secret of 32+ bytes, api_key)")
            }
            // Anyone who can read it can sign in as anyone: refuse a copy others can read.
            if let mode = (try? FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions]) as? Int, mode & 0o077 != 0 {
                throw DemoSecretsError(path: url.path, reason: "can be read by others than its owner: chmod 600 it (or remove it to make new secrets)")
            }
            return kept
        }
        let made = DemoSecrets(signingSecret: random(), apiKey: random())
        // Created readable by its owner only from the first byte (not written, then narrowed), and never over
        // a file that appeared meanwhile.
        let data = try JSONEncoder().encode(made)
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw DemoSecretsError(path: url.path, reason: "cannot be created (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count else { throw DemoSecretsError(path: url.path, reason: "could not be written") }
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
    var reason: String
    var description: String { "\(path) \(reason)" }
}
