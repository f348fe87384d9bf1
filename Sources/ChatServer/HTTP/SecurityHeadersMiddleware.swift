import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Headers every HTTP answer carries, so that a browser treats what we serve as exactly what it is:
/// - everywhere: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and no framing
///   (`frame-ancestors 'none'`);
/// - the chat page and its files: a policy that runs only the page's own script and style;
/// - `/api/...`: `Cache-Control: no-store` (answers hold private messages and are bought with a token);
/// - a transcript export: `sandbox` (an opaque origin with no script, whatever the document holds);
/// - an uploaded file: `sandbox` and nothing else allowed, so an HTML or SVG file never runs in our origin.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = ChatRequestContext

    /// The page's policy. A transcript the page opens as a `blob:` document inherits it, so it also allows the
    /// transcript's one style block, by its hash (and nothing else inline).
    static let pagePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' \(transcriptStyleSource); img-src 'self' data: blob:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    static let transcriptStyleSource = "'sha256-\(Data(SHA256.hash(data: Data(TranscriptRenderer.style.utf8))).base64EncodedString())'"
    static let apiPolicy = "default-src 'none'; frame-ancestors 'none'"
    static let filePolicy = "sandbox; default-src 'none'; frame-ancestors 'none'"
    static let transcriptPolicy = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        let path = request.uri.path
        let isAPI = path.hasPrefix("/api/") || path == "/api"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        if isAPI || path.hasPrefix("/webhooks/") || path == "/health" || path == "/metrics" {
            response.headers[.cacheControl] = "no-store"
            let isTranscript = path.hasSuffix("/transcript")
            let isFile = path.contains("/files/")
            response.headers[.contentSecurityPolicy] = isFile ? Self.filePolicy : (isTranscript ? Self.transcriptPolicy : Self.apiPolicy)
        } else if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = Self.pagePolicy
        }
        return response
    }
}
