/// What happens to a card authorization that would expire while it still holds a milestone's money
/// (card networks keep an authorization for about 7 days).
public enum HoldExpiryAction: String, Hashable, Sendable, Codable, CaseIterable {
    /// Capture it: the processor keeps the money as a charge; release later pays the freelancer by transfer.
    case capture
    /// Let it go: the money returns to the buyer and the milestone must be funded again.
    case release
}
