import Foundation
import Logging
import MilestoneCore
import NIOCore
import Storage

/// One client's chat state: the threads it joined and its rate limit. Run by ``ChatSession`` one
/// envelope at a time, in the order the client sent them.
struct ChatConnection {
    let context: ServerContext
    let identity: Identity
    let logger: Logger
    let outbox: Outbox
    /// The hub's name for this connection, once registered.
    var id: ConnectionID?

    /// Threads this connection joined, with the role it has in each.
    private var joined: [ContractID: Participant] = [:]
    private var limiter: RateLimiter
    private var strikes = 0

    init(context: ServerContext, identity: Identity, outbox: Outbox, logger: Logger) {
        self.context = context
        self.identity = identity
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
            messageBurst: limits.messageBurst, floodStrikesBeforeClose: limits.floodStrikesBeforeClose, testMoney: context.testMoney)))
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
        guard case .text(let text) = message else {
            reply(outbox, .error(.badRequest, "send text frames holding JSON envelopes (docs/PROTOCOL.md)"))
            return true
        }
        return await handle(text, id: id, arrived: arrived, outbox: outbox)
    }

    private func reply(_ outbox: Outbox, _ message: ServerMessage) {
        if case .error(let error) = message { context.metrics.protocolError(error.code) }
        outbox.push(message)
    }

    /// Handles one envelope; false when the connection must close.
    private mutating func handle(_ text: String, id: ConnectionID, arrived: ContinuousClock.Instant, outbox: Outbox) async -> Bool {
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
            guard let viewer = joined[thread] else {
                reply(outbox, .error(.notJoined, "join the thread first", thread: thread))
                return true
            }
            let size = min(max(limit ?? 100, 1), 500)
            do {
                let (messages, hasMore, _) = try await context.database.page(in: thread, before: before, limit: size, visibleTo: viewer)
                reply(outbox, .history(.init(thread: thread.rawValue, messages: messages.map(WireMessage.init), hasMore: hasMore)))
            } catch {
                reply(outbox, .error(.internalError, "could not read the history; try again", thread: thread))
            }
        case .send(let thread, let clientID, let body):
            guard limiter.allow(now: arrived) else {
                strikes += 1
                if strikes >= context.settings.limits.floodStrikesBeforeClose {
                    // Closed by the writer after the answers already queued, so none of them is lost.
                    outbox.finish(.flood)
                    return false
                }
                reply(outbox, .error(.rateLimited, "slow down: at most \(Int(limiter.rate)) messages a second; this one was not stored, send it again later", thread: thread, id: clientID))
                return true
            }
            strikes = 0
            await send(body, id: clientID, in: thread, connection: id, outbox: outbox)
        }
        return true
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
        context.hub.beginJoin(id, thread: thread, viewer: viewer)
        do {
            var backlog: [ServerMessage]
            let lastSeq: Int64
            if let after {
                let caughtUp = try await context.database.catchUp(in: thread, after: max(after, 0), visibleTo: viewer)
                backlog = caughtUp.messages.map(ServerMessage.stored)
                lastSeq = caughtUp.lastSeq
            } else {
                let page = try await context.database.page(in: thread, before: nil, limit: 100, visibleTo: viewer)
                backlog = [.history(.init(thread: thread.rawValue, messages: page.messages.map(WireMessage.init), hasMore: page.hasMore))]
                lastSeq = page.lastSeq
            }
            let fresh = try await context.database.contract(thread) ?? contract
            let state = ServerMessage.state(ContractView(fresh, viewer: viewer, testMoney: context.testMoney, now: context.clock()))
            backlog.append(.joined(.init(thread: thread.rawValue, lastSeq: lastSeq, role: viewer.role.rawValue)))
            context.hub.finishJoin(id, thread: thread, backlog: backlog, lastSeq: lastSeq, then: [state])
            joined[thread] = viewer
        } catch {
            context.hub.leave(id, thread: thread)
            reply(outbox, .error(.internalError, "could not read the thread; try again", thread: thread))
        }
    }

    private func send(_ body: String, id clientID: String, in thread: ContractID, connection: ConnectionID, outbox: Outbox) async {
        guard let author = joined[thread] else {
            reply(outbox, .error(.notJoined, "join the thread before sending to it", thread: thread, id: clientID))
            return
        }
        guard !clientID.isEmpty, clientID.utf8.count <= 100 || clientID.count <= 100, !hasControlCharacter(clientID) else {
            reply(outbox, .error(.invalidID, "a message id is 1-100 characters without control characters, unique per message you send", thread: thread, id: String(clientID.prefix(100))))
            return
        }
        let started = ContinuousClock.now
        // The hub acknowledges the line together with its delivery (one write, not two).
        context.hub.expectAck(connection, thread: thread, clientID: clientID)
        let stored: Result<LineReceipt, any Error>
        do { stored = .success(try await context.handle(body, id: clientID, in: thread, by: author)) } catch { stored = .failure(error) }
        let acknowledged = context.hub.settleAck(connection, thread: thread, clientID: clientID)
        let receipt: LineReceipt
        do {
            receipt = try stored.get()
        } catch let error as StorageError {
            switch error {
            case .invalid(let detail) where detail.contains("already used"):
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
        if receipt.line.kind == .command {
            let name = body.split(separator: " ").first.map(String.init) ?? "/"
            context.metrics.command(CommandReference.named(String(name.dropFirst())).map { "/" + $0.name } ?? "other",
                outcome: receipt.isDuplicate ? "duplicate" : outcome, duration: duration)
        }
        // The contract's new state went out with the commit (ThreadHub.publish).
        if !acknowledged {
            outbox.push(.ack(.init(thread: thread.rawValue, id: clientID, seq: receipt.line.seq, duplicate: receipt.isDuplicate, outcome: outcome)))
        }
    }
}
