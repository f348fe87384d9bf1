import HTTPTypes
import Hummingbird

/// Every HTTP route the server answers, by path pattern and methods: a request to a known path with another
/// method gets `405` with `Allow`, and one to an unknown `/api/...` path a JSON `404`, instead of an empty
/// answer. `RouteTableTests` checks that each entry is really routed.
enum RouteTable {
    static let routes: [(pattern: String, methods: [HTTPRequest.Method])] = [
        ("/health", [.get]), ("/metrics", [.get]), ("/ws", [.get]),
        ("/webhooks/stripe", [.post]),
        ("/api/contracts", [.post]),
        ("/api/contracts/:id", [.get]),
        ("/api/contracts/:id/payment", [.put]),
        ("/api/contracts/:id/messages", [.get]),
        ("/api/contracts/:id/transcript", [.get]),
        ("/api/contracts/:id/reviews", [.get]),
        ("/api/contracts/:id/verify", [.get]),
        ("/api/contracts/:id/resolve", [.post]),
        ("/api/contracts/:id/preview", [.post]),
        ("/api/contracts/:id/cases/:about", [.get]),
        ("/api/contracts/:id/bundle", [.get]),
        ("/api/contracts/:id/files", [.get, .post]),
        ("/api/contracts/:id/files/:file", [.get]),
        ("/api/threads", [.get]),
        ("/api/disputes", [.get]),
        ("/api/verify", [.get]),
        ("/api/ws-ticket", [.post]),
        ("/api/signing-key", [.get]), ("/api/openapi.yaml", [.get]),
    ]

    /// The methods `path` is routed for; nil for a path no route has.
    static func methods(for path: String) -> [HTTPRequest.Method]? {
        // Empty segments are dropped, as the router drops them (`/api/threads/` is `/api/threads`).
        let parts = path.split(separator: "/")
        return routes.first { route in
            let pattern = route.pattern.split(separator: "/")
            return pattern.count == parts.count && zip(pattern, parts).allSatisfy { $0.hasPrefix(":") ? !$1.isEmpty : $0 == $1 }
        }?.methods
    }
}

/// Answers a wrong method with `405` and `Allow`, and an unknown `/api` path with a JSON `404`.
struct RouteTableMiddleware: RouterMiddleware {
    typealias Context = ChatRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if let methods = RouteTable.methods(for: path) {
            let method = request.method == .head ? .get : request.method
            guard methods.contains(method) || request.method == .options else {
                let allow = (methods.contains(.get) ? methods + [.head] : methods).map(\.rawValue).joined(separator: ", ")
                var error = APIError(.methodNotAllowed, "method_not_allowed", "\(path) answers \(allow), not \(request.method.rawValue)")
                error.headers[.allow] = allow
                throw error
            }
        } else if path.split(separator: "/").first == "api" {
            throw APIError(.notFound, "not_found", "there is no \(path) (docs/PROTOCOL.md lists the HTTP API)")
        }
        return try await next(request, context)
    }
}
