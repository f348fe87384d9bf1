import Foundation
import Logging
import MilestoneCore
import NIOCore
import Storage

/// One client's chat state: the threads it joined and its rate limit. Run by ``ChatSession`` one
/// envelope at a time, in the order the client sent them.
struct ChatConnection {
    let context: ServerContext
    /// Who the client is, as its first token said; its current expiry is `expiry`'s.
    let identity: Identity
    /// The token's expiry (moved by a fresh token, `auth`), shared with the session's timer that closes the
    /// socket when it passes.
    let expiry: TokenExpiry
    let logger: Logger
    let outbox: Outbox
    /// The hub's name for this connection, once registered.
    var id: ConnectionID?

    /// A thread this connection joined: its role there, and the contract's currency (lines are read in it).
    private struct Membership {
        var viewer: Participant
        var currency: Currency
    }

    /// Threads this connection joined.
    private var joined: [ContractID: Membership] = [:]
    private var limiter: RateLimiter
    /// `rate_limited` answers since the client last paused for a second: a flood is that many without a
    /// pause, whatever the refills let through in between (counting them "in a row" let a flooder that
    /// refilled a token every 50 ms go on for ever, and made the close depend on how fast lines commit).
    private var strikes = 0
    private var lastRefusal: ContinuousClock.Instant?
    /// When this connection last passed on a `typing` per thread: at most one each ``typingInterval``.
    private var lastTyping: [ContractID: ContinuousClock.Instant] = [:]
    static let typingInterval: Duration = .seconds(2)

    init(context: ServerContext, identity: Identity, expiry: TokenExpiry, outbox: Outbox, logger: Logger) {
        self.context = context
        self.identity = identity
        self.expiry = expiry
        self.outbox = outbox
        self.logger = logger
        limiter = RateLimiter(rate: context.settings.limits.messagesPerSecond, burst: context.settings.limits.messageBurst)
    }

    /// Registers with the hub and says hello (the first frame on every connection).
    mutating func connect() {
        id = context.hub.connect(outbox)
        context.metrics.connectionOpened()
        let limits = context.settings.limits
        outbox.push(.hello(.init(
            user: identity.user.rawValue, moderator: identity.isModerator, maxFrameBytes: limits.maxFrameBytes,
            maxTextLength: AppDatabase.maximumLineLength, messagesPerSecond: limits.messagesPerSecond,
            messageBurst: limits.messageBurst, floodStrikesBeforeClose: limits.floodStrikesBeforeClose, testMoney: context.testMoney,
            tokenExpiresAt: Timestamp.text(identity.expiresAt))))
    }

    /// Leaves the hub; after this nothing more is delivered.
    mutating func disconnect() {
        guard let id else { return }
        self.id = nil
        context.hub.disconnect(id)
        context.metrics.connectionClosed()
    }

    /// Handles one client message; false when the connection must close.
    mutating func handle(_ message: InboundMessage, arrived: ContinuousClock.Instant) async -> Bool {
        guard let id else { return false }
        // Nothing is done for a token past its `exp`, even if the session's timer has not fired yet.
        guard context.clock() < expiry.expiresAt else {
            Self.closeForExpiredToken(outbox)
            return false
        }
        // Every frame takes a token before any work on it, a binary or malformed one too.
        guard limiter.allow(now: arrived) else { return refuseOverRate(message, at: arrived) }
        if let last = lastRefusal, arrived - last > .seconds(1) {
            strikes = 0
            lastRefusal = nil
        }
        guard case .text(let text) = message else {
            reply(outbox, .error(.badRequest, "send text frames holding JSON envelopes (docs/PROTOCOL.md)"))
            return true
        }
        return await handle(text, id: id, outbox: outbox)
    }

    private func reply(_ outbox: Outbox, _ message: ServerMessage) {
        if case .error(let error) = message { context.metrics.protocolError(error.code) }
        outbox.push(message)
    }

    /// Over the rate: `rate_limited` (naming the thread and line when the frame reads cheaply), or, after
    /// `flood_strikes_before_close` without a second's pause, the close. False when the connection must close.
    private mutating func refuseOverRate(_ message: InboundMessage, at arrived: ContinuousClock.Instant) -> Bool {
        strikes += 1
        lastRefusal = arrived
        if strikes >= context.settings.limits.floodStrikesBeforeClose {
            // Closed by the writer after the answers already queued, so none of them is lost.
            context.metrics.protocolError("flood")
            outbox.finish(.flood)
            return false
        }
        var thread: ContractID?
        var clientID: String?
        if case .text(let text) = message, let envelope = ClientMessage.fastDecode(text) {
            thread = envelope.thread
            if case .send(_, let id, _, _) = envelope { clientID = id }
        }
        let what = clientID == nil ? "this message was not handled" : "this one was not stored"
        reply(outbox, .error(.rateLimited, "slow down: at most \(Int(limiter.rate)) messages a second; \(what), send it again later", thread: thread, id: clientID))
        return true
    }

