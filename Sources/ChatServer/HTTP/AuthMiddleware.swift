import Foundation
import HTTPTypes
import Hummingbird

/// Authenticates API requests: `Authorization: Bearer <token>`, never logged. Tickets are for opening
/// WebSockets only (``ChatChannel``): accepted here, a ticket could buy the next ticket for ever, long after
/// its token expired.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ChatRequestContext
    let server: ServerContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if request.headers[.authorization] == nil, request.uri.queryParameters["ticket"] != nil {
            throw APIError(.unauthorized, "unauthenticated", "tickets open WebSockets (/ws?ticket=) only; send Authorization: Bearer <token>")
        }
        if request.headers[.authorization] == nil, let key = request.headers[.init("X-Api-Key")!] {
            // The platform's backend reads (state, messages, transcripts, disputes) with its key; it writes
            // through its own routes (POST /api/contracts ...), never as a person.
            guard !server.settings.apiKey.isEmpty, constantTimeEquals(key, server.settings.apiKey) else {
                throw APIError(.unauthorized, "bad_api_key", "the X-Api-Key is not the platform's key")
            }
            guard request.method == .get || request.method == .head else {
                throw APIError(.forbidden, "read_only_key", "the platform's API key reads (GET); rulings, uploads and tickets take a person's bearer token")
            }
            context.identity = .platform
            return try await next(request, context)
        }
        context.identity = try await Authenticator(server: server).identity(authorization: request.headers[.authorization], ticket: nil)
        return try await next(request, context)
    }
}

/// Who is calling, from a bearer token or a one-time ticket; and, for WebSockets, whether the browser
/// origin may connect.
struct Authenticator {
    let server: ServerContext

    func identity(authorization: String?, ticket: String?, ticketAllowed: Bool = false) async throws(APIError) -> Identity {
        if let header = authorization {
            guard header.hasPrefix("Bearer ") else {
                throw APIError(.unauthorized, "unauthenticated", "use Authorization: Bearer <token>")
            }
            do {
                return try await server.verifier.verify(String(header.dropFirst(7)))
            } catch {
                throw APIError(.unauthorized, "bad_token", "\(error)")
            }
        }
        if let ticket {
            guard let identity = await server.tickets.redeem(ticket) else {
                throw APIError(.unauthorized, "bad_ticket", "the ticket is unknown, used or expired; get a new one from POST /api/ws-ticket")
            }
            return identity
        }
        throw APIError(.unauthorized, "unauthenticated", ticketAllowed
            ? "send Authorization: Bearer <token>, or ?ticket= from POST /api/ws-ticket" : "send Authorization: Bearer <token>")
    }

    /// A WebSocket from a browser page: the page's origin must be allowed. The server's own page may always
    /// connect: its bound base URL's origin, and a page served from the very address the socket is opened to
    /// (`localhost` as well as `127.0.0.1`, or a phone on the network reaching `--host 0.0.0.0`).
    func checkOrigin(_ origin: String?, host: String?) throws(APIError) {
        guard let origin, !server.settings.limits.allows(origin: origin), origin != server.ownOrigin,
              !Self.isSameOrigin(origin, host: host) else { return }
        throw APIError(.forbidden, "origin_not_allowed", "this origin may not open WebSockets here; the operator can add it to limits.allowed_origins")
    }

    /// Whether a page at `origin` is on the host (and port) the request was sent to: the page was served by
    /// this server at that address. Tokens travel in the request, not in cookies, so this is the same-origin
    /// rule a browser applies, not a trust in the Host header.
    static func isSameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, !host.isEmpty, let url = URL(string: origin), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let originHost = url.host?.lowercased() else { return false }
        let defaultPort = scheme == "https" ? 443 : 80
        let originAuthority = (originHost.contains(":") && !originHost.hasPrefix("[") ? "[\(originHost)]" : originHost) + ":\(url.port ?? defaultPort)"
        var requested = host.lowercased()
        // `Host` omits a default port; the origin's scheme says which.
        let hasPort = requested.hasPrefix("[") ? requested.contains("]:") : requested.contains(":")
        if !hasPort { requested += ":\(defaultPort)" }
        return originAuthority == requested
    }
}

/// An HTTP error with a JSON body: `{"error": {"code": "...", "message": "..."}}`.
struct APIError: HTTPResponseError, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    /// The request field the error is about (`milestones[0].amount`), if one is.
    let field: String?
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let text = Wire.text(APIErrorBody(error: .init(code: code, message: message, field: field)))
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The JSON body of every API error: `{"error": {"code", "message", "field"}}` (`field` is `null` when the
/// error is not about one field of the request).
struct APIErrorBody: Codable {
    struct Detail: Codable {
        let code: String
        let message: String
        let field: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(code, forKey: .code)
            try container.encode(message, forKey: .message)
            try container.encode(field, forKey: .field)
        }
    }
    let error: Detail
}
