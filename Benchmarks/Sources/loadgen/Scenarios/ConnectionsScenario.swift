import ArgumentParser
import Foundation

/// Opens N idle authenticated connections and reports the server's memory per connection: its VmRSS after
/// every connection got `hello` and things settled, minus before, divided by N.
struct ConnectionsScenario: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connections", abstract: "N idle authenticated connections; server memory per connection.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Connections to open.") var connections = 10_000
    @Option(help: "Seconds to wait after the last connection before measuring memory.") var settle = 3.0

    func run() throws {
        guard let pid = common.serverPid else { throw ValidationError("--server-pid is needed to read the server's memory") }
        let rig = Rig(options: common)
        usleep(UInt32(settle * 500_000))
        guard let before = SystemInfo.residentBytes(pid: pid) else { throw ValidationError("cannot read /proc/\(pid)/status") }
        let ownBefore = SystemInfo.residentBytes(pid: SystemInfo.ownPID) ?? 0
        let started = nowNanos()
        let clients = try rig.open(connections) { ClientSpec(user: "u\($0)", role: "user", loopGroup: $0) }
        let openSeconds = Double(nowNanos() - started) / 1e9
        usleep(UInt32(settle * 1_000_000))
        let after = SystemInfo.residentBytes(pid: pid) ?? before
        let ownAfter = SystemInfo.residentBytes(pid: SystemInfo.ownPID) ?? ownBefore
        let totals = rig.collect()

        var result = ScenarioResult(scenario: "connections", target: common.target)
        result.parameters = ["connections": Double(connections)]
        result.add("connections", Double(totals.counts.hellos), "")
        result.add("server_bytes_per_connection", Double(after - before) / Double(connections), "B")
        result.add("server_rss_before", Double(before) / 1_048_576, "MiB")
        result.add("server_rss_after", Double(after) / 1_048_576, "MiB")
        result.add("open_rate", Double(connections) / openSeconds, "/s")
        result.add("generator_bytes_per_connection", Double(ownAfter - ownBefore) / Double(connections), "B")
        result.problem = totals.firstProblem
        rig.closeAll(clients)
        try result.emit(to: common.out)
    }
}
