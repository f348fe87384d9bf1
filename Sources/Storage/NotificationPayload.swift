import Foundation
import MilestoneCore

/// One notification for the platform, as either store writes it to its outbox in the step's transaction.
public struct OutboxEvent: Hashable, Sendable {
    /// `<contract>:<seq>`: stable across retries; the receiver deduplicates by it.
    public var id: String
    /// The JSON body, exactly as sent.
    public var payload: String
    public var at: Date

    /// One per event, each announced by its system message.
    public static func announcing(_ events: [ContractEvent], in messages: [StoredMessage], of contract: Contract, actor: Participant?) throws -> [OutboxEvent] {
        try zip(messages, events).map { message, event in
            let id = "\(contract.id.rawValue):\(message.seq)"
            let payload = NotificationPayload(id: id, event: event, contract: contract, seq: message.seq,
                at: Timestamp.text(unixMilliseconds: message.createdAt.milliseconds), text: message.body, actor: actor)
            return OutboxEvent(id: id, payload: try JSON.string(payload), at: message.createdAt)
        }
    }
}

/// The JSON body of an event notification (documented in docs/OPERATIONS.md). Keys are written in this
/// order, so a body reads the same on every platform.
struct NotificationPayload: Encodable {
    var id: String
    var type: String
    var contract: String
    var milestone: String?
    var seq: Int64
    var at: String
    var text: String
    var buyer: String
    var freelancer: String
    /// Who acted: nil when the clock (a deadline) or the payment processor did.
    var actor: Participant?
    var amounts: [NamedAmount]
    /// The parties to tell: both, less the one who acted.
    var notify: [String]
    var notifyModerators: Bool

    init(id: String, event: ContractEvent, contract: Contract, seq: Int64, at: String, text: String, actor: Participant?) {
        self.id = id
        type = event.name
        self.contract = contract.id.rawValue
        milestone = event.milestone?.description
        self.seq = seq
        self.at = at
        self.text = text
        buyer = contract.buyer.rawValue
        freelancer = contract.freelancer.rawValue
        self.actor = actor
        amounts = event.amounts
        notify = [contract.buyer, contract.freelancer].filter { $0 != actor?.user }.map(\.rawValue)
        notifyModerators = event.concernsModerators
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(contract, forKey: .contract)
        try container.encode(milestone, forKey: .milestone)
        try container.encode(seq, forKey: .seq)
        try container.encode(at, forKey: .at)
        try container.encode(text, forKey: .text)
        try container.encode(buyer, forKey: .buyer)
        try container.encode(freelancer, forKey: .freelancer)
        try container.encode(actor.map { ActorBody(user: $0.user.rawValue, role: $0.role.rawValue) }, forKey: .actor)
        var amountsContainer = container.nestedContainer(keyedBy: NameKey.self, forKey: .amounts)
        for amount in amounts {
            try amountsContainer.encode(AmountBody(amount.money), forKey: NameKey(amount.name))
        }
        try container.encode(notify, forKey: .notify)
        try container.encode(notifyModerators, forKey: .notifyModerators)
    }

    enum CodingKeys: String, CodingKey {
        case id, type, contract, milestone, seq, at, text, buyer, freelancer, actor, amounts, notify
        case notifyModerators = "notify_moderators"
    }

    private struct ActorBody: Encodable {
        var user: String
        var role: String
    }

    /// `{"minor": 50000, "currency": "USD", "text": "$500.00"}`: integer minor units, as everywhere in the API.
    struct AmountBody: Encodable {
        var minor: Int64
        var currency: String
        var text: String

        init(_ money: Money) {
            minor = money.minorUnits
            currency = money.currency.code
            text = money.description
        }
    }

    private struct NameKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
