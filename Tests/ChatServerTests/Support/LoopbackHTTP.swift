import Foundation
import Hummingbird
import Logging

/// A small HTTP server on an ephemeral loopback port for the length of `body` (a webhook receiver, a
/// recorder standing in for a remote API), shut down gracefully afterwards.
enum LoopbackHTTP {
    static func serve<T: Sendable>(_ router: Router<BasicRequestContext>, label: String, _ body: @Sendable (_ base: URL) async throws -> T) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: label)
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress!.port!); continuation.finish() }, logger: logger)
        return try await withRunningServices([app], logger: logger, ports: ports) { port in
            try await body(URL(string: "http://127.0.0.1:\(port)")!)
        }
    }
}
