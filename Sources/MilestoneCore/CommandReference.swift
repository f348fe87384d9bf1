/// The commands users can type, with their syntax and an example: the source of `/help <command>`.
public struct CommandReference: Hashable, Sendable {
    public var name: String
    public var syntax: String
    public var summary: String
    public var example: String

    public static let all: [CommandReference] = [
        .init(name: "help", syntax: "/help [command]", summary: "what you can do now, or how a command works", example: "/help fund"),
        .init(name: "status", syntax: "/status", summary: "the contract, its milestones, money held and deadlines", example: "/status"),
        .init(name: "milestone add", syntax: "/milestone add <amount> <description> [revisions <n>] [due YYYY-MM-DD]", summary: "propose a new milestone (revisions: its own allowance, where the platform counts them)", example: "/milestone add 500 Logo design revisions 3 due 2026-12-01"),
        .init(name: "milestone request", syntax: "/milestone request <amount> <description>", summary: "ask the buyer to create and fund a milestone", example: "/milestone request 250 Extra landing page"),
        .init(name: "milestone edit", syntax: "/milestone edit M<n> amount|description|due <value>", summary: "change an unfunded milestone (the other side may need to approve again)", example: "/milestone edit M2 amount 300"),
        .init(name: "milestone delete", syntax: "/milestone delete M<n>", summary: "remove a milestone before it is funded", example: "/milestone delete M2"),
        .init(name: "approve", syntax: "/approve M<n>", summary: "accept a milestone's terms", example: "/approve M1"),
        .init(name: "fund", syntax: "/fund M<n>", summary: "charge the buyer; the processor holds the money", example: "/fund M1"),
        .init(name: "submit", syntax: "/submit M<n> [note]", summary: "deliver the work; the review clock starts", example: "/submit M1 final files are in the shared folder"),
        .init(name: "revise", syntax: "/revise M<n> <feedback>", summary: "send submitted work back with feedback", example: "/revise M1 please use the brand colours"),
        .init(name: "release", syntax: "/release M<n>", summary: "pay the freelancer the money held", example: "/release M1"),
        .init(name: "cancel", syntax: "/cancel M<n> | /cancel order <reason>", summary: "return a funded milestone's money to the buyer; moderators (where the platform says so) cancel the whole order", example: "/cancel M1"),
        .init(name: "dispute", syntax: "/dispute M<n> <reason>", summary: "freeze the money for a moderator to decide", example: "/dispute M1 the files are empty"),
        .init(name: "dispute contract", syntax: "/dispute contract <reason>", summary: "ask a moderator to look at the contract as a whole, nothing funded needed", example: "/dispute contract the end request was declined and we cannot agree"),
        .init(name: "resolve contract", syntax: "/resolve contract <ruling>", summary: "moderators: rule on a dispute about the contract", example: "/resolve contract both agree to stop; nothing is owed"),
        .init(name: "take", syntax: "/take M<n> | /take contract", summary: "moderators: take a dispute's case (the queue shows who has it)", example: "/take M1"),
        .init(name: "note", syntax: "/note <text>", summary: "moderators: an internal note in the thread; the parties never see it", example: "/note called the buyer; the files open fine"),
        .init(name: "evidence", syntax: "/evidence M<n> <statement> | /evidence contract <statement>", summary: "add your side to an open dispute's case; the other party's first statement is their response", example: "/evidence M1 the files were delivered on Monday: drive/checkout-v2"),
        .init(name: "offer", syntax: "/offer M<n> release <amount> | refund | extend YYYY-MM-DD", summary: "offer the other party terms to settle a milestone yourselves (in or out of a dispute)", example: "/offer M2 release 300"),
        .init(name: "offer accept", syntax: "/offer accept|decline [M<n>|contract] | /offer withdraw [M<n>|contract]", summary: "answer the other party's offer, or take back your own", example: "/offer accept M2"),
        .init(name: "offer cancel", syntax: "/offer cancel <reason>", summary: "offer to cancel the whole contract; if the other party accepts, everything held goes back to the buyer (where the platform allows)", example: "/offer cancel we agreed to stop after the first draft"),
        .init(name: "bonus", syntax: "/bonus <amount> <note>", summary: "the buyer pays the freelancer extra: a new charge paid straight to them (where the platform allows)", example: "/bonus 50 thanks for the weekend work"),
        .init(name: "resolve", syntax: "/resolve M<n> release|refund|split <amount> <note>", summary: "moderators: settle a dispute", example: "/resolve M1 split 200 half of the work was delivered"),
        .init(name: "endcontract", syntax: "/endcontract [reason] | /endcontract accept | /endcontract decline", summary: "the buyer asks to end early; the freelancer answers (accepting refunds funded milestones)", example: "/endcontract the project was cancelled"),
        .init(name: "golive", syntax: "/golive", summary: "make a proposal contract live so milestones can be paid", example: "/golive"),
        .init(name: "placeorder", syntax: "/placeorder", summary: "accept the seller's offer and place the order; the first milestone is charged now (Fiverr)", example: "/placeorder"),
        .init(name: "stop", syntax: "/stop", summary: "stop a sequential order after an accepted milestone; it cannot resume", example: "/stop"),
        .init(name: "complete", syntax: "/complete", summary: "mark the contract complete once every milestone is settled", example: "/complete"),
        .init(name: "review", syntax: "/review <1-5> <text>", summary: "rate the other side once the contract is complete", example: "/review 5 great communication"),
    ]

    public static func named(_ name: String) -> CommandReference? {
        let wanted = name.lowercased().trimmingWhitespace()
        return all.first { $0.name == wanted } ?? all.first { $0.name.hasPrefix(wanted) && !wanted.isEmpty }
    }
}

/// A command this user can type right now, for `/help` and for clients' command completion and buttons.
public struct CommandSuggestion: Hashable, Sendable, Codable {
    /// What to send, with `<placeholders>` where the user must add text: `/revise M1 <feedback>`.
    public var template: String
    public var summary: String
    /// The client should ask for confirmation before sending it.
    public var movesMoney: Bool
    /// True when the template can be sent as is (no placeholders): a one-click button.
    public var isComplete: Bool { !template.contains("<") }

    enum CodingKeys: String, CodingKey {
        case template, summary, movesMoney = "moves_money"
    }
}
