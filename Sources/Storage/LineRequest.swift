import Foundation
import MilestoneCore

/// A line a person sent into a thread: chat, or a slash-command.
public struct LineRequest: Hashable, Sendable, Codable {
    /// Unique per line; sending the same id again returns the first receipt and changes nothing.
    public var commandID: CommandID
    public var thread: ContractID
    public var author: Participant
    public var text: String
    /// The id the client chose for the line, if any (stored with it).
    public var clientMessageID: String?
    /// Files uploaded to the thread that the line carries.
    public var files: [FileID]
    public var receivedAt: Date
    /// What the line says, read once where it entered. Not stored with a pending payment (the text is):
    /// whoever loads one reads it again before handing it back (``PaymentDesk``'s recovery).
    public var parsed: ParsedLine?

    public init(commandID: CommandID, thread: ContractID, author: Participant, text: String, parsed: ParsedLine?,
        clientMessageID: String? = nil, files: [FileID] = [], receivedAt: Date) {
        self.commandID = commandID
        self.thread = thread
        self.author = author
        self.text = text
        self.parsed = parsed
        self.clientMessageID = clientMessageID
        self.files = files
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey {
        case commandID, thread, author, text, clientMessageID, files, receivedAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        commandID = try container.decode(CommandID.self, forKey: .commandID)
        thread = try container.decode(ContractID.self, forKey: .thread)
        author = try container.decode(Participant.self, forKey: .author)
        text = try container.decode(String.self, forKey: .text)
        clientMessageID = try container.decodeIfPresent(String.self, forKey: .clientMessageID)
        // Lines stored with a pending payment before files existed carry none.
        files = try container.decodeIfPresent([FileID].self, forKey: .files) ?? []
        receivedAt = try container.decode(Date.self, forKey: .receivedAt)
        parsed = nil
    }
}

/// What happened to a line, the first time it was handled.
public enum LineOutcome: Hashable, Sendable, Codable {
    /// Stored and delivered; not a command.
    case chat
    /// A command that changed the contract; the events were posted as system messages.
    case applied(events: [String])
    /// `/help` or `/status`, answered privately.
    case answered
    /// Refused, with a private notice; nothing changed.
    case rejected(Rejection)

    /// `chat`, `applied`, `answered` or `rejected`: the `outcome` of an acknowledgement.
    public var name: String {
        switch self {
        case .chat: "chat"
        case .applied: "applied"
        case .answered: "answered"
        case .rejected: "rejected"
        }
    }
}

/// The result of handling a line.
public struct LineReceipt: Hashable, Sendable {
    /// The line as stored; its `seq` is the acknowledgement.
    public var line: StoredMessage
    /// What the bot wrote in answer: system messages for everyone, or one private notice.
    public var replies: [StoredMessage]
    public var outcome: LineOutcome
    /// The contract's change, only the first time (nil for duplicates, chat and rejections).
    public var transition: Transition?
    /// True when this command id had been handled before: nothing was written now.
    public var isDuplicate: Bool

    public init(line: StoredMessage, replies: [StoredMessage], outcome: LineOutcome, transition: Transition?, isDuplicate: Bool) {
        self.line = line
        self.replies = replies
        self.outcome = outcome
        self.transition = transition
        self.isDuplicate = isDuplicate
    }
}
