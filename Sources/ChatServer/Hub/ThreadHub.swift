import Foundation
import MilestoneCore
import NIOCore
import Synchronization
import Storage

/// One WebSocket connection's identity within the hub.
public struct ConnectionID: Hashable, Sendable {
    let value: UInt64
}

/// Who is connected to which thread, and delivery to them. Committed messages arrive through `publish`
/// in commit order (from the database's commit hook), so every connection sees its threads in sequence
/// order. A connection that is joining buffers live messages while it catches up from the database.
///
/// A lock rather than an actor: every call is short and never waits, so callers on event loops, the
/// commit feed and chat sessions use it directly instead of hopping to an actor's executor.
public final class ThreadHub: Sendable {
    private struct Subscription {
        let outbox: Outbox
        let viewer: Participant
        var phase: Phase
        /// Client ids of lines this connection sent and awaits acknowledgements for: the hub sends each
        /// right after the line's own frame, in the same write (see `expectAck`).
        var awaitingAcks: Set<ClientMessageID> = []
    }

    private enum Phase {
        /// Reading the backlog; live messages wait here.
        case catchingUp([StoredMessage])
        /// Everything up to `lastSeq` was delivered (or was not for this viewer's eyes).
        case live(lastSeq: Int64)
    }

    private struct Connection {
        let outbox: Outbox
        /// The threads it joined, so leaving the hub touches only those.
        var threads: Set<ContractID> = []
    }

    private struct State {
        var threads: [ContractID: [ConnectionID: Subscription]] = [:]
        var connections: [ConnectionID: Connection] = [:]
        var nextID: UInt64 = 0
        /// Threads that had chat lines since the unread digest last looked (only while it runs).
        var chatActivity: Set<ContractID>?

        mutating func unsubscribe(_ id: ConnectionID, from thread: ContractID) {
            threads[thread]?[id] = nil
            if threads[thread]?.isEmpty == true { threads[thread] = nil }
        }
    }

    private let state = Mutex(State())

    public init() {}

    public var connectionCount: Int { state.withLock { $0.connections.count } }

    func connect(_ outbox: Outbox) -> ConnectionID {
        state.withLock { state in
            state.nextID += 1
            let id = ConnectionID(value: state.nextID)
            state.connections[id] = Connection(outbox: outbox)
            return id
        }
    }

    func disconnect(_ id: ConnectionID) {
        state.withLock { state in
            guard let connection = state.connections.removeValue(forKey: id) else { return }
            for thread in connection.threads { state.unsubscribe(id, from: thread) }
        }
    }

    /// Starts a join: live messages for the thread are held for this connection from now on.
    func beginJoin(_ id: ConnectionID, thread: ContractID, viewer: Participant) {
        state.withLock { state in
            guard let outbox = state.connections[id]?.outbox else { return }
            state.connections[id]?.threads.insert(thread)
            state.threads[thread, default: [:]][id] = Subscription(outbox: outbox, viewer: viewer, phase: .catchingUp([]))
        }
    }

    /// Finishes a join: sends what the database had (`backlog` frames, covering up to `lastSeq`), then the
    /// live messages held meanwhile that are newer, then switches the connection to live delivery.
    func finishJoin(_ id: ConnectionID, thread: ContractID, backlog: [ServerMessage], lastSeq: Int64, then trailer: [ServerMessage]) {
        state.withLock { state in
            guard var subscription = state.threads[thread]?[id], case .catchingUp(let held) = subscription.phase else { return }
            for frame in backlog { subscription.outbox.push(frame) }
            var cursor = lastSeq
            for message in held where message.seq > cursor {
                if message.isVisible(to: subscription.viewer.user, role: subscription.viewer.role) {
                    subscription.outbox.push(.stored(message))
                }
                cursor = message.seq
            }
            for frame in trailer { subscription.outbox.push(frame) }
            subscription.phase = .live(lastSeq: cursor)
            state.threads[thread]?[id] = subscription
        }
    }

    func leave(_ id: ConnectionID, thread: ContractID) {
        state.withLock { state in
            state.connections[id]?.threads.remove(thread)
            state.unsubscribe(id, from: thread)
        }
    }

