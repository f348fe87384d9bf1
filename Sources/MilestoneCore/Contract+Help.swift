import Foundation

extension Contract {
    /// Every command `actor` could successfully run now, found by trying each one on a copy.
    public func availableCommands(for actor: Participant, at now: Date) -> [CommandSuggestion] {
        suggestions(for: actor, at: now, skippingImpossible: true)
    }

    /// `availableCommands`; with `skippingImpossible`, a command is not tried where it always refuses: a
    /// milestone command on a milestone in a state its guard in `Step` rejects (most milestones, once a
    /// contract has history), a contract command in the wrong role or phase. Tests check that both ways
    /// give the same answer.
    func suggestions(for actor: Participant, at now: Date, skippingImpossible: Bool) -> [CommandSuggestion] {
        var found: [CommandSuggestion] = []
        func offer(_ command: ChatCommand, _ template: @autoclosure () -> String, _ summary: @autoclosure () -> String, when possible: Bool = true) {
            guard possible || !skippingImpossible else { return }
            guard case .success(let outcome) = apply(command, by: actor, at: now) else { return }
            // Whatever would post money says so, whichever command it is (`/golive` charges approved
            // milestones where the policy charges on approval).
            var postsMoney = false
            if case .applied(let transition) = outcome { postsMoney = !transition.postings.isEmpty }
            found.append(CommandSuggestion(template: template(), summary: summary(), movesMoney: command.movesMoney || postsMoney))
        }
        let sample = AmountParser.example(in: currency).minorUnits
        let role = actor.role
        offer(.addMilestone(MilestoneDraft(amount: sample, description: "x")), "/milestone add <amount> <description>", "propose a new milestone",
            when: !isClosed && role == policy.milestoneCreator)
        offer(.requestMilestone(MilestoneDraft(amount: sample, description: "x")), "/milestone request <amount> <description>", "ask the buyer for a milestone",
            when: !isClosed && role == .freelancer && policy.freelancerMayRequest)
        for milestone in milestones {
            let m = milestone.number
            let state = milestone.state
            if skippingImpossible, state.isTerminal { continue }
            var proposed = false, working = false, submitted = false, disputed = false
            switch state {
            case .proposed: proposed = true
            case .funded, .revisionRequested: working = true
            case .submitted: submitted = true
            case .disputed: disputed = true
            default: break
            }
            let heldUndisputed = state.holdsMoney && !disputed
            let party = role == .buyer || role == .freelancer
            var amount: Money { money(milestone.amount) }
            var held: Money { money(milestone.held) }
            offer(.approve(.number(m)), "/approve \(m)", "accept \(m): \(milestone.description), \(amount)", when: proposed)
            offer(.fund(.number(m)), "/fund \(m)", "pay \(amount) into the hold for \(m)", when: state.isUnfunded)
            offer(.submit(.number(m), note: nil), "/submit \(m)", "deliver \(m) for review", when: working)
            offer(.release(.number(m)), "/release \(m)", "pay the freelancer \(held) for \(m)", when: heldUndisputed)
            offer(.revise(.number(m), feedback: "x"), "/revise \(m) <feedback>", "send \(m) back for changes", when: submitted)
            offer(.cancel(.number(m)), "/cancel \(m)", "return \(held) for \(m) to the buyer", when: heldUndisputed)
            offer(.dispute(.number(m), reason: "x"), "/dispute \(m) <reason>", "freeze \(held) for a moderator", when: heldUndisputed)
            offer(.evidence(.milestone(m), text: "x"), "/evidence \(m) <your side>", "add a statement or evidence to the dispute on \(m)",
                when: disputed && party)
            offer(.takeCase(.milestone(m)), "/take \(m)", "take the case of the dispute on \(m)", when: disputed && role == .moderator)
            offer(.resolve(.number(m), .release, note: "x"), "/resolve \(m) release <note>", "pay \(held) to the freelancer", when: disputed)
            offer(.resolve(.number(m), .refund, note: "x"), "/resolve \(m) refund <note>", "return \(held) to the buyer", when: disputed)
            if milestone.held > 1 {
                offer(.resolve(.number(m), .split(toFreelancer: 1), note: "x"), "/resolve \(m) split <amount> <note>", "pay part of \(held) to the freelancer, return the rest", when: disputed)
            }
            let openOffer = offers.first { $0.milestone == m }
            offer(.offer(.number(m), .release(toFreelancer: milestone.held)), "/offer \(m) release <amount>",
                "offer to settle \(m): part of \(held) to the freelancer, the rest back to the buyer", when: party && state.holdsMoney && openOffer == nil)
            offer(.offer(.number(m), .refund), "/offer \(m) refund", "offer to settle \(m) by returning \(held) to the buyer",
                when: party && state.holdsMoney && openOffer == nil)
            if let openOffer {
                let answering = role == openOffer.by.counterparty
                offer(.answerOffer(.number(m), .accept), "/offer accept \(m)", "accept the \(openOffer.by)'s offer on \(m)", when: answering)
                offer(.answerOffer(.number(m), .decline), "/offer decline \(m)", "decline the \(openOffer.by)'s offer on \(m)", when: answering)
                offer(.answerOffer(.number(m), .withdraw), "/offer withdraw \(m)", "take back your offer on \(m)", when: role == openOffer.by)
            }
            offer(.editMilestone(.number(m), MilestoneChanges(description: milestone.description + " (edited)")), "/milestone edit \(m) amount <amount>", "change \(m)'s terms", when: state.isUnfunded)
            offer(.deleteMilestone(.number(m)), "/milestone delete \(m)", "remove \(m)", when: state.isUnfunded)
        }
        // The same for the contract's commands: each refuses outside these (Step+Terms, Step+Ending).
        let buyerOfOpen = role == .buyer && !isClosed
        if policy.placeOrder {
            let first = milestones.first { $0.state == .agreed }
            offer(.goLive, "/placeorder", "accept the offer and place the order; \(first.map { "\($0.number) (\(money($0.amount))) is charged now" } ?? "the first milestone is charged now")",
                when: buyerOfOpen && phase == .proposal)
        } else {
            offer(.goLive, "/golive", "make the contract live", when: buyerOfOpen && phase == .proposal)
        }
        offer(.endContract(reason: nil), "/endcontract <reason>", "ask to end the contract", when: buyerOfOpen && endRequest == nil)
        let answerable = role == .freelancer && !isClosed && endRequest != nil
        offer(.answerEndRequest(accept: true), "/endcontract accept", "end the contract; funded milestones are refunded", when: answerable)
        offer(.answerEndRequest(accept: false), "/endcontract decline", "keep the contract going", when: answerable)
        offer(.stop, "/stop", "stop the order here; it cannot resume", when: buyerOfOpen && policy.stopAllowed)
        offer(.disputeContract(reason: "x"), "/dispute contract <reason>", "ask a moderator to look at the contract as a whole",
            when: (role == .buyer || role == .freelancer) && !isClosed && dispute == nil)
        offer(.evidence(.contract, text: "x"), "/evidence contract <your side>", "add a statement or evidence to the dispute about the contract",
            when: (role == .buyer || role == .freelancer) && dispute != nil)
        offer(.takeCase(.contract), "/take contract", "take the case of the dispute about the contract", when: role == .moderator && dispute != nil)
        offer(.internalNote("x"), "/note <text>", "an internal note only moderators see", when: role == .moderator)
        offer(.resolveContract(note: "x"), "/resolve contract <ruling>", "rule on the dispute about the contract",
            when: role == .moderator && dispute != nil)
        let party = role == .buyer || role == .freelancer
        if let cancellation = cancellationOffer {
            let answering = role == cancellation.by.counterparty
            offer(.answerCancellation(.accept), "/offer accept contract", "agree to cancel the contract; \(money(held)) held goes back to the buyer", when: answering && !isClosed)
            offer(.answerCancellation(.decline), "/offer decline contract", "keep the contract going", when: answering && !isClosed)
            offer(.answerCancellation(.withdraw), "/offer withdraw contract", "take back your offer to cancel the contract", when: role == cancellation.by && !isClosed)
        } else {
            offer(.offerCancellation(reason: "x"), "/offer cancel <reason>", "offer to cancel the whole contract; if the other side agrees, everything held goes back to the buyer",
                when: party && !isClosed && policy.mutualCancellation)
        }
        offer(.bonus(amount: sample, note: "x"), "/bonus <amount> <note>", "pay the freelancer a bonus, charged now",
            when: buyerOfOpen && phase == .live && policy.bonusAllowed)
        offer(.cancelOrder(reason: "x"), "/cancel order <reason>", "cancel the whole order; everything held goes back to the buyer",
            when: role == .moderator && !isClosed && policy.cancelBy == .moderator)
        offer(.complete, "/complete", "mark the contract complete",
            when: buyerOfOpen && !milestones.isEmpty && milestones.allSatisfy(\.state.isTerminal))
        offer(.review(stars: 5, text: "x"), "/review <1-5> <text>", "rate the other side", when: role != .moderator && phase == .completed)
        return found
    }

