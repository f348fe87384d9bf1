import Foundation
import GRDB
import MilestoneCore
import Payments

/// What the payment processor did for one step, committed with the step.
public struct Settlement: Hashable, Sendable {
    /// The `payment_operation` this finishes (a command id, a deadline's key, a webhook event id).
    public var operation: String
    public var results: [PaymentResult]
    /// A line the bot adds after the step's messages (what happened across a restart, say).
    public var note: String?

    public init(operation: String, results: [PaymentResult] = [], note: String? = nil) {
        self.operation = operation
        self.results = results
        self.note = note
    }

    /// The processor's references for a milestone's postings.
    func reference(for milestone: MilestoneNumber) -> String? {
        let references = results.filter { $0.milestone == milestone }.map(\.reference)
        return references.isEmpty ? nil : references.joined(separator: ",")
    }
}

/// How the processor answered the calls a line needed.
public enum PaymentOutcome: Hashable, Sendable {
    case settled(Settlement)
    /// The processor said no: the line is stored as a refused command with `reason`, and nothing moves.
    case failed(operation: String, reason: String)
}

/// Work that moves money, stored so it can be run again after a crash.
public enum PaymentWork: Hashable, Sendable, Codable {
    case line(LineRequest)
    case deadline(DueDeadline, at: Date)
    /// A card authorization about to expire: capture it or let it go.
    case holdExpiry(ContractID, MilestoneNumber, HoldExpiryAction)

    public var contract: ContractID {
        switch self {
        case .line(let request): request.thread
        case .deadline(let due, _): due.contract
        case .holdExpiry(let contract, _, _): contract
        }
    }
}

/// A stored money movement that has not been committed yet.
public struct PendingPayment: Hashable, Sendable {
    public var key: String
    public var work: PaymentWork
    public var calls: [KeyedCall]
    /// What calls recorded mid-way, by call key (the PaymentIntent a hold created).
    public var checkpoints: [String: String]
    public var attempts: Int
    public var lastError: String?
}

/// A contract as the payment desk needs it.
public struct PaymentContext: Hashable, Sendable {
    public var contract: Contract
    public var parties: PaymentParties
    public var holds: [MilestoneNumber: ProcessorHold]
}

/// An authorization nearing its expiry.
public struct ExpiringHold: Hashable, Sendable {
    public var contract: ContractID
    public var hold: ProcessorHold
    public var warned: Bool
}

extension AppDatabase {
    // MARK: - Parties and holds

    /// Records who pays and who is paid at the processor for a contract.
    public func setPaymentParties(_ parties: PaymentParties, of contract: ContractID) throws {
        if let problem = parties.problem { throw StorageError.invalid(problem) }
        try writer.write { db in
            try Self.savePaymentParties(db, parties, of: contract)
            guard db.changesCount == 1 else { throw StorageError.unknownContract(contract.rawValue) }
        }
    }

    static func savePaymentParties(_ db: Database, _ parties: PaymentParties, of contract: ContractID) throws {
        try db.execute(sql: "UPDATE contract SET payer_customer = ?, payer_payment_method = ?, payout_account = ? WHERE id = ?",
            arguments: [parties.customer, parties.paymentMethod, parties.payoutAccount, contract.rawValue])
    }

    public func paymentContext(_ contract: ContractID) async throws -> PaymentContext {
        try await writer.read { db in try Self.paymentContext(db, contract) }
    }

    static func paymentContext(_ db: Database, _ id: ContractID) throws -> PaymentContext {
        guard let contract = try loadContract(db, id),
            let row = try Row.fetchOne(db, sql: "SELECT payer_customer, payer_payment_method, payout_account FROM contract WHERE id = ?", arguments: [id.rawValue])
        else { throw StorageError.unknownContract(id.rawValue) }
        let parties = PaymentParties(customer: row["payer_customer"], paymentMethod: row["payer_payment_method"], payoutAccount: row["payout_account"])
        var holds: [MilestoneNumber: ProcessorHold] = [:]
        for hold in try openHolds(db, "contract_id = ?", [id.rawValue]) { holds[hold.hold.milestone] = hold.hold }
        return PaymentContext(contract: contract, parties: parties, holds: holds)
    }

    private static func openHolds(_ db: Database, _ condition: String, _ arguments: StatementArguments) throws -> [ExpiringHold] {
        try Row.fetchAll(db, sql: "SELECT * FROM payment_hold WHERE open = 1 AND \(condition) ORDER BY expires_at, contract_id, milestone", arguments: arguments).compactMap { row in
            guard let kind = HoldKind(rawValue: row["kind"]) else { return nil }
            let hold = ProcessorHold(
                milestone: MilestoneNumber(row["milestone"]), kind: kind, paymentIntent: row["payment_intent"], amount: row["amount"],
                createdAt: Date(milliseconds: row["created_at"]), expiresAt: (row["expires_at"] as Int64?).map(Date.init(milliseconds:)))
            return ExpiringHold(contract: ContractID(row["contract_id"] as String), hold: hold, warned: row["warned"] as Bool)
        }
    }

