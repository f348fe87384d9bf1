import Foundation

/// A line as read once, where it enters (the WebSocket or the HTTP API): chat text, or a command, or the
/// reason a command could not be read. Everything downstream takes this, never the text again.
public enum ParsedLine: Hashable, Sendable {
    case chat
    case command(ChatCommand)
    /// A line that starts with `/` but is no command: answered privately with why.
    case unreadable(ParseError)

    /// Reads `text` with amounts in `currency` (the contract's).
    public init(_ text: String, currency: Currency) {
        guard CommandParser.isCommand(text) else {
            self = .chat
            return
        }
        switch CommandParser(currency: currency).parse(text) {
        case .success(let command): self = .command(command)
        case .failure(let error): self = .unreadable(error)
        }
    }

    public var isCommand: Bool {
        if case .chat = self { return false }
        return true
    }

    /// The command's name for metrics and logs: `/milestone delete`; `unreadable` for a line the parser
    /// refused; nil for chat.
    public var commandName: String? {
        switch self {
        case .chat: nil
        case .command(let command): command.name
        case .unreadable: "unreadable"
        }
    }

    /// What the contract makes of it: nil for chat, else the core's answer (an unreadable line is refused
    /// with the parser's explanation).
    public func apply(to contract: Contract, by actor: Participant, at now: Date) -> Result<CommandOutcome, Rejection>? {
        switch self {
        case .chat: nil
        case .command(let command): contract.apply(command, by: actor, at: now)
        case .unreadable(let error): .failure(Rejection(error))
        }
    }
}
