import Foundation
import MilestoneCore

/// What a transcript message is.
public enum MessageKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// A line a person typed that is not a command.
    case chat
    /// A slash-command as typed.
    case command
    /// The bot announcing what happened, seen by everyone.
    case system
    /// The bot answering one person privately (a rejection, `/help`, `/status`).
    case notice
    /// A moderator's note, visible to both parties.
    case note
}

/// One message of a thread's transcript, as stored.
public struct StoredMessage: Hashable, Sendable, Codable {
    public var thread: ContractID
    /// Position in the thread: 1, 2, 3 ... with no gaps.
    public var seq: Int64
    /// Nil for the bot.
    public var author: UserID?
    public var authorRole: Role?
    public var kind: MessageKind
    /// Nil: everyone in the thread. Otherwise only this user (and moderators) may read it.
    public var visibleTo: UserID?
    public var body: String
    /// The id the sending client chose, for exactly-once delivery.
    public var clientMessageID: String?
    /// For system messages: the event announced (`milestone_funded`) and the milestone it is about.
    public var event: String?
    public var milestone: MilestoneNumber?
    public var createdAt: Date
    public var prevHash: String
    /// SHA-256 over `prevHash` and this message's canonical encoding: the transcript's hash chain.
    public var hash: String
    /// The files it carries, in order (a delivery, evidence): their ids are part of what the hash covers.
    public var files: [FileID] = []

    public init(
        thread: ContractID, seq: Int64, author: UserID?, authorRole: Role?, kind: MessageKind, visibleTo: UserID?, body: String,
        clientMessageID: String?, event: String?, milestone: MilestoneNumber?, createdAt: Date, prevHash: String, hash: String, files: [FileID] = []
    ) {
        self.thread = thread
        self.seq = seq
        self.author = author
        self.authorRole = authorRole
        self.kind = kind
        self.visibleTo = visibleTo
        self.body = body
        self.clientMessageID = clientMessageID
        self.event = event
        self.milestone = milestone
        self.createdAt = createdAt
        self.prevHash = prevHash
        self.hash = hash
        self.files = files
    }

    public var isPrivate: Bool { visibleTo != nil }

    /// Whether `user` in `role` may read this message: moderators read everything, parties everything
    /// but the other party's private notices.
    public func isVisible(to user: UserID, role: Role) -> Bool {
        role == .moderator || visibleTo == nil || visibleTo == user
    }
}
