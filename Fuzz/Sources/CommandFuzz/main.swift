import Foundation
import MilestoneCore

// libFuzzer entry point for chat lines. The input is split into lines (at most 24). Each line is:
//   1. read by `AmountParser.parse` in every supported currency,
//   2. parsed by `CommandParser.parse` in USD, EUR and JPY,
//   3. applied with `Contract.apply(line:by:at:)` to a small running contract, trying the buyer, the
//      freelancer and a moderator in turn, so a sequence of lines can drive the contract through its phases.
// Any trap (overflow, force unwrap, index out of range) or a broken invariant below is a finding.

private let maximum = Money.maximumMinorUnits
private let parsers = [Currency.usd, .eur, .jpy].map { CommandParser(currency: $0) }
private let currencies = Array(Currency.supported.values)
private let buyer = Participant(user: "bob", role: .buyer)
private let freelancer = Participant(user: "fay", role: .freelancer)
private let moderator = Participant(user: "mia", role: .moderator)
private let startDate = Date(timeIntervalSince1970: 1_780_000_000)

private let policies: [Policy] = [
    Policy(
        name: "fuzz-open", milestoneCreator: .buyer, freelancerMayRequest: true, approval: .none,
        contractStartsLive: true, chargeOn: .fund, sequential: false, releaseRequiresSubmission: true,
        reviewPeriod: nil, reviewReminderDays: [], revisions: .unlimited, cancelBy: .nobody,
        deleteBeforeFunding: true, endContract: .disputeOnly, stopAllowed: true, completeAutomatically: false),
    Policy(
        name: "fuzz-proposal", milestoneCreator: .freelancer, freelancerMayRequest: false, approval: .counterparty,
        contractStartsLive: false, chargeOn: .approval, sequential: true, releaseRequiresSubmission: false,
        reviewPeriod: nil, reviewReminderDays: [], revisions: .unlimited, cancelBy: .nobody,
        deleteBeforeFunding: false, endContract: .disputeOnly, stopAllowed: false, completeAutomatically: true),
]

private func fail(_ message: @autoclosure () -> String) -> Never {
    fatalError("invariant broken: \(message())")
}

private func checkAmount(_ amount: Int64, _ line: String) {
    if amount <= 0 || amount > maximum { fail("amount \(amount) out of range from \(line.debugDescription)") }
}

private func check(_ command: ChatCommand, _ line: String) {
    switch command {
    case .addMilestone(let draft), .requestMilestone(let draft):
        checkAmount(draft.amount, line)
        if draft.description.isEmpty { fail("empty description from \(line.debugDescription)") }
    case .editMilestone(_, let changes):
        if let amount = changes.amount { checkAmount(amount, line) }
    case .resolve(_, .split(let toFreelancer), _):
        checkAmount(toFreelancer, line)
    case .review(let stars, _):
        if !(1...5).contains(stars) { fail("stars \(stars) from \(line.debugDescription)") }
    default:
        break
    }
}

/// Deliberate bug for `run.sh --planted`: traps on a chat line with an amount of exactly 7 digits after `$`
/// (`/milestone add $1234567 Logo`), before the line reaches the parser.
private func planted(_ line: Substring) {
    #if PLANTED_BUG
    var rest = line[...]
    while let dollar = rest.firstIndex(of: "$") {
        rest = rest[rest.index(after: dollar)...]
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        let next = rest.dropFirst(digits.count).first
        if digits.count == 7, next == nil || next == " " || next == "." {
            fatalError("PLANTED_BUG: 7-digit dollar amount in \(String(line).debugDescription)")
        }
    }
    #endif
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = bytes.first else { return 0 }
    // UTF-8 with repair: invalid sequences become U+FFFD.
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    let policy = policies[Int(selector) % policies.count]
    let currency = [Currency.usd, .jpy][Int(selector / 2) % 2]
    var contract = Contract(id: "c-fuzz", title: "Fuzz", currency: currency, buyer: "bob", freelancer: "fay", policy: policy)
    var now = startDate

    for line in text.split(separator: "\n", omittingEmptySubsequences: true).prefix(24) {
        planted(line)
        for currency in currencies {
            if case .success(let amount) = AmountParser.parse(line, currency: currency) { checkAmount(amount, String(line)) }
        }
        let lineText = String(line)
        for parser in parsers {
            switch parser.parse(lineText) {
            case .success(let command):
                check(command, lineText)
                _ = command.name
            case .failure(let error):
                // `command` echoes the line when it is no command at all, so it may be empty only then.
                let notACommand = error.problem == "commands start with /"
                if error.problem.isEmpty || error.example.isEmpty || (!notACommand && error.command.isEmpty) {
                    fail("empty parse error \(error) from \(lineText.debugDescription)")
                }
                _ = error.description
            }
        }
        actors: for actor in [buyer, freelancer, moderator] {
            switch contract.apply(line: lineText, by: actor, at: now) {
            case .success(.applied(let transition)):
                contract = transition.contract
                if contract.held < 0 { fail("held \(contract.held) < 0 after \(lineText.debugDescription)") }
                for milestone in contract.milestones where milestone.held < 0 {
                    fail("milestone held \(milestone.held) < 0 after \(lineText.debugDescription)")
                }
                break actors
            case .success(.answered(let answer)):
                if answer.isEmpty { fail("empty answer to \(lineText.debugDescription)") }
            case .failure(let rejection):
                _ = rejection
            }
        }
        now += 86_400
    }
    return 0
}

