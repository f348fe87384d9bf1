import Foundation
import MilestoneCore

/// A contract as a client shows it: milestones, money, deadlines, and what this viewer can do now.
public struct ContractView: Codable, Hashable, Sendable {
    public var thread: String
    public var title: String
    public var preset: String
    public var currency: String
    public var phase: String
    public var buyer: String
    public var freelancer: String
    /// The viewer's role here.
    public var role: String
    /// Minor units held by the processor for this contract now, and the same as text.
    public var held: Int64
    public var heldText: String
    /// True while payments are simulated: every amount is test money.
    public var testMoney: Bool
    public var milestones: [MilestoneView]
    public var endRequest: String?
    /// An open dispute about the contract as a whole, in words, or nil.
    public var dispute: String? = nil
    /// An open offer to cancel the whole contract, in words (who, why, until when), or nil.
    public var cancellation: String? = nil
    /// The reviews this viewer may see (double-blind ones only once revealed), and how many are still sealed.
    public var reviews: [ReviewView] = []
    public var reviewsSealed: Int = 0

    /// A review, as data: who, their rating and words, when.
    public struct ReviewView: Codable, Hashable, Sendable {
        public var by: String
        public var author: String
        public var stars: Int
        public var text: String
        public var at: String
    }
    /// Commands this viewer can use now; `moves_money` ones deserve a confirmation.
    public var commands: [CommandSuggestion]

    public struct MilestoneView: Codable, Hashable, Sendable {
        public var number: String
        public var description: String
        public var amount: Int64
        public var amountText: String
        public var state: String
        public var held: Int64
        public var released: Int64
        public var refunded: Int64
        public var due: String?
        public var revisionsUsed: Int
        public var revisionAllowance: Int?
        /// When the review period ends, and what happens then.
        public var reviewEnds: String?
        public var reviewOutcome: String?
        /// The open offer to settle this milestone, in words (who, what, until when), or nil.
        public var offer: String? = nil

        enum CodingKeys: String, CodingKey {
            case number, description, amount, amountText = "amount_text", state, held, released, refunded, due,
                revisionsUsed = "revisions_used", revisionAllowance = "revision_allowance", reviewEnds = "review_ends",
                reviewOutcome = "review_outcome", offer
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(number, forKey: .number)
            try container.encode(description, forKey: .description)
            try container.encode(amount, forKey: .amount)
            try container.encode(amountText, forKey: .amountText)
            try container.encode(state, forKey: .state)
            try container.encode(held, forKey: .held)
            try container.encode(released, forKey: .released)
            try container.encode(refunded, forKey: .refunded)
            try container.encode(due, forKey: .due)
            try container.encode(revisionsUsed, forKey: .revisionsUsed)
            try container.encode(revisionAllowance, forKey: .revisionAllowance)
            try container.encode(reviewEnds, forKey: .reviewEnds)
            try container.encode(reviewOutcome, forKey: .reviewOutcome)
            try container.encode(offer, forKey: .offer)
        }
    }

    enum CodingKeys: String, CodingKey {
        case thread, title, preset, currency, phase, buyer, freelancer, role, held, heldText = "held_text",
            testMoney = "test_money", milestones, endRequest = "end_request", dispute, cancellation, reviews, reviewsSealed = "reviews_sealed", commands
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(thread, forKey: .thread)
        try container.encode(title, forKey: .title)
        try container.encode(preset, forKey: .preset)
        try container.encode(currency, forKey: .currency)
        try container.encode(phase, forKey: .phase)
        try container.encode(buyer, forKey: .buyer)
        try container.encode(freelancer, forKey: .freelancer)
        try container.encode(role, forKey: .role)
        try container.encode(held, forKey: .held)
        try container.encode(heldText, forKey: .heldText)
        try container.encode(testMoney, forKey: .testMoney)
        try container.encode(milestones, forKey: .milestones)
        try container.encode(endRequest, forKey: .endRequest)
        try container.encode(dispute, forKey: .dispute)
        try container.encode(cancellation, forKey: .cancellation)
        try container.encode(reviews, forKey: .reviews)
        try container.encode(reviewsSealed, forKey: .reviewsSealed)
        try container.encode(commands, forKey: .commands)
    }

    public init(_ contract: Contract, viewer: Participant, testMoney: Bool, now: Date) {
        thread = contract.id.rawValue
        title = contract.title
        preset = contract.policy.name
        currency = contract.currency.code
        phase = contract.phase.rawValue
        buyer = contract.buyer.rawValue
        freelancer = contract.freelancer.rawValue
        role = viewer.role.rawValue
        held = contract.held
        heldText = contract.money(contract.held).description
        self.testMoney = testMoney
        milestones = contract.milestones.map { milestone in
            var reviewEnds: String?
            if case .submitted(let submission) = milestone.state, let ends = submission.reviewEnds {
                reviewEnds = Timestamp.text(ends)
            }
            return MilestoneView(
                number: milestone.number.description, description: milestone.description, amount: milestone.amount,
                amountText: contract.money(milestone.amount).description, state: milestone.state.name, held: milestone.held,
                released: milestone.released, refunded: milestone.refunded, due: milestone.dueDate?.description,
                revisionsUsed: milestone.revisionsUsed, revisionAllowance: milestone.revisionAllowance, reviewEnds: reviewEnds,
                reviewOutcome: reviewEnds == nil ? nil : contract.policy.reviewPeriod?.outcome.rawValue,
                offer: contract.offers.first { $0.milestone == milestone.number }.map { Self.describe($0, milestone, contract) })
        }
        endRequest = contract.endRequest.map { "The buyer asked to end the contract; answer by \(Timestamp.text($0.answerBy))" }
        dispute = contract.dispute.map { "The \($0.raisedBy) opened a dispute about the contract at \(Timestamp.text($0.at)): \($0.reason)" }
        cancellation = contract.cancellationOffer.map { offer in
            var reason = ""
            if case .cancelContract(let why, _) = offer.terms { reason = ": \(why)" }
            return "The \(offer.by) offers to cancel the contract\(reason); everything held goes back to the buyer. Open until \(Timestamp.text(offer.lapsesAt))"
        }
        let visible = contract.reviews.filter { contract.reviewIsVisible($0, to: viewer.role, at: now) }
        reviews = visible.map { Self.review($0, of: contract) }
        reviewsSealed = contract.reviews.count - visible.count
        commands = contract.availableCommands(for: viewer, at: now)
    }

    static func review(_ review: Contract.Review, of contract: Contract) -> ReviewView {
        ReviewView(by: review.by.rawValue, author: (review.by == .buyer ? contract.buyer : contract.freelancer).rawValue,
            stars: review.stars, text: review.text, at: Timestamp.text(review.at))
    }

    /// "The buyer offers: $300.00 to the freelancer, $200.00 back to the buyer; open until ..."
    static func describe(_ offer: Offer, _ milestone: Milestone, _ contract: Contract) -> String {
        let terms: String
        switch offer.terms {
        case .release(let amount):
            let rest = milestone.held - amount
            terms = "\(contract.money(amount)) to the freelancer" + (rest > 0 ? ", \(contract.money(rest)) back to the buyer" : "")
        case .refund: terms = "\(contract.money(milestone.held)) back to the buyer"
        case .extend(let due): terms = "due \(due) instead"
        case .cancelContract(let reason, _): terms = "cancel the contract (\(reason))"
        }
        return "The \(offer.by) offers: \(terms); open until \(Timestamp.text(offer.lapsesAt))"
    }
}