    /// Handles one envelope; false when the connection must close.
    private mutating func handle(_ text: String, id: ConnectionID, outbox: Outbox) async -> Bool {
        let message: ClientMessage
        switch ClientMessage.decode(text) {
        case .failure(let error):
            reply(outbox, .error(.badRequest, "\(error); see docs/PROTOCOL.md"))
            return true
        case .success(let decoded):
            message = decoded
        }
        switch message {
        case .join(let thread, let after):
            await join(thread, after: after, id: id, outbox: outbox)
        case .leave(let thread):
            joined[thread] = nil
            context.hub.leave(id, thread: thread)
        case .history(let thread, let before, let limit):
            await history(thread, before: before, limit: limit, outbox: outbox)
        case .send(let thread, let clientID, let body, let files):
            await send(body, files: files, id: clientID, in: thread, connection: id, outbox: outbox)
        case .auth(let token):
            await refresh(token, outbox: outbox)
        case .typing(let thread):
            typing(in: thread, outbox: outbox)
        case .read(let thread, let seq):
            await markRead(thread, through: seq, outbox: outbox)
        }
        return true
    }

    /// Passes "typing" on to the others in the thread, at most once every ``typingInterval`` (more are dropped
    /// quietly: a client sends one per keystroke burst, and nothing is lost by skipping them).
    private mutating func typing(in thread: ContractID, outbox: Outbox) {
        guard let viewer = joined[thread]?.viewer else {
            reply(outbox, .error(.notJoined, "join the thread first", thread: thread))
            return
        }
        let now = ContinuousClock.now
        if let last = lastTyping[thread], now - last < Self.typingInterval { return }
        lastTyping[thread] = now
        // A moderator's typing reaches only other moderators: parties must not learn that a private note is being written.
        context.hub.broadcast(.typing(.init(thread: thread.rawValue, user: viewer.user.rawValue, role: viewer.role.rawValue)), in: thread,
            exceptUser: viewer.user, onlyModerators: viewer.role == .moderator)
    }

    /// Moves a party's read marker and shows it to the thread. A moderator's reading is not recorded: read
    /// markers say what the parties saw.
    private func markRead(_ thread: ContractID, through seq: Int64, outbox: Outbox) async {
        guard let viewer = joined[thread]?.viewer else {
            reply(outbox, .error(.notJoined, "join the thread first", thread: thread))
            return
        }
        guard viewer.role != .moderator else { return }
        do {
            guard let marker = try await context.database.markRead(thread, user: viewer.user, through: seq, at: context.clock()) else { return }
            context.hub.broadcast(.read(.init(thread: thread.rawValue, user: viewer.user.rawValue, role: viewer.role.rawValue, seq: marker.seq,
                at: Timestamp.text(unixMilliseconds: marker.at.milliseconds))), in: thread)
        } catch StorageError.invalid(let detail) {
            reply(outbox, .error(.badRequest, detail, thread: thread))
        } catch {
            reply(outbox, .error(.internalError, "could not record the read marker; send it again", thread: thread))
        }
    }

    /// Whether the user may read more history now (``ReadBudget``); answers `rate_limited` when not.
    private func mayRead(_ thread: ContractID) -> Bool {
        guard context.readBudget.allows(identity.user) else {
            reply(outbox, .error(.rateLimited, "slow down: you are reading history faster than \(context.settings.limits.readBytesPerSecond) bytes a second (across your connections); try again in a moment", thread: thread))
            return false
        }
        return true
    }

    /// An older page, at most `limits.max_history_bytes` of text: the oldest messages are left out of a
    /// page that would be larger (`has_more` then says so).
    private mutating func history(_ thread: ContractID, before: Int64?, limit: Int?, outbox: Outbox) async {
        guard let viewer = joined[thread]?.viewer else {
            reply(outbox, .error(.notJoined, "join the thread first", thread: thread))
            return
        }
        guard mayRead(thread) else { return }
        let size = min(max(limit ?? 100, 1), 500)
        do {
            let (messages, hasMore, _) = try await context.database.page(in: thread, before: before, limit: size, visibleTo: viewer)
            let (kept, trimmed) = Self.newest(messages, withinBytes: context.settings.limits.maxHistoryBytes)
            let frame = ServerMessage.history(.init(thread: thread.rawValue, messages: kept.map(WireMessage.init), hasMore: hasMore || trimmed))
            let text = Wire.text(frame)
            context.readBudget.charge(identity.user, bytes: text.utf8.count)
            outbox.push(.text(text))
        } catch {
            reply(outbox, .error(.internalError, "could not read the history; try again", thread: thread))
        }
    }

