import Foundation
import Hummingbird
import Payments

/// `POST /webhooks/stripe`: events Stripe sends. The `Stripe-Signature` header is checked (HMAC-SHA256 of
/// `t.body` with the endpoint's secret, any of several `v1=`, at most 300 s old or ahead) before the body
/// is read as an event; each event id is applied once.
enum StripeWebhookAPI {
    static let maximumBodyBytes = 1 << 20

    static func addRoutes(to router: Router<ChatRequestContext>, server: ServerContext, desk: PaymentDesk, secret: String) {
        router.post("/webhooks/stripe") { request, _ -> Response in
            guard let header = request.headers[.init("Stripe-Signature")!] else {
                throw APIError(.badRequest, "bad_signature", "the Stripe-Signature header is missing")
            }
            let buffer = try await request.body.collect(upTo: maximumBodyBytes)
            let body = Data(buffer: buffer)
            do {
                try WebhookSignature.verify(header: header, body: body, secret: secret, now: server.clock())
            } catch let error as WebhookSignature.Failure {
                server.metrics.protocolError("stripe_webhook_\(error)")
                switch error {
                case .malformedHeader: throw APIError(.badRequest, "bad_signature", "Stripe-Signature must hold t= and at least one v1=")
                case .stale: throw APIError(.badRequest, "stale_signature", "the signature's timestamp is more than 300 seconds away from now")
                case .badSignature: throw APIError(.badRequest, "bad_signature", "no v1 signature matches this body")
                }
            }
            let event: StripeEvent
            do { event = try JSONDecoder().decode(StripeEvent.self, from: body) } catch {
                throw APIError(.badRequest, "bad_event", "the body is not a Stripe event (id, type, data.object)")
            }
            if let change = try await desk.apply(event) {
                server.hub.contractChanged(change.contract, testMoney: server.testMoney, now: server.clock())
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"received":true}"#)))
        }
    }
}