    /// Open authorizations that expire before `before`, soonest first.
    public func authorizations(expiringBefore before: Date) async throws -> [ExpiringHold] {
        try await writer.read { db in
            try Self.openHolds(db, "kind = 'authorization' AND expires_at <= ?", [before.milliseconds])
        }
    }

    /// The open hold on a PaymentIntent, if one of our milestones has it.
    public func hold(onPaymentIntent intent: String) async throws -> ExpiringHold? {
        try await writer.read { db in try Self.openHolds(db, "payment_intent = ?", [intent]).first }
    }

    // MARK: - Previews (no writes)

    /// What a line would do now, without storing anything: nil when it was handled before, or moves no money.
    public func moneyMovement(of request: LineRequest) async throws -> (PaymentContext, Transition)? {
        try await writer.read { db in
            guard case .command(let command)? = request.parsed, try CommandLogRecord.fetchOne(db, key: request.commandID.rawValue) == nil else { return nil }
            let context = try Self.paymentContext(db, request.thread)
            guard case .success(.applied(let transition)) = context.contract.apply(command, by: request.author, at: request.receivedAt),
                !transition.postings.isEmpty
            else { return nil }
            return (context, transition)
        }
    }

    /// What firing a deadline would do now, if it moves money.
    public func moneyMovement(of due: DueDeadline, at now: Date) async throws -> (PaymentContext, Transition)? {
        try await writer.read { db in
            guard try Int64.fetchOne(db, sql: "SELECT fires_at FROM deadline WHERE contract_id = ? AND kind = ?", arguments: [due.contract.rawValue, due.kind.key]) != nil
            else { return nil }
            let context = try Self.paymentContext(db, due.contract)
            let transition = context.contract.fire(due.kind, at: now)
            return transition.postings.isEmpty ? nil : (context, transition)
        }
    }

    // MARK: - Operations

    /// Stores a money movement before its first processor call. If one with this key is pending already
    /// (a resend), returns that one instead.
    public func beginPayment(key: String, work: PaymentWork, calls: [KeyedCall], at now: Date) async throws -> PendingPayment {
        try await writer.write { db in
            if let existing = try Self.pendingPayment(db, key) { return existing }
            // A line with this id was stored meanwhile (between the caller's preview and now): money must not
            // move for an id whose outcome is already on record.
            if case .line = work, try CommandLogRecord.fetchOne(db, key: key) != nil { throw StorageError.alreadyHandled(key) }
            try db.execute(sql: """
                INSERT INTO payment_operation (key, contract_id, work, calls, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)
                """, arguments: [key, work.contract.rawValue, try JSON.string(work), try JSON.string(calls), now.milliseconds, now.milliseconds])
            return PendingPayment(key: key, work: work, calls: calls, checkpoints: [:], attempts: 0, lastError: nil)
        }
    }

