import BotConfig
import Foundation
import MilestoneCore
import PropertyBased
import Storage
import Testing

/// A database file in a fresh temporary folder, removed when the test's scope ends.
final class TemporaryDatabaseFile {
    let folder: URL
    var path: String { folder.appendingPathComponent("bot.sqlite").path }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("storage-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func open() throws -> AppDatabase { try AppDatabase.open(path: path) }

    deinit { try? FileManager.default.removeItem(at: folder) }
}

enum Fixtures {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let buyer = Participant(user: "buyer-1", role: .buyer)
    static let freelancer = Participant(user: "freelancer-1", role: .freelancer)
    static let moderator = Participant(user: "moderator-1", role: .moderator)

    static let presets: PolicyCatalog = {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bot-config/presets")
        do { return try PolicyCatalog.load(directory: directory) } catch { fatalError("bot-config/presets: \(error)") }
    }()

    static func newContract(_ id: ContractID = "c-1", preset: String = "indeelancer", milestones: [MilestoneDraft] = []) -> NewContract {
        NewContract(id: id, title: "Website redesign", currency: .usd, buyer: buyer.user, freelancer: freelancer.user,
            policy: presets[preset]!, milestones: milestones)
    }

    /// Runs `run` over `count` random command scripts (a preset and up to `steps` seeds), recording any
    /// error it throws as an issue that names the preset.
    static func forRandomScripts(count: Int, steps: Int, _ run: @escaping @Sendable (_ preset: String, _ seeds: [Int]) throws -> Void) async {
        let names = presets.names
        await propertyCheck(count: count, input: Gen.int(in: 0...(names.count - 1)), Gen.int(in: 0...Int(Int32.max)).array(of: 1...steps)) { presetIndex, seeds in
            do {
                try run(names[presetIndex], seeds)
            } catch {
                Issue.record("\(names[presetIndex]): \(error)")
            }
        }
    }

    /// Sends a line with a fresh command id.
    @discardableResult
    static func say(_ db: AppDatabase, _ text: String, by who: Participant, in thread: ContractID = "c-1", at now: Date = start, id: String? = nil) throws -> LineReceipt {
        try db.handle(LineRequest(commandID: CommandID(id ?? UUID().uuidString), thread: thread, author: who, text: text, receivedAt: now))
    }
}
