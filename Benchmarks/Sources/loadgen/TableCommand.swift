import ArgumentParser
import Foundation

/// Puts the results of one run side by side: every metric of our server, the peer's, their ratio, and the
/// issue's target where there is one.
struct TableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "table", abstract: "Print a run's results side by side (ours, peer, ratio, target).")

    @Argument(help: "The directory holding <scenario>-<target>.json files.") var directory: String
    @Flag(help: "Markdown instead of aligned text.") var markdown = false

    static let scenarios = ["connections", "fanout-pairs", "fanout-rooms", "commands", "commands-paced", "replay", "startup"]

    /// The targets of issue 7, by scenario and metric.
    static let targets: [String: [String: Target]] = [
        "connections": ["server_bytes_per_connection": .below(8 * 1024)],
        "fanout-pairs": ["deliveries_per_s": .atLeast(50_000), "delivery_p99": .below(5), "lost": .equal(0)],
        "fanout-rooms": ["lost": .equal(0)],
        "commands": ["money_commands_per_s": .atLeast(5_000), "command_p99": .below(20), "rejected": .equal(0)],
        "commands-paced": ["money_commands_per_s": .atLeast(5_000), "command_p99": .below(20), "rejected": .equal(0)],
        "replay": ["replay_median": .below(20)],
        "startup": ["startup_median": .below(1_000)],
    ]

    enum Target {
        case below(Double), atLeast(Double), equal(Double)

        func met(by value: Double) -> Bool {
            switch self {
            case .below(let limit): value < limit
            case .atLeast(let limit): value >= limit
            case .equal(let expected): value == expected
            }
        }

        var text: String {
            switch self {
            case .below(let limit): "< \(ScenarioResult.format(limit))"
            case .atLeast(let limit): ">= \(ScenarioResult.format(limit))"
            case .equal(let expected): "= \(ScenarioResult.format(expected))"
            }
        }
    }

    func run() throws {
        let decoder = JSONDecoder()
        func load(_ scenario: String, _ target: String) -> ScenarioResult? {
            let path = (directory as NSString).appendingPathComponent("\(scenario)-\(target).json")
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return try? decoder.decode(ScenarioResult.self, from: data)
        }
        var rows: [[String]] = [["scenario", "metric", "ours", "peer", "ours/peer", "target", "met"]]
        for scenario in Self.scenarios {
            let ours = load(scenario, "ours")
            let peer = load(scenario, "peer")
            // Ours first; a metric only one side has (no latency when nothing arrived in time) is still shown.
            var names = (ours?.metrics ?? []).map(\.name)
            for (index, name) in (peer?.metrics ?? []).map(\.name).enumerated() where !names.contains(name) {
                names.insert(name, at: min(index, names.count))
            }
            for name in names {
                let a = ours?.value(name)
                let b = peer?.value(name)
                let unit = ((ours?.metrics ?? []) + (peer?.metrics ?? [])).first { $0.name == name }?.unit ?? ""
                let ratio = a.flatMap { a in b.flatMap { b in b == 0 ? nil : String(format: "%.2f", a / b) } } ?? ""
                let target = Self.targets[scenario]?[name]
                let met = target.flatMap { t in a.map { t.met(by: $0) ? "yes" : "NO" } } ?? ""
                rows.append([scenario, name + (unit.isEmpty ? "" : " (\(unit))"), a.map(ScenarioResult.format) ?? "-",
                             b.map(ScenarioResult.format) ?? "-", ratio, target?.text ?? "", met])
            }
        }
        if markdown {
            for (index, row) in rows.enumerated() {
                print("| " + row.joined(separator: " | ") + " |")
                if index == 0 { print("|" + String(repeating: "---|", count: row.count)) }
            }
        } else {
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for row in rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
            }
        }
    }
}
