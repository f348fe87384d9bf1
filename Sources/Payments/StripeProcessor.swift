import Foundation
import MilestoneCore

/// Stripe settings: the secret key (from `payments.stripe.secret_key` or `STRIPE_SECRET_KEY`), where the
/// API is (Stripe itself, or a local emulator such as localstripe for tests), and how money is held.
public struct StripeSettings: Hashable, Sendable {
    public var secretKey: String
    public var apiBase: URL
    public var mode: HoldMode
    /// How long a card authorization lasts (Stripe: 7 days for most cards).
    public var authorizationLifetime: TimeInterval
    public var timeout: TimeInterval

    public init(secretKey: String, apiBase: URL = URL(string: "https://api.stripe.com")!, mode: HoldMode = .authorizeAndCapture,
        authorizationLifetime: TimeInterval = 7 * 86_400, timeout: TimeInterval = 20) {
        self.secretKey = secretKey
        self.apiBase = apiBase
        self.mode = mode
        self.authorizationLifetime = authorizationLifetime
        self.timeout = timeout
    }
}

/// Moves money with Stripe PaymentIntents, Refunds and Transfers. Every request that moves money carries an
/// `Idempotency-Key` derived from the call's key; on a retry it first looks whether the call already
/// happened (a captured or cancelled intent, a refund or transfer tagged with the key), so money moves once
/// even against a server that ignores idempotency keys.
public struct StripeProcessor: PaymentProcessor {
    public let name = "stripe"
    let settings: StripeSettings
    let client: StripeClient
    let now: @Sendable () -> Date

    public init(settings: StripeSettings, now: @escaping @Sendable () -> Date = Date.init) {
        self.settings = settings
        self.client = StripeClient(secretKey: settings.secretKey, base: settings.apiBase, timeout: settings.timeout)
        self.now = now
    }

    public func perform(_ keyed: KeyedCall, retrying: Bool, checkpoint: String?, record: @escaping @Sendable (String) async throws -> Void) async throws(PaymentFailure) -> PaymentResult {
        let key = keyed.key
        switch keyed.call {
        case .hold(let milestone, let amount, let currency, let parties, let transferGroup, let manualCapture):
            var intent: StripeObject
            if let existing = checkpoint {
                intent = try await client.get("/v1/payment_intents/\(existing)")
            } else {
                var form: [(String, String)] = [
                    ("amount", String(amount)), ("currency", currency), ("capture_method", manualCapture ? "manual" : "automatic"),
                    ("metadata[operation]", key), ("metadata[milestone]", milestone.description),
                ]
                if let method = parties.paymentMethod { form.append(("payment_method", method)) }
                if let customer = parties.customer { form.append(("customer", customer)) }
                // Transfers find their charges by group; only the charge-and-transfer mode makes transfers from
                // a charge's own balance.
                if !manualCapture, let transferGroup { form.append(("transfer_group", transferGroup)) }
                intent = try await client.post("/v1/payment_intents", form, idempotencyKey: key + "/create")
                guard let id = intent.id else { throw .unavailable("Stripe created a PaymentIntent without an id") }
                do { try await record(id) } catch { throw .unavailable("could not record PaymentIntent \(id) before confirming it: \(error)") }
            }
            guard let id = intent.id else { throw .unavailable("Stripe sent a PaymentIntent without an id") }
            if intent.status == "requires_confirmation" {
                intent = try await client.post("/v1/payment_intents/\(id)/confirm", [], idempotencyKey: key + "/confirm")
            }
            switch intent.status {
            case "requires_capture", "succeeded", "processing":
                let created = intent.created.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? now()
                return PaymentResult(keyed, reference: id, hold: ProcessorHold(
                    milestone: milestone, kind: manualCapture ? .authorization : .charge, paymentIntent: id, amount: amount,
                    createdAt: created, expiresAt: manualCapture ? created.addingTimeInterval(settings.authorizationLifetime) : nil))
            case "requires_action":
                throw .declined("the card needs the buyer to authenticate (3-D Secure), which this chat cannot ask for")
            default:
                throw .declined(intent.lastPaymentError?.message ?? "the payment was not accepted (\(intent.status ?? "no status"))")
            }

        case .capture(_, let intent, let amount):
            if retrying, try await client.get("/v1/payment_intents/\(intent)").status == "succeeded" {
                return PaymentResult(keyed, reference: intent)
            }
            let captured = try await client.post("/v1/payment_intents/\(intent)/capture", [("amount_to_capture", String(amount))], idempotencyKey: key)
            guard captured.status == "succeeded" || captured.status == "processing" else {
                throw .declined("Stripe did not capture \(intent) (\(captured.status ?? "no status"))")
            }
            return PaymentResult(keyed, reference: intent)

        case .cancel(_, let intent):
            if retrying, try await client.get("/v1/payment_intents/\(intent)").status == "canceled" {
                return PaymentResult(keyed, reference: intent)
            }
            _ = try await client.post("/v1/payment_intents/\(intent)/cancel", [], idempotencyKey: key)
            return PaymentResult(keyed, reference: intent)

        case .refund(_, let intent, let amount):
            if retrying, let done = try await tagged("/v1/refunds", [("payment_intent", intent), ("limit", "100")], key: key) {
                return PaymentResult(keyed, reference: done)
            }
            let refund = try await client.post("/v1/refunds", [("payment_intent", intent), ("amount", String(amount)), ("metadata[operation]", key)], idempotencyKey: key)
            return PaymentResult(keyed, reference: refund.id ?? intent)

        case .transfer(_, let amount, let currency, let destination, let transferGroup, let intent):
            if retrying, let done = try await tagged("/v1/transfers", [("transfer_group", transferGroup), ("limit", "100")], key: key) {
                return PaymentResult(keyed, reference: done)
            }
            var form = [
                ("amount", String(amount)), ("currency", currency), ("destination", destination),
                ("transfer_group", transferGroup), ("metadata[operation]", key),
            ]
            if let intent {
                form.append(("metadata[payment_intent]", intent))
                // Paid from that charge's own funds (`source_transaction`): a transfer need not wait for the
                // platform's balance to clear, which a bonus, charged a moment before, would.
                if let charge = try await client.get("/v1/payment_intents/\(intent)").latestCharge?.id { form.append(("source_transaction", charge)) }
            }
            let transfer = try await client.post("/v1/transfers", form, idempotencyKey: key)
            guard let id = transfer.id else { throw .unavailable("Stripe created a Transfer without an id") }
            return PaymentResult(keyed, reference: id)
        }
    }

    /// The id of the object in a list that an earlier attempt of `key` created.
    private func tagged(_ path: String, _ query: [(String, String)], key: String) async throws(PaymentFailure) -> String? {
        try await client.get(path, query: query).data?.first { $0.metadata?["operation"] == key }?.id
    }
}
