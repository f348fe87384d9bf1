import ArgumentParser
import ChatServer
import Foundation
import MilestoneCore

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mint a user token for development, signed with auth.signing_secret (AUTH_SIGNING_SECRET).")

    @Option(help: "The server settings file (default: bot-config/server.yaml in this folder if there is one, else the settings built in).")
    var config: String?
    @Option(help: "The user id (the token's sub).") var user: String
    @Option(help: "buyer, freelancer, user or moderator.") var role = "user"
    @Option(help: "Lifetime in seconds.") var lifetime: Int = 3600

    func run() async throws {
        let settings = try await ServerSettings.load(file: try ServerSettings.settingsFile(named: config))
        guard settings.signingSecret.utf8.count >= 32 else {
            throw ValidationError("auth.signing_secret must be at least 32 bytes; set AUTH_SIGNING_SECRET")
        }
        guard ["buyer", "freelancer", "user", "moderator"].contains(role) else {
            throw ValidationError("--role must be buyer, freelancer, user or moderator")
        }
        guard lifetime > 0, Double(lifetime) <= settings.maxTokenLifetime else {
            throw ValidationError("--lifetime must be 1-\(Int(settings.maxTokenLifetime)) seconds")
        }
        let verifier = await TokenVerifier(secret: settings.signingSecret, audience: settings.audience, maxLifetime: settings.maxTokenLifetime)
        print(try await verifier.mint(user: UserID(user), role: role, lifetime: TimeInterval(lifetime)))
    }
}
