import Dispatch
import Foundation
import NIOCore
import NIOPosix

/// What a client is: who it signs in as, which thread it joins (if any) and how many receive that thread.
struct ClientSpec {
    var user: String
    var role: String
    var thread: String?
    var threadSize = 1
    /// Clients that must share a loop (the two parties a command driver alternates between) get the same group.
    var loopGroup: Int
    var joinAfter: Int64?
}

/// The generator's machinery: event loops with their stats, opening connections, creating contracts over
/// HTTP, and adding up the counts at the end.
final class Rig {
    let options: CommonOptions
    let group: MultiThreadedEventLoopGroup
    let loops: [any EventLoop]
    let stats: [LoopStats]
    let minter: TokenMinter

    init(options: CommonOptions) {
        self.options = options
        SystemInfo.raiseOpenFileLimit()
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.eventLoops))
        loops = Array(group.makeIterator())
        stats = loops.map { _ in LoopStats() }
        minter = TokenMinter(secret: options.secret)
    }

    deinit { try? group.syncShutdownGracefully() }

    func loopIndex(_ group: Int) -> Int { group % loops.count }

    /// Starts one connection; the future succeeds when it is ready (hello, and joined if it has a thread).
    /// `prepare` runs before the connection starts (on the calling thread), to set the client's hooks.
    func connect(_ spec: ClientSpec, index: Int, timeout: TimeAmount = .seconds(60), prepare: (BenchClient) -> Void = { _ in }) -> (BenchClient, EventLoopFuture<Void>) {
        let slot = loopIndex(spec.loopGroup)
        let loop = loops[slot]
        let client = BenchClient(index: index, thread: spec.thread, threadSize: spec.threadSize, stats: stats[slot], ready: loop.makePromise())
        client.joinAfter = spec.joinAfter
        prepare(client)
        let token = minter.token(user: spec.user, role: spec.role)
        let (host, port) = (options.host, options.port)
        ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WebSocketHandshake(host: host, port: port, path: "/ws", token: token, client: client))
                }
            }
            .connect(host: host, port: port)
            .whenFailure { client.failHandshake("connect: \($0)") }
        loop.scheduleTask(in: timeout) { client.failHandshake("not ready after \(timeout.nanoseconds / 1_000_000_000) s") }
        return (client, client.ready.futureResult)
    }

    /// Opens `count` connections, `options.parallel` at a time, and waits until every one is ready.
    func open(_ count: Int, spec: (Int) -> ClientSpec) throws -> [BenchClient] {
        let gate = DispatchSemaphore(value: max(1, options.parallel))
        var clients: [BenchClient] = []
        var readies: [EventLoopFuture<Void>] = []
        clients.reserveCapacity(count)
        for index in 0..<count {
            gate.wait()
            let (client, ready) = connect(spec(index), index: index)
            ready.whenComplete { _ in gate.signal() }
            clients.append(client)
            readies.append(ready)
            if (index + 1) % 2000 == 0 { progress("opened \(index + 1)/\(count) connections") }
        }
        let results = try EventLoopFuture.whenAllComplete(readies, on: group.next()).wait()
        let failed = results.filter { if case .failure = $0 { true } else { false } }.count
        guard failed == 0 else {
            throw BenchError.setup("\(failed) of \(count) connections failed; first problem: \(collect().firstProblem ?? "?")")
        }
        return clients
    }

    /// Creates contracts `<prefix>-<i>` (buyer `b<i>`, freelancer `f<i>`, one milestone M1) through the API.
    func createContracts(_ count: Int) throws {
        let gate = DispatchSemaphore(value: 16)
        var answers: [EventLoopFuture<OneShotHTTP.Response>] = []
        for index in 0..<count {
            gate.wait()
            let body = #"{"id":"\#(thread(index))","title":"bench \#(index)","buyer":"b\#(index)","freelancer":"f\#(index)","currency":"USD","preset":"indeelancer","milestones":[{"amount":"10.00","description":"Work"}]}"#
            let answer = OneShotHTTP.request(on: group, host: options.host, port: options.port, method: "POST", path: "/api/contracts",
                headers: [("X-Api-Key", options.apiKey)], body: body)
            answer.whenComplete { _ in gate.signal() }
            answers.append(answer)
            if (index + 1) % 1000 == 0 { progress("created \(index + 1)/\(count) contracts") }
        }
        for answer in answers {
            let response = try answer.wait()
            guard response.status == 201 else { throw BenchError.setup("creating a contract: HTTP \(response.status) \(response.body.prefix(200))") }
        }
    }

    func thread(_ index: Int) -> String { "\(options.prefix)-\(index)" }

    /// Measure lines sent (latency) and frames received (rates) between these two times.
    func setWindow(start: UInt64, end: UInt64) {
        for (loop, stats) in zip(loops, stats) {
            try? loop.submit { stats.windowStart = start; stats.windowEnd = end }.wait()
        }
    }

    /// Every loop's counts, without the histograms (cheap enough to poll).
    func counts() -> LoopStats.Counts {
        var total = LoopStats.Counts()
        for (loop, stats) in zip(loops, stats) {
            if let counts = try? loop.submit({ stats.counts }).wait() { total.add(counts) }
        }
        return total
    }

    /// Every loop's counts and histograms, added up.
    func collect() -> Totals {
        var totals = Totals()
        for (loop, stats) in zip(loops, stats) {
            guard let part = try? loop.submit({ (stats.counts, stats.delivery, stats.ack, stats.firstProblem) }).wait() else { continue }
            totals.counts.add(part.0)
            totals.delivery.add(part.1)
            totals.ack.add(part.2)
            totals.firstProblem = totals.firstProblem ?? part.3
        }
        return totals
    }

    /// Waits until `done` holds for the summed counts, checking every 100 ms, at most `seconds`.
    @discardableResult
    func wait(upTo seconds: Double, until done: (LoopStats.Counts) -> Bool) -> Bool {
        let deadline = nowNanos() + UInt64(seconds * 1e9)
        while nowNanos() < deadline {
            if done(counts()) { return true }
            usleep(100_000)
        }
        return done(counts())
    }

    func closeAll(_ clients: [BenchClient]) {
        for (index, loop) in loops.enumerated() {
            let mine = clients.filter { $0.stats === stats[index] }
            try? loop.submit { mine.forEach { $0.close() } }.wait()
        }
    }
}

/// Progress on stderr, so stdout holds only the summary line.
func progress(_ text: String) {
    FileHandle.standardError.write(Data("  \(text)\n".utf8))
}
