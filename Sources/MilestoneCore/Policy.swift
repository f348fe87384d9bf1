/// How one platform runs its milestones. A preset in `bot-config/presets/` is a named set of these fields;
/// every field can be overridden by a deployment.
public struct Policy: Hashable, Sendable, Codable {
    /// The preset's name, e.g. `indeelancer`.
    public var name: String
    /// Who adds milestones with `/milestone add`: `buyer` or `freelancer`.
    public var milestoneCreator: Role
    /// Whether the freelancer may ask the buyer for a milestone with `/milestone request`.
    public var freelancerMayRequest: Bool
    /// Whether a new or edited milestone waits for the other side's `/approve`.
    public var approval: Approval
    /// False when a contract starts as a proposal that the buyer makes live with `/golive`.
    public var contractStartsLive: Bool
    /// When the buyer's money is charged and held.
    public var chargeOn: ChargeMoment
    /// A sequential order: a milestone can be funded only after every earlier one was released.
    public var sequential: Bool
    /// Whether `/release` needs the freelancer's `/submit` first.
    public var releaseRequiresSubmission: Bool
    /// What happens when the buyer does not act on a submission; nil: nothing, the money stays held.
    public var reviewPeriod: ReviewPeriod?
    /// Reminders to both parties this many days before the review period passes.
    public var reviewReminderDays: [Int]
    /// Whether and how often the buyer may ask for revisions.
    public var revisions: RevisionRule
    /// Who may `/cancel` a funded milestone, returning the money to the buyer.
    public var cancelBy: CancelRule
    /// True: the creator may delete any milestone before it is funded. False: only one not yet approved.
    public var deleteBeforeFunding: Bool
    /// How a contract ends early.
    public var endContract: EndContractRule
    /// Whether the buyer may `/stop` a sequential order after an accepted milestone.
    public var stopAllowed: Bool
    /// Whether the contract completes by itself once every milestone is settled (otherwise the buyer `/complete`s).
    public var completeAutomatically: Bool
    /// Fiverr: the contract starts as the seller's offer; the buyer accepts it with `/placeorder`, which
    /// charges the first milestone ("Buyers will be charged for the first milestone when they place an
    /// order"), and from then on the seller's changes to the milestones wait for the buyer's `/approve`.
    public var placeOrder: Bool {
        get { placesOrder ?? false }
        set { placesOrder = newValue }
    }
    /// Stored optional: policies stored before this setting existed decode as `false`.
    private var placesOrder: Bool?
    /// How long an offer to settle a milestone stays open before it lapses (default 3 days).
    public var offerLapseSeconds: Int {
        get { offerLapse ?? 3 * 86_400 }
        set { offerLapse = newValue }
    }
    /// Stored optional: policies stored before this setting existed use the default.
    private var offerLapse: Int?
    /// How long the other party has to respond to a dispute (default 3 days).
    public var disputeResponseSeconds: Int {
        get { disputeResponse ?? 3 * 86_400 }
        set { disputeResponse = newValue }
    }
    private var disputeResponse: Int?
    /// What happens when the other party does not respond in time (default: a moderator decides).
    public var disputeNoResponse: NoResponse {
        get { noResponse ?? .toModerator }
        set { noResponse = newValue }
    }
    private var noResponse: NoResponse?
    /// Double-blind reviews: 0, each review is shown at once; otherwise neither side sees the other's review
    /// until both have reviewed or this long after the first one.
    public var reviewBlindSeconds: Int {
        get { reviewBlind ?? 0 }
        set { reviewBlind = newValue }
    }
    private var reviewBlind: Int?
    /// Whether the buyer may pay the freelancer a bonus (`/bonus 50 great work`): a new charge paid straight
    /// to the freelancer (default false).
    public var bonusAllowed: Bool {
        get { bonus ?? false }
        set { bonus = newValue }
    }
    private var bonus: Bool?
    /// Whether either party may offer to cancel the whole contract (`/offer cancel <reason>`), which the other
    /// accepts: everything held goes back to the buyer (default false).
    public var mutualCancellation: Bool {
        get { mutualCancel ?? false }
        set { mutualCancel = newValue }
    }
    private var mutualCancel: Bool?

    public enum NoResponse: String, Hashable, Sendable, Codable, CaseIterable {
        /// The case goes to a moderator, flagged "no response".
        case toModerator = "to_moderator"
        /// Decided for the party who opened it: the money held goes to them.
        case decideForOpener = "decide_for_opener"
    }

    public enum Approval: String, Hashable, Sendable, Codable, CaseIterable {
        /// Milestones are agreed when created.
        case none
        /// The freelancer approves milestones the buyer creates, again after every edit.
        case freelancer
        /// The side that did not create a milestone approves it, again after every edit.
        case counterparty
    }

    public enum ChargeMoment: String, Hashable, Sendable, Codable, CaseIterable {
        /// The buyer types `/fund`.
        case fund
        /// The freelancer's `/approve` charges the buyer (only once the contract is live).
        case approval
    }

