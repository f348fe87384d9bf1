import Foundation
import MilestoneCore
import Synchronization

/// The JSON texts most rows share, encoded once: a milestone state without data (`{"released":{}}`), an
/// empty review list, an applied command's outcome. Anything else goes through `JSON`. Each text is what
/// `JSON` itself produces for the value, so both paths read and write the same text.
enum StoredJSON {
    /// Every milestone state that carries no free data, by its JSON, and back.
    private static let simpleStates: (byText: [String: MilestoneState], byState: [MilestoneState: String]) = {
        var states: [MilestoneState] = [.agreed, .funded, .released, .refunded, .split, .cancelled]
        for awaiting in [Role.buyer, .freelancer, .moderator] {
            for requested in [false, true] { states.append(.proposed(awaiting: awaiting, requested: requested)) }
        }
        var byText: [String: MilestoneState] = [:]
        var byState: [MilestoneState: String] = [:]
        for state in states {
            guard let text = try? JSON.string(state) else { continue }
            byText[text] = state
            byState[state] = text
        }
        return (byText, byState)
    }()

    private static let noReviews: String? = try? JSON.string([Contract.Review]())

    static func state(decoding text: String) throws -> MilestoneState {
        if let state = simpleStates.byText[text] { return state }
        return try JSON.decode(MilestoneState.self, text)
    }

    static func string(_ state: MilestoneState) throws -> String {
        if let text = simpleStates.byState[state] { return text }
        return try JSON.string(state)
    }

    static func reviews(decoding text: String) throws -> [Contract.Review] {
        if text == noReviews { return [] }
        return try JSON.decode([Contract.Review].self, text)
    }

    static func string(_ reviews: [Contract.Review]) throws -> String {
        if reviews.isEmpty, let noReviews { return noReviews }
        return try JSON.string(reviews)
    }

    /// Outcomes of applied commands by their event names: a small set, encoded once each.
    private static let appliedOutcomes = Mutex<[[String]: String]>([:])

    static func string(_ outcome: LineOutcome) throws -> String {
        guard case .applied(let events) = outcome else { return outcome == .chat ? AppDatabase.chatOutcome : try JSON.string(outcome) }
        if let text = appliedOutcomes.withLock({ $0[events] }) { return text }
        let text = try JSON.string(outcome)
        appliedOutcomes.withLock { cache in
            if cache.count > 1_000 { cache.removeAll() }
            cache[events] = text
        }
        return text
    }
}
