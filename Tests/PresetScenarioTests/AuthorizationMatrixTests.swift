import Foundation
import MilestoneCore
import Testing

/// Every preset (and the white-label switches) x every command x every actor x every state the preset can
/// reach. Each cell builds the contract in that state by typing valid commands, applies one command, and checks
/// it against `Expected.allowed`, a table written by hand from /work/shared/PRODUCT.md, docs/COMMANDS.md and
/// the preset files' headers - never from the code under test:
/// - allowed: the command succeeds, and its ledger postings keep money conserved (the ledger balances, and
///   every milestone's hold in the ledger equals `held`, never below zero);
/// - refused: a `Rejection` with a specific reason, and the contract exactly as it was.
@Suite struct AuthorizationMatrixTests {

    // MARK: - Dimensions

    enum Actor: String, CaseIterable, CustomStringConvertible {
        case buyer, freelancer, moderator
        /// A user who is not party to the contract, claiming to be its buyer.
        case stranger

        var description: String { rawValue }

        var participant: Participant {
            switch self {
            case .buyer: Participant(user: "bob", role: .buyer)
            case .freelancer: Participant(user: "fay", role: .freelancer)
            case .moderator: Participant(user: "mia", role: .moderator)
            case .stranger: Participant(user: "sam", role: .buyer)
            }
        }

        /// The role the actor really has in the contract; nil for the stranger.
        var role: Role? {
            switch self {
            case .buyer: .buyer
            case .freelancer: .freelancer
            case .moderator: .moderator
            case .stranger: nil
            }
        }
    }

    enum Command: String, CaseIterable, CustomStringConvertible {
        case add = "/milestone add", request = "/milestone request", edit = "/milestone edit"
        case delete = "/milestone delete", approve = "/approve", fund = "/fund", submit = "/submit"
        case revise = "/revise", release = "/release", cancel = "/cancel", dispute = "/dispute"
        case resolveRelease = "/resolve release", resolveRefund = "/resolve refund", resolveSplit = "/resolve split"
        case endRequest = "/endcontract", endAccept = "/endcontract accept", endDecline = "/endcontract decline"
        case goLive = "/golive", stop = "/stop", complete = "/complete", review = "/review"
        case cancelOrder = "/cancel order"
        case disputeContract = "/dispute contract", resolveContract = "/resolve contract"
        case evidence = "/evidence", take = "/take", note = "/note"
        case offerRefund = "/offer refund", offerAccept = "/offer accept", offerDecline = "/offer decline", offerWithdraw = "/offer withdraw"
        case offerCancel = "/offer cancel", cancelAccept = "/offer accept contract", cancelDecline = "/offer decline contract"
        case cancelWithdraw = "/offer withdraw contract", bonus = "/bonus"
        case help = "/help", status = "/status"

        var description: String { rawValue }

        /// The command as the parser would hand it to the core; every one that names a milestone names M1.
        var chat: ChatCommand {
            let m1 = MilestoneRef.number(MilestoneNumber(1))
            switch self {
            case .add: return .addMilestone(MilestoneDraft(amount: 30_000, description: "Extra page"))
            case .request: return .requestMilestone(MilestoneDraft(amount: 30_000, description: "Extra page"))
            case .edit: return .editMilestone(m1, MilestoneChanges(amount: 45_000))
            case .delete: return .deleteMilestone(m1)
            case .approve: return .approve(m1)
            case .fund: return .fund(m1)
            case .submit: return .submit(m1, note: "here it is")
            case .revise: return .revise(m1, feedback: "more contrast please")
            case .release: return .release(m1)
            case .cancel: return .cancel(m1)
            case .dispute: return .dispute(m1, reason: "the work is late")
            case .resolveRelease: return .resolve(m1, .release, note: "the work was delivered")
            case .resolveRefund: return .resolve(m1, .refund, note: "nothing was delivered")
            case .resolveSplit: return .resolve(m1, .split(toFreelancer: 10_000), note: "part was delivered")
            case .endRequest: return .endContract(reason: "budget cut")
            case .endAccept: return .answerEndRequest(accept: true)
            case .endDecline: return .answerEndRequest(accept: false)
            case .goLive: return .goLive
            case .cancelOrder: return .cancelOrder(reason: "the order cannot go on")
            case .disputeContract: return .disputeContract(reason: "we cannot agree how to end this")
            case .resolveContract: return .resolveContract(note: "both may stop; nothing is owed")
            case .offerRefund: return .offer(m1, .refund)
            case .evidence: return .evidence(.milestone(MilestoneNumber(1)), text: "the files are in the drive")
            case .take: return .takeCase(.milestone(MilestoneNumber(1)))
            case .note: return .internalNote("called both sides")
            case .offerAccept: return .answerOffer(m1, .accept)
            case .offerDecline: return .answerOffer(m1, .decline)
            case .offerWithdraw: return .answerOffer(m1, .withdraw)
            case .offerCancel: return .offerCancellation(reason: "we agreed to stop here")
            case .cancelAccept: return .answerCancellation(.accept)
            case .cancelDecline: return .answerCancellation(.decline)
            case .cancelWithdraw: return .answerCancellation(.withdraw)
            case .bonus: return .bonus(amount: 5_000, note: "thanks for the extra care")
            case .stop: return .stop
            case .complete: return .complete
            case .review: return .review(stars: 5, text: "great to work with")
            case .help: return .help(topic: nil)
            case .status: return .status
            }
        }

