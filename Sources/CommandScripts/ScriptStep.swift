import MilestoneCore

/// One step of a random command script: a person types a line, or time passes.
public enum ScriptStep: Hashable, Sendable, CustomStringConvertible {
    case line(String, by: Participant)
    /// The clock moves forward this many hours; due deadlines fire.
    case advance(hours: Int)

    public var description: String {
        switch self {
        case .line(let text, let who): "\(who.user)(\(who.role)): \(text)"
        case .advance(let hours): "+\(hours)h"
        }
    }
}

/// Turns integers into plausible, often wrong, command lines from random actors: the input of the
/// property tests, the crash test and the command benchmarks. Deterministic: the same integer is the same step.
public enum CommandScript {
    public static let buyer = Participant(user: "buyer-1", role: .buyer)
    public static let freelancer = Participant(user: "freelancer-1", role: .freelancer)
    public static let moderator = Participant(user: "moderator-1", role: .moderator)
    /// Someone who is not party to the contract claiming to be its buyer.
    public static let stranger = Participant(user: "stranger-1", role: .buyer)

    static let amounts = ["100", "250.50", "$1,000", "0.01", "5", "75"]

    /// `%m` is a milestone name, `%a` an amount; each with the role that usually types it.
    static let templates: [(String, Role?)] = [
        ("/milestone add %a work package", nil), ("/milestone add %a design due 2099-01-31", nil),
        ("/milestone request %a extra page", .freelancer), ("/milestone edit %m amount %a", nil),
        ("/milestone edit %m description reworded", nil), ("/milestone delete %m", nil),
        ("/approve %m", nil), ("/fund %m", .buyer), ("/fund", .buyer), ("/submit %m files attached", .freelancer),
        ("/submit", .freelancer), ("/revise %m needs more contrast", .buyer), ("/release %m", .buyer), ("/release", .buyer),
        ("/cancel %m", nil), ("/dispute %m not what we agreed", nil), ("/resolve %m release looks fine", .moderator),
        ("/resolve %m refund nothing delivered", .moderator), ("/resolve %m split %a half done", .moderator),
        ("/endcontract budget cut", .buyer), ("/endcontract accept", .freelancer), ("/endcontract decline", .freelancer),
        ("/golive", .buyer), ("/stop", .buyer), ("/complete", .buyer), ("/review 4 solid work", nil),
        ("/status", nil), ("/help", nil), ("/fund M", .buyer), ("/frobnicate", nil), ("/milestone add -5 x", nil),
        ("/release M0", .buyer), ("hello there", nil),
        // Settlements the parties agree, disputes about the contract, a whole order cancelled.
        ("/offer %m release %a", nil), ("/offer %m refund", nil), ("/offer %m extend 2099-02-28", nil), ("/offer accept", nil),
        ("/offer decline", nil), ("/offer withdraw", nil), ("/dispute contract we are stuck", nil),
        ("/resolve contract both may go on", .moderator), ("/cancel order support decided", .moderator),
        ("/evidence %m here is my side", nil), ("/evidence contract here is my side", nil), ("/take %m", .moderator),
        ("/note checked the files", .moderator), ("/bonus %a thanks", .buyer), ("/offer cancel let us stop", nil),
        ("/offer accept contract", nil), ("/offer decline contract", nil), ("/offer withdraw contract", nil),
    ]

    public static func step(_ seed: Int) -> ScriptStep {
        var r = seed.magnitude
        func take(_ n: UInt) -> UInt {
            defer { r /= n }
            return r % n
        }
        if take(13) == 0 { return .advance(hours: Int(1 + take(240))) }
        let (template, usual) = templates[Int(take(UInt(templates.count)))]
        let anyone = [buyer, freelancer, moderator, stranger, buyer, freelancer]
        let who: Participant
        if let usual, take(10) < 7 {
            who = [buyer, freelancer, moderator].first { $0.role == usual }!
        } else {
            who = anyone[Int(take(UInt(anyone.count)))]
        }
        // Mostly the first milestones, so scripts get far along their paths.
        let milestone = ["M1", "M1", "M1", "M1", "M2", "M2", "M2", "M3", "M3", "M4"][Int(take(10))]
        let amount = amounts[Int(take(UInt(amounts.count)))]
        let text = template.replacingOccurrences(of: "%m", with: milestone).replacingOccurrences(of: "%a", with: amount)
        return .line(text, by: who)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
