import Foundation
import MilestoneCore
import Testing

/// `.number(M<value>)`.
fileprivate func n(_ value: Int) -> MilestoneRef { .number(MilestoneNumber(value)) }

/// A scripted step that could not be applied; the reason was already recorded as an issue.
fileprivate struct StepNotApplied: Error {}

/// Every command of PRODUCT.md's table, amounts as people type them, milestone names, and the specific error
/// each kind of malformed line gets.
@Suite struct CommandParserTests {
    let usd = CommandParser(currency: .usd)
    let jpy = CommandParser(currency: .jpy)

    func parsed(_ line: String, _ parser: CommandParser? = nil, sourceLocation: SourceLocation = #_sourceLocation) -> ChatCommand? {
        switch (parser ?? usd).parse(line) {
        case .success(let command): return command
        case .failure(let error):
            Issue.record("`\(line)` did not parse: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    func error(_ line: String, _ parser: CommandParser? = nil, sourceLocation: SourceLocation = #_sourceLocation) -> ParseError? {
        switch (parser ?? usd).parse(line) {
        case .success(let command):
            Issue.record("`\(line)` should not parse, got \(command)", sourceLocation: sourceLocation)
            return nil
        case .failure(let error): return error
        }
    }

    // MARK: - A currency code after an amount

    /// The attack: `/milestone add 50000 JPY Logo` on a USD contract made a $50,000.00 milestone "JPY Logo",
    /// and `/resolve M1 split 450 EUR ...` paid $450.
    @Test func aCurrencyCodeAfterAnAmountIsTheContractsOrRefused() {
        #expect(error("/milestone add 50000 JPY Logo")?.problem.contains("`JPY` is not this contract's currency") == true)
        #expect(error("/milestone add 500 eur Logo")?.problem.contains("`EUR` is not this contract's currency") == true)
        #expect(error("/milestone request 500 GBP Logo")?.problem.contains("`GBP`") == true)
        #expect(error("/resolve M1 split 450 EUR half the work")?.problem.contains("`EUR` is not this contract's currency") == true)
        #expect(error("/milestone edit M1 600 CHF New logo")?.problem.contains("`CHF`") == true)
        #expect(error("/milestone add 5000 USD Logo", jpy)?.problem.contains("`USD` is not this contract's currency") == true)
        // The contract's own code is part of the amount.
        #expect(parsed("/milestone add 500 USD Logo") == .addMilestone(MilestoneDraft(amount: 50_000, description: "Logo")))
        #expect(parsed("/milestone add 500 usd Logo") == .addMilestone(MilestoneDraft(amount: 50_000, description: "Logo")))
        #expect(parsed("/resolve M1 split 450 USD half") == .resolve(n(1), .split(toFreelancer: 45_000), note: "half"))
        #expect(parsed("/milestone add 5000 JPY Logo", jpy) == .addMilestone(MilestoneDraft(amount: 5_000, description: "Logo")))
        // Words that merely look like codes in small letters stay descriptions.
        #expect(parsed("/milestone add 500 all pages") == .addMilestone(MilestoneDraft(amount: 50_000, description: "all pages")))
        #expect(parsed("/milestone add 500 top banner") == .addMilestone(MilestoneDraft(amount: 50_000, description: "top banner")))
        #expect(parsed("/milestone add 500 cad drawings") == .addMilestone(MilestoneDraft(amount: 50_000, description: "cad drawings")))
        // A currency symbol on its own after the amount counts too.
        #expect(error("/milestone add 50000 ¥ Logo")?.problem.contains("`JPY` is not this contract's currency") == true)
        #expect(error("/milestone add 500 € Logo")?.problem.contains("`EUR`") == true)
        #expect(error("/milestone add 500 ₩ Logo")?.problem.contains("`₩`") == true)
        #expect(parsed("/milestone add 500 $ Logo") == .addMilestone(MilestoneDraft(amount: 50_000, description: "Logo")))
    }

    // MARK: - Every command of the table

    @Test("Every command of PRODUCT.md's table parses into its typed value", arguments: [
        ("/help", ChatCommand.help(topic: nil)),
        ("/help fund", .help(topic: "fund")),
        ("/help /fund", .help(topic: "fund")),
        ("/status", .status),
        ("/milestone add 500 Logo design", .addMilestone(MilestoneDraft(amount: 50_000, description: "Logo design"))),
        ("/milestone add 500 Logo design due 2026-12-01",
            .addMilestone(MilestoneDraft(amount: 50_000, description: "Logo design", dueDate: DueDate(year: 2026, month: 12, day: 1)))),
        ("/milestone edit M2 amount 300", .editMilestone(n(2), MilestoneChanges(amount: 30_000))),
        ("/milestone edit M2 description Logo and favicon", .editMilestone(n(2), MilestoneChanges(description: "Logo and favicon"))),
        ("/milestone edit M2 due 2026-12-01", .editMilestone(n(2), MilestoneChanges(dueDate: DueDate(year: 2026, month: 12, day: 1)))),
        ("/milestone edit M2 300 New text due 2026-12-01",
            .editMilestone(n(2), MilestoneChanges(amount: 30_000, description: "New text", dueDate: DueDate(year: 2026, month: 12, day: 1)))),
        ("/milestone delete M2", .deleteMilestone(n(2))),
        ("/milestone request 250 Extra landing page", .requestMilestone(MilestoneDraft(amount: 25_000, description: "Extra landing page"))),
        ("/approve M1", .approve(n(1))),
        ("/fund M1", .fund(n(1))),
        ("/submit M1", .submit(n(1), note: nil)),
        ("/submit M1 final files attached", .submit(n(1), note: "final files attached")),
        ("/revise M1 please use the brand colours", .revise(n(1), feedback: "please use the brand colours")),
        ("/release M1", .release(n(1))),
        ("/cancel M1", .cancel(n(1))),
        ("/dispute M1 the delivered files are empty", .dispute(n(1), reason: "the delivered files are empty")),
        ("/resolve M1 release work was delivered", .resolve(n(1), .release, note: "work was delivered")),
        ("/resolve M1 refund nothing was delivered", .resolve(n(1), .refund, note: "nothing was delivered")),
        ("/resolve M1 split 200 half the work was delivered", .resolve(n(1), .split(toFreelancer: 20_000), note: "half the work was delivered")),
        ("/endcontract", .endContract(reason: nil)),
        ("/endcontract the project was cancelled", .endContract(reason: "the project was cancelled")),
        ("/endcontract accept", .answerEndRequest(accept: true)),
        ("/endcontract decline", .answerEndRequest(accept: false)),
        ("/golive", .goLive),
        ("/stop", .stop),
        ("/complete", .complete),
        ("/review 5 clear communication, delivered early", .review(stars: 5, text: "clear communication, delivered early")),
        ("/bonus 50 great work", .bonus(amount: 5_000, note: "great work")),
        ("/offer cancel we agreed to stop", .offerCancellation(reason: "we agreed to stop")),
        ("/offer accept contract", .answerCancellation(.accept)),
        ("/offer decline contract", .answerCancellation(.decline)),
        ("/offer withdraw contract", .answerCancellation(.withdraw)),
        ("/offer accept", .answerOffer(.implied, .accept)),
    ])
    func everyCommand(line: String, expected: ChatCommand) {
        #expect(parsed(line) == expected)
    }

    /// `cancel` is a word only `/offer` gives a meaning to: the milestone commands refuse it as a milestone.
    @Test("`cancel` after /milestone delete or edit is not an offer to cancel the contract", arguments: [
        "/milestone delete cancel everything", "/milestone edit cancel it all", "/milestone delete cancel",
    ])
    func cancelIsNotAMilestone(line: String) {
        guard case .failure(let error) = CommandParser(currency: .usd).parse(line) else {
            Issue.record("\(line) parsed as \(String(describing: try? CommandParser(currency: .usd).parse(line).get()))")
            return
        }
        #expect(error.command.hasPrefix("/milestone"))
    }

    @Test("Aliases, upper case and surrounding spaces", arguments: [
        ("/pay M1", ChatCommand.fund(n(1))),
        ("/FUND m1", .fund(n(1))),
        ("   /fund M1   ", .fund(n(1))),
        ("/deliver M2 done", .submit(n(2), note: "done")),
        ("/accept M1", .release(n(1))),
        ("/return M1", .cancel(n(1))),
        ("/ms add 10 Icon", .addMilestone(MilestoneDraft(amount: 1_000, description: "Icon"))),
        ("/end reject", .answerEndRequest(accept: false)),
        ("/done", .complete),
        ("/info", .status),
    ])
    func aliases(line: String, expected: ChatCommand) {
        #expect(parsed(line) == expected)
    }

    @Test("Each command reports its name as typed, and which ones are queries or move money")
    func commandMetadata() {
        #expect(parsed("/milestone add 5 x")?.name == "/milestone add")
        #expect(parsed("/endcontract accept")?.name == "/endcontract")
        #expect(parsed("/status")?.isQuery == true)
        #expect(parsed("/fund M1")?.isQuery == false)
        for line in ["/fund M1", "/release M1", "/cancel M1", "/resolve M1 refund x", "/endcontract accept", "/approve M1"] {
            #expect(parsed(line)?.movesMoney == true, "\(line)")
        }
        for line in ["/submit M1", "/dispute M1 x", "/milestone add 5 x", "/review 5 x"] {
            #expect(parsed(line)?.movesMoney == false, "\(line)")
        }
        #expect(CommandParser.isCommand("  /fund"))
        #expect(!CommandParser.isCommand("fund M1 please"))
    }

    // MARK: - Amounts

    @Test("Amounts as people type them, in minor units", arguments: [
        ("250", Int64(25_000)),
        ("250.00", 25_000),
        ("$1,250.50", 125_050),
        ("1250.5", 125_050),
        ("1,250", 125_000),
        ("USD250", 25_000),
        ("250usd", 25_000),
        (".5", 50),
        ("0.01", 1),
        ("10000000000.00", 1_000_000_000_000),  // the largest amount a milestone may carry
    ])
    func usdAmounts(typed: String, minorUnits: Int64) {
        #expect(AmountParser.parse(Substring(typed), currency: .usd) == .success(minorUnits))
        #expect(parsed("/milestone add \(typed) Logo") == .addMilestone(MilestoneDraft(amount: minorUnits, description: "Logo")))
    }

    @Test("JPY has no minor unit: whole yen only")
    func yen() {
        #expect(parsed("/milestone add 300 Logo", jpy) == .addMilestone(MilestoneDraft(amount: 300, description: "Logo")))
        #expect(parsed("/milestone add ¥12,000 Logo", jpy) == .addMilestone(MilestoneDraft(amount: 12_000, description: "Logo")))
        #expect(parsed("/resolve M1 split 5000 half", jpy) == .resolve(n(1), .split(toFreelancer: 5_000), note: "half"))
        #expect(AmountParser.parse("300.5", currency: .jpy) == .failure(.tooManyDecimals(allowed: 0)))
        #expect(error("/milestone add 300.5 Logo", jpy)?.problem == "JPY has no minor unit; write a whole number like 1250")
        #expect(error("/milestone add $300 Logo", jpy)?.problem == "`$` is not this contract's currency; amounts here are in JPY, e.g. ¥1,250")
    }

    @Test("Other currencies' symbols: a bare $ is the local dollar in AUD")
    func dollarsElsewhere() {
        #expect(AmountParser.parse("$250", currency: Currency(code: "AUD")!) == .success(25_000))
        #expect(AmountParser.parse("A$250", currency: Currency(code: "AUD")!) == .success(25_000))
        #expect(AmountParser.parse("A$250", currency: .usd) == .failure(.wrongCurrency(typed: "A$", expected: .usd)))
        #expect(AmountParser.parse("€250", currency: .eur) == .success(25_000))
    }

    @Test("Malformed amounts give a specific error", arguments: [
        ("12.345", AmountParser.Failure.tooManyDecimals(allowed: 2), "USD has 2 decimal places; write it like 1250.50"),
        ("-5", .negative, "amounts cannot be negative"),
        ("$-5", .negative, "amounts cannot be negative"),
        ("0", .zero, "an amount must be more than zero"),
        ("0.00", .zero, "an amount must be more than zero"),
        ("1,25,0", .badGrouping("1,25,0"), "`1,25,0` has misplaced thousands separators; write 1,250.50 or 1250.50"),
        ("12,50", .badGrouping("12,50"), "`12,50` has misplaced thousands separators; write 1,250.50 or 1250.50"),
        ("€250", .wrongCurrency(typed: "€", expected: .usd), "`€` is not this contract's currency; amounts here are in USD, e.g. $1,250.50"),
        ("250EUR", .wrongCurrency(typed: "EUR", expected: .usd), "`EUR` is not this contract's currency; amounts here are in USD, e.g. $1,250.50"),
        ("£10", .wrongCurrency(typed: "£", expected: .usd), "`£` is not this contract's currency; amounts here are in USD, e.g. $1,250.50"),
        ("1.2.3", .notANumber("1.2.3"), "`1.2.3` is not an amount; write it like 1250.50 or $1,250.50"),
        ("12.", .notANumber("12."), "`12.` is not an amount; write it like 1250.50 or $1,250.50"),
        ("10000000000.01", .tooLarge(maximum: Money(minorUnits: 1_000_000_000_000, currency: .usd)), "the largest amount allowed is $10,000,000,000.00"),
        ("99999999999999999999", .tooLarge(maximum: Money(minorUnits: 1_000_000_000_000, currency: .usd)), "the largest amount allowed is $10,000,000,000.00"),
    ])
    func malformedAmounts(typed: String, failure: AmountParser.Failure, problem: String) {
        #expect(AmountParser.parse(Substring(typed), currency: .usd) == .failure(failure))
        let parseError = error("/milestone add \(typed) Logo design")
        #expect(parseError?.command == "/milestone add")
        #expect(parseError?.problem == problem)
        #expect(parseError?.example == "/milestone add 1250.50 Logo design due 2026-12-01")
    }

    @Test("A missing amount, or a missing description, is named")
    func missingAmount() {
        #expect(error("/milestone add")?.problem == "the amount and a description are missing")
        #expect(error("/milestone request")?.problem == "the amount and a description are missing")
        #expect(error("/milestone add 250")?.problem == "a description of the work is missing")
        #expect(error("/milestone edit M2 amount")?.problem == "the new amount is missing")
        #expect(error("/resolve M1 split")?.problem == "a split needs the amount that goes to the freelancer")
        #expect(error("/resolve M1 split 0 nothing")?.problem == "an amount must be more than zero")
        #expect(AmountParser.parse("", currency: .usd) == .failure(.empty))
        #expect(AmountParser.parse("USD", currency: .usd) == .failure(.empty))
    }

    @Test("A description where the amount should be is not mistaken for a currency")
    func wordInsteadOfAmount() {
        // "Bad input of any kind gets a clear error": forgetting the amount must not read as "not this contract's currency".
        let parseError = error("/milestone add Logo design")
        #expect(parseError?.command == "/milestone add")
        #expect(parseError?.problem == "`Logo` is not an amount; write it like 1250.50 or $1,250.50")
        #expect(AmountParser.parse("abc", currency: .usd) == .failure(.notANumber("abc")))
        // A word that merely starts with another currency's code (`AUD`) is not an amount either.
        #expect(error("/milestone add Audit report")?.problem == "`Audit` is not an amount; write it like 1250.50 or $1,250.50")
        // A letters-only prefix before digits is still an unknown currency.
        #expect(AmountParser.parse("XYZ250", currency: .usd) == .failure(.wrongCurrency(typed: "XYZ", expected: .usd)))
    }

    @Test("Due dates")
    func dueDates() {
        #expect(error("/milestone add 500 Logo due 2026-02-30")?.problem == "`2026-02-30` is not a date; write it as YYYY-MM-DD")
        #expect(error("/milestone add 500 Logo due")?.problem == "a date is missing after `due`")
        #expect(error("/milestone edit M2 due 12/01/2026")?.problem == "`12/01/2026` is not a date; write it as YYYY-MM-DD")
        #expect(error("/milestone edit M2 due")?.problem == "the new due date is missing")
        // "due" inside a description is just a word.
        #expect(parsed("/milestone add 500 Work due soon please") == .addMilestone(MilestoneDraft(amount: 50_000, description: "Work due soon please")))
    }

    // MARK: - Milestone names

    @Test("Milestone names: M2, m2, 2 and #2 are the same; left out, the milestone is implied", arguments: [
        ("/fund M2", ChatCommand.fund(n(2))),
        ("/fund m2", .fund(n(2))),
        ("/fund 2", .fund(n(2))),
        ("/fund #2", .fund(n(2))),
        ("/fund M12", .fund(n(12))),
        ("/fund", .fund(.implied)),
        ("/approve", .approve(.implied)),
        ("/release", .release(.implied)),
        ("/submit", .submit(.implied, note: nil)),
        ("/submit files are in the drive", .submit(.implied, note: "files are in the drive")),
        ("/revise please fix the header", .revise(.implied, feedback: "please fix the header")),
        ("/dispute nothing was delivered", .dispute(.implied, reason: "nothing was delivered")),
        ("/resolve refund nothing delivered", .resolve(.implied, .refund, note: "nothing delivered")),
    ])
    func milestoneNames(line: String, expected: ChatCommand) {
        #expect(parsed(line) == expected)
    }

    @Test("Invalid milestone names", arguments: [
        ("/fund M0", "/fund", "`M0` is not a milestone; milestones are numbered from M1"),
        ("/fund 0", "/fund", "`0` is not a milestone; milestones are numbered from M1"),
        ("/fund M-1", "/fund", "`M-1` is not a milestone; name one like M2, m2 or 2"),
        ("/fund M12345", "/fund", "`M12345` is not a milestone; milestones are numbered from M1"),
        ("/fund Mx", "/fund", "unexpected `Mx` after the milestone"),
        ("/fund M1 M2", "/fund", "unexpected `M2` after the milestone"),
        ("/dispute M0 late", "/dispute", "`M0` is not a milestone; milestones are numbered from M1"),
        ("/resolve M0 release paid", "/resolve", "`M0` is not a milestone; milestones are numbered from M1"),
        ("/submit M0 files", "/submit", "`M0` is not a milestone; milestones are numbered from M1"),
        ("/milestone delete", "/milestone delete", "the milestone is missing"),
        ("/milestone delete M0", "/milestone delete", "`M0` is not a milestone; milestones are numbered from M1"),
        ("/milestone delete logo", "/milestone delete", "`logo` is not a milestone; name one like M2, m2 or 2"),
        ("/milestone edit", "/milestone edit", "the milestone is missing"),
        ("/milestone edit M2", "/milestone edit", "say what to change: amount, description or due"),
    ])
    func invalidMilestoneNames(line: String, command: String, problem: String) {
        let parseError = error(line)
        #expect(parseError?.command == command)
        #expect(parseError?.problem == problem)
        #expect(parseError?.example.isEmpty == false)
    }

    // MARK: - Other malformed lines

    @Test("Malformed lines give a specific ParseError", arguments: [
        ("/frobnicate M1", "/frobnicate", "there is no such command; /help lists the commands you can use now"),
        ("hello there", "hello there", "commands start with /"),
        ("/", "/", "a command name is missing"),
        ("/dispute M1", "/dispute", "a reason is missing"),
        ("/dispute", "/dispute", "a reason is missing"),
        ("/revise M1", "/revise", "feedback is missing"),
        ("/resolve M1", "/resolve", "say release, refund or split"),
        ("/resolve M1 pay it all", "/resolve", "`pay` is not a ruling; say release, refund or split"),
        ("/resolve M1 release", "/resolve", "a note explaining the ruling is missing"),
        ("/milestone", "/milestone", "say add, edit, delete or request"),
        ("/milestone rename M1", "/milestone rename", "say add, edit, delete or request"),
        ("/milestone edit M2 description", "/milestone edit", "the new description is missing"),
        ("/milestone edit M2 due 2026-12-01 please", "/milestone edit", "unexpected `please` after the date"),
        ("/status now", "/status", "it takes nothing after it, but got `now`"),
        ("/golive please", "/golive", "it takes nothing after it, but got `please`"),
        ("/stop now", "/stop", "it takes nothing after it, but got `now`"),
        ("/complete all", "/complete", "it takes nothing after it, but got `all`"),
        ("/endcontract accept gladly", "/endcontract accept", "it takes nothing after it, but got `gladly`"),
        ("/review", "/review", "a rating from 1 to 5 is missing"),
        ("/review 6 great", "/review", "`6` is not a rating from 1 to 5"),
        ("/review 0 bad", "/review", "`0` is not a rating from 1 to 5"),
        ("/review five great", "/review", "`five` is not a rating from 1 to 5"),
        ("/review 5", "/review", "a few words about the work are missing"),
    ])
    func malformedLines(line: String, command: String, problem: String) {
        let parseError = error(line)
        #expect(parseError?.command == command)
        #expect(parseError?.problem == problem)
        #expect(parseError?.example.isEmpty == false)
    }

    @Test("A description longer than 500 characters is refused")
    func longDescription() {
        let long = String(repeating: "a", count: 501)
        #expect(error("/milestone add 5 \(long)")?.problem == "the description is 501 characters; keep it under 500")
        #expect(parsed("/milestone add 5 \(String(repeating: "a", count: 500))") != nil)
    }

    // MARK: - Through a contract

    static let start = Date(timeIntervalSince1970: 1_780_000_000)
    static let buyer = Participant(user: "bob", role: .buyer)

    /// A contract under a simple buyer-creates, fund-on-/fund policy, with `amounts` added as M1, M2 ... by the buyer.
    static func contract(adding amounts: [Int]) throws -> Contract {
        let policy = Policy(
            name: "parser-test", milestoneCreator: .buyer, freelancerMayRequest: false, approval: .none,
            contractStartsLive: true, chargeOn: .fund, sequential: false, releaseRequiresSubmission: true,
            reviewPeriod: nil, reviewReminderDays: [], revisions: .unlimited, cancelBy: .nobody,
            deleteBeforeFunding: true, endContract: .disputeOnly, stopAllowed: false, completeAutomatically: false)
        #expect(policy.problems.isEmpty)
        var contract = Contract(id: "c", title: "Parser", currency: .usd, buyer: "bob", freelancer: "fay", policy: policy)
        for amount in amounts {
            contract = try apply("/milestone add \(amount) Work", to: contract)
        }
        return contract
    }

    static func apply(_ line: String, to contract: Contract, by actor: Participant = buyer) throws -> Contract {
        guard case .success(.applied(let transition)) = contract.apply(line: line, by: actor, at: start) else {
            Issue.record("`\(line)` was not applied")
            throw StepNotApplied()
        }
        return transition.contract
    }

    static func rejection(_ line: String, on contract: Contract, by actor: Participant = buyer) -> Rejection? {
        let result = contract.apply(line: line, by: actor, at: start)
        guard case .failure(let rejection) = result else {
            Issue.record("`\(line)` should be rejected, got \(result)")
            return nil
        }
        return rejection
    }

    @Test("/fund M7 on a contract with M1-M3: `there is no milestone M7; this contract has M1-M3`")
    func unknownMilestone() throws {
        let contract = try Self.contract(adding: [100, 200, 300])
        let rejection = Self.rejection("/fund M7", on: contract)
        #expect(rejection?.code == .unknownMilestone)
        #expect(rejection?.reason == "there is no milestone M7; this contract has M1-M3")
        #expect(rejection?.suggestion == "Type /status to see them.")
        #expect(Self.rejection("/release m9", on: contract)?.reason == "there is no milestone M9; this contract has M1-M3")

        let one = try Self.contract(adding: [100])
        #expect(Self.rejection("/fund 4", on: one)?.reason == "there is no milestone M4; this contract has only M1")
        let none = try Self.contract(adding: [])
        #expect(Self.rejection("/fund M1", on: none)?.reason == "there is no milestone M1; this contract has no milestones yet")
        let gap = try Self.apply("/milestone delete M2", to: Self.contract(adding: [100, 200, 300]))
        // A deleted milestone keeps its number: M2 still exists (as deleted).
        #expect(Self.rejection("/fund M2", on: gap)?.code == .wrongState)
    }

    @Test("A parse error reaches the user as a syntax rejection with an example, and changes nothing")
    func parseErrorAsRejection() throws {
        let contract = try Self.contract(adding: [100])
        let rejection = Self.rejection("/milestone add 12.345 Logo", on: contract)
        #expect(rejection?.code == .syntax)
        #expect(rejection?.reason == "USD has 2 decimal places; write it like 1250.50")
        #expect(rejection?.suggestion == "Example: /milestone add 1250.50 Logo design due 2026-12-01")
        #expect(Self.rejection("/fund M0", on: contract)?.code == .syntax)
        #expect(Self.rejection("/frobnicate", on: contract)?.code == .syntax)
    }

    @Test("Implied milestone: one candidate is picked; two candidates are named")
    func impliedMilestone() throws {
        // One fundable milestone: `/fund` means it.
        var contract = try Self.contract(adding: [100])
        contract = try Self.apply("/fund", to: contract)
        #expect(contract.milestone(MilestoneNumber(1))?.state == .funded)

        // M1 funded, M2 and M3 agreed: `/fund` could mean M2 or M3.
        contract = try Self.apply("/milestone add 200 More", to: contract)
        contract = try Self.apply("/milestone add 300 Even more", to: contract)
        let rejection = Self.rejection("/fund", on: contract)
        #expect(rejection?.code == .unknownMilestone)
        #expect(rejection?.reason == "more than one milestone can be funded: M2, M3")
        #expect(rejection?.suggestion == "Name one: /fund M2")

        // Only one milestone was funded, so the freelancer's `/submit` means M1.
        let freelancer = Participant(user: "fay", role: .freelancer)
        contract = try Self.apply("/submit all done", to: contract, by: freelancer)
        guard case .submitted(let submission) = contract.milestone(MilestoneNumber(1))?.state else {
            Issue.record("M1 should be submitted")
            return
        }
        #expect(submission.note == "all done")

        // Nothing can be released except M1; once released, nothing is left to release.
        contract = try Self.apply("/release", to: contract)
        let nothing = Self.rejection("/release", on: contract)
        #expect(nothing?.code == .unknownMilestone)
        #expect(nothing?.reason == "no milestone can be released now; this contract has M1-M3")
    }
}