        /// Which rows cover a `ChatCommand`. Exhaustive: a new command does not compile until it has a row.
        static func rows(covering command: ChatCommand) -> [Command] {
            switch command {
            case .help: [.help]
            case .status: [.status]
            case .addMilestone: [.add]
            case .requestMilestone: [.request]
            case .editMilestone: [.edit]
            case .deleteMilestone: [.delete]
            case .approve: [.approve]
            case .fund: [.fund]
            case .submit: [.submit]
            case .revise: [.revise]
            case .release: [.release]
            case .cancel: [.cancel]
            case .cancelOrder: [.cancelOrder]
            case .disputeContract: [.disputeContract]
            case .resolveContract: [.resolveContract]
            case .offer: [.offerRefund]
            case .evidence: [.evidence]
            case .takeCase: [.take]
            case .internalNote: [.note]
            case .answerOffer: [.offerAccept, .offerDecline, .offerWithdraw]
            case .offerCancellation: [.offerCancel]
            case .answerCancellation: [.cancelAccept, .cancelDecline, .cancelWithdraw]
            case .bonus: [.bonus]
            case .dispute: [.dispute]
            case .resolve: [.resolveRelease, .resolveRefund, .resolveSplit]
            case .endContract: [.endRequest]
            case .answerEndRequest: [.endAccept, .endDecline]
            case .goLive: [.goLive]
            case .stop: [.stop]
            case .complete: [.complete]
            case .review: [.review]
            }
        }
    }

    /// Where a milestone is, as the documents name the states.
    enum M: Equatable, CustomStringConvertible {
        case proposed(awaiting: Role)
        /// A freelancer's `/milestone request`, waiting for the buyer.
        case requested
        case agreed, funded, submitted, revisionRequested, disputed, released, refunded, split, cancelled

        /// The name the core uses (`MilestoneState.name`), to check that a builder reached the state it claims.
        var description: String {
            switch self {
            case .proposed: "proposed"
            case .requested: "requested"
            case .agreed: "agreed"
            case .funded: "funded"
            case .submitted: "submitted"
            case .revisionRequested: "revision_requested"
            case .disputed: "disputed"
            case .released: "released"
            case .refunded: "refunded"
            case .split: "split"
            case .cancelled: "cancelled"
            }
        }

        /// "funded (money held by the processor)" until released, refunded or settled; frozen while disputed.
        var holdsMoney: Bool { [.funded, .submitted, .revisionRequested, .disputed].contains(self) }
        /// Before funding: what edit and delete may touch.
        var isUnfunded: Bool {
            switch self {
            case .proposed, .requested, .agreed: true
            default: false
            }
        }
        var isSettled: Bool { [.released, .refunded, .split, .cancelled].contains(self) }
        var wasAccepted: Bool { self == .released || self == .split }
    }

    /// One state of the matrix: how to reach it (valid commands typed in order) and what it is.
    struct Situation {
        let name: String
        let phase: Contract.Phase
        /// M1, the milestone every command names; nil when there are no milestones yet.
        let m1: M?
        /// Milestones after M1 (a Fiverr offer has two).
        var others: [M] = []
        var endRequested = false
        /// M1 used every revision its allowance gives (Fiverr: "Revisions are defined per milestone").
        var revisionsUsedUp = false
        /// Who created M1, when it is not the policy's creator (a freelancer's request the buyer accepted).
        var m1Creator: Role? = nil
        let steps: [(Actor, String)]

        var all: [M] { (m1.map { [$0] } ?? []) + others }
    }

    // MARK: - The rules, by hand from PRODUCT.md, COMMANDS.md and the preset files

    /// One configuration, written out from the documents (the matching preset file is loaded separately, and
    /// `rulesMatchThePresetFiles` checks that the two agree).
    struct Rules: CustomStringConvertible {
        let label: String
        let preset: String
        let overrides: [String: Any]
        /// "who adds milestones".
        let creator: Role
        /// "freelancer (may `/milestone request`)".
        var mayRequest = false
        /// "who approves": the freelancer approves milestones the buyer made (skillscoop, white-label buyer-made).
        var freelancerApprovesBuyerMade = false
        /// white-label: "contract is a proposal until made live".
        var startsLive = true
        /// white-label "Take CL payment when FL approves".
        var chargeOnApproval = false
        var sequential = false
        var releaseNeedsSubmission = true
        /// "revisions": anything but none (Fiverr counts 2 per milestone; the matrix asks for the first).
        var revisions = false
        /// "`/cancel` (return money)": who, if anyone.
        var cancelBy: Role? = nil
        /// The creator may delete an agreed (approved) milestone before funding (white-label: only a setting).
        var deleteAgreed = true
        /// "ending early": `/endcontract` requests (skillscoop).
        var endRequests = false
        /// Fiverr's "buyer may `/stop` after an accepted milestone".
        var stop = false
        /// Fiverr: "Buyers will be charged for the first milestone when they place an order" (`/placeorder`);
        /// afterwards the seller's changes wait for the buyer.
        var placeOrder = false
        /// "`bonus`: may the buyer pay a bonus" (every preset but Fiverr's, whose seed says nothing of them).
        var bonus = true
        /// "`mutual_cancellation`": not where the seed has its own way (Freelancer.com's returns, SkillScoop's end request).
        var mutualCancel = true

        var description: String { label }

        /// Who created M1 in a situation: the freelancer for a request, else the policy's creator.
        func creator(in s: Situation) -> Role { s.m1Creator ?? (s.m1 == .requested ? .freelancer : creator) }
    }

