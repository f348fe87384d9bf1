import Foundation
import MilestoneCore
import Storage

/// A transcript message as sent to clients.
public struct WireMessage: Codable, Hashable, Sendable {
    public var thread: String
    public var seq: Int64
    /// Nil for the bot.
    public var author: String?
    public var role: String?
    /// chat, command, system, notice, note
    public var kind: String
    public var text: String
    /// Only the sender (and moderators) can see it.
    public var `private`: Bool
    public var clientID: String?
    /// For a private message: the one party it is for.
    public var visibleTo: String?
    /// For system messages: the event announced (`milestone_funded`) and the milestone it is about.
    public var event: String?
    public var milestone: String?
    public var at: String
    public var hash: String
    /// Ids of the files the message carries (`GET /api/contracts/:id/files/:file`), in order; the hash covers them.
    public var files: [String] = []

    enum CodingKeys: String, CodingKey {
        case thread, seq, author, role, kind, text, `private`, clientID = "client_id", visibleTo = "visible_to", event, milestone, at, hash, files
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        thread = try container.decode(String.self, forKey: .thread)
        seq = try container.decode(Int64.self, forKey: .seq)
        author = try container.decodeIfPresent(String.self, forKey: .author)
        role = try container.decodeIfPresent(String.self, forKey: .role)
        kind = try container.decode(String.self, forKey: .kind)
        text = try container.decode(String.self, forKey: .text)
        self.private = try container.decode(Bool.self, forKey: .private)
        clientID = try container.decodeIfPresent(String.self, forKey: .clientID)
        visibleTo = try container.decodeIfPresent(String.self, forKey: .visibleTo)
        event = try container.decodeIfPresent(String.self, forKey: .event)
        milestone = try container.decodeIfPresent(String.self, forKey: .milestone)
        at = try container.decode(String.self, forKey: .at)
        hash = try container.decode(String.self, forKey: .hash)
        files = try container.decodeIfPresent([String].self, forKey: .files) ?? []
    }

    /// Every field is written, `null` included, so strict decoders in any language see the documented shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(thread, forKey: .thread)
        try container.encode(seq, forKey: .seq)
        try container.encode(author, forKey: .author)
        try container.encode(role, forKey: .role)
        try container.encode(kind, forKey: .kind)
        try container.encode(text, forKey: .text)
        try container.encode(self.private, forKey: .private)
        try container.encode(clientID, forKey: .clientID)
        try container.encode(visibleTo, forKey: .visibleTo)
        try container.encode(event, forKey: .event)
        try container.encode(milestone, forKey: .milestone)
        try container.encode(at, forKey: .at)
        try container.encode(hash, forKey: .hash)
        try container.encode(files, forKey: .files)
    }

    public init(_ message: StoredMessage) {
        thread = message.thread.rawValue
        seq = message.seq
        author = message.author?.rawValue
        role = message.authorRole?.rawValue
        kind = message.kind.rawValue
        text = message.body
        self.private = message.isPrivate
        clientID = message.clientMessageID
        visibleTo = message.visibleTo?.rawValue
        event = message.event
        milestone = message.milestone?.description
        // The exact millisecond the hash covers (docs/PROTOCOL.md, *The hash chain*).
        at = Timestamp.text(unixMilliseconds: message.createdAt.milliseconds)
        hash = message.hash
        files = message.files.map(\.rawValue)
    }
}

/// What the server sends over the WebSocket: JSON objects with a `type` field (docs/PROTOCOL.md).
public enum ServerMessage: Hashable, Sendable {
    /// First frame on a connection: who the server thinks you are, and the limits that apply.
    case hello(Hello)
    /// A stored message everyone in the thread may see, in sequence order.
    case message(WireMessage)
    /// A stored message only you (and moderators) may see: the bot's private answer to your command.
    case notice(WireMessage)
    /// Your line is stored (durably) as `seq`.
    case ack(Ack)
    case error(WireError)
    /// A page of older messages, oldest first.
    case history(History)
    /// You receive the thread live from now on; `last_seq` is the newest message when you joined.
    case joined(Joined)
    /// The contract as it is now, and the commands you can use.
    case state(ContractView)
    /// A fresh token (an `auth` envelope) was accepted: the connection lives until `expires_at`.
    case authenticated(Authenticated)
    /// Someone else in the thread is typing (ephemeral: never stored, not sent again on reconnect).
    case typing(Typing)
    /// A party's read marker moved (and, after `joined`, where each party's is).
    case read(Read)

    public struct Typing: Codable, Hashable, Sendable {
        public var thread: String
        public var user: String
        public var role: String
    }

    public struct Read: Codable, Hashable, Sendable {
        public var thread: String
        public var user: String
        public var role: String
        /// They have seen every message up to this one.
        public var seq: Int64
        public var at: String
    }

