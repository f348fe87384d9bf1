import Foundation
import MilestoneCore
import Yams

/// The policy presets a deployment offers, loaded from `bot-config/presets/*.yaml` and validated at start-up.
public struct PolicyCatalog: Sendable {
    public private(set) var presets: [String: Policy]

    public init(presets: [String: Policy]) {
        self.presets = presets
    }

    public subscript(name: String) -> Policy? { presets[name] }

    public var names: [String] { presets.keys.sorted() }

    /// Loads every `*.yaml` in `directory` as a preset named after the file, then applies `overrides`
    /// (preset name -> key -> YAML value, as read from `overridesFile`). Any problem throws naming the file and key.
    public static func load(directory: URL, overrides: [String: [String: Any]] = [:], overridesFile: String = "overrides") throws(ConfigError) -> PolicyCatalog {
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "yaml" || $0.pathExtension == "yml" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw ConfigError(file: directory.path, "cannot read the presets folder: \(error.localizedDescription)")
        }
        guard !files.isEmpty else { throw ConfigError(file: directory.path, "no preset files (*.yaml) found") }
        var presets: [String: Policy] = [:]
        for file in files {
            let name = file.deletingPathExtension().lastPathComponent
            let text: String
            do { text = try String(contentsOf: file, encoding: .utf8) } catch {
                throw ConfigError(file: file.path, "cannot be read: \(error.localizedDescription)")
            }
            presets[name] = try parse(yaml: text, name: name, file: file.path, overrides: overrides[name], overridesFile: overridesFile)
        }
        if let unknown = overrides.keys.sorted().first(where: { presets[$0] == nil }) {
            throw ConfigError(file: overridesFile, key: unknown, "no such preset; presets are \(presets.keys.sorted().joined(separator: ", "))")
        }
        return PolicyCatalog(presets: presets)
    }

    /// Parses one preset file's text, with optional overrides applied on top.
    public static func parse(yaml text: String, name: String, file: String, overrides: [String: Any]? = nil, overridesFile: String = "overrides") throws(ConfigError) -> Policy {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch {
            throw ConfigError(file: file, "is not valid YAML: \(error)")
        }
        guard let mapping = loaded as? [String: Any] else {
            throw ConfigError(file: file, "expected a mapping of policy keys to values")
        }
        var values: [String: PolicySchema.Value] = [:]
        for (key, raw) in mapping { values[key] = try PolicySchema.value(for: key, raw, file: file) }
        var problemsFile = file
        if let overrides {
            for (key, raw) in overrides { values[key] = try PolicySchema.value(for: key, raw, file: "\(overridesFile) (\(name))") }
            problemsFile = "\(file) with \(overridesFile)"
        }
        let policy = try PolicySchema.policy(named: name, from: values, file: file)
        if let problem = policy.problems.first {
            throw ConfigError(file: problemsFile, key: problem.keys.joined(separator: " + "), problem.explanation)
        }
        return policy
    }
}
