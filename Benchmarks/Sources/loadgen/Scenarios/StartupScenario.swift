import ArgumentParser
import Foundation
import NIOCore

/// Time from starting the server process until `GET /health` answers 200: the command after `--` is started
/// `--repeats` times (stopped with SIGTERM after each), polling every 2 ms.
struct StartupScenario: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "startup", abstract: "Time from process start to serving (GET /health answers).")

    @OptionGroup var common: CommonOptions
    @Option(help: "Times to start the server (the result is the median).") var repeats = 5
    @Option(help: "Messages in the database, for the record.") var messages = 0
    @Argument(parsing: .postTerminator, help: "The server command line.") var command: [String]

    func run() throws {
        guard let executable = command.first else { throw ValidationError("give the server command after --") }
        let rig = Rig(options: common)
        var times: [Double] = []
        for round in 0..<repeats {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = Array(command.dropFirst())
            process.standardOutput = FileHandle.nullDevice
            let started = nowNanos()
            try process.run()
            var serving: UInt64?
            while serving == nil, process.isRunning, nowNanos() - started < 300_000_000_000 {
                let answer = try? OneShotHTTP.request(on: rig.group, host: common.host, port: common.port, method: "GET", path: "/health").wait()
                if answer?.status == 200 { serving = nowNanos() } else { usleep(2_000) }
            }
            process.terminate()
            process.waitUntilExit()
            guard let serving else { throw BenchError.setup("the server did not serve (exit status \(process.terminationStatus))") }
            times.append(Double(serving - started) / 1e6)
            progress("startup round \(round + 1): \(ScenarioResult.format(times.last!)) ms")
            usleep(200_000)
        }
        times.sort()
        var result = ScenarioResult(scenario: "startup", target: common.target)
        result.parameters = ["messages": Double(messages), "repeats": Double(repeats)]
        result.add("startup_median", times[times.count / 2], "ms")
        result.add("startup_min", times.first!, "ms")
        result.add("startup_max", times.last!, "ms")
        try result.emit(to: common.out)
    }
}
