extension MilestoneNumber {
    /// A milestone named on its own, as an API field holds it: `M2`, `m2` or `2`; nil for anything else
    /// (`M1 release` included).
    public init?(name: String) {
        guard case .number(let number) = MilestoneName.parse(Substring(name)) else { return nil }
        self = number
    }
}

extension ChatCommand {
    /// The line a person would type for a ruling built from typed fields (the moderation API), as stored
    /// in the transcript. ``CommandParser`` reads it back as exactly this command; callers check that.
    public static func resolveLine(_ number: MilestoneNumber, _ resolution: Resolution, note: String, currency: Currency) -> String {
        let ruling: String
        switch resolution {
        case .release: ruling = "release"
        case .refund: ruling = "refund"
        case .split(let toFreelancer): ruling = "split \(Money(minorUnits: toFreelancer, currency: currency).plainText)"
        }
        return "/resolve \(number) \(ruling) \(note)"
    }
}
