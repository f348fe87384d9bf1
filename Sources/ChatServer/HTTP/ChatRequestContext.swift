import Foundation
import Hummingbird
import NIOCore

/// The request context of every route: the caller's identity once authenticated.
public struct ChatRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
    }

    public var maxUploadSize: Int { 1 << 20 }

    /// JSON the same way as on the WebSocket (no escaped slashes: `/fund M1`).
    public var responseEncoder: JSONEncoder { Wire.encoder }
}
