import Foundation
import GRDB
import MilestoneCore

/// A file uploaded to a contract's thread.
public struct StoredFile: Hashable, Sendable, Codable {
    public var contract: ContractID
    public var id: FileID
    public var name: String
    public var size: Int64
    /// From the bytes (``FileType``), never the uploader's claim.
    public var contentType: String
    public var uploadedBy: UserID
    public var uploadedAt: Date
    /// A message carries it (then it is kept for good).
    public var referenced: Bool

    public init(contract: ContractID, id: FileID, name: String, size: Int64, contentType: String, uploadedBy: UserID, uploadedAt: Date, referenced: Bool) {
        self.contract = contract
        self.id = id
        self.name = name
        self.size = size
        self.contentType = contentType
        self.uploadedBy = uploadedBy
        self.uploadedAt = uploadedAt
        self.referenced = referenced
    }
}

extension AppDatabase {
    /// Bytes the contract's files take together.
    public func fileBytes(of contract: ContractID) throws -> Int64 {
        try writer.read { db in try Self.fileBytes(db, contract) }
    }

    static func fileBytes(_ db: Database, _ contract: ContractID) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM file WHERE contract_id = ?", arguments: [contract.rawValue]) ?? 0
    }

    /// Records an upload whose bytes are durable in the blob store. Over `quota` (all the contract's files
    /// together) it is refused and nothing is recorded; the same bytes uploaded again are the same file.
    public func recordUpload(_ file: StoredFile, quota: Int64) async throws -> StoredFile {
        try await writer.write { db in
            if let existing = try Self.file(db, file.contract, file.id) { return existing }
            let used = try Self.fileBytes(db, file.contract)
            guard used + file.size <= quota else {
                throw StorageError.invalid("the contract's files would take \(used + file.size) bytes; its quota is \(quota) (\(quota - used) left)")
            }
            try db.execute(sql: """
                INSERT INTO file (contract_id, id, name, size, content_type, uploaded_by, uploaded_at, referenced) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
                """, arguments: [file.contract.rawValue, file.id.rawValue, file.name, file.size, file.contentType, file.uploadedBy.rawValue,
                    file.uploadedAt.milliseconds])
            return file
        }
    }

    /// Forgets an upload no message references yet (its bytes were lost before it was answered).
    public func forgetUnreferencedFile(_ id: FileID, of contract: ContractID) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM file WHERE contract_id = ? AND id = ? AND referenced = 0", arguments: [contract.rawValue, id.rawValue])
        }
    }

    /// Whether any contract has a file with these bytes.
    public func isFileKnown(_ id: FileID) throws -> Bool {
        try writer.read { db in try Self.isFileKnown(db, id) }
    }

    static func isFileKnown(_ db: Database, _ id: FileID) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM file WHERE id = ?)", arguments: [id.rawValue]) ?? false
    }

    public func file(_ id: FileID, of contract: ContractID) throws -> StoredFile? {
        try writer.read { db in try Self.file(db, contract, id) }
    }

    public func files(of contract: ContractID) throws -> [StoredFile] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM file WHERE contract_id = ? ORDER BY uploaded_at, id", arguments: [contract.rawValue]).map(Self.storedFile)
        }
    }

    static func file(_ db: Database, _ contract: ContractID, _ id: FileID) throws -> StoredFile? {
        try Row.fetchOne(db, sql: "SELECT * FROM file WHERE contract_id = ? AND id = ?", arguments: [contract.rawValue, id.rawValue]).map(Self.storedFile)
    }

    private static func storedFile(_ row: Row) throws -> StoredFile {
        let contract = ContractID(row["contract_id"] as String)
        guard let id = FileID(row["id"] as String) else { throw StorageError.corrupt("file of \(contract): bad id") }
        return StoredFile(contract: contract, id: id, name: row["name"], size: row["size"], contentType: row["content_type"],
            uploadedBy: UserID(row["uploaded_by"] as String), uploadedAt: Date(milliseconds: row["uploaded_at"]), referenced: row["referenced"] as Bool)
    }

    /// The thread's messages that carry files, in order (deliveries, evidence), as `viewer` may see them.
    public func messagesWithFiles(in thread: ContractID) throws -> [StoredMessage] {
        try writer.read { db in
            try MessageRecord.fetchAll(db, sql: "SELECT * FROM message WHERE thread_id = ? AND files IS NOT NULL ORDER BY seq", arguments: [thread.rawValue])
                .map { try $0.message() }
        }
    }

    /// Whether a party may fetch the file: they uploaded it, or a message they may read carries it. (A file on
    /// a private line, a moderator's internal note or a sealed review, stays with the people who see that line.)
    public func file(_ id: FileID, in thread: ContractID, isVisibleTo user: UserID) throws -> Bool {
        try writer.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM file WHERE contract_id = ? AND id = ? AND uploaded_by = ?)
                    OR EXISTS (SELECT 1 FROM message WHERE thread_id = ? AND files LIKE '%' || ? || '%' AND (visible_to IS NULL OR visible_to = ?))
                """, arguments: [thread.rawValue, id.rawValue, user.rawValue, thread.rawValue, id.rawValue, user.rawValue]) ?? false
        }
    }

    /// Names the first of `files` that was not uploaded to `thread`, or nil when all were. Checked before a
    /// money command goes to the payment processor: once money has moved, a line is never refused.
    public func unknownFile(among files: [FileID], in thread: ContractID) throws -> FileID? {
        try writer.read { db in
            try files.first { try Self.file(db, thread, $0) == nil }
        }
    }

    /// A line carries these files: each must have been uploaded to this thread. Marks them kept. Not `strict`
    /// (the money already moved), a file that is not there is left out of the line instead of refusing it.
    static func attach(_ db: Database, _ files: [FileID], to thread: ContractID, strict: Bool) throws -> [FileID] {
        var kept: [FileID] = []
        for id in files {
            let statement = try db.cachedStatement(sql: "UPDATE file SET referenced = 1 WHERE contract_id = ? AND id = ?")
            try statement.execute(arguments: [thread.rawValue, id.rawValue])
            if db.changesCount == 1 {
                kept.append(id)
            } else if strict {
                throw StorageError.invalid("file \(id) was not uploaded to this thread; upload it first (POST /api/contracts/\(thread)/files)")
            }
        }
        return kept
    }

    /// Forgets files no message references that were uploaded before `cutoff`, then removes from `blobs`
    /// every stored file no contract has any more. Returns how many blobs were removed.
    @discardableResult
    public func collectUnreferencedFiles(uploadedBefore cutoff: Date, blobs: any BlobStore) async throws -> Int {
        let kept = try await writer.write { db -> Set<String> in
            try db.execute(sql: "DELETE FROM file WHERE referenced = 0 AND uploaded_at < ?", arguments: [cutoff.milliseconds])
            return Set(try String.fetchAll(db, sql: "SELECT DISTINCT id FROM file"))
        }
        var removed = 0
        for id in try blobs.ids() where !kept.contains(id.rawValue) {
            // Bytes stored since the cutoff may belong to an upload whose row is not written yet: kept until a
            // later collection.
            guard let stored = blobs.storedAt(id), stored < cutoff else { continue }
            guard try await writer.read({ db in try Self.isFileKnown(db, id) }) == false else { continue }
            try blobs.remove(id)
            removed += 1
        }
        return removed
    }
}
