import Foundation

/// A webhook event Stripe sends: `payment_intent.payment_failed`, `payment_intent.canceled`, ...
public struct StripeEvent: Decodable, Sendable {
    public var id: String
    public var type: String
    public var created: Int?
    public var data: Payload

    public struct Payload: Decodable, Sendable {
        public var object: Object
    }

    public struct Object: Decodable, Sendable {
        public var id: String?
        public var object: String?
        public var status: String?
        public var metadata: [String: String]?
        public var lastPaymentError: PaymentError?
        /// For charges and refunds: the PaymentIntent they belong to.
        public var paymentIntent: String?

        enum CodingKeys: String, CodingKey {
            case id, object, status, metadata
            case lastPaymentError = "last_payment_error"
            case paymentIntent = "payment_intent"
        }
    }

    public struct PaymentError: Decodable, Sendable {
        public var message: String?
    }

    /// The PaymentIntent the event is about, if any.
    public var paymentIntent: String? {
        data.object.object == "payment_intent" ? data.object.id : data.object.paymentIntent
    }
}
