import MilestoneCore

/// The keys of a policy preset file, their types and allowed values.
enum PolicySchema {
    enum FieldType {
        case bool
        case int(ClosedRange<Int>)
        case choice([String])
        case intList(ClosedRange<Int>)
        /// Whole days in the range, or `<n>d|h|m|s` (``PolicyDuration``) up to its upper bound; stored in
        /// seconds. A lower bound of 1 day allows any positive time with a unit.
        case duration(days: ClosedRange<Int>)

        var allowed: String {
            switch self {
            case .bool: "true or false"
            case .int(let range): "a whole number from \(range.lowerBound) to \(range.upperBound)"
            case .choice(let values): "one of " + values.joined(separator: ", ")
            case .intList(let range): "a list of whole numbers from \(range.lowerBound) to \(range.upperBound), like [3, 1]"
            case .duration(let range):
                "a whole number of days from \(range.lowerBound) to \(range.upperBound), or a time with a unit like 14d, 36h, 15m or 90s"
            }
        }
    }

    enum Value: Hashable {
        case bool(Bool)
        case int(Int)
        case string(String)
        case intList([Int])
    }

    static let fields: [String: FieldType] = [
        "milestone_creator": .choice(["buyer", "freelancer"]),
        "freelancer_may_request": .bool,
        "approval": .choice(Policy.Approval.allCases.map(\.rawValue)),
        "contract_starts_live": .bool,
        "charge_on": .choice(Policy.ChargeMoment.allCases.map(\.rawValue)),
        "sequential": .bool,
        "release_requires_submission": .bool,
        "review_period_days": .duration(days: 0...365),
        "review_period_outcome": .choice(Policy.ReviewPeriod.Outcome.allCases.map(\.rawValue)),
        "review_reminder_days": .intList(1...364),
        "revisions": .choice(["none", "unlimited", "counted"]),
        "revision_allowance": .int(0...100),
        "cancel_by": .choice(Policy.CancelRule.allCases.map(\.rawValue)),
        "delete_before_funding": .bool,
        "end_contract": .choice(["dispute_only", "request"]),
        "end_request_answer_days": .duration(days: 1...90),
        "stop_allowed": .bool,
        "complete_automatically": .bool,
        "place_order": .bool,
        "offer_lapse_days": .duration(days: 1...30),
        "dispute_response_days": .duration(days: 1...30),
        "dispute_no_response": .choice(Policy.NoResponse.allCases.map(\.rawValue)),
        "review_blind_days": .duration(days: 0...60),
        "bonus": .bool,
        "mutual_cancellation": .bool,
    ]

    /// Checks one YAML value against its key's type.
    static func value(for key: String, _ raw: Any, file: String) throws(ConfigError) -> Value {
        guard let type = fields[key] else {
            throw ConfigError(file: file, key: key, "unknown key; allowed keys are \(fields.keys.sorted().joined(separator: ", "))")
        }
        func wrong() -> ConfigError {
            ConfigError(file: file, key: key, "expected \(type.allowed), got \(describe(raw))")
        }
        switch type {
        case .bool:
            guard let bool = raw as? Bool else { throw wrong() }
            return .bool(bool)
        case .int(let range):
            guard let int = raw as? Int, range.contains(int) else { throw wrong() }
            return .int(int)
        case .choice(let values):
            guard let string = raw as? String, values.contains(string) else { throw wrong() }
            return .string(string)
        case .intList(let range):
            guard let list = raw as? [Any] else { throw wrong() }
            var ints: [Int] = []
            for item in list {
                guard let int = item as? Int, range.contains(int) else { throw wrong() }
                ints.append(int)
            }
            return .intList(ints)
        case .duration(let days):
            let allowed = (days.lowerBound == 0 ? 0 : 1)...(days.upperBound * 86_400)
            guard let seconds = PolicyDuration.seconds(raw), allowed.contains(seconds),
                !(raw is Int) || days.contains(seconds / 86_400) else { throw wrong() }
            return .int(seconds)
        }
    }

    private static func describe(_ raw: Any) -> String {
        switch raw {
        case let string as String: "\"\(string)\""
        case let bool as Bool: "\(bool)"
        case let int as Int: "\(int)"
        case let double as Double: "\(double)"
        case is [Any]: "a list"
        case is [String: Any]: "a mapping"
        default: "\(raw)"
        }
    }

    /// Builds a policy from a complete set of values.
    static func policy(named name: String, from values: [String: Value], file: String) throws(ConfigError) -> Policy {
        if let missing = fields.keys.sorted().first(where: { values[$0] == nil }) {
            throw ConfigError(file: file, key: missing, "missing; a preset sets every key (\(fields[missing]!.allowed))")
        }
        func bool(_ key: String) -> Bool { if case .bool(let v) = values[key] { return v }; return false }
        func int(_ key: String) -> Int { if case .int(let v) = values[key] { return v }; return 0 }
        func string(_ key: String) -> String { if case .string(let v) = values[key] { return v }; return "" }
        func ints(_ key: String) -> [Int] { if case .intList(let v) = values[key] { return v }; return [] }

        let reviewSeconds = int("review_period_days")
        let revisions: Policy.RevisionRule = switch string("revisions") {
        case "unlimited": .unlimited
        case "counted": .counted(perMilestone: int("revision_allowance"))
        default: .none
        }
        return Policy(
            name: name,
            milestoneCreator: Role(rawValue: string("milestone_creator"))!,
            freelancerMayRequest: bool("freelancer_may_request"),
            approval: Policy.Approval(rawValue: string("approval"))!,
            contractStartsLive: bool("contract_starts_live"),
            chargeOn: Policy.ChargeMoment(rawValue: string("charge_on"))!,
            sequential: bool("sequential"),
            releaseRequiresSubmission: bool("release_requires_submission"),
            reviewPeriod: reviewSeconds == 0 ? nil : .init(seconds: reviewSeconds, outcome: .init(rawValue: string("review_period_outcome"))!),
            reviewReminderDays: ints("review_reminder_days"),
            revisions: revisions,
            cancelBy: Policy.CancelRule(rawValue: string("cancel_by"))!,
            deleteBeforeFunding: bool("delete_before_funding"),
            endContract: string("end_contract") == "request" ? .request(answerSeconds: int("end_request_answer_days")) : .disputeOnly,
            stopAllowed: bool("stop_allowed"),
            completeAutomatically: bool("complete_automatically"),
            placeOrder: bool("place_order"),
            offerLapseSeconds: int("offer_lapse_days"),
            disputeResponseSeconds: int("dispute_response_days"),
            disputeNoResponse: Policy.NoResponse(rawValue: string("dispute_no_response"))!,
            reviewBlindSeconds: int("review_blind_days"),
            bonusAllowed: bool("bonus"),
            mutualCancellation: bool("mutual_cancellation")
        )
    }
}
