import Foundation
import MilestoneCore
import PostgresNIO
import Storage

extension PostgresStore {
    /// Writes a step's case changes (``CaseChange``, worked out once for both stores) in its transaction.
    func record(_ connection: PostgresConnection, _ changes: [CaseChange], of contract: ContractID, at now: Date) async throws {
        for change in changes {
            let (id, about, openedAt) = (contract.rawValue, change.about.description, change.openedAt.milliseconds)
            guard let closing = change.closing else {
                try await connection.query("""
                    INSERT INTO dispute_case (contract_id, about, opened_at, raised_by, reason)
                    VALUES (\(id), \(about), \(openedAt), \(change.raisedBy.rawValue), \(change.reason)) ON CONFLICT DO NOTHING
                    """, logger: logger)
                continue
            }
            let file = try closing.file.map(Self.json)
            let updated = try await connection.query("""
                UPDATE dispute_case SET closed_at = \(now.milliseconds), closed_by = \(closing.event), resolution = \(closing.resolution),
                    released = \(closing.released), refunded = \(closing.refunded), file = \(file)
                WHERE contract_id = \(id) AND about = \(about) AND opened_at = \(openedAt) RETURNING 1
                """, logger: logger).collect()
            if updated.isEmpty {
                try await connection.query("""
                    INSERT INTO dispute_case (closed_at, closed_by, resolution, released, refunded, file, contract_id, about, opened_at, raised_by, reason)
                    VALUES (\(now.milliseconds), \(closing.event), \(closing.resolution), \(closing.released), \(closing.refunded), \(file),
                            \(id), \(about), \(openedAt), \(change.raisedBy.rawValue), \(change.reason))
                    """, logger: logger)
            }
        }
    }

    public func caseHistory(of contract: ContractID, about: DisputeScope) async throws -> [CaseRecord] {
        let rows = try await client.query("""
            SELECT d.raised_by, d.reason, d.opened_at, d.closed_at, d.closed_by, d.resolution, d.released, d.refunded, d.file,
                   c.title, c.preset, c.currency, c.buyer_id, c.freelancer_id
            FROM dispute_case d JOIN contract c ON c.id = d.contract_id
            WHERE d.contract_id = \(contract.rawValue) AND d.about = \(about.description) ORDER BY d.opened_at
            """, logger: logger)
        var records: [CaseRecord] = []
        for try await row in rows {
            let (raisedBy, reason, openedAt, closedAt, closedBy, resolution, released, refunded, file, title, preset, code, buyer, freelancer) =
                try row.decode((String, String, Int64, Int64?, String?, String?, Int64, Int64, String?, String, String, String, String, String).self)
            guard let role = Role(rawValue: raisedBy), let currency = Currency(code: code) else { throw StorageError.corrupt("dispute case on \(contract)") }
            records.append(CaseRecord(
                contract: contract, title: title, preset: preset, currency: currency, buyer: UserID(buyer), freelancer: UserID(freelancer), about: about,
                raisedBy: role, reason: reason, openedAt: Date(milliseconds: openedAt), closedAt: closedAt.map(Date.init(milliseconds:)),
                closedBy: closedBy, resolution: resolution, released: released, refunded: refunded,
                file: try file.map { try JSONDecoder().decode(DisputeCase.self, from: Data($0.utf8)) }))
        }
        return records
    }
}