    /// The most messages a `join` with `after` sends one by one; more, and it sends the newest page.
    static let maxCatchUpMessages = 1_000

    /// What a message's other fields take on the wire, besides its text (an estimate on the high side).
    static let wireOverhead = 320

    /// Roughly what `messages` take on the wire.
    static func wireBytes(_ messages: [StoredMessage]) -> Int {
        messages.reduce(0) { $0 + $1.body.utf8.count + wireOverhead }
    }

    /// The newest of `messages` (oldest first) whose text fits in `budget` bytes, at least one; and whether
    /// any were left out.
    static func newest(_ messages: [StoredMessage], withinBytes budget: Int) -> ([StoredMessage], Bool) {
        var used = 0
        var start = messages.endIndex
        while start > messages.startIndex {
            let cost = messages[start - 1].body.utf8.count + wireOverhead
            if used + cost > budget, start < messages.endIndex { break }
            used += cost
            start -= 1
        }
        return (Array(messages[start...]), start > messages.startIndex)
    }

    /// A fresh token for this connection (`auth`): the same user in the same capacity, or refused.
    private func refresh(_ token: String, outbox: Outbox) async {
        let fresh: Identity
        do {
            fresh = try await context.verifier.verify(token)
        } catch {
            reply(outbox, .error(.badToken, "\(error); the connection keeps its current token, which expires at \(Timestamp.text(expiry.expiresAt))"))
            return
        }
        guard fresh.isSamePrincipal(as: identity) else {
            reply(outbox, .error(.badToken, "a fresh token must name the same user (\(identity.user.rawValue.prefix(100))) with the same role; open a new connection for another"))
            return
        }
        expiry.set(fresh.expiresAt)
        outbox.push(.authenticated(.init(user: identity.user.rawValue, expiresAt: Timestamp.text(fresh.expiresAt))))
    }

    /// Says the token expired, then closes with 4401 after what is already queued.
    static func closeForExpiredToken(_ outbox: Outbox) {
        outbox.push(.error(.tokenExpired, "your token expired; reconnect with a fresh one (or send an auth envelope before it expires)"))
        outbox.finish(.closing(code: 4401, reason: "token_expired"))
    }

    private mutating func join(_ thread: ContractID, after: Int64?, id: ConnectionID, outbox: Outbox) async {
        let contract: Contract?
        do { contract = try await context.database.contract(thread) } catch {
            reply(outbox, .error(.internalError, "could not open the thread; try again", thread: thread))
            return
        }
        guard let contract else {
            reply(outbox, .error(.unknownThread, "there is no thread \(thread.rawValue.prefix(100))", thread: thread))
            return
        }
        guard let viewer = context.viewer(identity, of: contract) else {
            reply(outbox, .error(.notMember, "you are not a party to contract \(thread); only its buyer, its freelancer and moderators can join", thread: thread))
            return
        }
        guard mayRead(thread) else { return }
        context.hub.beginJoin(id, thread: thread, viewer: viewer)
        do {
            var backlog: [ServerMessage]
            let lastSeq: Int64
            // A resume that missed more than a catch-up may hold (a client away for long) gets the newest page
            // instead, as a join without `after` does: the client pages back with `history`. Sending it all
            // would overflow the queue's byte bound, drop the client, and loop on every reconnect.
            var caughtUp: (messages: [StoredMessage], lastSeq: Int64)?
            if let after {
                let read = try await context.database.catchUp(in: thread, after: max(after, 0), limit: Self.maxCatchUpMessages + 1, visibleTo: viewer)
                let bytes = Self.wireBytes(read.messages)
                context.readBudget.charge(identity.user, bytes: bytes)
                if read.messages.count <= Self.maxCatchUpMessages, bytes <= 2 * context.settings.limits.maxHistoryBytes { caughtUp = read }
            }
            if let caughtUp {
                backlog = caughtUp.messages.map(ServerMessage.stored)
                lastSeq = caughtUp.lastSeq
            } else {
                let page = try await context.database.page(in: thread, before: nil, limit: 100, visibleTo: viewer)
                let (kept, trimmed) = Self.newest(page.messages, withinBytes: context.settings.limits.maxHistoryBytes)
                backlog = [.history(.init(thread: thread.rawValue, messages: kept.map(WireMessage.init), hasMore: page.hasMore || trimmed))]
                lastSeq = page.lastSeq
                context.readBudget.charge(identity.user, bytes: Self.wireBytes(kept))
            }
            let fresh = try await context.database.contract(thread) ?? contract
            let state = ServerMessage.state(ContractView(fresh, viewer: viewer, testMoney: context.testMoney, now: context.clock()))
            backlog.append(.joined(.init(thread: thread.rawValue, lastSeq: lastSeq, role: viewer.role.rawValue)))
            // Where each party has read to, so the client can show "Seen" and count what is unread.
            let reads = try await context.database.readMarkers(in: thread).compactMap { marker -> ServerMessage? in
                guard let role = fresh.partyRole(of: marker.user) else { return nil }
                return .read(.init(thread: thread.rawValue, user: marker.user.rawValue, role: role.rawValue, seq: marker.seq,
                    at: Timestamp.text(unixMilliseconds: marker.at.milliseconds)))
            }
            context.hub.finishJoin(id, thread: thread, backlog: backlog, lastSeq: lastSeq, then: [state] + reads)
            joined[thread] = Membership(viewer: viewer, currency: contract.currency)
        } catch {
            context.hub.leave(id, thread: thread)
            reply(outbox, .error(.internalError, "could not read the thread; try again", thread: thread))
        }
    }

