import Foundation
import MilestoneCore
import Storage

/// The demo contract `serve --demo` creates: a buyer, a freelancer and a moderator on an Indeelancer
/// contract with two milestones, in test money.
public enum Demo {
    public static let contract: ContractID = "demo"
    public static let buyer: UserID = "alice"
    public static let freelancer: UserID = "bob"
    public static let moderator: UserID = "mia"

    /// Creates the demo contract unless it exists.
    public static func ensure(in database: AppDatabase, settings: ServerSettings, now: Date) throws {
        guard try database.contract(contract) == nil else { return }
        guard let policy = settings.presets["indeelancer"] ?? settings.presets.names.first.flatMap({ settings.presets[$0] }) else { return }
        try database.createContract(NewContract(
            id: contract, title: "Demo: logo and landing page", currency: .usd, buyer: buyer, freelancer: freelancer, policy: policy,
            milestones: [
                MilestoneDraft(amount: 50_000, description: "Logo design"),
                MilestoneDraft(amount: 125_050, description: "Landing page"),
            ]), at: now)
    }

    /// What to print so each demo user can connect.
    public static func instructions(baseURL: String, tokens: [(UserID, String, String)], apiKey: String) -> String {
        let websocket = baseURL.replacingOccurrences(of: "http", with: "ws", options: .anchored) + "/ws"
        var lines = [
            "",
            "Demo contract \"\(contract)\" is ready (Indeelancer rules, test money: nothing real moves).",
            "WebSocket endpoint: \(websocket)  (protocol: docs/PROTOCOL.md)",
            "",
        ]
        for (user, role, token) in tokens {
            lines.append("\(role) \(user):")
            lines.append("  open in a browser: \(baseURL)/#token=\(token)")
            lines.append("  token: \(token)")
            lines.append("  connect: websocat -H 'Authorization: Bearer \(token)' \(websocket)")
            lines.append("  then send: {\"type\":\"join\",\"thread\":\"\(contract)\"}")
            lines.append("")
        }
        lines.append("Platform API key (X-Api-Key) for POST \(baseURL)/api/contracts: \(apiKey)")
        lines.append("Health: \(baseURL)/health   Metrics: \(baseURL)/metrics")
        return lines.joined(separator: "\n")
    }
}
