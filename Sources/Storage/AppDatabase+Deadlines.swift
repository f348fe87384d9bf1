import Foundation
import GRDB
import MilestoneCore

/// A stored deadline that is due.
public struct DueDeadline: Hashable, Sendable, Codable {
    public var contract: ContractID
    public var kind: DeadlineKind
    public var firesAt: Date
}

extension AppDatabase {
    /// Deadlines due at `now`, earliest first.
    public func dueDeadlines(at now: Date, limit: Int = 100) throws -> [DueDeadline] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT contract_id, kind, fires_at FROM deadline WHERE fires_at <= ? ORDER BY fires_at, contract_id, kind LIMIT ?",
                arguments: [now.milliseconds, limit]).compactMap { row in
                guard let kind = DeadlineKind(key: row["kind"]) else { return nil }
                return DueDeadline(contract: ContractID(row["contract_id"] as String), kind: kind, firesAt: Date(milliseconds: row["fires_at"]))
            }
        }
    }

    static func firstDue(_ db: Database, at now: Date) throws -> DueDeadline? {
        let rows = try Row.fetchAll(db, sql: "SELECT contract_id, kind, fires_at FROM deadline WHERE fires_at <= ? ORDER BY fires_at, contract_id, kind LIMIT 1",
            arguments: [now.milliseconds])
        return rows.compactMap { row -> DueDeadline? in
            guard let kind = DeadlineKind(key: row["kind"]) else { return nil }
            return DueDeadline(contract: ContractID(row["contract_id"] as String), kind: kind, firesAt: Date(milliseconds: row["fires_at"]))
        }.first
    }

    /// The next time any deadline fires, if any.
    public func nextDeadline() throws -> Date? {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(fires_at) FROM deadline").map(Date.init(milliseconds:))
        }
    }

    /// Every armed deadline of a contract.
    public func deadlines(of contract: ContractID) throws -> [Deadline] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, fires_at FROM deadline WHERE contract_id = ? ORDER BY fires_at, kind", arguments: [contract.rawValue])
                .compactMap { row in DeadlineKind(key: row["kind"]).map { Deadline(kind: $0, at: Date(milliseconds: row["fires_at"])) } }
        }
    }

    /// Fires one due deadline in one transaction: the deadline row is removed with the state change, so
    /// it fires exactly once even across restarts. Returns the messages it wrote (empty if it no longer applied).
    @discardableResult
    public func fire(_ due: DueDeadline, at now: Date) throws -> (Transition, [StoredMessage])? {
        try writer.write { db in try fire(db, due, at: now) }
    }

    /// The same as `fire(_:at:)`, waiting for the writer without blocking a thread.
    /// `settlement` is what the processor did for the money the deadline moves (nil with the simulated processor).
    @discardableResult
    public func fire(_ due: DueDeadline, at now: Date, settlement: Settlement? = nil) async throws -> (Transition, [StoredMessage])? {
        try await writer.write { db in try fire(db, due, at: now, settlement: settlement) }
    }

    private func fire(_ db: Database, _ due: DueDeadline, at now: Date, settlement: Settlement? = nil) throws -> (Transition, [StoredMessage])? {
        guard let firesAt = try Int64.fetchOne(db, sql: "SELECT fires_at FROM deadline WHERE contract_id = ? AND kind = ?",
            arguments: [due.contract.rawValue, due.kind.key]), firesAt <= now.milliseconds
        else {
            if let settlement { try Self.finish(db, settlement.operation, status: "done", at: now) }
            return nil
        }
        try db.execute(sql: "DELETE FROM deadline WHERE contract_id = ? AND kind = ?", arguments: [due.contract.rawValue, due.kind.key])
        guard let contract = try Self.loadContract(db, due.contract) else { return nil }
        let transition = contract.fire(due.kind, at: now)
        var transcript = try TranscriptWriter(db, thread: due.contract)
        try persist(db, transition, previous: contract, transcript: &transcript, commandID: nil, actor: nil, settlement: settlement, at: now)
        try transcript.saveHead(db)
        announce(db, transcript.written)
        return (transition, transcript.written)
    }

    /// Fires every deadline due at `now`; returns how many wrote something.
    @discardableResult
    public func fireDueDeadlines(at now: Date) throws -> Int {
        var fired = 0
        while true {
            let due = try dueDeadlines(at: now)
            if due.isEmpty { return fired }
            for deadline in due {
                if let (transition, _) = try fire(deadline, at: now), !transition.isEmpty { fired += 1 }
            }
        }
    }
}
