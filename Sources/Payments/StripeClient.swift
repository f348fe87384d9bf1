import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Stripe REST API (v1): form-encoded requests over URLSession, JSON answers. The secret key goes in
/// the `Authorization` header only; it is never logged or put in an error.
struct StripeClient: Sendable {
    let secretKey: String
    let base: URL
    let session: URLSession

    init(secretKey: String, base: URL, timeout: TimeInterval) {
        self.secretKey = secretKey
        self.base = base
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        self.session = URLSession(configuration: configuration)
    }

    /// `POST path` with a form body. `idempotencyKey` (any text) is hashed into the `Idempotency-Key`
    /// header, so the same logical request always carries the same key.
    func post(_ path: String, _ form: [(String, String)], idempotencyKey: String) async throws(PaymentFailure) -> StripeObject {
        try await send("POST", path, body: Self.formEncoded(form), idempotencyKey: idempotencyKey)
    }

    func get(_ path: String, query: [(String, String)] = []) async throws(PaymentFailure) -> StripeObject {
        let suffix = query.isEmpty ? "" : "?" + Self.formEncoded(query)
        return try await send("GET", path + suffix, body: nil, idempotencyKey: nil)
    }

    private func send(_ method: String, _ path: String, body: String?, idempotencyKey: String?) async throws(PaymentFailure) -> StripeObject {
        guard let url = URL(string: base.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path) else {
            throw .declined("the payment processor URL for \(path) is invalid")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(secretKey)", forHTTPHeaderField: "Authorization")
        request.setValue("2024-06-20", forHTTPHeaderField: "Stripe-Version")
        if let body {
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(body.utf8)
        }
        if let idempotencyKey { request.setValue(Self.idempotencyHeader(idempotencyKey), forHTTPHeaderField: "Idempotency-Key") }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw .unavailable("the payment processor could not be reached (\(error.localizedDescription))")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let object = try? JSONDecoder().decode(StripeObject.self, from: data)
        switch status {
        case 200..<300:
            guard let object else { throw .unavailable("the payment processor sent an answer that is not JSON") }
            return object
        case 402:
            throw .declined(object?.error?.message ?? "the card was declined")
        case 400, 404, 409:
            throw .declined("the payment processor refused the request: \(object?.error?.message ?? "HTTP \(status)")")
        case 401, 403:
            throw .unavailable("the payment processor refused our credentials (HTTP \(status)); check payments.stripe.secret_key")
        default:
            throw .unavailable("the payment processor answered HTTP \(status)\(object?.error?.message.map { ": \($0)" } ?? "")")
        }
    }

    /// `milestone-bot-<40 hex>`: Stripe allows 255 characters; the key itself holds user-chosen ids.
    static func idempotencyHeader(_ key: String) -> String {
        "milestone-bot-" + SHA256.hash(data: Data(key.utf8)).prefix(20).map { String(format: "%02x", $0) }.joined()
    }

    static func formEncoded(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { name, value in
            (name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name) + "="
                + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }.joined(separator: "&")
    }
}

/// The fields of Stripe objects this client reads.
struct StripeObject: Decodable, Sendable {
    var id: String?
    var object: String?
    var status: String?
    var created: Int?
    var amount: Int64?
    var metadata: [String: String]?
    var data: [StripeObject]?
    var lastPaymentError: StripeError?
    var error: StripeError?
    /// A PaymentIntent's charge (`ch_...`), once it has one: an id, or the charge itself when expanded.
    var latestCharge: Reference?

    /// A field Stripe sends as an id or as the object itself.
    struct Reference: Decodable, Sendable {
        var id: String?

        init(from decoder: any Decoder) throws {
            if let id = try? decoder.singleValueContainer().decode(String.self) {
                self.id = id
            } else {
                self.id = try? decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .id)
            }
        }

        enum CodingKeys: String, CodingKey { case id }
    }

    enum CodingKeys: String, CodingKey {
        case id, object, status, created, amount, metadata, data, error
        case lastPaymentError = "last_payment_error"
        case latestCharge = "latest_charge"
    }

    struct StripeError: Decodable, Sendable {
        var message: String?
        var code: String?
    }
}
