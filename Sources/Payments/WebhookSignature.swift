import Crypto
import Foundation

/// Signatures of webhook bodies in the `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` form Stripe uses,
/// for the notifications we send and the Stripe webhooks we receive.
public enum WebhookSignature {
    public static func sign(body: Data, secret: String, at time: Date) -> String {
        let timestamp = Int(time.timeIntervalSince1970)
        return "t=\(timestamp),v1=\(mac(body: body, secret: secret, timestamp: timestamp))"
    }

    static func mac(body: Data, secret: String, timestamp: Int) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    public enum Failure: Error, Equatable {
        case malformedHeader
        case stale
        case badSignature
    }

    /// Checks a signature header: one `t=` and one or more `v1=`, a constant-time comparison, and a
    /// timestamp at most `tolerance` seconds away from `now` either way.
    public static func verify(header: String, body: Data, secret: String, now: Date, tolerance: TimeInterval = 300) throws(Failure) {
        var timestamp: Int?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "t": timestamp = Int(pair[1])
            case "v1": signatures.append(pair[1])
            default: continue
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedHeader }
        guard abs(now.timeIntervalSince1970 - TimeInterval(timestamp)) <= tolerance else { throw .stale }
        let expected = Array(mac(body: body, secret: secret, timestamp: timestamp).utf8)
        let matches = signatures.contains { candidate in
            let bytes = Array(candidate.utf8)
            guard bytes.count == expected.count else { return false }
            var difference: UInt8 = 0
            for index in bytes.indices { difference |= bytes[index] ^ expected[index] }
            return difference == 0
        }
        guard matches else { throw .badSignature }
    }
}

/// Signatures to the Standard Webhooks specification (standardwebhooks.com): `webhook-signature` is
/// `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`. The key is the secret's UTF-8
/// bytes, or, for a secret written `whsec_<base64>`, those decoded bytes (as the specification's libraries
/// read it).
public enum StandardWebhook {
    public static func signature(id: String, timestamp: Int, body: Data, secret: String) -> String {
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: key(secret)))
        return "v1," + Data(code).base64EncodedString()
    }

    static func key(_ secret: String) -> Data {
        if secret.hasPrefix("whsec_"), let decoded = Data(base64Encoded: String(secret.dropFirst(6))) { return decoded }
        return Data(secret.utf8)
    }
}
