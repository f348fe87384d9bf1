import Foundation

extension Contract {
    /// Applies a command typed by `actor` at `now`. Either what happened, or why nothing did.
    /// Never traps on user input; a rejection leaves the contract exactly as it was.
    public func apply(_ command: ChatCommand, by actor: Participant, at now: Date) -> Result<CommandOutcome, Rejection> {
        if !parties.admits(actor) {
            return .failure(Rejection(.notAllowedForRole, "you are not the \(actor.role) of this contract"))
        }
        switch command {
        case .help(let topic): return .success(.answered(help(for: actor, topic: topic, at: now)))
        case .status: return .success(.answered(statusText(at: now)))
        default: break
        }
        var step = Step(contract: self, actor: actor, now: now)
        do {
            try step.run(command)
        } catch {
            return .failure(error)
        }
        step.dropCancellationOfferIfClosed()
        return .success(.applied(step.transition))
    }

    /// Fires a deadline the clock reached. Returns an empty transition when it no longer applies
    /// (the milestone moved on, a dispute stopped the clock, the contract closed).
    public func fire(_ deadline: DeadlineKind, at now: Date) -> Transition {
        var step = Step(contract: self, actor: nil, now: now)
        step.fire(deadline)
        step.dropCancellationOfferIfClosed()
        return step.transition
    }

    /// Applies a command given as the text typed in the chat, parsing it in this contract's currency.
    public func apply(line: String, by actor: Participant, at now: Date) -> Result<CommandOutcome, Rejection> {
        switch CommandParser(currency: currency).parse(line) {
        case .failure(let error): return .failure(Rejection(error))
        case .success(let command): return apply(command, by: actor, at: now)
        }
    }
}

extension Step {
    mutating func run(_ command: ChatCommand) throws(Rejection) {
        switch command {
        case .help, .status: return
        case .addMilestone(let draft): try add(draft)
        case .requestMilestone(let draft): try request(draft)
        case .editMilestone(let ref, let changes): try edit(ref, changes)
        case .deleteMilestone(let ref): try delete(ref)
        case .approve(let ref): try approve(ref)
        case .fund(let ref): try fund(ref)
        case .submit(let ref, let note): try submit(ref, note: note)
        case .revise(let ref, let feedback): try revise(ref, feedback: feedback)
        case .release(let ref): try release(ref)
        case .cancel(let ref): try cancel(ref)
        case .cancelOrder(let reason): try cancelOrder(reason: reason)
        case .dispute(let ref, let reason): try dispute(ref, reason: reason)
        case .disputeContract(let reason): try disputeContract(reason: reason)
        case .resolveContract(let note): try resolveContract(note: note)
        case .offer(let ref, let terms): try makeOffer(ref, terms)
        case .evidence(let scope, let text): try addEvidence(scope, text: text)
        case .takeCase(let scope): try takeCase(scope)
        case .internalNote: try writeInternalNote()
        case .answerOffer(let ref, let answer): try answerOffer(ref, answer)
        case .offerCancellation(let reason): try offerCancellation(reason: reason)
        case .answerCancellation(let answer): try answerCancellation(answer)
        case .bonus(let amount, let note): try payBonus(amount, note: note)
        case .resolve(let ref, let ruling, let note): try resolve(ref, ruling, note: note)
        case .endContract(let reason): try requestEnd(reason: reason)
        case .answerEndRequest(let accept): try answerEnd(accept: accept)
        case .goLive: try goLive()
        case .stop: try stop()
        case .complete: try complete()
        case .review(let stars, let text): try review(stars: stars, text: text)
        }
    }
}
