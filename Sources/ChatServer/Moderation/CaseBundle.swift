import Crypto
import Foundation
import MilestoneCore
import Storage
import ZIPFoundation

/// One ZIP a moderator can hand to someone outside: the transcript (JSON for machines, HTML for people),
/// the hash chain's fields message by message, every file under its SHA-256, and a README saying how to
/// check it all offline. ``verify(_:)`` does that check without the database (`milestone-bot verify --bundle`).
public enum CaseBundle {
    /// A message exactly as the chain hashes it (docs/PROTOCOL.md, *The hash chain*).
    struct ChainRecord: Codable {
        var thread: String
        var seq: Int64
        var author: String?
        var authorRole: String?
        var kind: String
        var visibleTo: String?
        var text: String
        var clientID: String?
        var event: String?
        /// The milestone's number, without the `M`.
        var milestone: Int?
        var createdAtMs: Int64
        var prevHash: String
        var hash: String
        var files: [String]

        enum CodingKeys: String, CodingKey {
            case thread, seq, author, authorRole = "author_role", kind, visibleTo = "visible_to", text, clientID = "client_id", event,
                milestone, createdAtMs = "created_at_ms", prevHash = "prev_hash", hash, files
        }

        init(_ message: StoredMessage) {
            thread = message.thread.rawValue
            seq = message.seq
            author = message.author?.rawValue
            authorRole = message.authorRole?.rawValue
            kind = message.kind.rawValue
            visibleTo = message.visibleTo?.rawValue
            text = message.body
            clientID = message.clientMessageID
            event = message.event
            milestone = message.milestone?.rawValue
            createdAtMs = message.createdAt.milliseconds
            prevHash = message.prevHash
            hash = message.hash
            files = message.files.map(\.rawValue)
        }

        /// The stored message these fields are, or nil when a field cannot be one.
        var message: StoredMessage? {
            guard let kind = MessageKind(rawValue: kind) else { return nil }
            var role: Role?
            if let authorRole {
                guard let parsed = Role(rawValue: authorRole) else { return nil }
                role = parsed
            }
            let ids = files.compactMap(FileID.init)
            guard ids.count == files.count else { return nil }
            return StoredMessage(
                thread: ContractID(thread), seq: seq, author: author.map { UserID($0) }, authorRole: role, kind: kind,
                visibleTo: visibleTo.map { UserID($0) }, body: text, clientMessageID: clientID, event: event,
                milestone: milestone.map { MilestoneNumber($0) }, createdAt: Date(milliseconds: createdAtMs), prevHash: prevHash, hash: hash, files: ids)
        }
    }

    struct Manifest: Codable {
        struct File: Codable {
            var id: String
            var name: String
            var size: Int64
            var contentType: String
            var uploadedBy: String
            var uploadedAt: String
            var path: String

            enum CodingKeys: String, CodingKey {
                case id, name, size, contentType = "content_type", uploadedBy = "uploaded_by", uploadedAt = "uploaded_at", path
            }
        }

        var thread: String
        var title: String
        var exportedAt: String
        var messages: Int
        var headHash: String
        var files: [File]
        /// SHA-256 of the bundle's other entries (README.txt, chain.json, transcript.json, transcript.html).
        var entries: [String: String]
        /// The server's Ed25519 signature of the head (``HeadSigner``) and its public key, when it signs heads.
        var signature: String?
        var publicKey: String?

