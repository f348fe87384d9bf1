/// A combination of policy fields that cannot work together, naming the fields involved.
public struct PolicyProblem: Hashable, Sendable, CustomStringConvertible {
    /// The configuration keys involved, as spelled in `bot-config/`.
    public var keys: [String]
    public var explanation: String

    public var description: String { "\(keys.joined(separator: " + ")): \(explanation)" }
}

extension Policy {
    /// Every impossible combination in this policy; empty when it is usable.
    public var problems: [PolicyProblem] {
        var found: [PolicyProblem] = []
        func problem(_ keys: [String], _ text: String) { found.append(PolicyProblem(keys: keys, explanation: text)) }

        if milestoneCreator == .moderator {
            problem(["milestone_creator"], "must be buyer or freelancer; moderators do not create milestones")
        }
        if chargeOn == .approval && approval == .none {
            problem(["charge_on", "approval"], "charge_on: approval needs approval: freelancer or counterparty (nobody approves when approval is none)")
        }
        if chargeOn == .approval && milestoneCreator != .buyer {
            problem(["charge_on", "milestone_creator"], "charge_on: approval charges the buyer when the freelancer approves, so milestone_creator must be buyer")
        }
        if freelancerMayRequest && milestoneCreator == .freelancer {
            problem(["freelancer_may_request", "milestone_creator"], "the freelancer already creates milestones; set freelancer_may_request: false")
        }
        if stopAllowed && !sequential {
            problem(["stop_allowed", "sequential"], "/stop ends a sequential order; set sequential: true or stop_allowed: false")
        }
        if let period = reviewPeriod, !(1...(365 * 86_400)).contains(period.seconds) {
            problem(["review_period_days"], "must be between 1 second and 365 days, or 0 for no review period")
        }
        if reviewPeriod == nil && !reviewReminderDays.isEmpty {
            problem(["review_reminder_days", "review_period_days"], "reminders need a review period; use [] when review_period_days is 0")
        }
        if let period = reviewPeriod {
            for day in reviewReminderDays where day <= 0 || day * 86_400 >= period.seconds {
                problem(["review_reminder_days"], period.seconds < 2 * 86_400
                    ? "\(day): reminders are whole days before the end, and the review period is shorter than 2 days; use []"
                    : "\(day) is not between 1 and \(period.days - (period.seconds % 86_400 == 0 ? 1 : 0)) (the review period is \(PolicyDuration.text(seconds: period.seconds)))")
            }
        }
        if reviewPeriod?.outcome == .autoComplete && !sequential {
            problem(["review_period_outcome", "sequential"], "auto_complete stops and completes a sequential order; use auto_release for other contracts")
        }
        if case .counted(let allowance) = revisions, !(0...100).contains(allowance) {
            problem(["revision_allowance"], "must be between 0 and 100")
        }
        if case .request(let seconds) = endContract, !(1...(90 * 86_400)).contains(seconds) {
            problem(["end_request_answer_days"], "must be between 1 second and 90 days")
        }
        if !(1...(30 * 86_400)).contains(disputeResponseSeconds) {
            problem(["dispute_response_days"], "must be between 1 second and 30 days")
        }
        if !(1...(30 * 86_400)).contains(offerLapseSeconds) {
            problem(["offer_lapse_days"], "must be between 1 second and 30 days")
        }
        if placeOrder && contractStartsLive {
            problem(["place_order", "contract_starts_live"], "an order is placed from the seller's offer, so the contract starts as one: set contract_starts_live: false")
        }
        if placeOrder && chargeOn != .fund {
            problem(["place_order", "charge_on"], "placing the order charges the first milestone and the buyer starts each next one: set charge_on: fund")
        }
        return found
    }
}
