import Foundation
import Hummingbird
import Synchronization

/// localstripe does not implement Transfers (nor `transfer_group` on PaymentIntents), so the
/// charge-and-transfer mode is checked at the HTTP request level: a recorder on loopback plays the few
/// Stripe endpoints involved and keeps every request, and the tests read what the client sent.
final class StripeRequestRecorder: Sendable {
    struct Recorded: Sendable {
        var method: String
        var path: String
        var form: [String: String]
        var idempotencyKey: String?
        var authorization: String?
    }

    let requests = Mutex<[Recorded]>([])
    /// While true, every request gets 503 (an outage); it is still recorded.
    let down = Mutex(false)

    var posts: [Recorded] { requests.withLock { $0.filter { $0.method == "POST" } } }

    static func form(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        return form
    }

    func run<T: Sendable>(_ body: @Sendable (URL) async throws -> T) async throws -> T {
        let router = Router()
        router.post("**") { request, _ -> Response in try await self.answer(request) }
        router.get("**") { request, _ -> Response in try await self.answer(request) }
        return try await LoopbackHTTP.serve(router, label: "stripe-recorder", body)
    }

    private func answer(_ request: Request) async throws -> Response {
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
        let path = request.uri.path
        let recorded = Recorded(
            method: request.method.rawValue, path: path, form: Self.form(request.method == .get ? (request.uri.query ?? "") : body),
            idempotencyKey: request.headers[.init("Idempotency-Key")!], authorization: request.headers[.authorization])
        let earlier = requests.withLock { requests in
            defer { requests.append(recorded) }
            return requests
        }
        if down.withLock({ $0 }) {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"down for maintenance"}}"#)))
        }
        let manual = earlier.last { $0.path == "/v1/payment_intents" }?.form["capture_method"] == "manual"
        let json: String
        switch (request.method, path) {
        case (.post, "/v1/payment_intents"):
            json = #"{"id":"pi_rec_1","object":"payment_intent","status":"requires_confirmation","created":1800000000}"#
        case (.post, "/v1/payment_intents/pi_rec_1/confirm"):
            json = #"{"id":"pi_rec_1","object":"payment_intent","status":"\#(manual ? "requires_capture" : "succeeded")","created":1800000000}"#
        case (.get, "/v1/payment_intents/pi_rec_1"):
            json = #"{"id":"pi_rec_1","object":"payment_intent","status":"succeeded","created":1800000000,"latest_charge":"ch_rec_1"}"#
        case (.post, "/v1/transfers"):
            json = #"{"id":"tr_rec_\#(earlier.count)","object":"transfer","amount":\#(recorded.form["amount"] ?? "0")}"#
        case (.post, "/v1/refunds"):
            json = #"{"id":"re_rec_\#(earlier.count)","object":"refund","status":"succeeded"}"#
        case (.get, "/v1/transfers"):
            let made = earlier.filter { $0.method == "POST" && $0.path == "/v1/transfers" && $0.form["transfer_group"] == recorded.form["transfer_group"] }
            let items = made.enumerated().map { #"{"id":"tr_listed_\#($0.offset)","object":"transfer","metadata":{"operation":"\#($0.element.form["metadata[operation]"] ?? "")"}}"# }
            json = #"{"object":"list","data":[\#(items.joined(separator: ","))]}"#
        default:
            return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"not recorded: \#(path)"}}"#)))
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}
