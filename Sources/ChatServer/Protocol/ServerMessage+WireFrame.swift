/// The hot server frames written without JSONEncoder: one `ack` per chat line, one `message` or `notice`
/// per stored message, and `error`. Colder frames (hello, joined, history, state) stay on JSONEncoder.
extension Wire {
    static func text(_ message: ServerMessage) -> String {
        switch message {
        case .ack(let ack): ack.jsonText
        case .message(let stored): StoredMessageFrame(type: "message", message: stored).jsonText
        case .notice(let stored): StoredMessageFrame(type: "notice", message: stored).jsonText
        case .error(let error): error.jsonText
        case .hello, .history, .joined, .state: text(encoding: message)
        }
    }

    /// Through JSONEncoder: the generic `text(_:)`, which the overload above would otherwise shadow.
    private static func text(encoding value: some Encodable) -> String {
        text(value)
    }
}

extension ServerMessage.Ack: WireFrame {
    func write<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#"{"type":"ack","thread":"#); sink.string(thread)
        sink.raw(#","id":"#); sink.string(id)
        sink.raw(#","seq":"#); sink.integer(seq)
        sink.raw(#","duplicate":"#); sink.bool(duplicate)
        sink.raw(#","outcome":"#); sink.string(outcome)
        sink.raw("}")
    }
}

extension ServerMessage.WireError: WireFrame {
    func write<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#"{"type":"error","code":"#); sink.string(code)
        sink.raw(#","message":"#); sink.string(message)
        sink.raw(#","thread":"#); sink.string(thread)
        sink.raw(#","id":"#); sink.string(id)
        sink.raw("}")
    }
}

/// A stored message as a `message` or `notice` frame; every field is written, `null` included.
struct StoredMessageFrame: WireFrame {
    /// `message` or `notice`.
    var type: StaticString
    var message: WireMessage

    func write<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#"{"type":""#); sink.raw(type)
        sink.raw(#"","thread":"#); sink.string(message.thread)
        sink.raw(#","seq":"#); sink.integer(message.seq)
        sink.raw(#","author":"#); sink.string(message.author)
        sink.raw(#","role":"#); sink.string(message.role)
        sink.raw(#","kind":"#); sink.string(message.kind)
        sink.raw(#","text":"#); sink.string(message.text)
        sink.raw(#","private":"#); sink.bool(message.private)
        sink.raw(#","client_id":"#); sink.string(message.clientID)
        sink.raw(#","visible_to":"#); sink.string(message.visibleTo)
        sink.raw(#","event":"#); sink.string(message.event)
        sink.raw(#","milestone":"#); sink.string(message.milestone)
        sink.raw(#","at":"#); sink.string(message.at)
        sink.raw(#","hash":"#); sink.string(message.hash)
        sink.raw("}")
    }
}
