import Crypto
import Foundation

/// A file's id: the lower-case hex SHA-256 of its bytes. The same bytes are one file, wherever they were sent.
public struct FileID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// Nil unless `text` is 64 lower-case hex digits.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == 64, text.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        rawValue = String(text)
    }

    init(digest: SHA256.Digest) {
        rawValue = TranscriptChain.hex(digest)
    }

    public var description: String { rawValue }
    public static func < (a: FileID, b: FileID) -> Bool { a.rawValue < b.rawValue }
}

/// Why bytes were not stored.
public enum BlobError: Error, Hashable, Sendable, CustomStringConvertible {
    /// More than the limit arrived; nothing was kept.
    case tooLarge(limit: Int)
    case io(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): "the file is larger than \(limit) bytes"
        case .io(let what): what
        }
    }
}

/// Where files' bytes live, by id. The filesystem one is the default; a shared one (for several nodes) has
/// the same contract: `commit` returns only once the bytes are durable, so a message that references the
/// file can commit after it.
public protocol BlobStore: Sendable {
    /// A new upload: bytes are appended in order, hashed as they arrive, and kept under their id on commit.
    func upload(limit: Int) throws(BlobError) -> any BlobUpload
    /// Reads `id` in chunks, in order; false when it is not stored.
    func read(_ id: FileID, chunkSize: Int, _ chunk: (Data) async throws -> Void) async throws -> Bool
    func contains(_ id: FileID) -> Bool
    /// The SHA-256 of the stored bytes, read in chunks; nil when they are not stored.
    func digest(_ id: FileID) throws(BlobError) -> FileID?
    /// `count` bytes of `id` from `offset` (fewer at the end).
    func bytes(_ id: FileID, offset: Int64, count: Int) throws(BlobError) -> Data
    /// When the bytes were stored, or nil when they are not.
    func storedAt(_ id: FileID) -> Date?
    func remove(_ id: FileID) throws(BlobError)
    /// Every stored id.
    func ids() throws(BlobError) -> [FileID]
}

/// One upload under way, used by one request at a time (its steps may run on different threads, one after
/// the other). `discard` (or dropping it uncommitted) leaves nothing behind.
public protocol BlobUpload: AnyObject, Sendable {
    func append(_ bytes: UnsafeRawBufferPointer) throws(BlobError)
    /// Makes the bytes durable under their id; returns the id, the size and the first bytes (for sniffing).
    func commit() throws(BlobError) -> (id: FileID, size: Int, head: [UInt8])
    func discard()
}

/// Files in a folder, each at `<folder>/<first two hex digits>/<id>`. An upload is written to a temporary
/// file in `<folder>/tmp`, fsynced, renamed into place, and the folder fsynced: a crash leaves either the
/// whole file or none (temporary files are cleared at start-up).
public struct FileBlobStore: BlobStore {
    public let folder: URL

