/// The two people of a contract: who may speak in its thread and act on it as which role.
public struct Parties: Hashable, Sendable {
    public var buyer: UserID
    public var freelancer: UserID

    public init(buyer: UserID, freelancer: UserID) {
        self.buyer = buyer
        self.freelancer = freelancer
    }

    /// The role a user has, if they are a party (ids compared by their bytes).
    public func role(of user: UserID) -> Role? {
        if user == buyer { return .buyer }
        if user == freelancer { return .freelancer }
        return nil
    }

    /// Whether `actor` may act in the role they claim: a moderator always, anyone else only as the party
    /// they are.
    public func admits(_ actor: Participant) -> Bool {
        actor.role == .moderator || role(of: actor.user) == actor.role
    }
}
