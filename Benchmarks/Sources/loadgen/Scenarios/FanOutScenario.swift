import ArgumentParser
import Foundation
import NIOCore

/// Threads of `size` members, `senders` of them talking at a steady offered rate (open loop: a line goes out
/// when its time comes, whether or not earlier ones were answered, so a slow server shows as latency, not
/// as a slower sender). Reports stored lines/s (acks), deliveries/s, delivery latency and losses.
struct FanOut {
    var name: String
    var threads: Int
    var size: Int
    /// Members of each thread that send (the buyer and the freelancer); the rest watch.
    var senders: Int
    var rate: Double
    var duration: Double
    var warmup: Double
    var drain: Double

    func run(_ common: CommonOptions) throws {
        let rig = Rig(options: common)
        progress("\(name): creating \(threads) contracts")
        try rig.createContracts(threads)
        let count = threads * size
        progress("\(name): opening \(count) connections (\(threads) threads of \(size))")
        let clients = try rig.open(count) { index in
            let (thread, member) = index.quotientAndRemainder(dividingBy: size)
            let (user, role) = member == 0 ? ("b\(thread)", "buyer") : member == 1 ? ("f\(thread)", "freelancer") : ("m\(thread)-\(member)", "moderator")
            return ClientSpec(user: user, role: role, thread: rig.thread(thread), threadSize: size, loopGroup: thread)
        }
        let talkers = clients.filter { $0.index % size < senders }
        let begin = nowNanos() + 200_000_000
        let windowStart = begin + UInt64(warmup * 1e9)
        let end = windowStart + UInt64(duration * 1e9)
        rig.setWindow(start: windowStart, end: end)
        progress("\(name): \(talkers.count) senders at \(Int(rate)) lines/s for \(warmup) s warm-up + \(duration) s")
        for (slot, loop) in rig.loops.enumerated() {
            let mine = talkers.filter { $0.stats === rig.stats[slot] }
            guard !mine.isEmpty else { continue }
            let pacer = Pacer(senders: mine, rate: rate * Double(mine.count) / Double(talkers.count), begin: begin, end: end)
            try loop.submit { pacer.start(on: loop) }.wait()
        }
        usleep(UInt32(Double(windowStart - nowNanos()) / 1000))
        let cpu = CPUMeter(server: common.serverPid)
        usleep(UInt32(Double(end - nowNanos()) / 1000))
        let (serverCPU, generatorCPU) = cpu.percent()
        progress("\(name): sending done; draining (at most \(drain) s)")
        rig.wait(upTo: drain) { $0.acks >= $0.sent && $0.deliveries >= $0.expectedDeliveries }
        let totals = rig.collect()
        let c = totals.counts

        var result = ScenarioResult(scenario: name, target: common.target)
        result.parameters = ["threads": Double(threads), "members": Double(size), "connections": Double(count),
                             "offered_lines_per_s": rate, "duration_s": duration, "warmup_s": warmup]
        result.add("stored_per_s", Double(c.acksInWindow) / duration, "/s")
        result.add("deliveries_per_s", Double(c.deliveriesInWindow) / duration, "/s")
        result.addLatencies("delivery", totals.delivery)
        if totals.ack.totalCount > 0 { result.add("ack_p99", .millis(totals.ack.valueAtPercentile(99)), "ms") }
        result.add("lost", Double(max(0, c.expectedDeliveries - c.deliveries)), "")
        result.add("unacked", Double(max(0, c.sent - c.acks)), "")
        result.add("seq_gaps", Double(c.seqGaps), "")
        result.add("seq_repeats", Double(c.seqRepeats), "")
        result.add("errors", Double(c.errors + c.closedByServer), "")
        result.add("server_cpu", serverCPU ?? 0, "%")
        result.add("generator_cpu", generatorCPU ?? 0, "%")
        result.problem = totals.firstProblem
        rig.closeAll(clients)
        try result.emit(to: common.out)
    }
}

/// Sends one loop's share of the offered rate: every millisecond, as many stamped lines as are due by now,
/// round-robin over the loop's senders. Lives on its loop.
final class Pacer {
    let senders: [BenchClient]
    let rate: Double
    let begin: UInt64
    let end: UInt64
    private var sent = 0
    private var next = 0
    private var task: RepeatedTask?

    init(senders: [BenchClient], rate: Double, begin: UInt64, end: UInt64) {
        self.senders = senders
        self.rate = rate
        self.begin = begin
        self.end = end
    }

    func start(on loop: any EventLoop) {
        task = loop.scheduleRepeatedTask(initialDelay: .nanoseconds(Int64(begin &- min(begin, nowNanos()))), delay: .milliseconds(1)) { [self] task in
            let now = nowNanos()
            guard now < end else {
                task.cancel()
                return
            }
            let due = Int(Double(now - begin) * rate / 1e9) - sent
            for _ in 0..<max(0, due) {
                senders[next].sendStampedLine()
                next = (next + 1) % senders.count
            }
            sent += max(0, due)
        }
    }
}

struct FanOutPairs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fanout-pairs", abstract: "Two-party threads, both parties talking.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Threads (two connections each).") var threads = 5_000
    @Option(help: "Lines offered per second, all threads together (each reaches 2 connections).") var rate = 25_000.0
    @Option(help: "Measured seconds.") var duration = 20.0
    @Option(help: "Seconds of sending before measuring.") var warmup = 3.0
    @Option(help: "Seconds to wait for the last deliveries.") var drain = 15.0

    func run() throws {
        try FanOut(name: "fanout-pairs", threads: threads, size: 2, senders: 2, rate: rate, duration: duration, warmup: warmup, drain: drain).run(common)
    }
}

struct FanOutRooms: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fanout-rooms", abstract: "Threads of 100: buyer and freelancer talking, moderators watching.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Threads.") var threads = 100
    @Option(help: "Connections per thread: the buyer, the freelancer and moderators.") var size = 100
    @Option(help: "Lines offered per second, all threads together (each reaches every member).") var rate = 500.0
    @Option(help: "Measured seconds.") var duration = 20.0
    @Option(help: "Seconds of sending before measuring.") var warmup = 3.0
    @Option(help: "Seconds to wait for the last deliveries.") var drain = 15.0

    func run() throws {
        try FanOut(name: "fanout-rooms", threads: threads, size: size, senders: 2, rate: rate, duration: duration, warmup: warmup, drain: drain).run(common)
    }
}
