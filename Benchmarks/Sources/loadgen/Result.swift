import Foundation
import Histogram

/// One scenario's outcome against one server: printed as a single summary line and written as JSON.
struct ScenarioResult: Codable {
    struct Metric: Codable {
        var name: String
        var value: Double
        var unit: String
    }

    var scenario: String
    var target: String
    var date = ISO8601DateFormatter().string(from: Date())
    /// The shape of the run: connections, rate, duration ...
    var parameters: [String: Double] = [:]
    /// In the order the table shows them.
    var metrics: [Metric] = []
    /// The first error or rejection, if any.
    var problem: String?

    init(scenario: String, target: String) {
        self.scenario = scenario
        self.target = target
    }

    mutating func add(_ name: String, _ value: Double, _ unit: String) {
        metrics.append(Metric(name: name, value: value, unit: unit))
    }

    /// p50, p99, p99.9 and max of a histogram of nanoseconds, as milliseconds named `<prefix>_p50_ms` ...
    mutating func addLatencies(_ prefix: String, _ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else { return }
        add("\(prefix)_p50", .millis(histogram.valueAtPercentile(50)), "ms")
        add("\(prefix)_p99", .millis(histogram.valueAtPercentile(99)), "ms")
        add("\(prefix)_p99.9", .millis(histogram.valueAtPercentile(99.9)), "ms")
        add("\(prefix)_max", .millis(histogram.max), "ms")
    }

    func value(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }

    var summaryLine: String {
        let numbers = metrics.map { "\($0.name)=\(Self.format($0.value))\($0.unit.isEmpty ? "" : " " + $0.unit)" }
        return "\(scenario) [\(target)] " + numbers.joined(separator: "  ") + (problem.map { "  (first problem: \($0))" } ?? "")
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        if abs(value) >= 100 { return String(format: "%.0f", value) }
        if abs(value) >= 1 { return String(format: "%.2f", value) }
        return String(format: "%.3f", value)
    }

    /// Prints the summary line and writes the JSON file (if asked for).
    func emit(to path: String?) throws {
        print(summaryLine)
        fflush(stdout)
        guard let path else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
