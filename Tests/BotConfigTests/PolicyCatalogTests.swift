import BotConfig
import Foundation
import MilestoneCore
import Testing

/// `bot-config/presets` loading: the real presets, and every kind of broken file or override, each reported with
/// the file and the key.
@Suite struct PolicyCatalogTests {
    /// `<package>/bot-config/presets`, found from this file: `<package>/Tests/BotConfigTests/`.
    static let presetsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bot-config/presets")

    static let presetNames = ["fiverr", "freelancer-com", "indeelancer", "skillscoop", "whitelabel"]

    /// A fresh folder under the temporary directory, removed by `cleanUp`.
    struct TempPresets {
        let directory: URL

        init() throws {
            directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("policy-catalog-tests-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }

        /// Writes `name`.yaml with `text`; returns its path as the loader reports it.
        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            let file = directory.appendingPathComponent("\(name).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }

        /// Copies a real preset, changing it with `edit` first.
        @discardableResult
        func copy(_ preset: String, as name: String? = nil, _ edit: (String) -> String = { $0 }) throws -> String {
            let text = try String(contentsOf: PolicyCatalogTests.presetsDirectory.appendingPathComponent("\(preset).yaml"), encoding: .utf8)
            return try write(name ?? preset, edit(text))
        }

        func cleanUp() {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// Replaces the line `key: ...` of a preset file.
    static func setting(_ key: String, to value: String) -> (String) -> String {
        { text in
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasPrefix("\(key):") ? "\(key): \(value)" : String(line)
            }
            return lines.joined(separator: "\n")
        }
    }

    static func removing(_ key: String) -> (String) -> String {
        { text in
            text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("\(key):") }.joined(separator: "\n")
        }
    }

    /// Loads `directory`; the load must fail. Returns the error.
    static func loadError(
        _ directory: URL, overrides: [String: [String: Any]] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigError? {
        do {
            let catalog = try PolicyCatalog.load(directory: directory, overrides: overrides, overridesFile: "bot-config/server.yaml")
            Issue.record("loading should fail, got presets \(catalog.names)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - The real presets

    @Test("The real presets in bot-config/presets load, each named after its file, each valid")
    func realPresetsLoad() throws {
        let catalog = try PolicyCatalog.load(directory: Self.presetsDirectory)
        #expect(catalog.names == Self.presetNames)
        for name in Self.presetNames {
            let policy = try #require(catalog[name])
            #expect(policy.name == name)
            #expect(policy.problems.isEmpty, "\(name): \(policy.problems)")
        }
    }

    @Test("Each preset holds the values its YAML file sets")
    func presetValues() throws {
        let catalog = try PolicyCatalog.load(directory: Self.presetsDirectory)
        #expect(catalog["indeelancer"] == Policy(
            name: "indeelancer", milestoneCreator: .buyer, freelancerMayRequest: false, approval: .none,
            contractStartsLive: true, chargeOn: .fund, sequential: false, releaseRequiresSubmission: true,
            reviewPeriod: .init(days: 14, outcome: .autoRelease), reviewReminderDays: [3, 1], revisions: .unlimited,
            cancelBy: .nobody, deleteBeforeFunding: true, endContract: .disputeOnly, stopAllowed: false,
            completeAutomatically: false, offerLapseSeconds: 259_200,
            disputeResponseSeconds: 259_200, disputeNoResponse: .toModerator, reviewBlindSeconds: 0, bonusAllowed: true, mutualCancellation: true))
        #expect(catalog["freelancer-com"] == Policy(
            name: "freelancer-com", milestoneCreator: .buyer, freelancerMayRequest: true, approval: .none,
            contractStartsLive: true, chargeOn: .fund, sequential: false, releaseRequiresSubmission: false,
            reviewPeriod: nil, reviewReminderDays: [], revisions: .none, cancelBy: .freelancer,
            deleteBeforeFunding: true, endContract: .disputeOnly, stopAllowed: false, completeAutomatically: false, offerLapseSeconds: 259_200,
            disputeResponseSeconds: 259_200, disputeNoResponse: .toModerator, reviewBlindSeconds: 0, bonusAllowed: true, mutualCancellation: false))
        #expect(catalog["fiverr"] == Policy(
            name: "fiverr", milestoneCreator: .freelancer, freelancerMayRequest: false, approval: .none,
            contractStartsLive: false, chargeOn: .fund, sequential: true, releaseRequiresSubmission: true,
            reviewPeriod: .init(days: 8, outcome: .autoComplete), reviewReminderDays: [3, 1],
            revisions: .counted(perMilestone: 2), cancelBy: .moderator, deleteBeforeFunding: true,
            endContract: .disputeOnly, stopAllowed: true, completeAutomatically: true, placeOrder: true, offerLapseSeconds: 259_200,
            disputeResponseSeconds: 259_200, disputeNoResponse: .toModerator, reviewBlindSeconds: 0, bonusAllowed: false, mutualCancellation: true))
        #expect(catalog["whitelabel"] == Policy(
            name: "whitelabel", milestoneCreator: .freelancer, freelancerMayRequest: false, approval: .freelancer,
            contractStartsLive: false, chargeOn: .fund, sequential: false, releaseRequiresSubmission: true,
            reviewPeriod: nil, reviewReminderDays: [], revisions: .none, cancelBy: .nobody,
            deleteBeforeFunding: false, endContract: .disputeOnly, stopAllowed: false, completeAutomatically: false, offerLapseSeconds: 259_200,
            disputeResponseSeconds: 259_200, disputeNoResponse: .toModerator, reviewBlindSeconds: 0, bonusAllowed: true, mutualCancellation: true))
        #expect(catalog["skillscoop"] == Policy(
            name: "skillscoop", milestoneCreator: .buyer, freelancerMayRequest: false, approval: .freelancer,
            contractStartsLive: true, chargeOn: .fund, sequential: false, releaseRequiresSubmission: false,
            reviewPeriod: nil, reviewReminderDays: [], revisions: .none, cancelBy: .nobody,
            deleteBeforeFunding: true, endContract: .request(answerDays: 7), stopAllowed: false,
            completeAutomatically: false, offerLapseSeconds: 259_200,
            disputeResponseSeconds: 259_200, disputeNoResponse: .toModerator, reviewBlindSeconds: 0, bonusAllowed: true, mutualCancellation: false))
    }

    @Test("A .yml file loads too; other files in the folder are ignored")
    func ymlAndOtherFiles() throws {
        let temp = try TempPresets()
        defer { temp.cleanUp() }
        let text = try String(contentsOf: Self.presetsDirectory.appendingPathComponent("indeelancer.yaml"), encoding: .utf8)
        try text.write(to: temp.directory.appendingPathComponent("mine.yml"), atomically: true, encoding: .utf8)
        try "not a preset".write(to: temp.directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        let catalog = try PolicyCatalog.load(directory: temp.directory)
        #expect(catalog.names == ["mine"])
        #expect(catalog["mine"]?.reviewPeriod?.days == 14)
    }

    // MARK: - Broken preset files

    @Test("An unknown key names the file and the key")
    func unknownKey() throws {
        let temp = try TempPresets()
        defer { temp.cleanUp() }
        try temp.copy("fiverr")
        let file = try temp.copy("indeelancer") { $0 + "\nreview_period_dayz: 14\n" }
        let error = try #require(Self.loadError(temp.directory))
        #expect(error.file == file)
        #expect(error.key == "review_period_dayz")
        #expect(error.message.hasPrefix("unknown key; allowed keys are "))
        #expect(error.message.contains("review_period_days"))
        #expect(error.description == "\(file): review_period_dayz: \(error.message)")
    }

    @Test("A value of the wrong type or out of range names the file and the key", arguments: [
        ("sequential", "3", "expected true or false, got 3"),
        ("sequential", "\"true\"", "expected true or false, got \"true\""),
        ("review_period_days", "ten", "expected a whole number of days from 0 to 365, or a time with a unit like 14d, 36h, 15m or 90s, got \"ten\""),
        ("review_period_days", "14.5", "expected a whole number of days from 0 to 365, or a time with a unit like 14d, 36h, 15m or 90s, got 14.5"),
        ("review_period_days", "400", "expected a whole number of days from 0 to 365, or a time with a unit like 14d, 36h, 15m or 90s, got 400"),
        ("review_period_days", "-1", "expected a whole number of days from 0 to 365, or a time with a unit like 14d, 36h, 15m or 90s, got -1"),
        ("milestone_creator", "moderator", "expected one of buyer, freelancer, got \"moderator\""),
        ("approval", "client", "expected one of none, freelancer, counterparty, got \"client\""),
        ("review_period_outcome", "release", "expected one of auto_release, auto_complete, got \"release\""),
        ("review_reminder_days", "3", "expected a list of whole numbers from 1 to 364, like [3, 1], got 3"),
        ("review_reminder_days", "[3, \"one\"]", "expected a list of whole numbers from 1 to 364, like [3, 1], got a list"),
        ("revision_allowance", "101", "expected a whole number from 0 to 100, got 101"),
        ("review_period_days", "366d", "expected a whole number of days from 0 to 365, or a time with a unit like 14d, 36h, 15m or 90s, got \"366d\""),
        ("review_period_days", "3w", "expected a whole number of days from 0 to 365, or a time with a unit like 14d, 36h, 15m or 90s, got \"3w\""),
        ("end_request_answer_days", "0", "expected a whole number of days from 1 to 90, or a time with a unit like 14d, 36h, 15m or 90s, got 0"),
        ("cancel_by", "{who: freelancer}", "expected one of nobody, freelancer, moderator, got a mapping"),
    ])
    func wrongType(key: String, value: String, message: String) throws {
        let temp = try TempPresets()
        defer { temp.cleanUp() }
        let file = try temp.copy("indeelancer", Self.setting(key, to: value))
        let error = try #require(Self.loadError(temp.directory))
        #expect(error.file == file)
        #expect(error.key == key)
        #expect(error.message == message)
    }

    @Test("A missing key names the file and the key", arguments: ["stop_allowed", "milestone_creator", "review_reminder_days", "revision_allowance"])
    func missingKey(key: String) throws {
        let temp = try TempPresets()
        defer { temp.cleanUp() }
        let file = try temp.copy("skillscoop", Self.removing(key))
        let error = try #require(Self.loadError(temp.directory))
        #expect(error.file == file)
        #expect(error.key == key)
        #expect(error.message.hasPrefix("missing; a preset sets every key"))
    }

    @Test("An impossible combination names the file and the keys involved", arguments: [
        ("whitelabel", ["milestone_creator": "buyer", "charge_on": "approval", "approval": "none"], "charge_on + approval"),
        ("whitelabel", ["charge_on": "approval"], "charge_on + milestone_creator"),
        ("fiverr", ["sequential": "false", "review_period_outcome": "auto_release"], "stop_allowed + sequential"),
        ("fiverr", ["sequential": "false", "stop_allowed": "false"], "review_period_outcome + sequential"),
        ("freelancer-com", ["milestone_creator": "freelancer"], "freelancer_may_request + milestone_creator"),
        ("freelancer-com", ["review_reminder_days": "[3]"], "review_reminder_days + review_period_days"),
        ("indeelancer", ["review_reminder_days": "[3, 14]"], "review_reminder_days"),
    ])
    func impossibleCombination(preset: String, changes: [String: String], keys: String) throws {
        let temp = try TempPresets()
        defer { temp.cleanUp() }
        let file = try temp.copy(preset) { text in
            changes.reduce(text) { text, change in Self.setting(change.key, to: change.value)(text) }
        }
        let error = try #require(Self.loadError(temp.directory))
        #expect(error.file == file)
        #expect(error.key == keys)
    }

    @Test("A file that is not a mapping, or not YAML, names the file")
    func notAMapping() throws {
        for text in ["- just\n- a list\n", "key: [unclosed\n", ""] {
            let temp = try TempPresets()
            defer { temp.cleanUp() }
            let file = try temp.write("broken", text)
            let error = try #require(Self.loadError(temp.directory), "\(text)")
            #expect(error.file == file)
            #expect(error.key == nil)
        }
    }

    @Test("An empty or missing folder is an error naming the folder")
    func emptyFolder() throws {
        let temp = try TempPresets()
        defer { temp.cleanUp() }
        let empty = try #require(Self.loadError(temp.directory))
        #expect(empty.file == temp.directory.path)
        #expect(empty.message == "no preset files (*.yaml) found")
        let missing = temp.directory.appendingPathComponent("nowhere")
        #expect(Self.loadError(missing)?.file == missing.path)
    }

    // MARK: - Overrides

    @Test("Overrides apply on top of the named preset only")
    func overridesApply() throws {
        let catalog = try PolicyCatalog.load(
            directory: Self.presetsDirectory,
            overrides: ["whitelabel": ["milestone_creator": "buyer", "charge_on": "approval", "delete_before_funding": true],
                        "indeelancer": ["review_period_days": 7, "review_reminder_days": [2]]],
            overridesFile: "bot-config/server.yaml")
        let plain = try PolicyCatalog.load(directory: Self.presetsDirectory)
        let whitelabel = try #require(catalog["whitelabel"])
        #expect(whitelabel.milestoneCreator == .buyer)
        #expect(whitelabel.chargeOn == .approval)
        #expect(whitelabel.deleteBeforeFunding)
        #expect(whitelabel.approval == .freelancer)  // not overridden: from the file
        #expect(whitelabel.name == "whitelabel")
        let indeelancer = try #require(catalog["indeelancer"])
        #expect(indeelancer.reviewPeriod == .init(days: 7, outcome: .autoRelease))
        #expect(indeelancer.reviewReminderDays == [2])
        for name in ["fiverr", "freelancer-com", "skillscoop"] {
            #expect(catalog[name] == plain[name], "\(name) was not overridden")
        }
    }

    @Test("An override that makes an impossible combination names the preset file with the overrides file, and the keys")
    func overrideValidated() throws {
        // fiverr with sequential: false would keep stop_allowed: true.
        let error = try #require(Self.loadError(Self.presetsDirectory, overrides: ["fiverr": ["sequential": false]]))
        #expect(error.file == Self.presetsDirectory.appendingPathComponent("fiverr.yaml").path + " with bot-config/server.yaml")
        #expect(error.key == "stop_allowed + sequential")

        // White-label sub-option 3 without "Customer creates the milestones".
        let charge = try #require(Self.loadError(Self.presetsDirectory, overrides: ["whitelabel": ["charge_on": "approval"]]))
        #expect(charge.key == "charge_on + milestone_creator")
        #expect(charge.file.hasSuffix("whitelabel.yaml with bot-config/server.yaml"))
    }

    @Test("An override with an unknown key or a wrong type names the overrides file, the preset and the key")
    func overrideBadValue() throws {
        let unknown = try #require(Self.loadError(Self.presetsDirectory, overrides: ["skillscoop": ["end_contract_days": 7]]))
        #expect(unknown.file == "bot-config/server.yaml (skillscoop)")
        #expect(unknown.key == "end_contract_days")

        let wrong = try #require(Self.loadError(Self.presetsDirectory, overrides: ["skillscoop": ["end_request_answer_days": "seven"]]))
        #expect(wrong.file == "bot-config/server.yaml (skillscoop)")
        #expect(wrong.key == "end_request_answer_days")
        #expect(wrong.message == "expected a whole number of days from 1 to 90, or a time with a unit like 14d, 36h, 15m or 90s, got \"seven\"")

        let outOfRange = try #require(Self.loadError(Self.presetsDirectory, overrides: ["fiverr": ["revision_allowance": 500]]))
        #expect(outOfRange.key == "revision_allowance")
    }

    @Test("Overrides for a preset that does not exist are an error naming the overrides file and the name")
    func overrideUnknownPreset() throws {
        let error = try #require(Self.loadError(Self.presetsDirectory, overrides: ["upwork": ["sequential": true]]))
        #expect(error.file == "bot-config/server.yaml")
        #expect(error.key == "upwork")
        #expect(error.message == "no such preset; presets are fiverr, freelancer-com, indeelancer, skillscoop, whitelabel")
    }

    @Test("parse(yaml:) checks one preset's text the same way")
    func parseText() throws {
        let text = try String(contentsOf: Self.presetsDirectory.appendingPathComponent("skillscoop.yaml"), encoding: .utf8)
        let policy = try PolicyCatalog.parse(yaml: text, name: "skillscoop", file: "skillscoop.yaml")
        #expect(policy.endContract == .request(answerDays: 7))
        #expect(throws: ConfigError(file: "x.yaml", key: "stop_allowed + sequential",
            "/stop ends a sequential order; set sequential: true or stop_allowed: false")) {
            _ = try PolicyCatalog.parse(yaml: Self.setting("stop_allowed", to: "true")(text), name: "x", file: "x.yaml")
        }
    }

    /// Durations accept units, so a staging site can watch a review period pass in seconds; whole numbers
    /// keep meaning days.
    @Test func durationsAcceptUnitsAndWholeNumbersMeanDays() throws {
        #expect(PolicyDuration.seconds(14) == 14 * 86_400)
        #expect(PolicyDuration.seconds("14d") == 14 * 86_400)
        #expect(PolicyDuration.seconds("36h") == 36 * 3_600)
        #expect(PolicyDuration.seconds("15m") == 900)
        #expect(PolicyDuration.seconds("90s") == 90)
        for bad: Any in ["", "d", "3w", "-1d", "1.5d", "ten", 14.5, "99999999999999d"] {
            #expect(PolicyDuration.seconds(bad) == nil, "\(bad)")
        }
        #expect(PolicyDuration.text(seconds: 129_600) == "36 hours")
        #expect(PolicyDuration.text(seconds: 90) == "90 seconds")
        let catalog = try PolicyCatalog.load(directory: Self.presetsDirectory,
            overrides: ["indeelancer": ["review_period_days": "36h", "review_reminder_days": [1]], "skillscoop": ["end_request_answer_days": "12h"]])
        #expect(catalog["indeelancer"]?.reviewPeriod == .init(seconds: 129_600, outcome: .autoRelease))
        #expect(catalog["skillscoop"]?.endContract == .request(answerSeconds: 43_200))
        // A reminder must fall inside the period: 2 days before the end of 36 hours is not.
        #expect(throws: ConfigError.self) {
            try PolicyCatalog.load(directory: Self.presetsDirectory, overrides: ["indeelancer": ["review_period_days": "36h", "review_reminder_days": [2]]])
        }
    }

    /// Policies stored with contracts before durations had units (`days`, `answerDays`) still decode.
    @Test func policiesStoredInDaysStillDecode() throws {
        let period = try JSONDecoder().decode(Policy.ReviewPeriod.self, from: Data(#"{"days":14,"outcome":"auto_release"}"#.utf8))
        #expect(period == .init(days: 14, outcome: .autoRelease))
        let end = try JSONDecoder().decode(Policy.EndContractRule.self, from: Data(#"{"request":{"answerDays":7}}"#.utf8))
        #expect(end == .request(answerDays: 7))
        #expect(try JSONDecoder().decode(Policy.EndContractRule.self, from: Data(#"{"disputeOnly":{}}"#.utf8)) == .disputeOnly)
        // And the other way: a whole-day policy is still written so the previous release reads it.
        let written = String(decoding: try JSONEncoder().encode(Policy.ReviewPeriod(days: 14, outcome: .autoRelease)), as: UTF8.self)
        #expect(written.contains(#""days":14"#))
        let writtenEnd = String(decoding: try JSONEncoder().encode(Policy.EndContractRule.request(answerDays: 7)), as: UTF8.self)
        #expect(writtenEnd.contains(#""answerDays":7"#))
        let catalog = try PolicyCatalog.load(directory: Self.presetsDirectory)
        for name in catalog.names {
            let policy = catalog[name]!
            #expect(try JSONDecoder().decode(Policy.self, from: JSONEncoder().encode(policy)) == policy, "\(name) round-trips")
        }
    }
}
