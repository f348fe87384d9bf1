import ChatServer
import Foundation
import HummingbirdWSClient
import Logging
import MilestoneCore
import NIOCore
import NIOWebSocket
import Storage
import Synchronization

struct Timeout: Error, CustomStringConvertible {
    var description: String
}

/// A real WebSocket client for tests: connects, decodes every frame the server sends into a queue, and
/// records how the server closed the connection.
final class TestClient: Sendable {
    let received = Mutex<[ServerMessage]>([])
    private let writer = Mutex<WebSocketOutboundWriter?>(nil)
    private let closed = Mutex<(done: Bool, code: WebSocketErrorCode?, error: (any Error)?)>((false, nil, nil))
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Connects with a bearer token (or none), and waits until the server said hello.
    static func connect(_ server: TestServer, token: String?, headers: [String: String] = [:], query: String = "") async throws -> TestClient {
        let client = TestClient()
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        if let token { configuration.additionalHeaders[.authorization] = "Bearer \(token)" }
        for (name, value) in headers { configuration.additionalHeaders[.init(name)!] = value }
        let url = server.webSocketURL + query
        var logger = Logger(label: "test-client")
        logger.logLevel = .critical
        let loggerCopy = logger
        let settings = configuration
        client.task.withLock {
            $0 = Task {
                do {
                    let frame = try await WebSocketClient.connect(url: url, configuration: settings, logger: loggerCopy) { inbound, outbound, _ in
                        client.writer.withLock { $0 = outbound }
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            guard case .text(let text) = message else { continue }
                            if let decoded = try? JSONDecoder().decode(ServerMessage.self, from: Data(text.utf8)) {
                                client.received.withLock { $0.append(decoded) }
                            }
                        }
                    }
                    client.closed.withLock { $0 = (true, frame?.closeCode, nil) }
                } catch {
                    client.closed.withLock { $0 = (true, nil, error) }
                }
            }
        }
        _ = try await client.next(timeout: 5) { if case .hello = $0 { true } else { false } }
        return client
    }

    /// How the server refused a connection: the `error` frame's code and the close code (4401, 4403);
    /// nil when it said hello instead.
    struct Refusal: Equatable {
        var code: String
        var closeCode: UInt16?
    }

    static func refused(_ server: TestServer, token: String?, url: String? = nil, query: String = "") async throws -> Refusal? {
        var configuration = WebSocketClientConfiguration()
        if let token { configuration.additionalHeaders[.authorization] = "Bearer \(token)" }
        let first = Mutex<ServerMessage?>(nil)
        let frame = try await WebSocketClient.connect(url: (url ?? server.webSocketURL) + query, configuration: configuration, logger: Logger(label: "refused")) { inbound, outbound, _ in
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .text(let text) = message else { continue }
                let decoded = try JSONDecoder().decode(ServerMessage.self, from: Data(text.utf8))
                first.withLock { if $0 == nil { $0 = decoded } }
                // Accepted after all: leave. Refused: keep reading until the server's close arrives.
                if case .hello = decoded { try await outbound.close(.normalClosure, reason: nil) }
            }
        }
        guard case .error(let error) = first.withLock({ $0 }) else { return nil }
        let code: UInt16? = switch frame?.closeCode {
        case .unknown(let number): number
        default: nil
        }
        return Refusal(code: error.code, closeCode: code)
    }

    func send(_ message: ClientMessage) async throws {
        try await sendText(String(decoding: try JSONEncoder().encode(message), as: UTF8.self))
    }

    func sendText(_ text: String) async throws {
        guard let outbound = writer.withLock({ $0 }) else { throw Timeout(description: "not connected") }
        try await outbound.write(.text(text))
    }

    /// Sends a raw frame, e.g. a text frame whose bytes are not UTF-8.
    func sendFrame(opcode: WebSocketOpcode, bytes: [UInt8]) async throws {
        guard let outbound = writer.withLock({ $0 }) else { throw Timeout(description: "not connected") }
        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: opcode, data: ByteBuffer(bytes: bytes))))
    }

    func join(_ thread: String, after: Int64? = nil) async throws -> ServerMessage.Joined {
        try await send(.join(thread: ContractID(thread), after: after))
        let joined = try await next(timeout: 5) { message in
            if case .joined(let joined) = message, joined.thread == thread { return true }
            if case .error = message { return true }
            return false
        }
        guard case .joined(let value) = joined else { throw Timeout(description: "join refused: \(joined)") }
        return value
    }

    /// Sends a line and waits for its acknowledgement (or an error about it).
    @discardableResult
    func say(_ text: String, in thread: String = "c-1", id: String = UUID().uuidString, files: [FileID] = []) async throws -> ServerMessage {
        try await send(.send(thread: ContractID(thread), id: id, text: text, files: files))
        return try await next(timeout: 10) { message in
            switch message {
            case .ack(let ack): ack.id == id
            case .error(let error): error.id == id
            default: false
            }
        }
    }

    /// Removes and returns the first received message matching `predicate`, waiting up to `timeout` seconds.
    func next(timeout: TimeInterval = 5, where predicate: @escaping (ServerMessage) -> Bool = { _ in true }) async throws -> ServerMessage {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found = received.withLock { messages -> ServerMessage? in
                guard let index = messages.firstIndex(where: predicate) else { return nil }
                return messages.remove(at: index)
            }
            if let found { return found }
            try await Task.sleep(for: .milliseconds(5))
        }
        let state = closed.withLock { $0 }
        throw Timeout(description: "no matching message within \(timeout)s; have \(received.withLock { $0.map(\.type) }); closed: \(state.done) \(String(describing: state.code)) \(String(describing: state.error))")
    }

    /// Every stored message (public or private) received so far for a thread, in arrival order, without removing them.
    func transcript(_ thread: String = "c-1") -> [WireMessage] {
        received.withLock { messages in
            messages.flatMap { message -> [WireMessage] in
                switch message {
                case .message(let m), .notice(let m): m.thread == thread ? [m] : []
                case .history(let page): page.thread == thread ? page.messages : []
                default: []
                }
            }
        }
    }

    /// Waits until the transcript of `thread` has a message with this `seq`.
    func waitFor(seq: Int64, in thread: String = "c-1", timeout: TimeInterval = 5) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if transcript(thread).contains(where: { $0.seq == seq }) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw Timeout(description: "seq \(seq) did not arrive; have \(transcript(thread).map(\.seq))")
    }

    /// Everything received and not yet taken by `next`, in arrival order.
    var arrivals: [ServerMessage] { received.withLock { $0 } }

    var errors: [ServerMessage.WireError] {
        received.withLock { $0.compactMap { if case .error(let e) = $0 { e } else { nil } } }
    }

    /// Waits for the connection to end; returns the close code the server sent.
    func closeCode(timeout: TimeInterval = 10) async throws -> WebSocketErrorCode? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let state = closed.withLock { $0 }
            if state.done { return state.code }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Timeout(description: "the connection did not close")
    }

    func close() async {
        if let outbound = writer.withLock({ $0 }) { try? await outbound.close(.normalClosure, reason: nil) }
        _ = try? await closeCode(timeout: 5)
    }
}

extension ServerMessage {
    /// The `outcome` of an acknowledgement (nil for anything else).
    var ackOutcome: String? {
        if case .ack(let ack) = self { return ack.outcome }
        return nil
    }

    /// Whether an acknowledgement says the id was handled before (nil for anything else).
    var ackDuplicate: Bool? {
        if case .ack(let ack) = self { return ack.duplicate }
        return nil
    }
}
