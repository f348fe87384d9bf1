@testable import ChatServer

/// Writing client frames, for the test clients. The server only reads them, so this lives here.
extension ClientMessage: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if case .auth(let token) = self {
            try container.encode("auth", forKey: .type)
            try container.encode(token, forKey: .token)
            return
        }
        try container.encodeIfPresent(thread?.rawValue, forKey: .thread)
        switch self {
        case .join(_, let after):
            try container.encode("join", forKey: .type)
            try container.encodeIfPresent(after, forKey: .after)
        case .leave:
            try container.encode("leave", forKey: .type)
        case .send(_, let id, let text, let files):
            try container.encode("send", forKey: .type)
            try container.encode(id, forKey: .id)
            try container.encode(text, forKey: .text)
            if !files.isEmpty { try container.encode(files.map(\.rawValue), forKey: .files) }
        case .history(_, let before, let limit):
            try container.encode("history", forKey: .type)
            try container.encodeIfPresent(before, forKey: .before)
            try container.encodeIfPresent(limit, forKey: .limit)
        case .typing:
            try container.encode("typing", forKey: .type)
        case .read(_, let seq):
            try container.encode("read", forKey: .type)
            try container.encode(seq, forKey: .seq)
        case .auth:
            break
        }
    }
}