    /// With `readOnly` (verifying beside a running server) the folder is only read: uploads in progress stay.
    public init(folder: URL, readOnly: Bool = false) throws(BlobError) {
        self.folder = folder
        if readOnly { return }
        do {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("tmp"), withIntermediateDirectories: true)
            // Every shard folder exists (and is durable) before any file is renamed into one: only the shard
            // needs a sync after a rename.
            let digits = Array("0123456789abcdef")
            for a in digits {
                for b in digits {
                    try FileManager.default.createDirectory(at: folder.appendingPathComponent(String([a, b])), withIntermediateDirectories: true)
                }
            }
            try Self.syncFolder(folder)
            try Self.syncFolder(folder.deletingLastPathComponent())
            // Uploads a crash interrupted: never committed, never referenced.
            for leftover in try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("tmp").path) {
                try? FileManager.default.removeItem(at: folder.appendingPathComponent("tmp").appendingPathComponent(leftover))
            }
        } catch {
            throw .io("cannot use \(folder.path) for files: \(error)")
        }
    }

    func path(_ id: FileID) -> URL {
        folder.appendingPathComponent(String(id.rawValue.prefix(2))).appendingPathComponent(id.rawValue)
    }

    public func upload(limit: Int) throws(BlobError) -> any BlobUpload {
        try FileUpload(store: self, limit: limit)
    }

    public func read(_ id: FileID, chunkSize: Int, _ chunk: (Data) async throws -> Void) async throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path(id).path) else { return false }
        defer { try? handle.close() }
        while let data = try handle.read(upToCount: chunkSize), !data.isEmpty {
            try await chunk(data)
        }
        return true
    }

    public func contains(_ id: FileID) -> Bool {
        FileManager.default.fileExists(atPath: path(id).path)
    }

    public func digest(_ id: FileID) throws(BlobError) -> FileID? {
        guard let handle = FileHandle(forReadingAtPath: path(id).path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hasher.update(data: data) }
        } catch {
            throw .io("cannot read file \(id): \(error)")
        }
        return FileID(digest: hasher.finalize())
    }

    public func bytes(_ id: FileID, offset: Int64, count: Int) throws(BlobError) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path(id).path) else { throw .io("file \(id) is not stored") }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(offset))
            return try handle.read(upToCount: count) ?? Data()
        } catch {
            throw .io("cannot read file \(id): \(error)")
        }
    }

    public func storedAt(_ id: FileID) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path(id).path))?[.modificationDate] as? Date
    }

    public func remove(_ id: FileID) throws(BlobError) {
        do {
            guard contains(id) else { return }
            try FileManager.default.removeItem(at: path(id))
        } catch {
            throw .io("cannot remove file \(id): \(error)")
        }
    }

    public func ids() throws(BlobError) -> [FileID] {
        do {
            var found: [FileID] = []
            for shard in try FileManager.default.contentsOfDirectory(atPath: folder.path) where shard.utf8.count == 2 {
                for name in try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(shard).path) {
                    if let id = FileID(name) { found.append(id) }
                }
            }
            return found.sorted()
        } catch {
            throw .io("cannot list files in \(folder.path): \(error)")
        }
    }

    /// fsyncs a folder, so a rename into it survives a power cut.
    static func syncFolder(_ folder: URL) throws(BlobError) {
        let descriptor = open(folder.path, O_RDONLY)
        guard descriptor >= 0 else { throw .io("cannot open \(folder.path) to sync it") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .io("cannot sync \(folder.path)") }
    }
}

/// Unchecked: one request owns it and calls it in sequence (``BlobUpload``).
final class FileUpload: BlobUpload, @unchecked Sendable {
    let store: FileBlobStore
    let limit: Int
    let temporary: URL
    private var handle: FileHandle?
    private var hasher = SHA256()
    private var size = 0
    private var head: [UInt8] = []

    init(store: FileBlobStore, limit: Int) throws(BlobError) {
        self.store = store
        self.limit = limit
        temporary = store.folder.appendingPathComponent("tmp").appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil), let handle = FileHandle(forWritingAtPath: temporary.path) else {
            throw .io("cannot create a temporary file in \(store.folder.path)")
        }
        self.handle = handle
    }

    deinit { discard() }

    func append(_ bytes: UnsafeRawBufferPointer) throws(BlobError) {
        guard let handle else { throw .io("the upload is closed") }
        guard size + bytes.count <= limit else {
            discard()
            throw .tooLarge(limit: limit)
        }
        hasher.update(bufferPointer: bytes)
        if head.count < 512 { head.append(contentsOf: bytes.prefix(512 - head.count)) }
        size += bytes.count
        do { try handle.write(contentsOf: Data(bytes)) } catch {
            discard()
            throw .io("cannot write the upload: \(error)")
        }
    }

    func commit() throws(BlobError) -> (id: FileID, size: Int, head: [UInt8]) {
        guard let handle else { throw .io("the upload is closed") }
        let id = FileID(digest: hasher.finalize())
        do {
            try handle.synchronize()
            try handle.close()
            self.handle = nil
            let final = store.path(id)
            let shard = final.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: final.path) {
                // The same bytes are stored already: refreshed, so a collection running now keeps them.
                try FileManager.default.removeItem(at: temporary)
                try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: final.path)
            } else {
                guard rename(temporary.path, final.path) == 0 else { throw BlobError.io("cannot move the upload into place") }
                try FileBlobStore.syncFolder(shard)
            }
        } catch let error as BlobError {
            discard()
            throw error
        } catch {
            discard()
            throw .io("cannot store the upload: \(error)")
        }
        return (id, size, head)
    }

    func discard() {
        if let handle { try? handle.close() }
        handle = nil
        try? FileManager.default.removeItem(at: temporary)
    }
}
