import Foundation
import FoundationNetworking
import Testing

/// localstripe (PyPI: a stateful fake Stripe server), started on a free loopback port for one test.
/// `.ci/run` installs it; a test that needs it fails (never skips) when it is missing.
final class LocalStripe: Sendable {
    static let secretKey = "sk_test_milestone_bot_localstripe"
    let port: Int
    let process: Process
    var base: URL { URL(string: "http://127.0.0.1:\(port)")! }

    private init(port: Int, process: Process) {
        self.port = port
        self.process = process
    }

    /// Starts localstripe, runs `body`, stops it.
    static func with<T: Sendable>(_ body: @Sendable (LocalStripe) async throws -> T) async throws -> T {
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["localstripe", "--port", String(port), "--from-scratch"]
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("localstripe-\(port).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let stripe = LocalStripe(port: port, process: process)
        do {
            let result = try await stripe.serve(body, log: log)
            await stripe.stop()
            return result
        } catch {
            await stripe.stop()
            throw error
        }
    }

    /// Stops localstripe (it ignores SIGTERM; `Process.waitUntilExit` spins a run loop on Linux).
    private func stop() async {
        kill(process.processIdentifier, SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
    }

    private func serve<T: Sendable>(_ body: @Sendable (LocalStripe) async throws -> T, log: URL) async throws -> T {
        let stripe = self
        // Generous: under a loaded machine (CI runs the property suites beside this one) the Python server
        // can take many seconds to answer its first request. Each probe gives up after 2 s and is retried.
        let deadline = Date().addingTimeInterval(90)
        while true {
            if (try? await stripe.request("GET", "/v1/customers", timeout: 2)) != nil { break }
            guard process.isRunning, Date() < deadline else {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                Issue.record("localstripe did not start (install it: pip install localstripe; .ci/run does): \(output.suffix(500))")
                throw LocalStripeError(description: "localstripe is not running")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await body(stripe)
    }

    struct LocalStripeError: Error, CustomStringConvertible {
        var description: String
    }

    /// A Stripe API call; throws on anything but 2xx.
    @discardableResult
    func request(_ method: String, _ path: String, _ form: [String: String] = [:], timeout: TimeInterval = 60) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: base.absoluteString + path)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.setValue("Bearer \(Self.secretKey)", forHTTPHeaderField: "Authorization")
        if !form.isEmpty {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            request.httpBody = Data(form.map { "\($0.key.addingPercentEncoding(withAllowedCharacters: allowed)!)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
                .joined(separator: "&").utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as! HTTPURLResponse).statusCode
        guard (200..<300).contains(status) else {
            throw LocalStripeError(description: "\(method) \(path): HTTP \(status) \(String(decoding: data, as: UTF8.self))")
        }
        return data.isEmpty ? [:] : ((try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// A customer with a saved card; `number` 4000000000000341 attaches but every charge on it is declined.
    func customerWithCard(_ number: String = "4242424242424242") async throws -> (customer: String, paymentMethod: String) {
        let customer = try await request("POST", "/v1/customers", ["email": "buyer@example.com"])["id"] as! String
        let method = try await request("POST", "/v1/payment_methods", [
            "type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123",
        ])["id"] as! String
        try await request("POST", "/v1/payment_methods/\(method)/attach", ["customer": customer])
        return (customer, method)
    }

    func paymentIntent(_ id: String) async throws -> [String: Any] {
        try await request("GET", "/v1/payment_intents/\(id)")
    }

    /// The charge behind an intent: `captured`, `amount`, `amount_refunded`.
    func charge(of intent: String) async throws -> [String: Any] {
        let pi = try await paymentIntent(intent)
        let charge = pi["latest_charge"]
        if let id = charge as? String { return try await request("GET", "/v1/charges/\(id)") }
        return charge as? [String: Any] ?? [:]
    }

    /// Every PaymentIntent localstripe holds.
    func paymentIntents() async throws -> [[String: Any]] {
        (try await request("GET", "/v1/payment_intents?limit=100")["data"] as? [[String: Any]]) ?? []
    }

    /// Makes localstripe send its events, signed with `secret`, to `url`.
    func sendWebhooks(to url: String, secret: String) async throws {
        try await request("POST", "/_config/webhooks/milestone-bot", ["url": url, "secret": secret])
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw LocalStripeError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
