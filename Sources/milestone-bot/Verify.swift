import ArgumentParser
import ChatServer
import Foundation
import MilestoneCore
import Storage

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check transcripts' hash chains; name the first altered, removed or reordered message. Exit 1 if any fails.")

    @Option(help: "The SQLite database file.") var database = "milestone-bot.sqlite"
    @Option(help: "One thread (contract id); default: every thread.") var thread: String?
    @Option(help: "The folder of uploaded files (default: <database>.files), whose files are hashed again.") var files: String?

    func run() async throws {
        guard FileManager.default.fileExists(atPath: database) else { throw ValidationError("no database at \(database)") }
        let store = try AppDatabase.openReadOnly(path: database)
        let folder = files.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: database + ".files")
        let blobs: (any BlobStore)? = FileManager.default.fileExists(atPath: folder.path) ? try FileBlobStore(folder: folder, readOnly: true) : nil
        let results = try thread.map { [try store.verify(thread: ContractID($0), blobs: blobs)] } ?? store.verifyAll(blobs: blobs)
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

    func run() async throws {
        guard let format = TranscriptRenderer.Format(rawValue: format) else { throw ValidationError("--format must be json, text or html") }
        guard FileManager.default.fileExists(atPath: database) else { throw ValidationError("no database at \(database)") }
        let store = try AppDatabase.open(path: database)
        let export = try store.export(ContractID(thread), for: Participant(user: "export", role: .moderator), at: Date())
        let text = TranscriptRenderer.render(export, as: format, testMoney: true)
        if let output {
            try text.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(text, terminator: "")
        }
    }
}