    static var indeelancer: Rules { Rules(label: "indeelancer", preset: "indeelancer", overrides: [:], creator: .buyer, revisions: true) }
    static var freelancerCom: Rules { Rules(label: "freelancer-com", preset: "freelancer-com", overrides: [:], creator: .buyer,
        mayRequest: true, releaseNeedsSubmission: false, cancelBy: .freelancer, mutualCancel: false) }
    static var fiverr: Rules { Rules(label: "fiverr", preset: "fiverr", overrides: [:], creator: .freelancer, startsLive: false,
        sequential: true, revisions: true, cancelBy: .moderator, stop: true, placeOrder: true, bonus: false) }
    /// "After completing the work for that milestone, notify the client via chat so they can release the
    /// payment": no submit step needed.
    static var skillscoop: Rules { Rules(label: "skillscoop", preset: "skillscoop", overrides: [:], creator: .buyer,
        freelancerApprovesBuyerMade: true, releaseNeedsSubmission: false, endRequests: true, mutualCancel: false) }
    static var whitelabel: Rules { Rules(label: "whitelabel", preset: "whitelabel", overrides: [:], creator: .freelancer,
        startsLive: false, deleteAgreed: false) }
    /// "Customer creates the milestones".
    static var whitelabelBuyer: Rules { Rules(label: "whitelabel[milestone_creator: buyer]", preset: "whitelabel",
        overrides: ["milestone_creator": "buyer"], creator: .buyer, freelancerApprovesBuyerMade: true,
        startsLive: false, deleteAgreed: false) }
    /// Sub-option 1 "Skip FL approve milestone step".
    static var whitelabelSkip: Rules { Rules(label: "whitelabel[buyer, approval: none, release_requires_submission: false]",
        preset: "whitelabel",
        overrides: ["milestone_creator": "buyer", "approval": "none", "release_requires_submission": false],
        creator: .buyer, startsLive: false, releaseNeedsSubmission: false, deleteAgreed: false) }
    /// Sub-option 3 "Take CL payment when FL approves".
    static var whitelabelCharge: Rules { Rules(label: "whitelabel[buyer, charge_on: approval]", preset: "whitelabel",
        overrides: ["milestone_creator": "buyer", "charge_on": "approval"], creator: .buyer,
        freelancerApprovesBuyerMade: true, startsLive: false, chargeOnApproval: true, deleteAgreed: false) }

    static var configurations: [Rules] {
        [indeelancer, freelancerCom, fiverr, skillscoop, whitelabel, whitelabelBuyer, whitelabelSkip, whitelabelCharge]
    }

