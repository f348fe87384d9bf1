/// Who pays and who is paid at the processor, as the platform registered them for a contract: the
/// buyer's Stripe customer and saved payment method, and the freelancer's connected account.
public struct PaymentParties: Hashable, Sendable, Codable {
    /// `cus_...`
    public var customer: String?
    /// `pm_...`: the buyer's card the platform collected (with Stripe Elements, say).
    public var paymentMethod: String?
    /// `acct_...`: the freelancer's connected account; without one, released money stays in the
    /// platform's balance and the platform pays the freelancer itself.
    public var payoutAccount: String?

    public init(customer: String? = nil, paymentMethod: String? = nil, payoutAccount: String? = nil) {
        self.customer = customer
        self.paymentMethod = paymentMethod
        self.payoutAccount = payoutAccount
    }

    /// The problem with one of the ids, if any (they go into form bodies and URLs).
    public var problem: String? {
        for (name, value, prefixes) in [("customer", customer, ["cus_"]), ("payment_method", paymentMethod, ["pm_", "card_", "src_"]), ("payout_account", payoutAccount, ["acct_"])] {
            guard let value else { continue }
            guard prefixes.contains(where: value.hasPrefix), value.count <= 255,
                value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else { return "\(name) must look like \(prefixes[0])... (letters, digits and _), got \"\(value.prefix(40))\"" }
        }
        return nil
    }
}
