import Foundation
import MilestoneCore

/// A thread's head while messages are appended: gives each new message its sequence number, its link to the
/// one before and its hash. Pure; each store writes the messages it returns (SQLite and PostgreSQL alike).
public struct ChainHead: Hashable, Sendable {
    public let thread: ContractID
    public private(set) var lastSeq: Int64
    public private(set) var headHash: String

    public init(thread: ContractID, lastSeq: Int64, headHash: String) {
        self.thread = thread
        self.lastSeq = lastSeq
        self.headHash = headHash
    }

    /// The head of a thread with no messages yet.
    public init(newThread thread: ContractID) {
        self.init(thread: thread, lastSeq: 0, headHash: TranscriptChain.genesis)
    }

    /// The next message, hashed and linked; the head moves past it.
    public mutating func next(
        kind: MessageKind, body: String, author: Participant? = nil, visibleTo: UserID? = nil, clientMessageID: String? = nil,
        event: ContractEvent? = nil, files: [FileID] = [], at now: Date
    ) -> StoredMessage {
        let seq = lastSeq + 1
        // Stored and hashed to the millisecond: the message read back is exactly the one hashed.
        let createdAt = Date(milliseconds: now.milliseconds)
        let canonical = TranscriptChain.canonical(
            thread: thread, seq: seq, author: author?.user, authorRole: author?.role, kind: kind, visibleTo: visibleTo,
            body: body, clientMessageID: clientMessageID, event: event?.name, milestone: event?.milestone, createdAt: createdAt.milliseconds, files: files)
        let hash = TranscriptChain.hash(prev: headHash, canonical: canonical)
        let message = StoredMessage(
            thread: thread, seq: seq, author: author?.user, authorRole: author?.role, kind: kind, visibleTo: visibleTo, body: body,
            clientMessageID: clientMessageID, event: event?.name, milestone: event?.milestone, createdAt: createdAt, prevHash: headHash,
            hash: hash, files: files)
        lastSeq = seq
        headHash = hash
        return message
    }
}

/// Checks a thread's messages, read in sequence order, against the hash chain: the first one that was
/// changed, removed or moved is named. Pure; each store feeds it what it reads.
public struct ChainChecker: Sendable {
    public private(set) var result: ChainVerification
    private var expectedSeq: Int64 = 1
    private var previousHash = TranscriptChain.genesis

    public init(thread: ContractID) {
        result = ChainVerification(thread: thread, messages: 0, headHash: TranscriptChain.genesis)
    }

    /// The next message; false once a problem was found (`result` names it: stop reading). `also` checks more
    /// of it (its files) after its place in the chain and before it counts.
    public mutating func check(_ message: StoredMessage, also: (StoredMessage) -> (ChainVerification.Problem, String)? = { _ in nil }) -> Bool {
        guard result.problem == nil else { return false }
        if message.seq != expectedSeq {
            return fail(.missing, expectedSeq, "message \(expectedSeq) is not there; the next one is \(message.seq)")
        }
        if TranscriptChain.expectedHash(of: message) != message.hash {
            return fail(.altered, message.seq, "its content does not match its hash")
        }
        if message.prevHash != previousHash {
            return fail(.reordered, message.seq, "it does not follow message \(message.seq - 1) in the chain")
        }
        if let (problem, detail) = also(message) { return fail(problem, message.seq, detail) }
        previousHash = message.hash
        expectedSeq += 1
        result.messages += 1
        return true
    }

    /// A message that could not be read back at all.
    public mutating func unreadable(_ seq: Int64, _ error: any Error) {
        _ = fail(.altered, seq, "it cannot be read back: \(error)")
    }

    /// A problem found outside the chain (a file, a ledger entry).
    @discardableResult
    public mutating func fail(_ problem: ChainVerification.Problem, _ seq: Int64, _ detail: String) -> Bool {
        guard result.problem == nil else { return false }
        result.problem = problem
        result.seq = seq
        result.detail = detail
        return false
    }

    /// After the last message: the thread's recorded head must be where the chain ends.
    public mutating func finish(recordedLastSeq lastSeq: Int64?, recordedHeadHash headHash: String?) -> ChainVerification {
        guard result.problem == nil else { return result }
        result.headHash = previousHash
        guard let lastSeq, let headHash else {
            fail(.truncated, expectedSeq, "the thread's head record is missing; the chain ends at \(expectedSeq - 1)")
            return result
        }
        if lastSeq != expectedSeq - 1 || headHash != previousHash {
            fail(.truncated, expectedSeq, "the thread's head is message \(lastSeq), but the chain ends at \(expectedSeq - 1)")
        }
        return result
    }
}
