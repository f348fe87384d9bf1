/// Why a chat line is not a command we can run: what was wrong and an example that works.
public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The command as the user named it (`/fund`), or the whole line when no command was recognised.
    public var command: String
    public var problem: String
    public var example: String

    public var description: String { "\(command): \(problem). Example: \(example)" }
}

/// Parses a chat line starting with `/` into a `ChatCommand`. Amounts are read in `currency`.
public struct CommandParser: Sendable {
    public var currency: Currency

    public init(currency: Currency) {
        self.currency = currency
    }

    /// Whether a chat line is meant as a command.
    public static func isCommand(_ line: String) -> Bool {
        line.trimmingWhitespace().hasPrefix("/")
    }

    public func parse(_ line: String) -> Result<ChatCommand, ParseError> {
        let trimmed = line.trimmingWhitespace()
        guard trimmed.hasPrefix("/") else {
            return .failure(ParseError(command: String(trimmed.prefix(40)), problem: "commands start with /", example: "/help"))
        }
        var words = Words(trimmed.dropFirst())
        guard let head = words.next() else {
            return .failure(ParseError(command: "/", problem: "a command name is missing", example: "/help"))
        }
        let name = head.lowercased()
        switch name {
        case "help", "?", "commands": return .success(.help(topic: words.rest().map { String($0.trimmingPrefix("/")) }))
        case "status", "info": return noArguments("/status", words, .status)
        case "milestone", "milestones", "ms": return parseMilestone(&words)
        case "approve": return milestoneOnly("/approve", &words, ChatCommand.approve)
        case "fund", "pay": return milestoneOnly("/\(name)", &words, ChatCommand.fund)
        case "submit", "deliver":
            let ref = optionalMilestone(&words)
            return ref.map { .submit($0, note: words.rest().map(String.init)) }.mapError { $0.with(command: "/\(name)", example: "/\(name) M1 final files attached") }
        case "revise", "revision":
            return milestoneAndText("/\(name)", &words, what: "feedback", example: "/revise M1 please use the brand colours") {
                .revise($0, feedback: $1)
            }
        case "release", "accept": return milestoneOnly("/\(name)", &words, ChatCommand.release)
        case "cancel" where ["order", "contract"].contains(words.peek()?.lowercased()):
            _ = words.next()
            guard let reason = words.rest() else {
                return .failure(ParseError(command: "/cancel order", problem: "a reason is missing", example: "/cancel order the seller cannot deliver"))
            }
            return .success(.cancelOrder(reason: String(reason)))
        case "cancel", "return": return milestoneOnly("/\(name)", &words, ChatCommand.cancel)
        case "dispute" where ["contract", "job", "order"].contains(words.peek()?.lowercased()):
            _ = words.next()
            guard let reason = words.rest() else {
                return .failure(ParseError(command: "/dispute contract", problem: "a reason is missing", example: "/dispute contract the end request was declined and we cannot agree"))
            }
            return .success(.disputeContract(reason: String(reason)))
        case "resolve" where ["contract", "job", "order"].contains(words.peek()?.lowercased()):
            _ = words.next()
            guard let note = words.rest() else {
                return .failure(ParseError(command: "/resolve contract", problem: "the ruling is missing", example: "/resolve contract both agree to stop; nothing is owed"))
            }
            return .success(.resolveContract(note: String(note)))
        case "dispute":
            return milestoneAndText("/dispute", &words, what: "a reason", example: "/dispute M1 the delivered files are empty") {
                .dispute($0, reason: $1)
            }
        case "resolve": return parseResolve(&words)
        case "offer": return parseOffer(&words)
        case "bonus", "tip": return parseBonus(&words)
        case "take":
            let example = "/take M1"
            if let first = words.peek(), ["contract", "job", "order"].contains(first.lowercased()) {
                _ = words.next()
                return noArguments("/take contract", words, .takeCase(.contract))
            }
            guard let word = words.next(), case .number(let number) = MilestoneName.parse(word) else {
                return .failure(ParseError(command: "/take", problem: "name the disputed milestone (or `contract`)", example: example))
            }
            return noArguments("/take", words, .takeCase(.milestone(number)))
        case "note":
            guard let text = words.rest() else {
                return .failure(ParseError(command: "/note", problem: "the note is missing", example: "/note called the buyer; the files open fine on Windows"))
            }
            return .success(.internalNote(String(text)))
        case "evidence", "respond", "statement":
            let example = "/evidence M1 the files were delivered on Monday: drive/checkout-v2"
            if let first = words.peek(), ["contract", "job", "order"].contains(first.lowercased()) {
                _ = words.next()
                guard let text = words.rest() else {
                    return .failure(ParseError(command: "/evidence", problem: "the statement is missing", example: "/evidence contract what I want the moderator to know"))
                }
                return .success(.evidence(.contract, text: String(text)))
            }
            guard let word = words.next(), case .number(let number) = MilestoneName.parse(word) else {
                return .failure(ParseError(command: "/evidence", problem: "name the disputed milestone (or `contract`)", example: example))
            }
            guard let text = words.rest() else {
                return .failure(ParseError(command: "/evidence", problem: "the statement is missing", example: example))
            }
            return .success(.evidence(.milestone(number), text: String(text)))
        case "endcontract", "end":
            guard let first = words.peek() else { return .success(.endContract(reason: nil)) }
            switch first.lowercased() {
            case "accept":
                _ = words.next()
                return noArguments("/endcontract accept", words, .answerEndRequest(accept: true))
            case "decline", "reject":
                _ = words.next()
                return noArguments("/endcontract decline", words, .answerEndRequest(accept: false))
            default:
                return .success(.endContract(reason: words.rest().map(String.init)))
            }
        case "golive", "live": return noArguments("/golive", words, .goLive)
        case "placeorder", "order": return noArguments("/placeorder", words, .goLive)
        case "stop": return noArguments("/stop", words, .stop)
        case "complete", "done": return noArguments("/complete", words, .complete)
        case "review":
            let example = "/review 5 clear communication, delivered early"
            guard let starsText = words.next() else {
                return .failure(ParseError(command: "/review", problem: "a rating from 1 to 5 is missing", example: example))
            }
            guard let stars = Int(starsText), (1...5).contains(stars) else {
                return .failure(ParseError(command: "/review", problem: "`\(starsText)` is not a rating from 1 to 5", example: example))
            }
            guard let text = words.rest() else {
                return .failure(ParseError(command: "/review", problem: "a few words about the work are missing", example: example))
            }
            return .success(.review(stars: stars, text: String(text)))
        default:
            return .failure(ParseError(
                command: "/\(head)", problem: "there is no such command; /help lists the commands you can use now",
                example: "/help"))
        }
    }

