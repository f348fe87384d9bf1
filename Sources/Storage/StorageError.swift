/// Failures of the storage layer that are not a user's mistake in a command.
public enum StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownContract(String)
    case contractExists(String)
    /// Stored data that cannot be read back: a bug or tampering.
    case corrupt(String)
    /// The core produced postings the ledger rules refuse: a bug; the transaction is rolled back.
    case ledgerViolation(String)
    case invalid(String)
    /// A command id already used for another thread (or by another user): the line is not stored.
    case commandIDReused(String)
    /// A line whose command id belongs to a payment still being completed: not stored (resend it later).
    case paymentPending(String)
    /// A payment would start for a command id that is already in the log: the first outcome stands.
    case alreadyHandled(String)
    /// Money would move without the payment processor having moved it: a bug in the caller.
    case paymentMissing(String)

    public var description: String {
        switch self {
        case .unknownContract(let id): "there is no contract \(id)"
        case .contractExists(let id): "a contract \(id) already exists"
        case .corrupt(let detail): "stored data is corrupt: \(detail)"
        case .ledgerViolation(let detail): "ledger rule violated: \(detail)"
        case .invalid(let detail): detail
        case .commandIDReused(let id): "command id \(id) was already used for another thread or user"
        case .paymentPending(let id): "the payment of command \(id) is still being completed"
        case .alreadyHandled(let id): "command \(id) was handled before"
        case .paymentMissing(let detail): "money would move without the payment processor: \(detail)"
        }
    }
}