    public struct ReviewPeriod: Hashable, Sendable, Codable {
        /// How long the buyer has to act on a submission. Presets say days; a staging site may say seconds.
        public var seconds: Int
        public var outcome: Outcome

        public init(seconds: Int, outcome: Outcome) {
            self.seconds = seconds
            self.outcome = outcome
        }

        public init(days: Int, outcome: Outcome) {
            self.init(seconds: days * 86_400, outcome: outcome)
        }

        /// Whole days (rounded down).
        public var days: Int { seconds / 86_400 }

        // Stored policies written before periods had units say `days`; new ones say `seconds`.
        enum CodingKeys: String, CodingKey { case seconds, days, outcome }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            outcome = try container.decode(Outcome.self, forKey: .outcome)
            if let seconds = try container.decodeIfPresent(Int.self, forKey: .seconds) {
                self.seconds = seconds
            } else {
                seconds = try container.decode(Int.self, forKey: .days) * 86_400
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(seconds, forKey: .seconds)
            // Whole days are also written as before, so a previous release can still read the contract.
            if seconds % 86_400 == 0 { try container.encode(days, forKey: .days) }
            try container.encode(outcome, forKey: .outcome)
        }

        public enum Outcome: String, Hashable, Sendable, Codable, CaseIterable {
            /// The milestone is released to the freelancer.
            case autoRelease = "auto_release"
            /// The milestone is accepted (released) and the whole order completes.
            case autoComplete = "auto_complete"
        }
    }

    public enum RevisionRule: Hashable, Sendable, Codable {
        case none
        case unlimited
        /// Each milestone has this many revisions unless it sets its own allowance.
        case counted(perMilestone: Int)
    }

    public enum CancelRule: String, Hashable, Sendable, Codable, CaseIterable {
        case nobody
        case freelancer
        case moderator
    }

    public enum EndContractRule: Hashable, Sendable {
        /// There is no end request; a party raises a dispute instead.
        case disputeOnly
        /// The buyer asks; the freelancer accepts (funded milestones are refunded) or declines
        /// (either party may then dispute) within this many seconds, after which the request lapses.
        case request(answerSeconds: Int)

        /// An end request answered within whole days.
        public static func request(answerDays: Int) -> EndContractRule { .request(answerSeconds: answerDays * 86_400) }
    }

    public init(
        name: String, milestoneCreator: Role, freelancerMayRequest: Bool, approval: Approval,
        contractStartsLive: Bool, chargeOn: ChargeMoment, sequential: Bool, releaseRequiresSubmission: Bool,
        reviewPeriod: ReviewPeriod?, reviewReminderDays: [Int], revisions: RevisionRule, cancelBy: CancelRule,
        deleteBeforeFunding: Bool, endContract: EndContractRule, stopAllowed: Bool, completeAutomatically: Bool,
        placeOrder: Bool = false, offerLapseSeconds: Int? = nil, disputeResponseSeconds: Int? = nil,
        disputeNoResponse: NoResponse? = nil, reviewBlindSeconds: Int? = nil, bonusAllowed: Bool = false,
        mutualCancellation: Bool = false
    ) {
        self.name = name
        self.milestoneCreator = milestoneCreator
        self.freelancerMayRequest = freelancerMayRequest
        self.approval = approval
        self.contractStartsLive = contractStartsLive
        self.chargeOn = chargeOn
        self.sequential = sequential
        self.releaseRequiresSubmission = releaseRequiresSubmission
        self.reviewPeriod = reviewPeriod
        self.reviewReminderDays = reviewReminderDays
        self.revisions = revisions
        self.cancelBy = cancelBy
        self.deleteBeforeFunding = deleteBeforeFunding
        self.endContract = endContract
        self.stopAllowed = stopAllowed
        self.completeAutomatically = completeAutomatically
        self.placesOrder = placeOrder ? true : nil
        self.offerLapse = offerLapseSeconds
        self.disputeResponse = disputeResponseSeconds
        self.noResponse = disputeNoResponse
        self.reviewBlind = reviewBlindSeconds
        self.bonus = bonusAllowed ? true : nil
        self.mutualCancel = mutualCancellation ? true : nil
    }

    /// Who must agree a milestone `creator` adds or changes now: the policy's approver; and once a placed
    /// order is live, the buyer for the seller's changes ("its milestones' terms change only with the
    /// buyer's agreement").
    func approver(ofChangeBy creator: Role, phase: Contract.Phase) -> Role? {
        if let approver = approver(ofMilestoneCreatedBy: creator) { return approver }
        if placeOrder, phase == .live, creator == .freelancer { return .buyer }
        return nil
    }

    /// The side that approves milestones created by `creator`, if the policy asks for approval.
    func approver(ofMilestoneCreatedBy creator: Role) -> Role? {
        switch approval {
        case .none: nil
        case .freelancer: creator == .buyer ? .freelancer : nil
        case .counterparty: creator.counterparty
        }
    }
}
