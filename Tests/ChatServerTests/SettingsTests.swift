import BotConfig
import ChatServer
import Foundation
import Testing

/// Settings: the YAML file, then environment variables, then flags; bad values name their key.
@Suite struct SettingsTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func write(_ yaml: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("settings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let presets = Self.repository.appendingPathComponent("bot-config/presets").path
        let file = folder.appendingPathComponent("server.yaml")
        try yaml.replacingOccurrences(of: "PRESETS", with: presets).write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func theShippedSettingsLoad() async throws {
        let settings = try await ServerSettings.load(file: Self.repository.appendingPathComponent("bot-config/server.yaml").path, environment: [:])
        #expect(settings.port == 8080)
        #expect(settings.presets.names == ["fiverr", "freelancer-com", "indeelancer", "skillscoop", "whitelabel"])
        #expect(settings.problems(requireSecret: true) == ["auth.signing_secret must be at least 32 bytes (set AUTH_SIGNING_SECRET); it has 0"])
    }

    /// Started outside a checkout (no `bot-config/server.yaml` in the folder, none named), the server uses the
    /// settings and presets built into it, the same as the repository's; a named file that is missing is an error.
    @Test func outsideACheckoutTheBuiltInSettingsAndPresetsAreUsed() async throws {
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("elsewhere-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let file = try ServerSettings.settingsFile(named: nil, in: elsewhere.path)
        #expect(file == ServerSettings.builtInSettingsFile)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == String(contentsOf: Self.repository.appendingPathComponent("bot-config/server.yaml"), encoding: .utf8))
        let settings = try await ServerSettings.load(file: file, environment: [:])
        let shipped = try await ServerSettings.load(file: Self.repository.appendingPathComponent("bot-config/server.yaml").path, environment: [:])
        #expect(settings.presets.names == ["fiverr", "freelancer-com", "indeelancer", "skillscoop", "whitelabel"])
        #expect(settings.presets.presets == shipped.presets.presets)
        // In a checkout, its own file wins.
        #expect(try ServerSettings.settingsFile(named: nil, in: Self.repository.path) == Self.repository.appendingPathComponent("bot-config/server.yaml").path)
        #expect(throws: ConfigError.self) { try ServerSettings.settingsFile(named: elsewhere.appendingPathComponent("missing.yaml").path) }
        // A presets folder that is set but found nowhere is an error, not a silent fallback.
        let custom = try write("policies:\n  presets_dir: no/such/folder\n")
        await #expect(throws: ConfigError.self) { try await ServerSettings.load(file: custom, environment: [:]) }
    }

    @Test func environmentOverridesTheFileAndFlagsOverrideBoth() async throws {
        let file = try write("""
            server:
              port: 9000
              host: 127.0.0.1
            limits:
              messages_per_second: 5
            policies:
              presets_dir: PRESETS
              overrides:
                fiverr:
                  review_period_days: 10
            """)
        let fromFile = try await ServerSettings.load(file: file, environment: [:])
        #expect(fromFile.port == 9000)
        #expect(fromFile.limits.messagesPerSecond == 5)
        #expect(fromFile.presets["fiverr"]?.reviewPeriod?.days == 10)
        let fromEnvironment = try await ServerSettings.load(file: file, environment: ["SERVER_PORT": "9100", "AUTH_SIGNING_SECRET": String(repeating: "s", count: 40)])
        #expect(fromEnvironment.port == 9100)
        #expect(fromEnvironment.signingSecret.count == 40)
        let fromFlags = try await ServerSettings.load(file: file, flags: ["server.port": "9200"], environment: ["SERVER_PORT": "9100"])
        #expect(fromFlags.port == 9200)
    }

    @Test func badValuesNameTheirKey() async throws {
        let badPort = try write("server:\n  port: 9000\npolicies:\n  presets_dir: PRESETS\n")
        await #expect {
            _ = try await ServerSettings.load(file: badPort, environment: ["SERVER_PORT": "eighty"])
        } throws: { error in
            (error as? ConfigError)?.key == "server.port"
        }
        let badOverride = try write("policies:\n  presets_dir: PRESETS\n  overrides:\n    fiverr:\n      review_period_days: eight\n")
        await #expect {
            _ = try await ServerSettings.load(file: badOverride, environment: [:])
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == "review_period_days" && error.message.contains("whole number")
        }
        let unknownPreset = try write("policies:\n  presets_dir: PRESETS\n  overrides:\n    ebay:\n      sequential: true\n")
        await #expect {
            _ = try await ServerSettings.load(file: unknownPreset, environment: [:])
        } throws: { error in
            (error as? ConfigError)?.key == "ebay"
        }
    }

    /// The five presets said overrides go under `policy_overrides:`; the loader read `policies.overrides` and
    /// ignored the rest, so a deployment that "set" Fiverr's review period to 10 days ran with 8.
    @Test func anUnknownKeyStopsStartUpNamingTheNearestKnownOne() async throws {
        let misplaced = try write("""
            policies:
              presets_dir: PRESETS
            policy_overrides:
              fiverr:
                review_period_days: 10
            """)
        await #expect {
            _ = try await ServerSettings.load(file: misplaced, environment: [:])
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == "policy_overrides" && error.message.contains("did you mean `policies.overrides`")
        }
        let typo = try write("limits:\n  mesages_per_second: 5\npolicies:\n  presets_dir: PRESETS\n")
        await #expect {
            _ = try await ServerSettings.load(file: typo, environment: [:])
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == "limits.mesages_per_second" && error.message.contains("`limits.messages_per_second`")
        }
        // A section whose keys are all commented out is empty, not unknown.
        let emptySection = try write("payments:\n  stripe:\n    # secret_key: sk_test\npolicies:\n  presets_dir: PRESETS\n")
        _ = try await ServerSettings.load(file: emptySection, environment: [:])
        let badFlag = try write("policies:\n  presets_dir: PRESETS\n")
        await #expect {
            _ = try await ServerSettings.load(file: badFlag, flags: ["server.prot": "9000"], environment: [:])
        } throws: { error in
            (error as? ConfigError)?.key == "server.prot"
        }
        await #expect {
            _ = try await ServerSettings.load(file: badFlag, flags: ["policies.overrides": "x"], environment: [:])
        } throws: { error in
            (error as? ConfigError)?.key == "policies.overrides"
        }
    }

    /// Every key the loader knows is in the shipped file, documented; and the shipped file has no other.
    @Test func theShippedFileListsEveryKnownKey() throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("bot-config/server.yaml"), encoding: .utf8)
        let shipped = try ServerSettings.keys(inYAML: text, file: "server.yaml")
        #expect(Set(shipped) == ServerSettings.knownKeys)
    }
}
