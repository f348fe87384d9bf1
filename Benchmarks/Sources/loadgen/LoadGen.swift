import ArgumentParser

/// Drives milestone-bot (or the Node peer in Benchmarks/peer) over loopback from its own process.
/// Each scenario prints one summary line and writes a JSON result; `table` puts results side by side.
/// Benchmarks/run.sh starts the servers and runs everything; docs/PERFORMANCE.md explains the numbers.
@main
struct LoadGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Load generator for milestone-bot benchmarks (docs/PERFORMANCE.md).",
        subcommands: [ConnectionsScenario.self, FanOutPairs.self, FanOutRooms.self, CommandsScenario.self,
                      ReplayScenario.self, StartupScenario.self, ContractsSetup.self, TableCommand.self])
}
