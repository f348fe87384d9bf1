import Foundation
import JWTKit
import MilestoneCore

/// The claims of a user token the platform signs (HS256): who the user is and whether they are a moderator.
/// A party's role in a thread comes from the contract, not from the token.
public struct UserToken: JWTPayload, Equatable {
    public var sub: SubjectClaim
    /// `moderator` for the platform's dispute team; `buyer`, `freelancer` or `user` otherwise.
    public var role: String
    public var aud: AudienceClaim
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim?
    /// Not valid before this moment, when present.
    public var nbf: NotBeforeClaim?

    public init(user: UserID, role: String, audience: String, issuedAt: Date, expiresAt: Date) {
        sub = SubjectClaim(value: user.rawValue)
        self.role = role
        aud = AudienceClaim(value: audience)
        exp = ExpirationClaim(value: expiresAt)
        iat = IssuedAtClaim(value: issuedAt)
    }

    public var user: UserID { UserID(sub.value) }
    public var isModerator: Bool { role == "moderator" }

    /// Signature checks happen before this; the `TokenVerifier` checks the claims with its own clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Who is on the other end of a connection or request, once their token checked out.
public struct Identity: Sendable, Hashable {
    public var user: UserID
    public var isModerator: Bool
    /// The token's `exp`: a ticket bought with it and a WebSocket opened with it end then, unless the
    /// client presents a fresh token (an `auth` envelope).
    public var expiresAt: Date
    /// The platform's backend, by its API key: it reads every contract as a moderator does, and writes nothing.
    public var isPlatform = false

    public init(user: UserID, isModerator: Bool, expiresAt: Date) {
        self.user = user
        self.isModerator = isModerator
        self.expiresAt = expiresAt
    }

    /// The platform's backend (`X-Api-Key`).
    static var platform: Identity {
        var identity = Identity(user: "platform", isModerator: true, expiresAt: .distantFuture)
        identity.isPlatform = true
        return identity
    }

    /// The same person in the same capacity (a refreshed token must be).
    func isSamePrincipal(as other: Identity) -> Bool { user == other.user && isModerator == other.isModerator }
}

/// Why a token was refused. The token itself is never part of the message.
public struct AuthFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
