import Foundation
import HTTPTypes
import Hummingbird

/// Authenticates API requests and WebSocket handshakes: `Authorization: Bearer <token>`, or for browsers a
/// one-time `ticket` query parameter. Neither is ever logged. For WebSockets it also enforces the
/// allow-list of browser origins.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ChatRequestContext
    let server: ServerContext
    /// WebSocket handshakes: check the browser origin, and record a refusal instead of failing the request,
    /// because a failed upgrade can only be a bare 400. The socket then carries the reason and closes.
    let webSocket: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            // The server's own page (its bound base URL's origin) may always connect, whatever the port.
            if webSocket, let origin = request.headers[.origin], !server.settings.limits.allows(origin: origin), origin != server.ownOrigin {
                throw APIError(.forbidden, "origin_not_allowed", "this origin may not open WebSockets here; the operator can add it to limits.allowed_origins")
            }
            context.identity = try await authenticate(request)
        } catch let error as APIError where webSocket {
            context.refusal = error
        }
        return try await next(request, context)
    }

    private func authenticate(_ request: Request) async throws -> Identity {
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer ") else {
                throw APIError(.unauthorized, "unauthenticated", "use Authorization: Bearer <token>")
            }
            do {
                return try await server.verifier.verify(String(header.dropFirst(7)))
            } catch {
                throw APIError(.unauthorized, "bad_token", "\(error)")
            }
        }
        if let ticket = request.uri.queryParameters["ticket"] {
            guard let identity = await server.tickets.redeem(String(ticket)) else {
                throw APIError(.unauthorized, "bad_ticket", "the ticket is unknown, used or expired; get a new one from POST /api/ws-ticket")
            }
            return identity
        }
        throw APIError(.unauthorized, "unauthenticated", "send Authorization: Bearer <token>, or ?ticket= from POST /api/ws-ticket")
    }
}

/// An HTTP error with a JSON body: `{"error": {"code": "...", "message": "..."}}`.
struct APIError: HTTPResponseError, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let text = Wire.text(APIErrorBody(error: .init(code: code, message: message)))
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The JSON body of every API error.
struct APIErrorBody: Codable {
    struct Detail: Codable {
        let code: String
        let message: String
    }
    let error: Detail
}
