import ArgumentParser
import Foundation
import NIOCore

/// Many contracts at once, each running milestone cycles: the buyer adds a milestone, funds it, the freelancer
/// submits, the buyer releases. Each contract sends its next command when the previous one is acknowledged
/// (durable), so the number of contracts is the concurrency. Reports commands/s and send-to-ack latency.
///
/// With `--rate`, sending is paced instead: a contract whose previous command was acknowledged waits for the
/// next slot of the offered rate (all contracts together), so the latency is the server's, not the queue that
/// 1,000 contracts in flight at once build in front of any server (closed loop: latency = contracts ÷ rate).
struct CommandsScenario: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "commands", abstract: "add/fund/submit/release cycles on many contracts at once.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Contracts running at once (two connections each).") var contracts = 1_000
    @Option(help: "Cycles per contract (4 commands each; a contract holds at most 200 milestones).") var cycles = 10
    @Option(help: "Stop after this many seconds even if cycles remain.") var duration = 60.0
    @Option(help: "Commands offered per second, all contracts together (0: each contract sends as soon as its previous command is acknowledged).") var rate = 0.0

    func run() throws {
        let rig = Rig(options: common)
        progress("commands: creating \(contracts) contracts")
        try rig.createContracts(contracts)
        let clients = try rig.open(contracts * 2) { index in
            let (thread, member) = index.quotientAndRemainder(dividingBy: 2)
            return ClientSpec(user: member == 0 ? "b\(thread)" : "f\(thread)", role: member == 0 ? "buyer" : "freelancer",
                thread: rig.thread(thread), threadSize: 2, loopGroup: thread)
        }
        let cpu = CPUMeter(server: common.serverPid)
        let start = nowNanos()
        let stop = start + UInt64(duration * 1e9)
        rig.setWindow(start: start, end: .max)
        progress("commands: \(contracts) contracts x \(cycles) cycles")
        var drivers: [CycleDriver] = []
        for thread in 0..<contracts {
            let driver = CycleDriver(buyer: clients[2 * thread], freelancer: clients[2 * thread + 1], cycles: cycles, stop: stop)
            drivers.append(driver)
        }
        for (slot, loop) in rig.loops.enumerated() {
            let mine = drivers.filter { $0.buyer.stats === rig.stats[slot] }
            if rate > 0 {
                let pacer = CommandPacer(rate: rate * Double(mine.count) / Double(contracts), begin: start, end: stop)
                try loop.submit {
                    mine.forEach { $0.pacer = pacer }
                    pacer.start(on: loop, drivers: mine)
                }.wait()
            } else {
                try loop.submit { mine.forEach { $0.start() } }.wait()
            }
        }
        let expected = contracts * cycles * 4
        rig.wait(upTo: duration + 5) { $0.acks >= expected || $0.closedByServer > 0 }
        let elapsed = Double(nowNanos() - start) / 1e9
        let (serverCPU, generatorCPU) = cpu.percent()
        var last: UInt64 = start
        var money = 0
        var done = 0
        for (slot, loop) in rig.loops.enumerated() {
            let mine = drivers.filter { $0.buyer.stats === rig.stats[slot] }
            let part = try loop.submit { (mine.map(\.lastAck).max() ?? 0, mine.map(\.moneyCommands).reduce(0, +), mine.map(\.commands).reduce(0, +)) }.wait()
            last = max(last, part.0)
            money += part.1
            done += part.2
        }
        let seconds = max(Double(last - start) / 1e9, 1e-9)
        let totals = rig.collect()

        var result = ScenarioResult(scenario: rate > 0 ? "commands-paced" : "commands", target: common.target)
        result.parameters = ["contracts": Double(contracts), "cycles": Double(cycles), "elapsed_s": elapsed, "offered_rate": rate]
        result.add("commands_per_s", Double(done) / seconds, "/s")
        result.add("money_commands_per_s", Double(money) / seconds, "/s")
        result.addLatencies("command", totals.ack)
        result.add("commands", Double(done), "")
        result.add("rejected", Double(totals.counts.rejected), "")
        result.add("errors", Double(totals.counts.errors + totals.counts.closedByServer), "")
        result.add("server_cpu", serverCPU ?? 0, "%")
        result.add("generator_cpu", generatorCPU ?? 0, "%")
        result.problem = totals.firstProblem
        rig.closeAll(clients)
        try result.emit(to: common.out)
    }
}

/// One contract's cycles, one command at a time: `/milestone add`, `/fund`, `/submit`, `/release`. The
/// contract was created with M1, so cycle k works on M(k+2). Lives on the loop both parties share.
final class CycleDriver {
    let buyer: BenchClient
    let freelancer: BenchClient
    let cycles: Int
    let stop: UInt64
    private var step = 0
    private(set) var commands = 0
    /// `/fund` and `/release`: the commands that move money.
    private(set) var moneyCommands = 0
    private(set) var lastAck: UInt64 = 0
    /// Paced mode: the next command waits for a slot from this pacer.
    var pacer: CommandPacer?

    init(buyer: BenchClient, freelancer: BenchClient, cycles: Int, stop: UInt64) {
        self.buyer = buyer
        self.freelancer = freelancer
        self.cycles = cycles
        self.stop = stop
    }

    func start() {
        buyer.onAck = { [unowned self] _, _ in advance() }
        freelancer.onAck = { [unowned self] _, _ in advance() }
        if let pacer { pacer.ready.append(self) } else { sendStep() }
    }

    private func advance() {
        commands += 1
        if step % 4 == 1 || step % 4 == 3 { moneyCommands += 1 }
        lastAck = nowNanos()
        step += 1
        guard step < cycles * 4, lastAck < stop else { return }
        if let pacer { pacer.ready.append(self) } else { sendStep() }
    }

    func sendStep() {
        let milestone = "M\(step / 4 + 2)"
        switch step % 4 {
        case 0: buyer.send(text: "/milestone add 10.00 bench cycle \(step / 4)")
        case 1: buyer.send(text: "/fund \(milestone)")
        case 2: freelancer.send(text: "/submit \(milestone) done")
        default: buyer.send(text: "/release \(milestone)")
        }
    }
}

/// Paced commands for one loop: every millisecond, as many commands as the offered rate has made due, each
/// from a contract whose previous command was acknowledged. A slot with no contract ready is lost (the
/// achieved rate then falls short of the offered one), so a slow server is not hidden by a later burst.
final class CommandPacer {
    let rate: Double
    let begin: UInt64
    let end: UInt64
    var ready: [CycleDriver] = []
    private var head = 0
    private var slots = 0
    private var task: RepeatedTask?

    init(rate: Double, begin: UInt64, end: UInt64) {
        self.rate = rate
        self.begin = begin
        self.end = end
    }

    func start(on loop: any EventLoop, drivers: [CycleDriver]) {
        drivers.forEach { $0.start() }
        task = loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(1)) { [self] task in
            let now = nowNanos()
            guard now < end else {
                task.cancel()
                return
            }
            let due = Int(Double(now - min(now, begin)) * rate / 1e9) - slots
            guard due > 0 else { return }
            slots += due
            for _ in 0..<due where head < ready.count {
                let driver = ready[head]
                head += 1
                driver.sendStep()
            }
            if head > 1_024, head * 2 > ready.count {
                ready.removeFirst(head)
                head = 0
            }
        }
    }
}
