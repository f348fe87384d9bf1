extension CommandParser {
    /// `/milestone add|request <amount> <description> [due <date>]`, `/milestone edit M2 ...`, `/milestone delete M2`.
    func parseMilestone(_ words: inout Words) -> Result<ChatCommand, ParseError> {
        let example = "/milestone add \(AmountParser.example(in: currency).plainText) Logo design due 2026-12-01"
        guard let sub = words.next() else {
            return .failure(ParseError(command: "/milestone", problem: "say add, edit, delete or request", example: example))
        }
        switch sub.lowercased() {
        case "add", "new", "create":
            return draft("/milestone add", &words).map(ChatCommand.addMilestone)
        case "request":
            return draft("/milestone request", &words).map(ChatCommand.requestMilestone)
        case "delete", "remove":
            let command = "/milestone delete"
            let example = "/milestone delete M2"
            return requiredMilestoneRef(command, &words, example: example).flatMap { ref in
                if let extra = words.rest() {
                    return .failure(ParseError(command: command, problem: "unexpected `\(extra.prefix(40))` after the milestone", example: example))
                }
                return .success(.deleteMilestone(ref))
            }
        case "edit", "change":
            return parseEdit(&words)
        default:
            return .failure(ParseError(
                command: "/milestone \(sub.prefix(20))", problem: "say add, edit, delete or request", example: example))
        }
    }

    private func requiredMilestoneRef(_ command: String, _ words: inout Words, example: String) -> Result<MilestoneRef, ParseError> {
        guard let word = words.next() else {
            return .failure(ParseError(command: command, problem: "the milestone is missing", example: example))
        }
        switch MilestoneName.parse(word) {
        case .number(let number): return .success(.number(number))
        case .invalid(let problem): return .failure(ParseError(command: command, problem: problem, example: example))
        case .notAMilestone:
            return .failure(ParseError(command: command, problem: "`\(word.prefix(40))` is not a milestone; name one like M2, m2 or 2", example: example))
        }
    }

    /// `<amount> <description> [due <date>]`.
    private func draft(_ command: String, _ words: inout Words) -> Result<MilestoneDraft, ParseError> {
        let example = "\(command) \(AmountParser.example(in: currency).plainText) Logo design due 2026-12-01"
        guard let amountWord = words.next() else {
            return .failure(ParseError(command: command, problem: "the amount and a description are missing", example: example))
        }
        let amount: Int64
        switch AmountParser.parse(amountWord, currency: currency) {
        case .success(let value): amount = value
        case .failure(let failure):
            return .failure(ParseError(command: command, problem: failure.explanation(for: currency), example: example))
        }
        if let wrong = currencyAfterAmount(&words, command: command, example: example) { return .failure(wrong) }
        guard let rest = words.rest() else {
            return .failure(ParseError(command: command, problem: "a description of the work is missing", example: example))
        }
        var text = rest
        var revisions: Int?
        if command == "/milestone add" {
            switch splitRevisions(rest, command: command) {
            case .failure(let error): return .failure(error)
            case .success(let (remaining, count)): (text, revisions) = (remaining, count)
            }
        }
        return splitDue(text, command: command, example: example).flatMap { description, due in
            guard !description.isEmpty else {
                return .failure(ParseError(command: command, problem: "a description of the work is missing", example: example))
            }
            guard description.count <= 500 else {
                return .failure(ParseError(command: command, problem: "the description is \(description.count) characters; keep it under 500", example: example))
            }
            return .success(MilestoneDraft(amount: amount, description: description, dueDate: due, revisions: revisions))
        }
    }

    /// A trailing `revisions <n>` (the milestone's own revision allowance), before or after `due <date>`:
    /// `Logo design revisions 3 due 2026-12-01` or `Logo design due 2026-12-01 revisions 3`.
    private func splitRevisions(_ text: Substring, command: String) -> Result<(Substring, Int?), ParseError> {
        let example = "\(command) \(AmountParser.example(in: currency).plainText) Logo design revisions 3 due 2026-12-01"
        let words = text.split(whereSeparator: \.isWhitespace)
        // `... revisions N` at the end, or `... revisions N due DATE`.
        let candidates = [words.count - 2, words.count - 4].filter { $0 >= 1 }
        for at in candidates where ["revisions", "revision"].contains(words[at].lowercased()) {
            if at == words.count - 4, words[words.count - 2].lowercased() != "due" { continue }
            guard let count = Int(words[at + 1]), (0...100).contains(count) else {
                return .failure(ParseError(command: command, problem: "`\(words[at + 1].prefix(20))` is not a number of revisions; say 0 to 100", example: example))
            }
            var kept = words[..<at].joined(separator: " ")
            if at == words.count - 4 { kept += " " + words[(at + 2)...].joined(separator: " ") }
            return .success((Substring(kept), count))
        }
        return .success((text, nil))
    }

    /// Splits `Logo design due 2026-12-01` into the description and the due date.
    private func splitDue(_ text: Substring, command: String, example: String) -> Result<(String, DueDate?), ParseError> {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count >= 2, words[words.count - 2].lowercased() == "due" else {
            if let last = words.last, last.lowercased() == "due" {
                return .failure(ParseError(command: command, problem: "a date is missing after `due`", example: example))
            }
            return .success((String(text), nil))
        }
        let dateWord = words[words.count - 1]
        guard let due = DueDate(iso: dateWord) else {
            return .failure(ParseError(command: command, problem: "`\(dateWord.prefix(20))` is not a date; write it as YYYY-MM-DD", example: example))
        }
        let description = words.dropLast(2).joined(separator: " ")
        return .success((description, due))
    }

    /// `/milestone edit M2 amount 300`, `... description New text`, `... due 2026-12-01`,
    /// or the full terms like add: `/milestone edit M2 300 New text due 2026-12-01`.
    private func parseEdit(_ words: inout Words) -> Result<ChatCommand, ParseError> {
        let command = "/milestone edit"
        let example = "/milestone edit M2 amount \(AmountParser.example(in: currency).plainText)"
        return requiredMilestoneRef(command, &words, example: example).flatMap { ref in
            guard let key = words.peek() else {
                return .failure(ParseError(command: command, problem: "say what to change: amount, description or due", example: example))
            }
            switch key.lowercased() {
            case "amount", "price":
                _ = words.next()
                let value = words.rest()
                guard let value else {
                    return .failure(ParseError(command: command, problem: "the new amount is missing", example: example))
                }
                return AmountParser.parse(value, currency: currency)
                    .mapError { ParseError(command: command, problem: $0.explanation(for: currency), example: example) }
                    .map { .editMilestone(ref, MilestoneChanges(amount: $0)) }
            case "description", "title":
                _ = words.next()
                guard let text = words.rest() else {
                    return .failure(ParseError(command: command, problem: "the new description is missing", example: "/milestone edit M2 description Logo and favicon"))
                }
                return .success(.editMilestone(ref, MilestoneChanges(description: String(text))))
            case "due":
                _ = words.next()
                let dateExample = "/milestone edit M2 due 2026-12-01"
                guard let word = words.next() else {
                    return .failure(ParseError(command: command, problem: "the new due date is missing", example: dateExample))
                }
                guard let due = DueDate(iso: word) else {
                    return .failure(ParseError(command: command, problem: "`\(word.prefix(20))` is not a date; write it as YYYY-MM-DD", example: dateExample))
                }
                if let extra = words.rest() {
                    return .failure(ParseError(command: command, problem: "unexpected `\(extra.prefix(40))` after the date", example: dateExample))
                }
                return .success(.editMilestone(ref, MilestoneChanges(dueDate: due)))
            default:
                return draft(command, &words).map {
                    .editMilestone(ref, MilestoneChanges(amount: $0.amount, description: $0.description, dueDate: $0.dueDate))
                }
            }
        }
    }

    /// `/resolve M<n> release|refund|split <amount> <note>`.
    /// `/offer M2 release <amount>`, `/offer M2 refund`, `/offer M2 extend <date>`; `/offer accept|decline|withdraw [M2]`.
    func parseOffer(_ words: inout Words) -> Result<ChatCommand, ParseError> {
        let command = "/offer"
        let example = "/offer M2 release \(AmountParser.example(in: currency).plainText)"
        if let first = words.peek(), let answer = OfferAnswer(rawValue: first.lowercased()) {
            _ = words.next()
            let name = "/offer \(answer.rawValue)"
            var ref = MilestoneRef.implied
            if let word = words.peek(), ["contract", "job", "order", "cancel", "cancellation"].contains(word.lowercased()) {
                _ = words.next()
                return noArgumentsAfter(name + " contract", &words, .answerCancellation(answer))
            }
            if let word = words.next() {
                switch MilestoneName.parse(word) {
                case .number(let number): ref = .number(number)
                case .invalid(let problem): return .failure(ParseError(command: name, problem: problem, example: "\(name) M2"))
                case .notAMilestone:
                    return .failure(ParseError(command: name, problem: "`\(word.prefix(40))` is not a milestone; name one like M2", example: "\(name) M2"))
                }
            }
            if let extra = words.rest() {
                return .failure(ParseError(command: name, problem: "unexpected `\(extra.prefix(40))` after the milestone", example: "\(name) M2"))
            }
            return .success(.answerOffer(ref, answer))
        }
        if let first = words.peek(), first.lowercased() == "cancel" {
            _ = words.next()
            guard let reason = words.rest() else {
                return .failure(ParseError(command: "/offer cancel", problem: "say why, for the other party and the record", example: "/offer cancel we agreed to stop here"))
            }
            return .success(.offerCancellation(reason: String(reason)))
        }
        return requiredMilestoneRef(command, &words, example: example).flatMap { ref in
            guard let verb = words.next() else {
                return .failure(ParseError(command: command, problem: "say release <amount>, refund or extend <date>", example: example))
            }
            let terms: Offer.Terms
            switch verb.lowercased() {
            case "release", "pay":
                guard let amountWord = words.next() else {
                    return .failure(ParseError(command: command, problem: "the amount for the freelancer is missing (the rest goes back to the buyer)", example: example))
                }
                switch AmountParser.parse(amountWord, currency: currency) {
                case .success(let value): terms = .release(toFreelancer: value)
                case .failure(let failure): return .failure(ParseError(command: command, problem: failure.explanation(for: currency), example: example))
                }
                if let wrong = currencyAfterAmount(&words, command: command, example: example) { return .failure(wrong) }
            case "refund":
                terms = .refund
            case "extend":
                let dateExample = "/offer M2 extend 2026-12-20"
                guard let word = words.next() else {
                    return .failure(ParseError(command: command, problem: "the new due date is missing", example: dateExample))
                }
                guard let due = DueDate(iso: word) else {
                    return .failure(ParseError(command: command, problem: "`\(word.prefix(20))` is not a date; write it as YYYY-MM-DD", example: dateExample))
                }
                terms = .extend(due)
            default:
                return .failure(ParseError(command: command, problem: "`\(verb.prefix(20))`: say release <amount>, refund or extend <date>", example: example))
            }
            if let extra = words.rest() {
                return .failure(ParseError(command: command, problem: "unexpected `\(extra.prefix(40))` after the terms", example: example))
            }
            return .success(.offer(ref, terms))
        }
    }

    /// `/bonus <amount> <note>`.
    func parseBonus(_ words: inout Words) -> Result<ChatCommand, ParseError> {
        let command = "/bonus"
        let example = "/bonus \(AmountParser.example(in: currency).plainText) thanks for the extra care"
        guard let amountWord = words.next() else {
            return .failure(ParseError(command: command, problem: "the amount and a note are missing", example: example))
        }
        let amount: Int64
        switch AmountParser.parse(amountWord, currency: currency) {
        case .success(let value): amount = value
        case .failure(let failure): return .failure(ParseError(command: command, problem: failure.explanation(for: currency), example: example))
        }
        if let wrong = currencyAfterAmount(&words, command: command, example: example) { return .failure(wrong) }
        guard let note = words.rest() else {
            return .failure(ParseError(command: command, problem: "a note saying what the bonus is for is missing", example: example))
        }
        guard note.count <= 480 else {
            return .failure(ParseError(command: command, problem: "the note is \(note.count) characters; keep it under 480", example: example))
        }
        return .success(.bonus(amount: amount, note: String(note)))
    }

    private func noArgumentsAfter(_ command: String, _ words: inout Words, _ value: ChatCommand) -> Result<ChatCommand, ParseError> {
        if let extra = words.rest() {
            return .failure(ParseError(command: command, problem: "it takes nothing after it, but got `\(extra.prefix(40))`", example: command))
        }
        return .success(value)
    }

    func parseResolve(_ words: inout Words) -> Result<ChatCommand, ParseError> {
        let command = "/resolve"
        let example = "/resolve M1 split \(AmountParser.example(in: currency).plainText) half the work was delivered"
        var ref = MilestoneRef.implied
        if let word = words.peek() {
            switch MilestoneName.parse(word) {
            case .number(let number):
                _ = words.next()
                ref = .number(number)
            case .invalid(let problem):
                return .failure(ParseError(command: command, problem: problem, example: example))
            case .notAMilestone:
                break
            }
        }
        guard let verb = words.next() else {
            return .failure(ParseError(command: command, problem: "say release, refund or split", example: example))
        }
        let resolution: Resolution
        switch verb.lowercased() {
        case "release": resolution = .release
        case "refund": resolution = .refund
        case "split":
            guard let amountWord = words.next() else {
                return .failure(ParseError(command: command, problem: "a split needs the amount that goes to the freelancer", example: example))
            }
            switch AmountParser.parse(amountWord, currency: currency) {
            case .success(let amount): resolution = .split(toFreelancer: amount)
            case .failure(let failure):
                return .failure(ParseError(command: command, problem: failure.explanation(for: currency), example: example))
            }
            if let wrong = currencyAfterAmount(&words, command: command, example: example) { return .failure(wrong) }
        default:
            return .failure(ParseError(command: command, problem: "`\(verb.prefix(20))` is not a ruling; say release, refund or split", example: example))
        }
        guard let note = words.rest() else {
            return .failure(ParseError(command: command, problem: "a note explaining the ruling is missing", example: example))
        }
        return .success(.resolve(ref, resolution, note: String(note)))
    }
}