    public struct Hello: Codable, Hashable, Sendable {
        public var user: String
        public var moderator: Bool
        public var maxFrameBytes: Int
        public var maxTextLength: Int
        public var messagesPerSecond: Double
        /// Messages that may be sent at once before the rate applies.
        public var messageBurst: Double
        /// `rate_limited` answers without a second's pause after which the connection is closed with 1008.
        public var floodStrikesBeforeClose: Int
        public var testMoney: Bool
        /// The token's `exp`: the connection is closed (4401 `token_expired`) then, unless the client sends
        /// an `auth` envelope with a fresh token before.
        public var tokenExpiresAt: String

        enum CodingKeys: String, CodingKey {
            case user, moderator, maxFrameBytes = "max_frame_bytes", maxTextLength = "max_text_length",
                messagesPerSecond = "messages_per_second", messageBurst = "message_burst",
                floodStrikesBeforeClose = "flood_strikes_before_close", testMoney = "test_money",
                tokenExpiresAt = "token_expires_at"
        }
    }

    public struct Authenticated: Codable, Hashable, Sendable {
        public var user: String
        public var expiresAt: String

        enum CodingKeys: String, CodingKey {
            case user, expiresAt = "expires_at"
        }
    }

    public struct Ack: Codable, Hashable, Sendable {
        public var thread: String
        public var id: String
        public var seq: Int64
        /// True when this id had been sent before: the first outcome is repeated, nothing ran again.
        public var duplicate: Bool
        /// chat, applied, answered or rejected
        public var outcome: String
    }

    public struct WireError: Codable, Hashable, Sendable {
        /// A stable, machine-readable code (docs/PROTOCOL.md lists them).
        public var code: String
        public var message: String
        public var thread: String?
        /// The client's message id the error is about, if any.
        public var id: String?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(code, forKey: .code)
            try container.encode(message, forKey: .message)
            try container.encode(thread, forKey: .thread)
            try container.encode(id, forKey: .id)
        }

        enum CodingKeys: String, CodingKey { case code, message, thread, id }
    }

    public struct History: Codable, Hashable, Sendable {
        public var thread: String
        public var messages: [WireMessage]
        /// More older messages exist before the first one here.
        public var hasMore: Bool

        enum CodingKeys: String, CodingKey {
            case thread, messages, hasMore = "has_more"
        }
    }

    public struct Joined: Codable, Hashable, Sendable {
        public var thread: String
        public var lastSeq: Int64
        /// Your role in this thread: buyer, freelancer or moderator.
        public var role: String

        enum CodingKeys: String, CodingKey {
            case thread, lastSeq = "last_seq", role
        }
    }

    public var type: String {
        switch self {
        case .hello: "hello"
        case .message: "message"
        case .notice: "notice"
        case .ack: "ack"
        case .error: "error"
        case .history: "history"
        case .joined: "joined"
        case .state: "state"
        case .authenticated: "authenticated"
        case .typing: "typing"
        case .read: "read"
        }
    }

    public static func stored(_ message: StoredMessage) -> ServerMessage {
        message.isPrivate ? .notice(WireMessage(message)) : .message(WireMessage(message))
    }

    static func error(_ code: ErrorCode, _ message: String, thread: ContractID? = nil, id: String? = nil) -> ServerMessage {
        .error(WireError(code: code.rawValue, message: message, thread: thread?.rawValue, id: id))
    }
}

/// The `code` of an `error` envelope.
public enum ErrorCode: String, Sendable, CaseIterable {
    /// The frame is not a valid client message (not JSON, unknown type, missing field).
    case badRequest = "bad_request"
    /// No such contract/thread.
    case unknownThread = "unknown_thread"
    /// You are not a party to this contract (and not a moderator).
    case notMember = "not_member"
    /// Send `join` for the thread first.
    case notJoined = "not_joined"
    /// Empty, too long, or otherwise unusable text.
    case invalidMessage = "invalid_message"
    /// The message id is empty, too long, or was used for another thread.
    case invalidID = "invalid_id"
    /// Slow down: over the per-connection rate; the message was not stored.
    case rateLimited = "rate_limited"
    /// A command's payment is still being completed with the processor; it finishes by itself.
    case paymentPending = "payment_pending"
    /// Something failed on our side; the message was not stored. Resend it with the same id.
    case internalError = "internal"
    /// An `auth` envelope's token was refused (the message says why); the connection keeps its old token.
    case badToken = "bad_token"
    /// The connection's token expired; sent just before closing with 4401.
    case tokenExpired = "token_expired"
}

extension ServerMessage: Encodable {
    enum TypeKey: String, CodingKey { case type }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        try container.encode(type, forKey: .type)
        switch self {
        case .hello(let value): try value.encode(to: encoder)
        case .message(let value), .notice(let value): try value.encode(to: encoder)
        case .ack(let value): try value.encode(to: encoder)
        case .error(let value): try value.encode(to: encoder)
        case .history(let value): try value.encode(to: encoder)
        case .joined(let value): try value.encode(to: encoder)
        case .state(let value): try value.encode(to: encoder)
        case .authenticated(let value): try value.encode(to: encoder)
        case .typing(let value): try value.encode(to: encoder)
        case .read(let value): try value.encode(to: encoder)
        }
    }
}
