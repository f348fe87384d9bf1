import HummingbirdWebSocket
import MilestoneCore
import NIOWebSocket
import Synchronization

/// How many WebSockets each user has open, to cap them at `limits.max_connections_per_user`.
public final class UserConnections: Sendable {
    private let open = Mutex<[UserID: Int]>([:])

    public init() {}

    /// Takes a slot for `user`; false (and nothing taken) when they already hold `limit`.
    func acquire(_ user: UserID, limit: Int) -> Bool {
        open.withLock { open in
            let count = open[user, default: 0]
            guard count < limit else { return false }
            open[user] = count + 1
            return true
        }
    }

    /// Gives back a slot taken with ``acquire(_:limit:)``.
    func release(_ user: UserID) {
        open.withLock { open in
            let count = open[user, default: 0] - 1
            open[user] = count > 0 ? count : nil
        }
    }

    /// The connections `user` holds now.
    public func count(of user: UserID) -> Int {
        open.withLock { $0[user, default: 0] }
    }
}

/// The close code of a connection refused because its user already holds `limits.max_connections_per_user`
/// (the WebSocket twin of HTTP 429, like 4401 and 4403 for 401 and 403).
let tooManyConnectionsCloseCode: UInt16 = 4429

/// Refuses a just-upgraded WebSocket the way a refused handshake is: one `error` frame, then the close.
func refuseWebSocket(_ outbound: WebSocketOutboundWriter, code: String, message: String, closeCode: UInt16, metrics: ServerMetrics) async throws {
    metrics.protocolError(code)
    // Some clients (HummingbirdWSClient 2.8) drop frames that arrive in the same read as the 101 response.
    try await Task.sleep(for: .milliseconds(25))
    try await outbound.write(.text(Wire.text(ServerMessage.error(.init(code: code, message: message, thread: nil, id: nil)))))
    try await outbound.close(WebSocketErrorCode(codeNumber: Int(closeCode)), reason: code)
}
