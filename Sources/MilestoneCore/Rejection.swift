/// Why a command changes nothing, in plain words, with what would work instead.
public struct Rejection: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable {
        /// The line is not a well-formed command.
        case syntax
        /// The milestone named does not exist, or none/several could be meant.
        case unknownMilestone = "unknown_milestone"
        /// This role may not use this command (in this contract's policy).
        case notAllowedForRole = "not_allowed_for_role"
        /// The policy of this platform does not offer this.
        case policyForbids = "policy_forbids"
        /// The milestone or contract is not in a state that allows it.
        case wrongState = "wrong_state"
        /// An amount or date that the command cannot take.
        case badValue = "bad_value"
        /// The contract is completed or ended.
        case contractClosed = "contract_closed"
        /// The payment processor declined or could not take the money (the card was declined, say).
        case paymentFailed = "payment_failed"
    }

    public var code: Code
    /// What was wrong: `there is no milestone M7; this contract has M1-M3`.
    public var reason: String
    /// What would work, as something to type or do.
    public var suggestion: String?

    public init(_ code: Code, _ reason: String, suggestion: String? = nil) {
        self.code = code
        self.reason = reason
        self.suggestion = suggestion
    }

    public var description: String {
        suggestion.map { "\(reason). \($0)" } ?? reason
    }

    public init(_ error: ParseError) {
        self.init(.syntax, error.problem, suggestion: "Example: \(error.example)")
    }
}
