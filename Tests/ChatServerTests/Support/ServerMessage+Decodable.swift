@testable import ChatServer
import Foundation

/// Reading server frames back, for the test clients and the checks of the hand-written frames. The server
/// only writes them, so this lives here.
extension ServerMessage: Decodable {
    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decode(String.self, forKey: .type)
        switch type {
        case "hello": self = .hello(try Hello(from: decoder))
        case "message": self = .message(try WireMessage(from: decoder))
        case "notice": self = .notice(try WireMessage(from: decoder))
        case "ack": self = .ack(try Ack(from: decoder))
        case "error": self = .error(try WireError(from: decoder))
        case "history": self = .history(try History(from: decoder))
        case "joined": self = .joined(try Joined(from: decoder))
        case "state": self = .state(try ContractView(from: decoder))
        case "authenticated": self = .authenticated(try Authenticated(from: decoder))
        case "typing": self = .typing(try Typing(from: decoder))
        case "read": self = .read(try Read(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: [TypeKey.type], debugDescription: "unknown type \(type)"))
        }
    }
}