    /// Whether `actor` may use `command` in situation `s` under `r`. One line per command, quoting the documents.
    static func allowed(_ command: Command, by actor: Actor, in s: Situation, under r: Rules) -> Bool {
        // "A user sees only the threads of contracts they are party to. Moderators see all. Nobody else sees anything."
        guard let role = actor.role else { return false }
        let party = role != .moderator
        let open = s.phase == .proposal || s.phase == .live
        let m = s.m1
        switch command {
        // "`/help [command]` | anyone", "`/status` | anyone" (anyone who may see the thread).
        case .help, .status:
            return true
        // "`/milestone add` | the creator the policy names".
        case .add:
            return open && role == r.creator
        // "`/milestone request` | freelancer, where the policy allows".
        case .request:
            return open && role == .freelancer && r.mayRequest
        // "`/milestone edit M<n>` | the milestone's creator, before funding".
        case .edit:
            return open && m?.isUnfunded == true && role == r.creator(in: s)
        // "`/milestone delete M<n>` | the creator, before funding (the buyer declines a request this way)";
        // white-label without "delete milestones before paid" (delete_before_funding: false): "only one not yet
        // approved". Fiverr: "a milestone within an order, or the whole order, can be canceled through ...
        // Customer Support" (cancel_by: moderator), so its moderator may remove an unfunded milestone too.
        case .delete:
            guard open, let m, m.isUnfunded else { return false }
            let who = role == r.creator(in: s) || (m == .requested && role == .buyer)
                || (role == .moderator && r.cancelBy == .moderator)
            // A placed order's milestones are removed by support only.
            if r.placeOrder, s.phase == .live, role != .moderator { return false }
            return who && (m != .agreed || r.deleteAgreed)
        // "`/approve M<n>` | the side the milestone waits for"; a request waits for the buyer.
        case .approve:
            return open && (m == .proposed(awaiting: role) || (m == .requested && role == .buyer))
        // "`/fund M<n>` | buyer", "only once live"; not where "Take CL payment when FL approves";
        // "Customers can only pay for milestones that have been approved"; the buyer decides on requests.
        // (Sequential orders: M1 is always the first milestone, so it is always startable.)
        case .fund:
            return role == .buyer && s.phase == .live && !r.chargeOnApproval && (m == .agreed || m == .requested)
        // "`/submit M<n>` | freelancer" - work on a funded milestone, or a revision of it.
        case .submit:
            return open && role == .freelancer && (m == .funded || m == .revisionRequested)
        // "`/revise M<n>` | buyer | sends submitted work back", where the preset has revisions.
        case .revise:
            return open && role == .buyer && r.revisions && m == .submitted && !s.revisionsUsedUp
        // "`/release M<n>` | buyer"; "release needs `/submit`" per preset.
        case .release:
            guard open, role == .buyer, let m else { return false }
            return m == .submitted || (!r.releaseNeedsSubmission && (m == .funded || m == .revisionRequested))
        // "`/cancel M<n>` | freelancer or moderator (policy) | returns a funded milestone's money"; a disputed
        // milestone's money is frozen for the moderator's `/resolve`.
        case .cancel:
            guard open, let m, let cancelBy = r.cancelBy else { return false }
            return role == cancelBy && m.holdsMoney && m != .disputed
        // "`/dispute M<n>` | buyer or freelancer | freezes the money" (there must be money held, not yet frozen).
        case .dispute:
            guard party, let m else { return false }
            return m.holdsMoney && m != .disputed
        // "`/resolve M<n> release|refund|split` | moderator | settles a dispute".
        case .resolveRelease, .resolveRefund, .resolveSplit:
            return role == .moderator && m == .disputed
        // "`/endcontract [reason]` | buyer, where the policy has end requests" (one open request at a time).
        case .endRequest:
            return open && role == .buyer && r.endRequests && !s.endRequested
        // "`/endcontract accept` / `/endcontract decline` | freelancer" - answering the buyer's open request.
        case .endAccept, .endDecline:
            return open && role == .freelancer && s.endRequested
        // "`/golive` | buyer | makes a proposal contract live".
        // `/placeorder` (the same command where the preset places orders) needs an agreed offer.
        case .goLive:
            return role == .buyer && s.phase == .proposal
                && (!r.placeOrder || (s.all.contains(.agreed) && !s.all.contains { if case .proposed = $0 { true } else { false } }))
        // "`/cancel order <reason>` | moderator, where cancelling is a moderator's (Fiverr: "the whole order, can be
        // canceled through the Resolution Center or through Customer Support")".
        case .cancelOrder:
            return open && role == .moderator && r.cancelBy == .moderator
        // "`/dispute contract <reason>` | buyer or freelancer | asks a moderator to look at the contract as a whole"
        // (no situation here has one open already).
        case .disputeContract:
            return open && party
        // "`/resolve contract <ruling>` | moderator | rules on a dispute about the contract" - none is open here.
        case .resolveContract:
            return false
        // "`/offer M<n> release <amount>|refund|extend <date>` | buyer or freelancer | offers the other party terms";
        // money terms need money held (a disputed milestone too: "in or out of a dispute").
        case .offerRefund:
            return open && party && m?.holdsMoney == true
        // "`/evidence M<n> <statement>` | buyer or freelancer | adds to an open dispute's case".
        // (A disputed milestone an accepted end request left open keeps its case going on the ended contract.)
        case .evidence:
            return party && m == .disputed
        // "`/take M<n>` | moderator | takes a dispute's case".
        case .take:
            return role == .moderator && m == .disputed
        // "`/note <text>` | moderator | an internal note" - at any time.
        case .note:
            return role == .moderator
        // "`/offer accept|decline` | the other party", "`/offer withdraw` | the offerer" - no situation here has an open offer.
        case .offerAccept, .offerDecline, .offerWithdraw, .cancelAccept, .cancelDecline, .cancelWithdraw:
            return false
        // "`/offer cancel <reason>` | buyer or freelancer, where the policy allows | offers to cancel the whole contract".
        case .offerCancel:
            return open && party && r.mutualCancel
        // "`/bonus <amount> <note>` | buyer, where the policy allows, once the contract is live".
        case .bonus:
            return role == .buyer && s.phase == .live && r.bonus
        // "`/stop` | buyer, sequential orders | stops the order after an accepted milestone" - "Buyers can choose
        // to stop a milestone order after each milestone is accepted".
        case .stop:
            return open && role == .buyer && r.stop && s.all.contains(where: \.wasAccepted)
                && !s.all.contains(where: \.holdsMoney)
        // "`/complete` | buyer | marks the contract complete once every milestone is settled".
        case .complete:
            return open && role == .buyer && !s.all.isEmpty && s.all.allSatisfy(\.isSettled)
        // "`/review <1-5> <text>` | buyer or freelancer, once each | rates the other side after completion".
        case .review:
            return party && s.phase == .completed
        }
    }

    // MARK: - State builders, one per configuration

    typealias Step = (Actor, String)

    static func situations(_ r: Rules) -> [Situation] {
        switch r.label {
        case indeelancer.label: indeelancerSituations
        case freelancerCom.label: freelancerComSituations
        case fiverr.label: fiverrSituations
        case skillscoop.label: skillscoopSituations
        case whitelabel.label: whitelabelSituations
        case whitelabelBuyer.label: whitelabelBuyerSituations
        case whitelabelSkip.label: whitelabelSkipSituations
        case whitelabelCharge.label: whitelabelChargeSituations
        default: []
        }
    }

    static let fund: Step = (.buyer, "/fund M1")
    static let submit: Step = (.freelancer, "/submit M1 first draft")
    static let revise: Step = (.buyer, "/revise M1 bigger logo")
    static let release: Step = (.buyer, "/release M1")
    static let dispute: Step = (.buyer, "/dispute M1 the work is late")
    static let refundRuling: Step = (.moderator, "/resolve M1 refund nothing usable was delivered")
    static let splitRuling: Step = (.moderator, "/resolve M1 split 100 half of it was delivered")
    static let complete: Step = (.buyer, "/complete")
    static let goLive: Step = (.buyer, "/golive")
    static let approve: Step = (.freelancer, "/approve M1")
    static let buyerAdds: Step = (.buyer, "/milestone add 500 Logo design")
    static let freelancerAdds: Step = (.freelancer, "/milestone add 500 Logo design")

