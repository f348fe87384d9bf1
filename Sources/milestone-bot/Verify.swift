import ArgumentParser
import ChatServer
import Foundation
import Logging
import PostgresStore
import MilestoneCore
import Storage

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check transcripts' hash chains; name the first altered, removed or reordered message. Exit 1 if any fails.")

    @Option(help: "The SQLite database file, or a PostgreSQL database (postgres://user@host:port/db).") var database = "milestone-bot.sqlite"
    @Option(help: "One thread (contract id); default: every thread.") var thread: String?
    @Option(help: "The folder of uploaded files (default: <database>.files), whose files are hashed again.") var files: String?
    @Option(help: "Check a case bundle (from `export --bundle`) instead, offline: no database needed.") var bundle: String?
    @Option(help: "With --bundle: the server's published public key (GET /api/signing-key); the head's signature must verify with it.") var publicKey: String?

    func run() async throws {
        if let bundle {
            guard FileManager.default.fileExists(atPath: bundle) else { throw ValidationError("no bundle at \(bundle)") }
            let result = CaseBundle.verify(fileAt: URL(fileURLWithPath: bundle), publicKey: publicKey)
            let signature = publicKey != nil ? " (signature verified with the published key)"
                : " (signature not checked: pass --public-key with the key the operator publishes; the manifest's own key proves nothing)"
            print(result.summary + (result.isIntact ? signature : ""))
            if !result.isIntact { throw ExitCode(1) }
            return
        }
        if database.hasPrefix("postgres://") || database.hasPrefix("postgresql://") {
            try await verifyPostgres()
            return
        }
        guard FileManager.default.fileExists(atPath: database) else { throw ValidationError("no database at \(database)") }
        let store = try AppDatabase.openReadOnly(path: database)
        let folder = files.map { URL(fileURLWithPath: $0) } ?? store.filesFolder
        let blobs: (any BlobStore)? = FileManager.default.fileExists(atPath: folder.path) ? try FileBlobStore(folder: folder, readOnly: true) : nil
        if blobs == nil { print("note: no file folder at \(folder.path): files that messages carry are not checked (--files <folder>)") }
        let results = try thread.map { [try store.verify(thread: ContractID($0), blobs: blobs)] } ?? store.verifyAll(blobs: blobs)
        for result in results { print(result.summary) }
        let broken = results.filter { !$0.isIntact }.count
        print("\(results.count - broken) intact, \(broken) broken")
        if broken > 0 { throw ExitCode(1) }
    }
}

extension Verify {
    /// The same check on a PostgreSQL store: every thread's chain, its head and its ledger entries (files are
    /// not kept there yet).
    func verifyPostgres() async throws {
        var logger = Logger(label: "verify")
        logger.logLevel = .error  // Errors only: PostgresNIO warns when a query waits for the pool's first connection, which is expected here.
        let store = try PostgresStore(url: database, logger: logger)
        let results = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            var results: [ChainVerification] = []
            let ids: [ContractID]
            if let thread { ids = [ContractID(thread)] } else { ids = try await store.threadIDs() }
            for id in ids { results.append(try await store.verifyChain(of: id)) }
            return results
        }
        for result in results { print(result.summary) }
        let broken = results.filter { !$0.isIntact }.count
        print("\(results.count - broken) intact, \(broken) broken")
        if broken > 0 { throw ExitCode(1) }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export a contract's full transcript, ledger and timeline (moderator's view).")

    @Option(help: "The SQLite database file.") var database = "milestone-bot.sqlite"
    @Option(help: "The contract id.") var thread: String
    @Option(help: "json, text or html.") var format = "html"
    @Option(help: "Write here instead of standard output.") var output: String?
    @Option(help: "Write one ZIP instead: transcript (JSON and HTML), hash chain, every file, a README to check it offline.") var bundle: String?
    @Option(help: "The folder of uploaded files (default: <database>.files).") var files: String?

    func run() async throws {
        guard let format = TranscriptRenderer.Format(rawValue: format) else { throw ValidationError("--format must be json, text or html") }
        guard FileManager.default.fileExists(atPath: database) else { throw ValidationError("no database at \(database)") }
        let store = try AppDatabase.open(path: database)
        let export = try store.export(ContractID(thread), for: Participant(user: "export", role: .moderator), at: Date())
        if let bundle {
            let folder = files.map { URL(fileURLWithPath: $0) } ?? store.filesFolder
            let blobs = try FileBlobStore(folder: folder, readOnly: true)
            // Signed with TRANSCRIPTS_SIGNING_KEY when it is set, as the server signs.
            let signer = ProcessInfo.processInfo.environment["TRANSCRIPTS_SIGNING_KEY"].flatMap(HeadSigner.init(base64:))
            try CaseBundle.write(export, files: try store.files(of: ContractID(thread)), blobs: blobs, testMoney: true, signer: signer,
                to: URL(fileURLWithPath: bundle))
            print("wrote \(bundle): \(export.entries.count) messages, head \(export.entries.last?.message.hash ?? "-")")
            return
        }
        let text = TranscriptRenderer.render(export, as: format, testMoney: true)
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(text, terminator: "")
        }
    }
}

struct SigningKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signing-key",
        abstract: "Make an Ed25519 key for transcripts.signing_key: prints the private key (keep it secret) and the public key to publish.")

    func run() async throws {
        let key = HeadSigner.newKey()
        guard let signer = HeadSigner(base64: key) else { throw ExitCode(1) }
        print("private (set TRANSCRIPTS_SIGNING_KEY; never commit it): \(key)")
        print("public (publish it; GET /api/signing-key serves it too): \(signer.publicKey)")
    }
}
