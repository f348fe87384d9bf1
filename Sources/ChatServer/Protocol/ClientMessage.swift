import Foundation
import MilestoneCore
import Storage

/// What a client sends over the WebSocket: JSON objects with a `type` field (docs/PROTOCOL.md).
public enum ClientMessage: Hashable, Sendable {
    /// Start receiving a thread. With `after`, every message after that sequence number is sent first
    /// (resume after a reconnect); without it, the latest page of history.
    case join(thread: ContractID, after: Int64?)
    case leave(thread: ContractID)
    /// A line for the thread; `id` is chosen by the client and makes resending safe.
    /// A line; `files` are ids of files uploaded to the thread that the line carries (a delivery, evidence).
    case send(thread: ContractID, id: String, text: String, files: [FileID] = [])
    /// An older page: messages before `before` (default: the newest), at most `limit` (default 100, max 500).
    case history(thread: ContractID, before: Int64?, limit: Int?)
    /// A fresh token for this connection (token refresh): it must name the same user in the same capacity,
    /// and the connection then lives until the new token's `exp`.
    case auth(token: String)
    /// The user is typing in the thread: shown to the others for a few seconds, never stored.
    case typing(thread: ContractID)
    /// The user has seen every message up to `seq` (a read marker): stored, and shown to the thread.
    case read(thread: ContractID, seq: Int64)

    /// The thread the message is about; nil for `auth`.
    public var thread: ContractID? {
        switch self {
        case .join(let thread, _), .leave(let thread), .send(let thread, _, _, _), .history(let thread, _, _), .typing(let thread), .read(let thread, _): thread
        case .auth: nil
        }
    }
}

/// Why a frame could not be read as a client message: becomes an `error` envelope with code `bad_request`.
public struct EnvelopeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

extension ClientMessage: Decodable {
    enum CodingKeys: String, CodingKey {
        case type, thread, after, id, text, before, limit, token, files, seq
    }

    /// The most files one message may carry.
    public static let maxFilesPerMessage = 20

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        if type == "auth" {
            self = .auth(token: try container.decode(String.self, forKey: .token))
            return
        }
        let thread = ContractID(try container.decode(String.self, forKey: .thread))
        switch type {
        case "join": self = .join(thread: thread, after: try container.decodeIfPresent(Int64.self, forKey: .after))
        case "leave": self = .leave(thread: thread)
        case "send":
            var files: [FileID] = []
            for text in try container.decodeIfPresent([String].self, forKey: .files) ?? [] {
                guard let id = FileID(text) else {
                    throw DecodingError.dataCorruptedError(forKey: .files, in: container,
                        debugDescription: "\"files\" lists the ids an upload returned: 64 lower-case hex digits each")
                }
                files.append(id)
            }
            guard files.count <= Self.maxFilesPerMessage, Set(files).count == files.count else {
                throw DecodingError.dataCorruptedError(forKey: .files, in: container,
                    debugDescription: "a message carries at most \(Self.maxFilesPerMessage) files, each once")
            }
            self = .send(thread: thread, id: try container.decode(String.self, forKey: .id), text: try container.decode(String.self, forKey: .text), files: files)
        case "history":
            self = .history(thread: thread, before: try container.decodeIfPresent(Int64.self, forKey: .before),
                limit: try container.decodeIfPresent(Int.self, forKey: .limit))
        case "typing": self = .typing(thread: thread)
        case "read":
            let seq = try container.decode(Int64.self, forKey: .seq)
            guard seq >= 1 else {
                throw DecodingError.dataCorruptedError(forKey: .seq, in: container, debugDescription: "\"seq\" is a message's sequence number: 1 or more")
            }
            self = .read(thread: thread, seq: seq)
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container,
                debugDescription: "unknown type \"\(type.prefix(40))\"; expected join, leave, send, history, typing, read or auth")
        }
    }

    /// Decodes one text frame, explaining in plain words what is wrong with it.
    public static func decode(_ text: String) -> Result<ClientMessage, EnvelopeError> {
        if let message = fastDecode(text) { return .success(message) }
        return decodeWithJSONDecoder(text)
    }

    /// ``decode(_:)`` through JSONDecoder: the reference for the fast path, and the only path for
    /// unusual frames and for every error.
    static func decodeWithJSONDecoder(_ text: String) -> Result<ClientMessage, EnvelopeError> {
        do {
            return .success(try Wire.decoder.decode(ClientMessage.self, from: Data(text.utf8)))
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(EnvelopeError(description: "the field \"\(key.stringValue)\" is missing"))
        } catch let DecodingError.typeMismatch(_, context) {
            let field = context.codingPath.last?.stringValue ?? "message"
            return .failure(EnvelopeError(description: "the field \"\(field)\" has the wrong type"))
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty { return .failure(EnvelopeError(description: "the frame is not a JSON object")) }
            return .failure(EnvelopeError(description: context.debugDescription))
        } catch let DecodingError.valueNotFound(_, context) {
            return .failure(EnvelopeError(description: "the field \"\(context.codingPath.last?.stringValue ?? "?")\" is null"))
        } catch {
            return .failure(EnvelopeError(description: "the frame is not a valid message"))
        }
    }
}