    /// Buyer creates, nobody approves, `/fund`, submission then release, revisions on request, nobody cancels.
    static var indeelancerSituations: [Situation] {
        let add = buyerAdds
        return [
            Situation(name: "live, no milestones", phase: .live, m1: nil, steps: []),
            Situation(name: "agreed", phase: .live, m1: .agreed, steps: [add]),
            Situation(name: "funded", phase: .live, m1: .funded, steps: [add, fund]),
            Situation(name: "submitted", phase: .live, m1: .submitted, steps: [add, fund, submit]),
            Situation(name: "revision_requested", phase: .live, m1: .revisionRequested, steps: [add, fund, submit, revise]),
            Situation(name: "disputed", phase: .live, m1: .disputed, steps: [add, fund, dispute]),
            Situation(name: "released", phase: .live, m1: .released, steps: [add, fund, submit, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, steps: [add, fund, dispute, refundRuling]),
            Situation(name: "split", phase: .live, m1: .split, steps: [add, fund, dispute, splitRuling]),
            Situation(name: "cancelled", phase: .live, m1: .cancelled, steps: [add, (.buyer, "/milestone delete M1")]),
            Situation(name: "completed", phase: .completed, m1: .released, steps: [add, fund, submit, release, complete]),
        ]
    }

    /// Buyer creates, the freelancer may request, release without submission, the freelancer cancels (returns).
    static var freelancerComSituations: [Situation] {
        let add = buyerAdds
        return [
            Situation(name: "live, no milestones", phase: .live, m1: nil, steps: []),
            Situation(name: "requested", phase: .live, m1: .requested, steps: [(.freelancer, "/milestone request 500 Logo design")]),
            Situation(name: "agreed (an accepted request)", phase: .live, m1: .agreed, m1Creator: .freelancer,
                steps: [(.freelancer, "/milestone request 500 Logo design"), (.buyer, "/approve M1")]),
            Situation(name: "agreed", phase: .live, m1: .agreed, steps: [add]),
            Situation(name: "funded", phase: .live, m1: .funded, steps: [add, fund]),
            Situation(name: "submitted", phase: .live, m1: .submitted, steps: [add, fund, submit]),
            Situation(name: "disputed", phase: .live, m1: .disputed, steps: [add, fund, dispute]),
            Situation(name: "released", phase: .live, m1: .released, steps: [add, fund, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, steps: [add, fund, (.freelancer, "/cancel M1")]),
            Situation(name: "split", phase: .live, m1: .split, steps: [add, fund, dispute, splitRuling]),
            Situation(name: "cancelled", phase: .live, m1: .cancelled, steps: [add, (.buyer, "/milestone delete M1")]),
            Situation(name: "completed", phase: .completed, m1: .released, steps: [add, fund, release, complete]),
        ]
    }

    /// The seller's offer has two milestones (M2 waits, agreed); a sequential order, counted revisions, support
    /// (the moderator) cancels, the buyer may `/stop` after an accepted milestone, completion is automatic.
    static var fiverrSituations: [Situation] {
        let offer: [Step] = [freelancerAdds, (.freelancer, "/milestone add 300 Brand guide")]
        let place: Step = (.buyer, "/placeorder")
        return [
            Situation(name: "offer, no milestones yet", phase: .proposal, m1: nil, steps: []),
            Situation(name: "offer", phase: .proposal, m1: .agreed, others: [.agreed], steps: offer),
            Situation(name: "funded (order placed)", phase: .live, m1: .funded, others: [.agreed], steps: offer + [place]),
            Situation(name: "submitted", phase: .live, m1: .submitted, others: [.agreed], steps: offer + [place, submit]),
            Situation(name: "revision_requested", phase: .live, m1: .revisionRequested, others: [.agreed], steps: offer + [place, submit, revise]),
            Situation(name: "submitted, both revisions used", phase: .live, m1: .submitted, others: [.agreed], revisionsUsedUp: true,
                steps: offer + [place, submit, revise, submit, revise, submit]),
            Situation(name: "disputed", phase: .live, m1: .disputed, others: [.agreed], steps: offer + [place, dispute]),
            Situation(name: "released", phase: .live, m1: .released, others: [.agreed], steps: offer + [place, submit, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, others: [.agreed], steps: offer + [place, (.moderator, "/cancel M1")]),
            Situation(name: "split", phase: .live, m1: .split, others: [.agreed], steps: offer + [place, dispute, splitRuling]),
            Situation(name: "cancelled (withdrawn from the offer)", phase: .proposal, m1: .cancelled, others: [.agreed], steps: offer + [(.freelancer, "/milestone delete M1")]),
            Situation(name: "completed (stopped)", phase: .completed, m1: .released, others: [.cancelled],
                steps: offer + [place, submit, release, (.buyer, "/stop")]),
        ]
    }

    /// Buyer creates, the freelancer approves, end requests (accept refunds, decline keeps going), buyer completes.
    static var skillscoopSituations: [Situation] {
        let add = buyerAdds
        let agreed = [add, approve]
        let endRequest: Step = (.buyer, "/endcontract budget cut")
        return [
            Situation(name: "live, no milestones", phase: .live, m1: nil, steps: []),
            Situation(name: "proposed", phase: .live, m1: .proposed(awaiting: .freelancer), steps: [add]),
            Situation(name: "agreed", phase: .live, m1: .agreed, steps: agreed),
            Situation(name: "funded", phase: .live, m1: .funded, steps: agreed + [fund]),
            Situation(name: "submitted", phase: .live, m1: .submitted, steps: agreed + [fund, submit]),
            Situation(name: "disputed", phase: .live, m1: .disputed, steps: agreed + [fund, dispute]),
            Situation(name: "released", phase: .live, m1: .released, steps: agreed + [fund, submit, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, steps: agreed + [fund, dispute, refundRuling]),
            Situation(name: "split", phase: .live, m1: .split, steps: agreed + [fund, dispute, splitRuling]),
            Situation(name: "cancelled", phase: .live, m1: .cancelled, steps: agreed + [(.buyer, "/milestone delete M1")]),
            Situation(name: "funded, end requested", phase: .live, m1: .funded, endRequested: true, steps: agreed + [fund, endRequest]),
            Situation(name: "ended", phase: .ended, m1: .refunded, steps: agreed + [fund, endRequest, (.freelancer, "/endcontract accept")]),
            Situation(name: "completed", phase: .completed, m1: .released, steps: agreed + [fund, submit, release, complete]),
        ]
    }

    /// Default white-label: the freelancer creates (agreed at once), a proposal until `/golive`, agreed
    /// milestones cannot be deleted, nobody cancels.
    static var whitelabelSituations: [Situation] {
        let add = freelancerAdds
        let live = [add, goLive]
        return [
            Situation(name: "proposal, no milestones", phase: .proposal, m1: nil, steps: []),
            Situation(name: "proposal, agreed", phase: .proposal, m1: .agreed, steps: [add]),
            Situation(name: "live, no milestones", phase: .live, m1: nil, steps: [goLive]),
            Situation(name: "agreed", phase: .live, m1: .agreed, steps: live),
            Situation(name: "funded", phase: .live, m1: .funded, steps: live + [fund]),
            Situation(name: "submitted", phase: .live, m1: .submitted, steps: live + [fund, submit]),
            Situation(name: "disputed", phase: .live, m1: .disputed, steps: live + [fund, submit, dispute]),
            Situation(name: "released", phase: .live, m1: .released, steps: live + [fund, submit, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, steps: live + [fund, dispute, refundRuling]),
            Situation(name: "split", phase: .live, m1: .split, steps: live + [fund, dispute, splitRuling]),
            Situation(name: "completed", phase: .completed, m1: .released, steps: live + [fund, submit, release, complete]),
        ]
    }

    /// "Customer creates the milestones": the freelancer approves them; a proposal until `/golive`.
    static var whitelabelBuyerSituations: [Situation] {
        let add = buyerAdds
        let live = [add, approve, goLive]
        return [
            Situation(name: "proposal, no milestones", phase: .proposal, m1: nil, steps: []),
            Situation(name: "proposal, proposed", phase: .proposal, m1: .proposed(awaiting: .freelancer), steps: [add]),
            Situation(name: "proposal, agreed", phase: .proposal, m1: .agreed, steps: [add, approve]),
            Situation(name: "live, no milestones", phase: .live, m1: nil, steps: [goLive]),
            Situation(name: "proposed", phase: .live, m1: .proposed(awaiting: .freelancer), steps: [add, goLive]),
            Situation(name: "agreed", phase: .live, m1: .agreed, steps: live),
            Situation(name: "funded", phase: .live, m1: .funded, steps: live + [fund]),
            Situation(name: "submitted", phase: .live, m1: .submitted, steps: live + [fund, submit]),
            Situation(name: "disputed", phase: .live, m1: .disputed, steps: live + [fund, dispute]),
            Situation(name: "released", phase: .live, m1: .released, steps: live + [fund, submit, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, steps: live + [fund, dispute, refundRuling]),
            Situation(name: "split", phase: .live, m1: .split, steps: live + [fund, dispute, splitRuling]),
            Situation(name: "cancelled", phase: .live, m1: .cancelled, steps: [add, goLive, (.buyer, "/milestone delete M1")]),
            Situation(name: "completed", phase: .completed, m1: .released, steps: live + [fund, submit, release, complete]),
        ]
    }

    /// "Skip FL approve milestone step": the buyer's milestones are agreed at once and may be released unsubmitted.
    static var whitelabelSkipSituations: [Situation] {
        let add = buyerAdds
        let live = [add, goLive]
        return [
            Situation(name: "proposal, no milestones", phase: .proposal, m1: nil, steps: []),
            Situation(name: "proposal, agreed", phase: .proposal, m1: .agreed, steps: [add]),
            Situation(name: "live, no milestones", phase: .live, m1: nil, steps: [goLive]),
            Situation(name: "agreed", phase: .live, m1: .agreed, steps: live),
            Situation(name: "funded", phase: .live, m1: .funded, steps: live + [fund]),
            Situation(name: "submitted", phase: .live, m1: .submitted, steps: live + [fund, submit]),
            Situation(name: "disputed", phase: .live, m1: .disputed, steps: live + [fund, dispute]),
            Situation(name: "released", phase: .live, m1: .released, steps: live + [fund, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, steps: live + [fund, dispute, refundRuling]),
            Situation(name: "split", phase: .live, m1: .split, steps: live + [fund, dispute, splitRuling]),
            Situation(name: "completed", phase: .completed, m1: .released, steps: live + [fund, release, complete]),
        ]
    }

    /// "Take CL payment when FL approves": approving a milestone of a live contract charges the buyer, and going
    /// live charges every agreed one; an agreed milestone exists only in a proposal.
    static var whitelabelChargeSituations: [Situation] {
        let add = buyerAdds
        let funded = [add, goLive, approve]
        return [
            Situation(name: "proposal, no milestones", phase: .proposal, m1: nil, steps: []),
            Situation(name: "proposal, proposed", phase: .proposal, m1: .proposed(awaiting: .freelancer), steps: [add]),
            Situation(name: "proposal, agreed", phase: .proposal, m1: .agreed, steps: [add, approve]),
            Situation(name: "live, no milestones", phase: .live, m1: nil, steps: [goLive]),
            Situation(name: "proposed", phase: .live, m1: .proposed(awaiting: .freelancer), steps: [add, goLive]),
            Situation(name: "funded (on approval)", phase: .live, m1: .funded, steps: funded),
            Situation(name: "funded (on going live)", phase: .live, m1: .funded, steps: [add, approve, goLive]),
            Situation(name: "submitted", phase: .live, m1: .submitted, steps: funded + [submit]),
            Situation(name: "disputed", phase: .live, m1: .disputed, steps: funded + [dispute]),
            Situation(name: "released", phase: .live, m1: .released, steps: funded + [submit, release]),
            Situation(name: "refunded", phase: .live, m1: .refunded, steps: funded + [dispute, refundRuling]),
            Situation(name: "split", phase: .live, m1: .split, steps: funded + [dispute, splitRuling]),
            Situation(name: "cancelled", phase: .live, m1: .cancelled, steps: [add, goLive, (.buyer, "/milestone delete M1")]),
            Situation(name: "completed", phase: .completed, m1: .released, steps: funded + [submit, release, complete]),
        ]
    }

    // MARK: - Building a state

    struct Built {
        var contract: Contract
        var ledger: Ledger
        var now: Date
    }

    /// Types the situation's steps into a new contract; nil (with an issue recorded) when a step is refused.
    static func build(_ s: Situation, _ r: Rules, policy: Policy) -> Built? {
        var built = Built(
            contract: Contract(id: "c-matrix", title: "Website", currency: .usd, buyer: "bob", freelancer: "fay", policy: policy),
            ledger: Ledger(), now: Scenario.start)
        for (actor, line) in s.steps {
            built.now = built.now.addingTimeInterval(60)
            switch built.contract.apply(line: line, by: actor.participant, at: built.now) {
            case .success(.applied(let transition)):
                do {
                    try built.ledger.apply(transition.postings)
                } catch {
                    Issue.record("[\(r)] building `\(s.name)`: the ledger refused `\(line)`: \(error)")
                    return nil
                }
                built.contract = transition.contract
            case .success(.answered):
                Issue.record("[\(r)] building `\(s.name)`: `\(line)` was answered, not applied")
                return nil
            case .failure(let rejection):
                Issue.record("[\(r)] building `\(s.name)`: `\(line)` by the \(actor) was refused: \(rejection)")
                return nil
            }
        }
        // The builder reached the state it claims (else the expected column would be read for the wrong state).
        let c = built.contract
        var problems: [String] = []
        if c.phase != s.phase { problems.append("phase is \(c.phase), not \(s.phase)") }
        let names = c.milestones.map(\.state.name)
        if names != s.all.map(\.description) { problems.append("milestones are \(names), not \(s.all.map(\.description))") }
        if case .proposed(let awaiting) = s.m1, c.milestones.first?.state != .proposed(awaiting: awaiting, requested: false) {
            problems.append("M1 is \(String(describing: c.milestones.first?.state)), not awaiting the \(awaiting)")
        }
        if let creator = s.m1Creator, c.milestones.first?.createdBy != creator { problems.append("M1 was not created by the \(creator)") }
        if s.revisionsUsedUp, let m1 = c.milestones.first, m1.revisionsUsed < (m1.revisionAllowance ?? .max) {
            problems.append("M1 used \(m1.revisionsUsed) of \(String(describing: m1.revisionAllowance)) revisions")
        }
        if (c.endRequest != nil) != s.endRequested { problems.append("end request is \(String(describing: c.endRequest))") }
        if !problems.isEmpty {
            Issue.record("[\(r)] the builder for `\(s.name)` reached another state: \(problems.joined(separator: "; "))")
            return nil
        }
        built.now = built.now.addingTimeInterval(3_600)
        return built
    }

    // MARK: - The matrix

    /// A reason that says what was wrong, not just that something was.
    static func isSpecific(_ reason: String) -> Bool {
        let text = reason.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let generic: Set<String> = ["", "not allowed", "forbidden", "denied", "permission denied", "unauthorized",
            "error", "invalid", "invalid command", "failed", "cannot do that", "you cannot do that", "not permitted"]
        return !generic.contains(text) && text.split(separator: " ").count >= 4
    }

    @Test("Every configuration x command x actor x reachable state: allowed by the table, or refused and unchanged")
    func matrix() throws {
        var cells = 0
        var expectedCells = 0
        for rules in Self.configurations {
            let policy = try PresetFiles.policy(rules.preset, overrides: rules.overrides)
            let situations = Self.situations(rules)
            #expect(!situations.isEmpty, "[\(rules)] has no state builder")
            expectedCells += situations.count * Command.allCases.count * Actor.allCases.count
            for situation in situations {
                guard let built = Self.build(situation, rules, policy: policy) else { continue }
                for command in Command.allCases {
                    for actor in Actor.allCases {
                        cells += 1
                        check(command, by: actor, in: situation, built, rules)
                    }
                }
            }
        }
        #expect(Command.allCases.count == 38)
        #expect(Actor.allCases.count == 4)
        #expect(Self.configurations.count == 8)
        #expect(cells == expectedCells, "checked \(cells) cells of \(expectedCells)")
    }

    func check(_ command: Command, by actor: Actor, in s: Situation, _ built: Built, _ r: Rules) {
        let cell = "[\(r)] `\(command)` by the \(actor) in state `\(s.name)`"
        let shouldAllow = Self.allowed(command, by: actor, in: s, under: r)
        let before = built.contract
        let result = before.apply(command.chat, by: actor.participant, at: built.now)
        switch result {
        case .success(let outcome):
            guard shouldAllow else {
                Issue.record("\(cell): the table refuses it, but the core allowed it: \(describe(outcome))")
                return
            }
            switch outcome {
            case .answered:
                if !command.chat.isQuery { Issue.record("\(cell): answered privately instead of applied") }
            case .applied(let transition):
                if command.chat.isQuery { Issue.record("\(cell): a query changed the contract") }
                // An internal note is the line itself (kept to moderators); every other command changes the contract.
                if case .internalNote = command.chat {
                    if !transition.keepsLinePrivate { Issue.record("\(cell): a note would be shown to the parties") }
                } else if transition.contract == before {
                    Issue.record("\(cell): allowed but changed nothing")
                }
                var ledger = built.ledger
                do {
                    try ledger.apply(transition.postings)
                } catch {
                    Issue.record("\(cell): the ledger refused \(transition.postings): \(error)")
                    return
                }
                if ledger.total != 0 { Issue.record("\(cell): the ledger does not balance (\(ledger.total))") }
                for m in transition.contract.milestones {
                    if m.held < 0 { Issue.record("\(cell): \(m.number) holds \(m.held)") }
                    if ledger.balance(.held(m.number)) != m.held {
                        Issue.record("\(cell): ledger holds \(ledger.balance(.held(m.number))) for \(m.number), the milestone \(m.held)")
                    }
                }
            }
        case .failure(let rejection):
            if shouldAllow {
                Issue.record("\(cell): the table allows it, but the core refused [\(rejection.code)]: \(rejection)")
            }
            if !Self.isSpecific(rejection.reason) { Issue.record("\(cell): the reason `\(rejection.reason)` is not specific") }
            if actor == .stranger, rejection.code != .notAllowedForRole {
                Issue.record("\(cell): a stranger was refused with [\(rejection.code)], not not_allowed_for_role")
            }
            // `apply` is a function of a value: the state it was applied to must be exactly as before.
            if built.contract != before { Issue.record("\(cell): a refused command changed the contract") }
        }
    }

    func describe(_ outcome: CommandOutcome) -> String {
        switch outcome {
        case .answered(let text): "answered \(text.prefix(60))"
        case .applied(let transition): "applied: \(transition.events.map(\.name))"
        }
    }

    // MARK: - Coverage and the table's inputs

    @Test("The matrix's command rows cover every ChatCommand, and each row's command maps back to it")
    func everyCommandHasARow() {
        for command in Command.allCases {
            #expect(Command.rows(covering: command.chat).contains(command), "\(command)")
        }
        #expect(Set(Command.allCases.flatMap { Command.rows(covering: $0.chat) }) == Set(Command.allCases))
    }

    @Test("The hand-written rules say what the preset files say", arguments: AuthorizationMatrixTests.configurations.map(\.label))
    func rulesMatchThePresetFiles(label: String) throws {
        let r = try #require(Self.configurations.first { $0.label == label })
        let p = try PresetFiles.policy(r.preset, overrides: r.overrides)
        #expect(p.milestoneCreator == r.creator, "[\(r)] milestone_creator")
        #expect(p.freelancerMayRequest == r.mayRequest, "[\(r)] freelancer_may_request")
        // approval: freelancer approves only buyer-made milestones, so with a freelancer creator it means "nobody".
        let buyerMadeNeedApproval = p.approval != .none && !(p.approval == .freelancer && r.creator == .freelancer)
        #expect(buyerMadeNeedApproval == r.freelancerApprovesBuyerMade, "[\(r)] approval")
        #expect(p.contractStartsLive == r.startsLive, "[\(r)] contract_starts_live")
        #expect(p.placeOrder == r.placeOrder, "[\(r)] place_order")
        #expect((p.chargeOn == .approval) == r.chargeOnApproval, "[\(r)] charge_on")
        #expect(p.sequential == r.sequential, "[\(r)] sequential")
        #expect(p.releaseRequiresSubmission == r.releaseNeedsSubmission, "[\(r)] release_requires_submission")
        #expect((p.revisions != .none) == r.revisions, "[\(r)] revisions")
        #expect(p.cancelBy.rawValue == (r.cancelBy?.rawValue ?? "nobody"), "[\(r)] cancel_by")
        #expect(p.deleteBeforeFunding == r.deleteAgreed, "[\(r)] delete_before_funding")
        #expect((p.endContract != .disputeOnly) == r.endRequests, "[\(r)] end_contract")
        #expect(p.stopAllowed == r.stop, "[\(r)] stop_allowed")
        #expect(p.bonusAllowed == r.bonus, "[\(r)] bonus")
        #expect(p.mutualCancellation == r.mutualCancel, "[\(r)] mutual_cancellation")
        #expect(p.problems.isEmpty, "[\(r)] \(p.problems)")
    }
}
