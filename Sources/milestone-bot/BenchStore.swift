import ArgumentParser
import ChatServer
import Foundation
import Logging
import MilestoneCore
import PostgresStore
import Storage

/// `milestone-bot bench-store`: how many chat lines a second each store makes durable under many writers,
/// with the latency of each line (until its transaction committed). Prints numbers; asserts nothing.
struct BenchStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-store",
        abstract: "Measure durable lines/s and per-line latency on SQLite and (with --postgres) PostgreSQL.")

    @Option(help: "A PostgreSQL database to measure too (postgres://user@host:port/db; it must be empty: tables are created in it).")
    var postgres: String?
    @Option(help: "Lines in all.") var lines = 5_000
    @Option(help: "Threads (contracts) the lines go to.") var threads = 50
    @Option(help: "Writers sending at once (each waits for its line to be durable before the next).") var writers = 64

    func run() async throws {
        let settings = try await ServerSettings.load(file: try ServerSettings.settingsFile(named: nil), flags: [:])
        guard let policy = settings.presets["indeelancer"] else { throw ValidationError("the indeelancer preset is missing") }
        print("store       lines   writers  threads   lines/s    p50 ms    p99 ms")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try await measure("sqlite", try AppDatabase.open(path: folder.appendingPathComponent("bench.sqlite").path), policy: policy)
        if let postgres {
            var logger = Logger(label: "bench-store")
            logger.logLevel = .error  // Errors only: PostgresNIO warns when a query waits for the pool's first connection, which is expected here.
            let store = try PostgresStore(url: postgres, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.run() }
                defer { group.cancelAll() }
                try await store.migrate()
                try await measure("postgresql", store, policy: policy)
            }
        }
    }

    private func measure(_ name: String, _ store: any TranscriptStore, policy: Policy) async throws {
        let run = UUID().uuidString.prefix(8)
        let ids = (0..<threads).map { ContractID("bench-\(run)-\($0)") }
        for id in ids {
            _ = try await store.newContract(NewContract(id: id, title: "Bench", currency: .usd, buyer: "alice", freelancer: "bob", policy: policy), at: Date())
        }
        let perWriter = max(1, lines / writers)
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var mine: [Double] = []
                    for line in 0..<perWriter {
                        let text = "writer \(writer) line \(line): the quick brown fox jumps over the lazy dog"
                        let request = LineRequest(commandID: CommandID("\(run)-\(writer)-\(line)"), thread: ids[(writer + line) % ids.count],
                            author: Participant(user: "alice", role: .buyer), text: text, parsed: ParsedLine(text, currency: .usd), receivedAt: Date())
                        let sent = ContinuousClock.now
                        _ = try await store.appendLine(request)
                        let elapsed = ContinuousClock.now - sent
                        mine.append(Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15)
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }.sorted()
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        print(String(format: "%-10@ %6d %9d %8d %9.0f %9.1f %9.1f", name as NSString, latencies.count, writers, threads,
            Double(latencies.count) / seconds, percentile(0.5), percentile(0.99)))
    }
}