    // MARK: - Pieces

    private func noArguments(_ command: String, _ words: Words, _ value: ChatCommand) -> Result<ChatCommand, ParseError> {
        var rest = words
        if let extra = rest.rest() {
            return .failure(ParseError(command: command, problem: "it takes nothing after it, but got `\(extra.prefix(40))`", example: command))
        }
        return .success(value)
    }

    private func milestoneOnly(
        _ command: String, _ words: inout Words, _ make: (MilestoneRef) -> ChatCommand
    ) -> Result<ChatCommand, ParseError> {
        let example = "\(command) M1"
        switch optionalMilestone(&words) {
        case .failure(let error): return .failure(error.with(command: command, example: example))
        case .success(let ref):
            if let extra = words.rest() {
                return .failure(ParseError(command: command, problem: "unexpected `\(extra.prefix(40))` after the milestone", example: example))
            }
            return .success(make(ref))
        }
    }

    private func milestoneAndText(
        _ command: String, _ words: inout Words, what: String, example: String,
        _ make: (MilestoneRef, String) -> ChatCommand
    ) -> Result<ChatCommand, ParseError> {
        switch optionalMilestone(&words) {
        case .failure(let error): return .failure(error.with(command: command, example: example))
        case .success(let ref):
            guard let text = words.rest() else {
                return .failure(ParseError(command: command, problem: "\(what) is missing", example: example))
            }
            return .success(make(ref, String(text)))
        }
    }

    /// Takes a milestone name from the front if there is one (`M2`, `m2`, `2`), else `.implied`.
    /// A word that looks like a milestone but is not valid (`M0`, `Mx`) is an error.
    private func optionalMilestone(_ words: inout Words) -> Result<MilestoneRef, ParseError> {
        guard let word = words.peek() else { return .success(.implied) }
        switch MilestoneName.parse(word) {
        case .notAMilestone: return .success(.implied)
        case .invalid(let problem):
            return .failure(ParseError(command: "", problem: problem, example: ""))
        case .number(let number):
            _ = words.next()
            return .success(.number(number))
        }
    }
}

extension ParseError {
    func with(command: String, example: String) -> ParseError {
        ParseError(command: self.command.isEmpty ? command : self.command, problem: problem, example: self.example.isEmpty ? example : self.example)
    }
}

/// How a word reads as a milestone name.
enum MilestoneName {
    case number(MilestoneNumber)
    case invalid(String)
    case notAMilestone

    static func parse(_ word: Substring) -> MilestoneName {
        var digits = word
        if let first = digits.first, first == "M" || first == "m" || first == "#" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else {
            if (word.first == "M" || word.first == "m"), word.count > 1, word.dropFirst().allSatisfy({ $0.isASCIIDigit || $0 == "-" }) {
                return .invalid("`\(word.prefix(20))` is not a milestone; name one like M2, m2 or 2")
            }
            return .notAMilestone
        }
        guard digits.count <= 4, let value = Int(digits), value >= 1 else {
            return .invalid("`\(word.prefix(20))` is not a milestone; milestones are numbered from M1")
        }
        return .number(MilestoneNumber(value))
    }
}

/// Whitespace-separated words of a line, with the untouched remainder available as text.
struct Words {
    private var remainder: Substring

    init(_ text: Substring) { remainder = text.trimmingWhitespace() }

    mutating func next() -> Substring? {
        guard !remainder.isEmpty else { return nil }
        let end = remainder.firstIndex { $0.isWhitespace } ?? remainder.endIndex
        let word = remainder[..<end]
        remainder = remainder[end...].trimmingWhitespace()
        return word
    }

    func peek() -> Substring? {
        var copy = self
        return copy.next()
    }

    /// Everything not yet read, trimmed; nil when nothing is left.
    mutating func rest() -> Substring? {
        defer { remainder = "" }
        return remainder.isEmpty ? nil : remainder
    }
}
