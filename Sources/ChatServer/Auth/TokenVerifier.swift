import Foundation
import JWTKit
import MilestoneCore

/// Verifies and (for development) mints the platform's HS256 user tokens.
public struct TokenVerifier: Sendable {
    let keys: JWTKeyCollection
    let audience: String
    let maxLifetime: TimeInterval
    let now: @Sendable () -> Date

    public init(secret: String, audience: String, maxLifetime: TimeInterval, now: @escaping @Sendable () -> Date = Date.init) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.audience = audience
        self.maxLifetime = maxLifetime
        self.now = now
    }

    public func mint(user: UserID, role: String, lifetime: TimeInterval) async throws -> String {
        let issued = Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down))
        return try await keys.sign(UserToken(user: user, role: role, audience: audience, issuedAt: issued, expiresAt: issued.addingTimeInterval(lifetime)))
    }

    /// The identity in a token, or why it is refused: not HS256, bad signature, expired, not yet valid,
    /// wrong audience, too long-lived, or a `sub` that is no usable id.
    public func verify(_ token: String) async throws(AuthFailure) -> Identity {
        // jwt-kit picks the key by `kid` and ignores `alg` when there is one key: the header must say what
        // we verify, so a token claiming `none` or `RS256` is refused whatever its signature.
        guard Self.headerAlgorithm(token) == "HS256" else { throw AuthFailure(reason: "the token's header must say alg HS256") }
        let payload: UserToken
        do {
            payload = try await keys.verify(token, as: UserToken.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw AuthFailure(reason: "the token's signature is not valid")
        } catch {
            throw AuthFailure(reason: "the token is malformed")
        }
        let current = now()
        guard payload.exp.value > current else { throw AuthFailure(reason: "the token has expired") }
        // The same 60 s of clock skew `iat` is allowed.
        if let notBefore = payload.nbf?.value, notBefore > current.addingTimeInterval(60) { throw AuthFailure(reason: "the token is not valid yet (nbf)") }
        guard payload.aud.value.contains(audience) else { throw AuthFailure(reason: "the token is not meant for this server (aud)") }
        if let issued = payload.iat?.value {
            guard issued <= current.addingTimeInterval(60) else { throw AuthFailure(reason: "the token was issued in the future") }
            guard payload.exp.value.timeIntervalSince(issued) <= maxLifetime else {
                throw AuthFailure(reason: "the token lives longer than the \(Int(maxLifetime)) s allowed")
            }
        } else if payload.exp.value.timeIntervalSince(current) > maxLifetime {
            throw AuthFailure(reason: "the token lives longer than the \(Int(maxLifetime)) s allowed")
        }
        if let problem = IdentifierRules.problem(payload.sub.value, what: "the token's sub", maxBytes: Self.maxSubjectBytes) {
            throw AuthFailure(reason: problem)
        }
        guard ["buyer", "freelancer", "user", "moderator"].contains(payload.role) else {
            throw AuthFailure(reason: "the token's role must be buyer, freelancer, user or moderator")
        }
        return Identity(user: payload.user, isModerator: payload.isModerator, expiresAt: payload.exp.value)
    }

    /// The longest `sub`, in UTF-8 bytes.
    public static let maxSubjectBytes = 200

    /// The `alg` of a compact JWS's protected header, or nil when the header is not base64url JSON.
    static func headerAlgorithm(_ token: String) -> String? {
        guard let dot = token.utf8.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        var base64 = String(token[..<dot]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard base64.utf8.count <= 4096 else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let header = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return header["alg"] as? String
    }
}