    /// Delivers what a commit made visible, in commit order: each message to every connection of its thread
    /// allowed to see it; then each stored line's acknowledgement to the connection that sent it, if it
    /// asked (`expectAck`); then each changed contract's state to its thread. All in one go per event loop,
    /// so a connection gets its share of a commit in one write.
    public func publish(_ report: CommitReport, testMoney: Bool, now: Date) {
        var drains = Outbox.Drains()
        state.withLock { state in
            for message in report.messages {
                if message.kind == .chat || message.kind == .note { state.chatActivity?.insert(message.thread) }
                guard var subscribers = state.threads[message.thread] else { continue }
                /// Everyone who gets the public frame, which is encoded once for all of them.
                var publicAudience: [Outbox] = []
                for (id, var subscription) in subscribers {
                    switch subscription.phase {
                    case .catchingUp(var held):
                        held.append(message)
                        subscription.phase = .catchingUp(held)
                    case .live(let lastSeq):
                        guard message.seq > lastSeq else { continue }
                        if message.isVisible(to: subscription.viewer.user, role: subscription.viewer.role) {
                            if message.isPrivate {
                                drains.push(.text(Wire.text(ServerMessage.stored(message))), to: subscription.outbox)
                            } else {
                                publicAudience.append(subscription.outbox)
                            }
                        }
                        subscription.phase = .live(lastSeq: message.seq)
                    }
                    subscribers[id] = subscription
                }
                state.threads[message.thread] = subscribers
                if !publicAudience.isEmpty {
                    drains.push(.encodedText(ByteBuffer(string: Wire.text(ServerMessage.stored(message)))), to: publicAudience)
                }
            }
            for receipt in report.lines {
                let line = receipt.line
                guard let clientID = line.clientMessageID, let author = line.author, let subscribers = state.threads[line.thread],
                    let (id, subscription) = subscribers.first(where: { $0.value.viewer.user == author && $0.value.awaitingAcks.contains(ClientMessageID(clientID)) })
                else { continue }
                state.threads[line.thread]?[id]?.awaitingAcks.remove(ClientMessageID(clientID))
                let ack = ServerMessage.ack(.init(thread: line.thread.rawValue, id: clientID, seq: line.seq, duplicate: false, outcome: receipt.outcome.name))
                drains.push(.text(Wire.text(ack)), to: subscription.outbox)
            }
        }
        // Several lines of one commit may change a contract: its last state is the one to show.
        var changed: [ContractID: Contract] = [:]
        var order: [ContractID] = []
        for case let transition? in report.lines.map(\.transition) {
            if changed.updateValue(transition.contract, forKey: transition.contract.id) == nil { order.append(transition.contract.id) }
        }
        for id in order { pushState(changed[id]!, testMoney: testMoney, now: now, into: &drains) }
        drains.run()
    }

    /// Asks the hub to acknowledge a line this connection is sending when the commit that stores it is
    /// published: the acknowledgement then follows the line's own frame in the same write, instead of a
    /// second write once the sender's task resumes. Settle it with `settleAck` whatever happens.
    func expectAck(_ id: ConnectionID, thread: ContractID, clientID: String) {
        state.withLock { state in
            _ = state.threads[thread]?[id]?.awaitingAcks.insert(ClientMessageID(clientID))
        }
    }

    /// Ends an `expectAck`; true when the hub already sent the acknowledgement (and the contract's new
    /// state, if it changed), false when the caller must answer: a duplicate, an error, or a line stored
    /// without a report (through the payment processor).
    func settleAck(_ id: ConnectionID, thread: ContractID, clientID: String) -> Bool {
        state.withLock { state in
            guard state.threads[thread]?[id] != nil else { return false }
            return state.threads[thread]?[id]?.awaitingAcks.remove(ClientMessageID(clientID)) == nil
        }
    }

    /// Sends each connection in the thread the contract as it now is, seen from its viewer's role.
    public func contractChanged(_ contract: Contract, testMoney: Bool, now: Date) {
        var drains = Outbox.Drains()
        pushState(contract, testMoney: testMoney, now: now, into: &drains)
        drains.run()
    }

    private func pushState(_ contract: Contract, testMoney: Bool, now: Date, into drains: inout Outbox.Drains) {
        guard let subscribers = state.withLock({ $0.threads[contract.id].map { Array($0.values) } }) else { return }
        // A view depends only on the viewer's role (a party's role names the user; any moderator sees the
        // same), so a room of moderators costs one view, not one each. Built outside the lock.
        var audiences: [Role: (viewer: Participant, outboxes: [Outbox])] = [:]
        for subscription in subscribers {
            audiences[subscription.viewer.role, default: (subscription.viewer, [])].outboxes.append(subscription.outbox)
        }
        for (viewer, outboxes) in audiences.values {
            let view = ServerMessage.state(ContractView(contract, viewer: viewer, testMoney: testMoney, now: now))
            drains.push(.encodedText(ByteBuffer(string: Wire.text(view))), to: outboxes)
        }
    }

    /// Sends `frame` to every connection in `thread` that is past its catch-up, except `user`'s own ones.
    /// For what is not stored (typing) or not part of the message order (read markers).
    func broadcast(_ frame: ServerMessage, in thread: ContractID, exceptUser user: UserID? = nil, onlyModerators: Bool = false) {
        var drains = Outbox.Drains()
        let audience = state.withLock { state in
            (state.threads[thread] ?? [:]).values.filter { subscription in
                guard case .live = subscription.phase else { return false }
                if onlyModerators, subscription.viewer.role != .moderator { return false }
                return subscription.viewer.user != user
            }.map(\.outbox)
        }
        guard !audience.isEmpty else { return }
        drains.push(.encodedText(ByteBuffer(string: Wire.text(frame))), to: audience)
        drains.run()
    }

    /// The users with a connection in `thread` now.
    public func connectedUsers(in thread: ContractID) -> Set<UserID> {
        state.withLock { state in Set((state.threads[thread] ?? [:]).values.map(\.viewer.user)) }
    }

    /// Starts noting which threads get chat lines, for ``takeChatActivity()``.
    public func trackChatActivity() {
        state.withLock { state in if state.chatActivity == nil { state.chatActivity = [] } }
    }

    /// The threads that had chat lines since the last call.
    public func takeChatActivity() -> Set<ContractID> {
        state.withLock { state in
            defer { if state.chatActivity != nil { state.chatActivity = [] } }
            return state.chatActivity ?? []
        }
    }

    /// Ends every connection's outbox, so their sockets close ("going away").
    public func closeAll() {
        for connection in state.withLock({ Array($0.connections.values) }) { connection.outbox.finish(.shutdown) }
    }
}
