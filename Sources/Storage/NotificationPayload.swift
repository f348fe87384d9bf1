import MilestoneCore

/// The JSON body of a notification (documented in docs/OPERATIONS.md).
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
    }

    enum CodingKeys: String, CodingKey { case id, type, contract, milestone, seq, at, text, buyer, freelancer }
}
