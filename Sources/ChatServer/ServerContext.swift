import Foundation
import Logging
import MilestoneCore
import Storage

/// What request and connection handlers need, built once at start-up.
public struct ServerContext: Sendable {
    public let settings: ServerSettings
    public let database: AppDatabase
    public let hub: ThreadHub
    public let verifier: TokenVerifier
    public let tickets: TicketBook
    public let metrics: ServerMetrics
    /// The clock commands and deadlines use; tests move it by hand.
    public let clock: @Sendable () -> Date
    public let logger: Logger

    /// Payments are simulated: every amount shown is test money.
    public var testMoney: Bool { settings.processor == "simulated" }

    /// The role `identity` has in `contract`, or nil when they may not see it.
    public func viewer(_ identity: Identity, of contract: Contract) -> Participant? {
        if identity.isModerator { return Participant(user: identity.user, role: .moderator) }
        return contract.partyRole(of: identity.user).map { Participant(user: identity.user, role: $0) }
    }
}