    /// The private answer to `/help [topic]`.
    public func help(for actor: Participant, topic: String?, at now: Date) -> String {
        if let topic, !topic.isEmpty {
            guard let reference = CommandReference.named(topic) else {
                return "There is no command called \(topic). Type /help to see what you can do now."
            }
            return "\(reference.syntax): \(reference.summary). Example: \(reference.example)"
        }
        let available = availableCommands(for: actor, at: now)
        var lines = ["You are the \(actor.role) here (\(policy.name) rules). What you can do now:"]
        if available.isEmpty { lines.append("  nothing needs you right now; chat away") }
        for suggestion in available { lines.append("  \(suggestion.template): \(suggestion.summary)") }
        lines.append("Any time: /status, /help <command>.")
        return lines.joined(separator: "\n")
    }

    /// The private answer to `/status`.
    public func statusText(at now: Date) -> String {
        var lines = ["\(title) (\(phase.rawValue), \(policy.name) rules, \(currency.code)). Held now: \(money(held))."]
        if milestones.isEmpty { lines.append("No milestones yet.") }
        for milestone in milestones {
            var line = "\(milestone.number) \(milestone.description): \(money(milestone.amount)), \(milestone.state.name.replacingOccurrences(of: "_", with: " "))"
            if milestone.held > 0 { line += ", \(money(milestone.held)) held" }
            if milestone.released > 0 { line += ", \(money(milestone.released)) paid" }
            if milestone.refunded > 0 { line += ", \(money(milestone.refunded)) refunded" }
            if let due = milestone.dueDate { line += ", due \(due)" }
            if let allowance = milestone.revisionAllowance { line += ", revisions \(milestone.revisionsUsed)/\(allowance)" }
            if case .submitted(let submission) = milestone.state, let ends = submission.reviewEnds, let period = policy.reviewPeriod {
                line += "; review ends \(ContractEvent.timeText(ends)), then \(ContractEvent.outcomeText(period.outcome))"
            }
            lines.append(line)
        }
        if let request = endRequest {
            lines.append("The buyer asked to end the contract; the freelancer has until \(ContractEvent.timeText(request.answerBy)) to answer.")
        }
        return lines.joined(separator: "\n")
    }
}
