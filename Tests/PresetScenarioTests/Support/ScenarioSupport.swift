import BotConfig
import Foundation
import MilestoneCore
import Testing

let M1 = MilestoneNumber(1)
let M2 = MilestoneNumber(2)
let M3 = MilestoneNumber(3)

/// The real preset files in `bot-config/presets`, loaded with the same loader a deployment uses.
enum PresetFiles {
    /// `<package>/bot-config/presets`, found from this file: `<package>/Tests/PresetScenarioTests/Support/`.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // PresetScenarioTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("bot-config/presets")

    /// The preset `name`, with `overrides` applied exactly as `bot-config/server.yaml`'s `policy_overrides` would be.
    static func policy(_ name: String, overrides: [String: Any] = [:]) throws -> Policy {
        let catalog = try PolicyCatalog.load(
            directory: directory, overrides: overrides.isEmpty ? [:] : [name: overrides], overridesFile: "server.yaml")
        return try #require(catalog[name], "bot-config/presets/\(name).yaml is missing")
    }
}

/// Why a scenario step could not continue; the detail was already recorded as an issue.
struct ScenarioStepFailed: Error {}

/// One contract thread driven by typed chat lines, with a test clock and the ledger kept beside it.
/// Every successful step's postings go into `ledger`, and the money invariants are checked after each one.
struct Scenario {
    static let start = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28 20:26 UTC
    static let day: TimeInterval = 86_400

    let buyer = Participant(user: "bob", role: .buyer)
    let freelancer = Participant(user: "fay", role: .freelancer)
    let moderator = Participant(user: "mia", role: .moderator)

    var contract: Contract
    var ledger = Ledger()
    var now: Date

    init(policy: Policy, currency: Currency = .usd, title: String = "Website") {
        contract = Contract(id: "c-1", title: title, currency: currency, buyer: "bob", freelancer: "fay", policy: policy)
        now = Scenario.start
    }

    mutating func advance(days: Double) {
        now = now.addingTimeInterval(days * Scenario.day)
    }

    func milestone(_ number: MilestoneNumber, sourceLocation: SourceLocation = #_sourceLocation) throws -> Milestone {
        try #require(contract.milestone(number), "no \(number) in the contract", sourceLocation: sourceLocation)
    }

    func state(_ number: MilestoneNumber) -> MilestoneState? { contract.milestone(number)?.state }

    /// Types `line` as `actor`; the command must be applied. Commits the transition and its postings.
    @discardableResult
    mutating func run(_ line: String, by actor: Participant, sourceLocation: SourceLocation = #_sourceLocation) throws -> Transition {
        switch contract.apply(line: line, by: actor, at: now) {
        case .success(.applied(let transition)):
            try commit(transition, sourceLocation: sourceLocation)
            return transition
        case .success(.answered(let text)):
            Issue.record("`\(line)` by the \(actor.role) was answered privately, not applied: \(text)", sourceLocation: sourceLocation)
            throw ScenarioStepFailed()
        case .failure(let rejection):
            Issue.record("`\(line)` by the \(actor.role) was rejected [\(rejection.code)]: \(rejection)", sourceLocation: sourceLocation)
            throw ScenarioStepFailed()
        }
    }

    /// Types `line` as `actor`; the command must be rejected with `code` (and `reason`, when given) and change nothing.
    @discardableResult
    func reject(
        _ line: String, by actor: Participant, _ code: Rejection.Code, reason: String? = nil, reasonContains: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Rejection? {
        let before = contract
        let ledgerBefore = ledger
        let result = contract.apply(line: line, by: actor, at: now)
        guard case .failure(let rejection) = result else {
            Issue.record("`\(line)` by the \(actor.role) should be rejected with \(code), got \(result)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(rejection.code == code, "`\(line)`: \(rejection)", sourceLocation: sourceLocation)
        if let reason {
            #expect(rejection.reason == reason, sourceLocation: sourceLocation)
        }
        if let reasonContains {
            #expect(rejection.reason.contains(reasonContains), "`\(rejection.reason)` should mention `\(reasonContains)`", sourceLocation: sourceLocation)
        }
        #expect(contract == before, sourceLocation: sourceLocation)
        #expect(ledger == ledgerBefore, sourceLocation: sourceLocation)
        return rejection
    }

    /// The test clock reaches `deadline` (at `now`): fires it and commits whatever it does.
    @discardableResult
    mutating func fire(_ deadline: DeadlineKind, sourceLocation: SourceLocation = #_sourceLocation) throws -> Transition {
        let transition = contract.fire(deadline, at: now)
        try commit(transition, sourceLocation: sourceLocation)
        return transition
    }

    private mutating func commit(_ transition: Transition, sourceLocation: SourceLocation) throws {
        do {
            try ledger.apply(transition.postings)
        } catch {
            Issue.record("ledger refused \(transition.postings): \(error)", sourceLocation: sourceLocation)
            throw ScenarioStepFailed()
        }
        contract = transition.contract
        checkMoney(sourceLocation: sourceLocation)
    }

    /// "held = funded - released - refunded, never below zero; nothing is released or refunded twice; the ledger balances."
    func checkMoney(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ledger.total == 0, "the ledger does not balance", sourceLocation: sourceLocation)
        var funded: Int64 = 0, released: Int64 = 0, refunded: Int64 = 0
        for milestone in contract.milestones {
            #expect(milestone.held >= 0, "\(milestone.number) holds \(milestone.held)", sourceLocation: sourceLocation)
            #expect(milestone.released + milestone.refunded <= milestone.funded, sourceLocation: sourceLocation)
            #expect(ledger.balance(.held(milestone.number)) == milestone.held, "\(milestone.number)", sourceLocation: sourceLocation)
            #expect(milestone.state.holdsMoney == (milestone.held > 0), "\(milestone.number) is \(milestone.state.name) holding \(milestone.held)", sourceLocation: sourceLocation)
            funded += milestone.funded
            released += milestone.released
            refunded += milestone.refunded
        }
        #expect(ledger.balance(.freelancer) == released, sourceLocation: sourceLocation)
        #expect(ledger.balance(.buyer) == refunded - funded, sourceLocation: sourceLocation)
        #expect(contract.held == funded - released - refunded, sourceLocation: sourceLocation)
    }
}

extension Transition {
    var eventNames: [String] { events.map(\.name) }

    func arms(_ kind: DeadlineKind, at date: Date) -> Bool {
        deadlines.contains(.arm(Deadline(kind: kind, at: date)))
    }

    func cancels(_ kind: DeadlineKind) -> Bool {
        deadlines.contains(.cancel(kind))
    }
}

extension MilestoneState {
    var isSubmitted: Bool {
        if case .submitted = self { return true }
        return false
    }

    var isDisputed: Bool {
        if case .disputed = self { return true }
        return false
    }

    var reviewEnds: Date? {
        if case .submitted(let submission) = self { return submission.reviewEnds }
        return nil
    }
}
