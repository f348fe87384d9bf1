import Foundation
import MilestoneCore

/// How the processor holds a milestone's money.
public enum HoldKind: String, Hashable, Sendable, Codable {
    /// A card authorization (PaymentIntent with manual capture): release captures it, a refund cancels it.
    /// It expires after about 7 days.
    case authorization
    /// A completed charge in the platform's balance: release transfers it to the freelancer, a refund
    /// refunds it. It does not expire.
    case charge
}

/// The processor's hold on one milestone's money.
public struct ProcessorHold: Hashable, Sendable, Codable {
    public var milestone: MilestoneNumber
    public var kind: HoldKind
    /// `pi_...`
    public var paymentIntent: String
    /// Minor units.
    public var amount: Int64
    public var createdAt: Date
    /// When an authorization lapses; nil for charges.
    public var expiresAt: Date?

    public init(milestone: MilestoneNumber, kind: HoldKind, paymentIntent: String, amount: Int64, createdAt: Date, expiresAt: Date?) {
        self.milestone = milestone
        self.kind = kind
        self.paymentIntent = paymentIntent
        self.amount = amount
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