        enum CodingKeys: String, CodingKey {
            case thread, title, exportedAt = "exported_at", messages, headHash = "head_hash", files, entries, signature, publicKey = "public_key"
        }
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static let readme = """
        Case bundle of one contract's thread, exported by milestone-bot.

        transcript.html  the whole thread for people (open it in a browser; it runs no script)
        transcript.json  the same, with every command's outcome, the ledger and the balances
        chain.json       every message with exactly the fields its hash covers
        manifest.json    thread, title, exported_at, messages (how many chain.json has), head_hash, files
                         (id, name, size, type, who uploaded it for each), and entries: the SHA-256 of
                         README.txt, chain.json, transcript.json and transcript.html
        files/<id>       each file, named by its id: the SHA-256 of its bytes (lower-case hex)

        The evidence is chain.json and files/: the hash chain covers them. transcript.json and transcript.html
        are for reading; their hashes in manifest.json catch damage, not someone who edits the manifest too.
        The anchor is head_hash: compare it with the head the server reports (GET /api/contracts/<id>/verify)
        or one published when the case was opened. Entries are stored uncompressed.

        To check it offline (or run `milestone-bot verify --bundle <this file>`):
        1. For each file in files/, its SHA-256 must equal its name.
        2. Walk chain.json in order. Message 1's prev_hash is 64 zeros; every other prev_hash is the hash of the
           message before it; seq counts 1, 2, 3 ... without gaps.
        3. Each hash is SHA-256 over prev_hash (64 ASCII hex characters) followed by the canonical fields, each
           written as <UTF-8 byte length>:<bytes>; or as -; when absent, in this order: thread, seq, author,
           author_role, kind, visible_to, text, client_id, event, milestone, created_at_ms; and, only when
           the message has files, one more field: their ids joined by ',' in order.
        4. The last message's hash must equal head_hash in manifest.json, and every id a message lists in
           files must be in files/.
        5. The other entries must hash to the values manifest.json lists for them.
        6. When the server signs heads, manifest.json has signature (Ed25519, base64) over four lines of
           UTF-8 joined by a line feed (0x0A), no spaces around them and no line feed at the end:
             milestone-bot transcript head v1
             <thread>
             <messages>
             <head_hash>
           Check it with the public key
           the operator publishes (GET /api/signing-key), not with the public_key beside it, which anyone
           could replace. A signature proves the thread had these messages; that nothing came after them is
           checked against the server's current head (GET /api/contracts/<id>/verify).
        A changed, missing, reordered or added message in chain.json, or a changed or missing file, fails one
        of these.

        """

