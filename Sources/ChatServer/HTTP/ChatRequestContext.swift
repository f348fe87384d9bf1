import Foundation
import Hummingbird
import NIOCore
import HummingbirdWebSocket

/// The request context of every route: the caller's identity once authenticated.
public struct ChatRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<ChatRequestContext>
    public var identity: Identity?
    /// The connection's channel, so a WebSocket whose client stopped reading can be cut.
    let channel: any Channel
    /// Why a WebSocket handshake is refused; the connection is upgraded only to say so and close.
    var refusal: APIError?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
        webSocket = .init()
        identity = nil
        refusal = nil
    }

    public var maxUploadSize: Int { 1 << 20 }

    /// JSON the same way as on the WebSocket (no escaped slashes: `/fund M1`).
    public var responseEncoder: JSONEncoder { Wire.encoder }
}
