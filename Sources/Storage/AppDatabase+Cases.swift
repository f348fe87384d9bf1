import Foundation
import GRDB
import MilestoneCore

/// A dispute's case as kept after it closes: the moderators' queue of resolved cases and the case file.
public struct CaseRecord: Hashable, Sendable {
    public var contract: ContractID
    public var title: String
    public var preset: String
    public var currency: Currency
    public var buyer: UserID
    public var freelancer: UserID
    public var about: DisputeScope
    public var raisedBy: Role
    public var reason: String
    public var openedAt: Date
    public var closedAt: Date?
    /// The event that closed it (`dispute_resolved`, `offer_accepted`, `order_cancelled` ...).
    public var closedBy: String?
    /// The thread's words for how it closed.
    public var resolution: String?
    /// Paid to the freelancer and returned to the buyer when it closed, in minor units.
    public var released: Int64
    public var refunded: Int64
    /// The case (statements, response, assignee) as it was when it closed.
    public var file: DisputeCase?

    public init(
        contract: ContractID, title: String, preset: String, currency: Currency, buyer: UserID, freelancer: UserID, about: DisputeScope,
        raisedBy: Role, reason: String, openedAt: Date, closedAt: Date?, closedBy: String?, resolution: String?, released: Int64, refunded: Int64,
        file: DisputeCase?
    ) {
        (self.contract, self.title, self.preset, self.currency, self.buyer, self.freelancer, self.about) = (contract, title, preset, currency, buyer, freelancer, about)
        (self.raisedBy, self.reason, self.openedAt, self.closedAt, self.closedBy, self.resolution) = (raisedBy, reason, openedAt, closedAt, closedBy, resolution)
        (self.released, self.refunded, self.file) = (released, refunded, file)
    }
}

extension Milestone {
    /// The open dispute on it, if any.
    public var openDispute: MilestoneState.Dispute? {
        if case .disputed(let dispute) = state { return dispute }
        return nil
    }
}

extension AppDatabase {
    /// Writes a step's case changes in its transaction: a dispute that opened gets its row, one that closed is
    /// completed with how.
    static func record(_ db: Database, _ changes: [CaseChange], of contract: ContractID, at now: Date) throws {
        for change in changes {
            let key: [any DatabaseValueConvertible & Sendable] = [contract.rawValue, change.about.description, change.openedAt.milliseconds]
            guard let closing = change.closing else {
                try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO dispute_case (contract_id, about, opened_at, raised_by, reason) VALUES (?, ?, ?, ?, ?)
                    """).execute(arguments: StatementArguments(key + [change.raisedBy.rawValue, change.reason]))
                continue
            }
            let values: [any DatabaseValueConvertible & Sendable] = [
                now.milliseconds, closing.event, closing.resolution, closing.released, closing.refunded, try closing.file.map(JSON.string),
            ]
            try db.cachedStatement(sql: """
                UPDATE dispute_case SET closed_at = ?, closed_by = ?, resolution = ?, released = ?, refunded = ?, file = ?
                WHERE contract_id = ? AND about = ? AND opened_at = ?
                """).execute(arguments: StatementArguments(values + key))
            if db.changesCount == 0 {
                // Opened before cases were kept: its row is written now, complete.
                try db.cachedStatement(sql: """
                    INSERT INTO dispute_case (closed_at, closed_by, resolution, released, refunded, file, contract_id, about, opened_at, raised_by, reason)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: StatementArguments(values + key + [change.raisedBy.rawValue, change.reason]))
            }
        }
    }

    /// Disputes that were resolved, newest first: only those opened before `openedBefore` and, with a
    /// currency, in it (filtered before the limit).
    public func resolvedCases(openedBefore: Date? = nil, currency: Currency? = nil, limit: Int = 500) throws -> [CaseRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                \(Self.caseColumns)
                WHERE d.closed_at IS NOT NULL AND d.opened_at <= ? AND (? IS NULL OR c.currency = ?)
                ORDER BY d.closed_at DESC, d.contract_id, d.about LIMIT ?
                """, arguments: [openedBefore?.milliseconds ?? Int64.max, currency?.code, currency?.code, limit]).map(Self.caseRecord)
        }
    }

    /// Every dispute a contract has had about `about`, oldest first.
    public func cases(of contract: ContractID, about: DisputeScope) throws -> [CaseRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                \(Self.caseColumns)
                WHERE d.contract_id = ? AND d.about = ? ORDER BY d.opened_at
                """, arguments: [contract.rawValue, about.description]).map(Self.caseRecord)
        }
    }

    /// A case with the contract it belongs to, as ``caseRecord(_:)`` reads it.
    private static let caseColumns = """
        SELECT d.*, c.title, c.preset, c.currency, c.buyer_id, c.freelancer_id FROM dispute_case d JOIN contract c ON c.id = d.contract_id
        """

    private static func caseRecord(_ row: Row) throws -> CaseRecord {
        let contract = ContractID(row["contract_id"] as String)
        let aboutText: String = row["about"]
        let about: DisputeScope
        if aboutText == "contract" {
            about = .contract
        } else if let number = MilestoneNumber(name: aboutText) {
            about = .milestone(number)
        } else {
            throw StorageError.corrupt("dispute case about \(aboutText) on \(contract)")
        }
        guard let raisedBy = Role(rawValue: row["raised_by"]), let currency = Currency(code: row["currency"]) else {
            throw StorageError.corrupt("dispute case on \(contract)")
        }
        return CaseRecord(
            contract: contract, title: row["title"], preset: row["preset"], currency: currency, buyer: UserID(row["buyer_id"] as String),
            freelancer: UserID(row["freelancer_id"] as String), about: about, raisedBy: raisedBy, reason: row["reason"], openedAt: Date(milliseconds: row["opened_at"]),
            closedAt: (row["closed_at"] as Int64?).map(Date.init(milliseconds:)), closedBy: row["closed_by"], resolution: row["resolution"],
            released: row["released"], refunded: row["refunded"], file: try (row["file"] as String?).map { try JSON.decode(DisputeCase.self, $0) })
    }

    /// The thread's system messages about a case's subject (a milestone's, or the contract's own), in order:
    /// the timeline of a case file.
    public func timeline(of contract: ContractID, about: DisputeScope) throws -> [StoredMessage] {
        try writer.read { db in
            let condition = switch about {
            case .milestone: "milestone = ?"
            case .contract: "milestone IS NULL AND event IS NOT NULL AND ? IS NULL"
            }
            var milestone: Int? = nil
            if case .milestone(let number) = about { milestone = number.rawValue }
            return try MessageRecord.fetchAll(db, sql: "SELECT * FROM message WHERE thread_id = ? AND kind = 'system' AND \(condition) ORDER BY seq",
                arguments: [contract.rawValue, milestone]).map { try $0.message() }
        }
    }
}
