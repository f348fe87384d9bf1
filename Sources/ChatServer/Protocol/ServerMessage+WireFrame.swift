/// The hot server frames written without JSONEncoder: one `ack` per chat line, one `message` or `notice`
/// per stored message, `error`, one `state` per party and moderator after every money command, the
/// `joined` and `history` frames of every join, and `hello`. A `hello` with a non-finite rate goes through
/// JSONEncoder, which refuses it (the internal error frame), as before.
extension Wire {
    static func text(_ message: ServerMessage) -> String {
        switch message {
        case .ack(let ack): ack.jsonText
        case .message(let stored): StoredMessageFrame(type: "message", message: stored).jsonText
        case .notice(let stored): StoredMessageFrame(type: "notice", message: stored).jsonText
        case .error(let error): error.jsonText
        case .state(let view): view.jsonText
        case .joined(let joined): joined.jsonText
        case .history(let history): history.jsonText
        case .hello(let hello) where hello.messagesPerSecond.isFinite && hello.messageBurst.isFinite: hello.jsonText
        case .hello, .authenticated, .typing, .read: text(encoding: message)
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
        sink.raw(#"","#); message.writeMembers(to: &sink)
        sink.raw("}")
    }
}

extension WireMessage {
    /// The members from `"thread"` to `"hash"`, without braces: for `message`/`notice` frames and `history` lists.
    func writeMembers<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#""thread":"#); sink.string(thread)
        sink.raw(#","seq":"#); sink.integer(seq)
        sink.raw(#","author":"#); sink.string(author)
        sink.raw(#","role":"#); sink.string(role)
        sink.raw(#","kind":"#); sink.string(kind)
        sink.raw(#","text":"#); sink.string(text)
        sink.raw(#","private":"#); sink.bool(self.private)
        sink.raw(#","client_id":"#); sink.string(clientID)
        sink.raw(#","visible_to":"#); sink.string(visibleTo)
        sink.raw(#","event":"#); sink.string(event)
        sink.raw(#","milestone":"#); sink.string(milestone)
        sink.raw(#","at":"#); sink.string(at)
        sink.raw(#","hash":"#); sink.string(hash)
        sink.raw(#","files":["#)
        for (index, file) in files.enumerated() {
            if index > 0 { sink.raw(",") }
            sink.string(file)
        }
        sink.raw("]")
    }
}

extension ServerMessage.Hello: WireFrame {
    func write<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#"{"type":"hello","user":"#); sink.string(user)
        sink.raw(#","moderator":"#); sink.bool(moderator)
        sink.raw(#","max_frame_bytes":"#); sink.integer(Int64(maxFrameBytes))
        sink.raw(#","max_text_length":"#); sink.integer(Int64(maxTextLength))
        sink.raw(#","messages_per_second":"#); sink.number(messagesPerSecond)
        sink.raw(#","message_burst":"#); sink.number(messageBurst)
        sink.raw(#","flood_strikes_before_close":"#); sink.integer(Int64(floodStrikesBeforeClose))
        sink.raw(#","test_money":"#); sink.bool(testMoney)
        sink.raw(#","token_expires_at":"#); sink.string(tokenExpiresAt)
        sink.raw("}")
    }
}

extension ServerMessage.Joined: WireFrame {
    func write<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#"{"type":"joined","thread":"#); sink.string(thread)
        sink.raw(#","last_seq":"#); sink.integer(lastSeq)
        sink.raw(#","role":"#); sink.string(role)
        sink.raw("}")
    }
}

extension ServerMessage.History: WireFrame {
    func write<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#"{"type":"history","thread":"#); sink.string(thread)
        sink.raw(#","messages":["#)
        for (index, message) in messages.enumerated() {
            sink.raw(index == 0 ? "{" : ",{")
            message.writeMembers(to: &sink)
            sink.raw("}")
        }
        sink.raw(#"],"has_more":"#); sink.bool(hasMore)
        sink.raw("}")
    }
}

/// The `state` frame. Every member is written, `null` included, as `ContractView.encode(to:)` and
/// `MilestoneView.encode(to:)` do; `CommandSuggestion` (synthesized Codable) has no optional member.
extension ContractView: WireFrame {
    func write<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#"{"type":"state","thread":"#); sink.string(thread)
        sink.raw(#","title":"#); sink.string(title)
        sink.raw(#","preset":"#); sink.string(preset)
        sink.raw(#","currency":"#); sink.string(currency)
        sink.raw(#","phase":"#); sink.string(phase)
        sink.raw(#","buyer":"#); sink.string(buyer)
        sink.raw(#","freelancer":"#); sink.string(freelancer)
        sink.raw(#","role":"#); sink.string(role)
        sink.raw(#","held":"#); sink.integer(held)
        sink.raw(#","held_text":"#); sink.string(heldText)
        sink.raw(#","test_money":"#); sink.bool(testMoney)
        sink.raw(#","milestones":["#)
        for (index, milestone) in milestones.enumerated() {
            sink.raw(index == 0 ? "{" : ",{")
            milestone.writeMembers(to: &sink)
            sink.raw("}")
        }
        sink.raw(#"],"end_request":"#); sink.string(endRequest)
        sink.raw(#","dispute":"#); sink.string(dispute)
        sink.raw(#","cancellation":"#); sink.string(cancellation)
        sink.raw(#","reviews":["#)
        for (index, review) in reviews.enumerated() {
            sink.raw(index == 0 ? #"{"by":"# : #",{"by":"#); sink.string(review.by)
            sink.raw(#","author":"#); sink.string(review.author)
            sink.raw(#","stars":"#); sink.integer(Int64(review.stars))
            sink.raw(#","text":"#); sink.string(review.text)
            sink.raw(#","at":"#); sink.string(review.at)
            sink.raw("}")
        }
        sink.raw(#"],"reviews_sealed":"#); sink.integer(Int64(reviewsSealed))
        sink.raw(#","commands":["#)
        for (index, command) in commands.enumerated() {
            sink.raw(index == 0 ? #"{"template":"# : #",{"template":"#); sink.string(command.template)
            sink.raw(#","summary":"#); sink.string(command.summary)
            sink.raw(#","moves_money":"#); sink.bool(command.movesMoney)
            sink.raw("}")
        }
        sink.raw("]}")
    }
}

extension ContractView.MilestoneView {
    /// The members from `"number"` to `"review_outcome"`, without braces.
    func writeMembers<Sink: WireSink>(to sink: inout Sink) {
        sink.raw(#""number":"#); sink.string(number)
        sink.raw(#","description":"#); sink.string(description)
        sink.raw(#","amount":"#); sink.integer(amount)
        sink.raw(#","amount_text":"#); sink.string(amountText)
        sink.raw(#","state":"#); sink.string(state)
        sink.raw(#","held":"#); sink.integer(held)
        sink.raw(#","released":"#); sink.integer(released)
        sink.raw(#","refunded":"#); sink.integer(refunded)
        sink.raw(#","due":"#); sink.string(due)
        sink.raw(#","revisions_used":"#); sink.integer(Int64(revisionsUsed))
        sink.raw(#","revision_allowance":"#); sink.integer(revisionAllowance.map(Int64.init))
        sink.raw(#","review_ends":"#); sink.string(reviewEnds)
        sink.raw(#","review_outcome":"#); sink.string(reviewOutcome)
        sink.raw(#","offer":"#); sink.string(offer)
    }
}
