/// A command whose money movement could not be completed now (the processor did not answer); it is stored
/// and completed by the payment service when the processor answers. Resending the same id is safe.
struct PaymentPending: Error, CustomStringConvertible {
    var reason: String

    var description: String {
        "the payment processor did not complete the payment yet (\(reason)); it will be completed automatically, nothing will be charged twice"
    }
}
