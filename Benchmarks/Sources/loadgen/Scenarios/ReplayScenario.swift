import ArgumentParser
import Foundation
import NIOCore

/// A client that missed `missed` messages reconnects and resumes (`join` with `after`): the time from
/// starting the reconnect (TCP connect, handshake, token check, join) until the last missed message arrives.
struct ReplayScenario: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Reconnect after missing N messages; time until the last arrives.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Messages the client misses while away.") var missed = 1_000
    @Option(help: "Times to repeat (the result is the median; min and max are shown too).") var repeats = 7

    func run() throws {
        let rig = Rig(options: common)
        try rig.createContracts(1)
        let thread = rig.thread(0)
        let reader = ClientSpec(user: "b0", role: "buyer", thread: thread, threadSize: 2, loopGroup: 0)
        let writer = try rig.open(1) { _ in ClientSpec(user: "f0", role: "freelancer", thread: thread, threadSize: 2, loopGroup: 0) }[0]
        let loop = rig.loops[0]
        var times: [Double] = []
        for round in 0..<repeats {
            // Join once to learn where the thread is, then go away.
            let (first, joined) = rig.connect(reader, index: 1)
            try joined.wait()
            let seen = try loop.submit { first.lastSeq }.wait()
            try loop.submit { first.close() }.wait()

            let acksBefore = rig.counts().acks
            try loop.submit { for _ in 0..<missed { writer.sendStampedLine() } }.wait()
            guard rig.wait(upTo: 60, until: { $0.acks >= acksBefore + missed }) else { throw BenchError.setup("the writer's lines were not all acknowledged") }

            var spec = reader
            spec.joinAfter = seen
            let arrived = loop.makePromise(of: UInt64.self)
            var count = 0
            let started = nowNanos()
            let (again, againReady) = rig.connect(spec, index: 2) { client in
                client.onMessage = { _, frame in
                    guard frame.seq > seen else { return }
                    count += 1
                    if count == missed { arrived.succeed(nowNanos()) }
                }
            }
            loop.scheduleTask(in: .seconds(60)) {
                guard count < missed else { return }
                let got = count
                count = missed + 1
                arrived.fail(BenchError.setup("only \(got) of \(missed) missed messages arrived in 60 s"))
            }
            let last = try arrived.futureResult.wait()
            times.append(Double(last - started) / 1e6)
            try againReady.wait()
            try loop.submit { again.close() }.wait()
            progress("replay round \(round + 1): \(ScenarioResult.format(times.last!)) ms")
        }
        times.sort()
        let totals = rig.collect()
        var result = ScenarioResult(scenario: "replay", target: common.target)
        result.parameters = ["missed": Double(missed), "repeats": Double(repeats)]
        result.add("replay_median", times[times.count / 2], "ms")
        result.add("replay_min", times.first!, "ms")
        result.add("replay_max", times.last!, "ms")
        result.add("errors", Double(totals.counts.errors + totals.counts.closedByServer), "")
        result.problem = totals.firstProblem
        try result.emit(to: common.out)
    }
}
