import MilestoneCore
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