    /// Saves what a call recorded mid-way (durable when this returns).
    public func recordCheckpoint(_ value: String, call: String, of operation: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE payment_operation SET checkpoints = json_set(checkpoints, '$.' || json_quote(?), ?) WHERE key = ?",
                arguments: [call, value, operation])
        }
    }

    /// Counts a failed attempt; the operation stays pending for the next try.
    public func recordAttempt(of operation: String, error: String, at now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE payment_operation SET attempts = attempts + 1, last_error = ?, updated_at = ? WHERE key = ?",
                arguments: [error, now.milliseconds, operation])
        }
    }

    static func finish(_ db: Database, _ operation: String, status: String, error: String? = nil, at now: Date) throws {
        try db.execute(sql: "UPDATE payment_operation SET status = ?, last_error = COALESCE(?, last_error), updated_at = ? WHERE key = ?",
            arguments: [status, error, now.milliseconds, operation])
    }

    public func pendingPayments() async throws -> [PendingPayment] {
        try await writer.read { db in
            try String.fetchAll(db, sql: "SELECT key FROM payment_operation WHERE status = 'pending' ORDER BY created_at, key")
                .compactMap { try Self.pendingPayment(db, $0) }
        }
    }

    public func pendingPayment(_ key: String) async throws -> PendingPayment? {
        try await writer.read { db in try Self.pendingPayment(db, key) }
    }

    /// Whether a contract has a money movement under way (other money commands wait for it).
    public func hasPendingPayment(_ contract: ContractID) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM payment_operation WHERE contract_id = ? AND status = 'pending')", arguments: [contract.rawValue]) ?? false
        }
    }

    private static func pendingPayment(_ db: Database, _ key: String) throws -> PendingPayment? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM payment_operation WHERE key = ? AND status = 'pending'", arguments: [key]) else { return nil }
        return PendingPayment(
            key: row["key"], work: try JSON.decode(PaymentWork.self, row["work"]), calls: try JSON.decode([KeyedCall].self, row["calls"]),
            checkpoints: try JSON.decode([String: String].self, row["checkpoints"]), attempts: row["attempts"], lastError: row["last_error"])
    }

    // MARK: - Committing

    /// Writes the processor's results of a step: new holds, closed holds, the note, and finishes the operation.
    func recordSettlement(_ db: Database, _ settlement: Settlement, of transition: Transition, transcript: inout TranscriptWriter, at now: Date) throws {
        let contract = transition.contract.id.rawValue
        // What the processor did must be for the milestones this step moves money on: a step that came out
        // differently on a retry (the contract changed meanwhile) is not committed with another step's results.
        // (A captured authorization changes a hold with no posting: its step has none.)
        let moved = Set(transition.postings.map(\.milestone))
        if !moved.isEmpty, let stray = settlement.results.first(where: { !moved.contains($0.milestone) }) {
            throw StorageError.ledgerViolation("\(contract): the processor's result for \(stray.milestone) does not belong to this step (\(moved.map(\.description).sorted()))")
        }
        // New holds first, then the ones this step settles are closed (a bonus is both in one step).
        for hold in settlement.results.compactMap(\.hold) {
            try db.execute(sql: """
                INSERT OR REPLACE INTO payment_hold (contract_id, milestone, kind, payment_intent, amount, created_at, expires_at, warned, open)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1)
                """, arguments: [contract, hold.milestone.rawValue, hold.kind.rawValue, hold.paymentIntent, hold.amount, hold.createdAt.milliseconds, hold.expiresAt?.milliseconds])
        }
        for posting in transition.postings where posting.kind != .hold {
            try db.execute(sql: "UPDATE payment_hold SET open = 0 WHERE contract_id = ? AND milestone = ?", arguments: [contract, posting.milestone.rawValue])
        }
        if let note = settlement.note { try transcript.append(db, kind: .system, body: note, at: now) }
        try Self.finish(db, settlement.operation, status: "done", at: now)
    }

    /// Commits what the processor did or said outside a command (a webhook event, an expiring
    /// authorization): `change` builds the step from the contract as it is now; nil means nothing to do.
    /// With `eventID`, an event already applied is skipped. The hold warning flag is set with `warned`.
    @discardableResult
    public func commitProcessorChange(
        of id: ContractID, eventID: (id: String, type: String)? = nil, settlement: Settlement, warned: MilestoneNumber? = nil, at now: Date,
        _ change: @escaping @Sendable (PaymentContext) -> Transition?
    ) async throws -> (Transition, [StoredMessage])? {
        try await writer.write { db in
            if let eventID {
                guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM processor_event WHERE id = ?)", arguments: [eventID.id]) == false else { return nil }
                try db.execute(sql: "INSERT INTO processor_event (id, type, received_at) VALUES (?, ?, ?)", arguments: [eventID.id, eventID.type, now.milliseconds])
            }
            if let warned {
                try db.execute(sql: "UPDATE payment_hold SET warned = 1 WHERE contract_id = ? AND milestone = ?", arguments: [id.rawValue, warned.rawValue])
            }
            let context = try Self.paymentContext(db, id)
            guard let transition = change(context) else {
                try Self.finish(db, settlement.operation, status: "done", at: now)
                return nil
            }
            var transcript = try TranscriptWriter(db, thread: id)
            try persist(db, transition, previous: context.contract, transcript: &transcript, commandID: nil, actor: nil, settlement: settlement, at: now)
            try transcript.saveHead(db)
            announce(db, transcript.written)
            return (transition, transcript.written)
        }
    }

    /// Records a verified processor event that changes nothing here; false when it was seen before.
    @discardableResult
    public func recordProcessorEvent(id: String, type: String, at now: Date) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO processor_event (id, type, received_at) VALUES (?, ?, ?)", arguments: [id, type, now.milliseconds])
            return db.changesCount == 1
        }
    }

    /// Every processor event received, oldest first.
    public func processorEvents() throws -> [(id: String, type: String)] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, type FROM processor_event ORDER BY received_at, id").map { ($0["id"], $0["type"]) }
        }
    }

}