    private func send(_ body: String, files: [FileID], id clientID: String, in thread: ContractID, connection: ConnectionID, outbox: Outbox) async {
        guard let membership = joined[thread] else {
            reply(outbox, .error(.notJoined, "join the thread before sending to it", thread: thread, id: clientID))
            return
        }
        // Control characters: a NUL would be cut off when SQLite stores the id, and the stored message would
        // no longer match its hash (found by Tests/Reliability/live_fuzz_test.py). Format and bidi characters
        // make one id look like another.
        guard clientID.utf8.count <= 100 || clientID.count <= 100, IdentifierRules.problem(clientID, what: "the message id", maxBytes: 400) == nil else {
            reply(outbox, .error(.invalidID, "a message id is 1-100 characters without control, format or bidi characters, unique per message you send", thread: thread, id: String(clientID.prefix(100))))
            return
        }
        let started = ContinuousClock.now
        // The hub acknowledges the line together with its delivery (one write, not two).
        context.hub.expectAck(connection, thread: thread, clientID: clientID)
        let stored: Result<LineReceipt, any Error>
        // Read once, here; storage, the payment desk and the metrics take the parsed line.
        let parsed = ParsedLine(body, currency: membership.currency)
        do { stored = .success(try await context.handle(body, parsed: parsed, files: files, id: clientID, in: thread, by: membership.viewer)) } catch { stored = .failure(error) }
        let acknowledged = context.hub.settleAck(connection, thread: thread, clientID: clientID)
        let receipt: LineReceipt
        do {
            receipt = try stored.get()
        } catch let error as StorageError {
            switch error {
            case .paymentPending:
                reply(outbox, .error(.paymentPending, "a payment sent with this id is still being completed; resend it later", thread: thread, id: clientID))
            case .commandIDReused, .alreadyHandled:
                reply(outbox, .error(.invalidID, "message id \(clientID) was already used for another thread", thread: thread, id: clientID))
            case .invalid(let detail):
                reply(outbox, .error(.invalidMessage, detail, thread: thread, id: clientID))
            case .unknownContract:
                reply(outbox, .error(.unknownThread, "the thread no longer exists", thread: thread, id: clientID))
            default:
                logger.error("storing a message failed", metadata: ["thread": "\(thread)", "error": "\(error)"])
                reply(outbox, .error(.internalError, "the message was not stored; send it again with the same id", thread: thread, id: clientID))
            }
            return
        } catch let pending as PaymentPending {
            reply(outbox, .error(.paymentPending, pending.description, thread: thread, id: clientID))
            return
        } catch is CancellationError {
            // The connection is closing: the line was not stored and never acknowledged; the client resends it.
            return
        } catch {
            logger.error("storing a message failed", metadata: ["thread": "\(thread)", "error": "\(error)"])
            reply(outbox, .error(.internalError, "the message was not stored; send it again with the same id", thread: thread, id: clientID))
            return
        }
        let duration = ContinuousClock.now - started
        let outcome = receipt.outcome.name
        context.metrics.lineStored(duration: duration)
        if !receipt.isDuplicate { context.metrics.messageStored(kind: receipt.line.kind.rawValue) }
        if let name = parsed.commandName {
            context.metrics.command(name, outcome: receipt.isDuplicate ? "duplicate" : outcome, duration: duration)
        }
        // The contract's new state went out with the commit (ThreadHub.publish).
        if !acknowledged {
            outbox.push(.ack(.init(thread: thread.rawValue, id: clientID, seq: receipt.line.seq, duplicate: receipt.isDuplicate, outcome: outcome)))
        }
    }
}