    /// Writes the bundle of `export` (a moderator's export: every message) to `url`, with `files` read from
    /// `blobs` a chunk at a time (a contract's files may be hundreds of megabytes: never all in memory).
    public static func write(_ export: TranscriptExport, files: [StoredFile], blobs: any BlobStore, testMoney: Bool, signer: HeadSigner? = nil, to url: URL) throws {
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        func add(_ path: String, size: Int64, _ chunk: @escaping (Int64, Int) throws -> Data) throws {
            try archive.addEntry(with: path, type: .file, uncompressedSize: size, modificationDate: export.exportedAt,
                compressionMethod: .none, bufferSize: 1 << 20) { position, count in try chunk(position, count) }
        }
        func add(_ path: String, _ data: Data) throws {
            try add(path, size: Int64(data.count)) { position, count in data.subdata(in: Int(position)..<Int(position) + count) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let messages = export.entries.map(\.message)
        var listed: [Manifest.File] = []
        for file in files where blobs.contains(file.id) {
            let path = "files/\(file.id.rawValue)"
            try add(path, size: file.size) { position, count in try blobs.bytes(file.id, offset: position, count: count) }
            listed.append(Manifest.File(id: file.id.rawValue, name: file.name, size: file.size, contentType: file.contentType,
                uploadedBy: file.uploadedBy.rawValue, uploadedAt: Timestamp.text(file.uploadedAt), path: path))
        }
        let others: [(String, Data)] = [
            ("README.txt", Data(readme.utf8)),
            ("chain.json", try encoder.encode(messages.map(ChainRecord.init))),
            ("transcript.json", Data(TranscriptRenderer.render(export, as: .json, testMoney: testMoney).utf8)),
            ("transcript.html", Data(TranscriptRenderer.render(export, as: .html, testMoney: testMoney).utf8)),
        ]
        let head = messages.last?.hash ?? TranscriptChain.genesis
        let manifest = Manifest(thread: export.contract.id.rawValue, title: export.contract.title, exportedAt: Timestamp.text(export.exportedAt),
            messages: messages.count, headHash: head, files: listed,
            entries: Dictionary(uniqueKeysWithValues: others.map { ($0.0, sha256($0.1)) }),
            // Only an intact chain is vouched for.
            signature: export.verification.isIntact ? signer?.sign(thread: export.contract.id.rawValue, messages: messages.count, headHash: head) : nil,
            publicKey: signer?.publicKey)
        try add("manifest.json", try encoder.encode(manifest))
        for (path, data) in others { try add(path, data) }
    }

    /// What checking a bundle found: nothing wrong, or every problem.
    public struct Verification: Sendable {
        public var thread: String
        public var messages: Int
        public var files: Int
        public var headHash: String
        public var problems: [String]
        /// The manifest carries a signature (checked only against a public key given to ``verify``).
        public var signed = false
        public var isIntact: Bool { problems.isEmpty }

        public var summary: String {
            isIntact
                ? "\(thread): intact, \(messages) messages, \(files) files, head \(headHash)"
                : "\(thread): \(problems.count) problem(s):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        }
    }

    struct BundleDamage: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) is damaged: its bytes do not match the ZIP checksum" }
    }

    /// Checks a bundle file offline, as its README says; with `publicKey`, also the server's signature.
    public static func verify(fileAt url: URL, publicKey: String? = nil) -> Verification {
        do {
            return verify(try Archive(url: url, accessMode: .read), publicKey: publicKey)
        } catch {
            return Verification(thread: "?", messages: 0, files: 0, headHash: "", problems: ["the bundle cannot be read: \(error)"])
        }
    }

    /// Checks a bundle held in memory.
    public static func verify(_ data: Data, publicKey: String? = nil) -> Verification {
        do {
            return verify(try Archive(data: data, accessMode: .read), publicKey: publicKey)
        } catch {
            return Verification(thread: "?", messages: 0, files: 0, headHash: "", problems: ["the bundle cannot be read: \(error)"])
        }
    }

    static func verify(_ archive: Archive, publicKey: String?) -> Verification {
        var result = Verification(thread: "?", messages: 0, files: 0, headHash: "", problems: [])
        func entry(_ archive: Archive, _ path: String) throws -> Data? {
            guard let entry = archive[path] else { return nil }
            var out = Data()
            try read(archive, entry) { out.append($0) }
            return out
        }
        /// Reads an entry through its CRC (ZIPFoundation returns the checksum; it does not compare it).
        func read(_ archive: Archive, _ entry: Entry, _ consume: (Data) -> Void) throws {
            let checksum = try archive.extract(entry, skipCRC32: false) { consume($0) }
            guard checksum == entry.checksum else { throw BundleDamage(path: entry.path) }
        }
        do {
            guard let manifestData = try entry(archive, "manifest.json"), let chainData = try entry(archive, "chain.json") else {
                result.problems.append("manifest.json or chain.json is missing")
                return result
            }
            let manifest = try JSONDecoder().decode(Manifest.self, from: manifestData)
            let chain = try JSONDecoder().decode([ChainRecord].self, from: chainData)
            result.thread = manifest.thread
            result.headHash = manifest.headHash
            // Every entry is read through its CRC; the listed ones must hash as the manifest says; nothing else.
            for item in archive where !item.path.hasPrefix("files/") && item.path != "manifest.json" {
                guard let expected = manifest.entries[item.path] else {
                    result.problems.append("\(item.path) is not part of a case bundle")
                    continue
                }
                guard let data = try entry(archive, item.path), sha256(data) == expected else {
                    result.problems.append("\(item.path) was changed: it does not hash to the manifest's value")
                    continue
                }
            }
            for path in manifest.entries.keys where archive[path] == nil { result.problems.append("\(path) is missing") }
            var present: Set<String> = []
            for file in archive where file.path.hasPrefix("files/") {
                let name = String(file.path.dropFirst("files/".count))
                var hasher = SHA256()
                try read(archive, file) { hasher.update(data: $0) }
                let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
                if digest != name { result.problems.append("files/\(name) was changed: its bytes hash to \(digest)") }
                present.insert(name)
                result.files += 1
            }
            for file in manifest.files where !present.contains(file.id) {
                result.problems.append("file \(file.id) (\(file.name)) is listed but not in files/")
            }
            var previous = TranscriptChain.genesis
            for (index, record) in chain.enumerated() {
                let seq = Int64(index + 1)
                guard record.seq == seq else {
                    result.problems.append("message \(seq) is missing (the next one is \(record.seq))")
                    break
                }
                guard let message = record.message else {
                    result.problems.append("message \(seq) has a field that cannot be read")
                    break
                }
                if record.prevHash != previous { result.problems.append("message \(seq) does not follow message \(seq - 1)") }
                if TranscriptChain.expectedHash(of: message) != record.hash { result.problems.append("message \(seq) was changed: it does not match its hash") }
                for file in record.files where !present.contains(file) {
                    result.problems.append("file \(file) that message \(seq) carries is not in files/")
                }
                previous = record.hash
                result.messages += 1
            }
            if previous != manifest.headHash {
                result.problems.append("the chain ends at \(previous), not at the manifest's head \(manifest.headHash)")
            }
            if let publicKey {
                if let signature = manifest.signature {
                    if !HeadSigner.verify(signature: signature, publicKey: publicKey, thread: manifest.thread, messages: result.messages, headHash: previous) {
                        result.problems.append("the head's signature does not verify with the given public key")
                    }
                } else {
                    result.problems.append("the bundle is not signed")
                }
            }
            result.signed = manifest.signature != nil
        } catch {
            result.problems.append("the bundle cannot be read: \(error)")
        }
        return result
    }
}
