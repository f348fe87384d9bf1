import Foundation
import GRDB
import MilestoneCore

extension AppDatabase {
    /// Messages of a thread after `seq`, oldest first, that `viewer` may read (private notices of
    /// others are left out for parties). At most `limit`.
    public func messages(in thread: ContractID, after seq: Int64 = 0, limit: Int = 500, visibleTo viewer: Participant) throws -> [StoredMessage] {
        try writer.read { db in
            var request = MessageRecord
                .filter(Column("thread_id") == thread.rawValue && Column("seq") > seq)
            if viewer.role != .moderator {
                request = request.filter(Column("visible_to") == nil || Column("visible_to") == viewer.user.rawValue)
            }
            return try request.order(Column("seq")).limit(limit).fetchAll(db).map { try $0.message() }
        }
    }

    /// Every stored message of a thread, private ones included, in order: for moderators and verification.
    public func fullTranscript(of thread: ContractID) throws -> [StoredMessage] {
        try writer.read { db in
            try MessageRecord.filter(Column("thread_id") == thread.rawValue).order(Column("seq")).fetchAll(db).map { try $0.message() }
        }
    }
}
