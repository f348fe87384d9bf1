/// What a person is in a contract's thread.
public enum Role: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case buyer
    case freelancer
    case moderator

    public var description: String { rawValue }
    /// `Buyer`, `Freelancer`, `Moderator`: how system messages name the actor.
    public var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }

    /// The other party of a contract; moderators have none.
    public var counterparty: Role? {
        switch self {
        case .buyer: .freelancer
        case .freelancer: .buyer
        case .moderator: nil
        }
    }
}

/// A user acting in a contract's thread in one role.
public struct Participant: Hashable, Sendable, Codable {
    public var user: UserID
    public var role: Role

    public init(user: UserID, role: Role) {
        self.user = user
        self.role = role
    }
}
