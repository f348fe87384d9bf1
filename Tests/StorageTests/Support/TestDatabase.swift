import BotConfig
import Foundation
import MilestoneCore
import Storage

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

    /// Sends a line with a fresh command id.
    @discardableResult
    static func say(_ db: AppDatabase, _ text: String, by who: Participant, in thread: ContractID = "c-1", at now: Date = start, id: String? = nil) throws -> LineReceipt {
        try db.handle(LineRequest(commandID: CommandID(id ?? UUID().uuidString), thread: thread, author: who, text: text, receivedAt: now))
    }
}
