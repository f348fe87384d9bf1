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

    /// The identity in a token, or why it is refused: bad signature, expired, wrong audience, too long-lived.
    public func verify(_ token: String) async throws(AuthFailure) -> Identity {
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
        guard payload.aud.value.contains(audience) else { throw AuthFailure(reason: "the token is not meant for this server (aud)") }
        if let issued = payload.iat?.value {
            guard issued <= current.addingTimeInterval(60) else { throw AuthFailure(reason: "the token was issued in the future") }
            guard payload.exp.value.timeIntervalSince(issued) <= maxLifetime else {
                throw AuthFailure(reason: "the token lives longer than the \(Int(maxLifetime)) s allowed")
            }
        } else if payload.exp.value.timeIntervalSince(current) > maxLifetime {
            throw AuthFailure(reason: "the token lives longer than the \(Int(maxLifetime)) s allowed")
        }
        guard !payload.sub.value.isEmpty, payload.sub.value.count <= 200 else { throw AuthFailure(reason: "the token names no user") }
        guard ["buyer", "freelancer", "user", "moderator"].contains(payload.role) else {
            throw AuthFailure(reason: "the token's role must be buyer, freelancer, user or moderator")
        }
        return Identity(user: payload.user, isModerator: payload.isModerator)
    }
}
