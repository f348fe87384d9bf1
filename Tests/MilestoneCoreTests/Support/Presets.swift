import BotConfig
import Foundation
import MilestoneCore

/// The real presets in `bot-config/presets`, plus the white-label switches, for tests.
enum Presets {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bot-config/presets")

    static let catalog: PolicyCatalog = {
        do { return try PolicyCatalog.load(directory: directory) } catch { fatalError("bot-config/presets: \(error)") }
    }()

    /// Every preset, and white-label with each of its switches, each validated like a deployment's override.
    static let variants: [Policy] = {
        var all = catalog.names.map { catalog[$0]! }
        var whitelabel = catalog["whitelabel"]!
        whitelabel.milestoneCreator = .buyer
        whitelabel.name = "whitelabel+customer-creates"
        all.append(whitelabel)
        var charge = whitelabel
        charge.chargeOn = .approval
        charge.deleteBeforeFunding = true
        charge.name = "whitelabel+charge-on-approval+delete-before-paid"
        all.append(charge)
        var skip = whitelabel
        skip.approval = .none
        skip.releaseRequiresSubmission = false
        skip.name = "whitelabel+skip-approval"
        all.append(skip)
        for policy in all { precondition(policy.problems.isEmpty, "\(policy.name): \(policy.problems)") }
        return all
    }()
}
