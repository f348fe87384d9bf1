import BotConfig
@testable import ChatServer
import CommandScripts
import Foundation
import MilestoneCore
import PropertyBased
import Testing

/// The hand-written `state`, `joined`, `history` and `hello` frames against JSONEncoder: every value byte-identical
/// at every depth (key order checked against the declaration instead: JSONEncoder's order on Linux is per
/// process), `null`s where the Codable encoding writes them, and JSONDecoder reads the frame back equal.
@Suite struct StateWireFrameTests {
    static let stateKeys = ["type", "thread", "title", "preset", "currency", "phase", "buyer", "freelancer", "role", "held",
                            "held_text", "test_money", "milestones", "end_request", "dispute", "cancellation", "reviews", "reviews_sealed", "commands"]
    static let milestoneKeys = ["number", "description", "amount", "amount_text", "state", "held", "released", "refunded", "due",
                                "revisions_used", "revision_allowance", "review_ends", "review_outcome", "offer"]
    static let commandKeys = ["template", "summary", "moves_money"]
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let viewers = [CommandScript.buyer, CommandScript.freelancer, CommandScript.moderator]

    /// Every preset, and white-label with the customer creating milestones and no approval step.
    static let policies: [Policy] = {
        var all = TestServer.presets.names.map { TestServer.presets[$0]! }
        if var whitelabel = TestServer.presets["whitelabel"] {
            whitelabel.milestoneCreator = .buyer
            whitelabel.approval = .none
            whitelabel.releaseRequiresSubmission = false
            whitelabel.name = "whitelabel+customer-creates+skip-approval"
            all.append(whitelabel)
        }
        return all
    }()

    /// The fast frame against `Wire.encoder`, value by value at every depth.
    static func expectSameAsJSONEncoder(_ message: ServerMessage, seed: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONTree {
        let fast = Wire.text(message)
        let reference = String(decoding: try Wire.encoder.encode(message), as: UTF8.self)
        let fastTree = try #require(JSONTree.parse(fast), "not compact JSON: \(fast)", sourceLocation: sourceLocation)
        let referenceTree = try #require(JSONTree.parse(reference), "not compact JSON: \(reference)", sourceLocation: sourceLocation)
        let sameValues = fastTree == referenceTree
        #expect(sameValues, "seed \(seed):\n fast \(fast)\n JSONEncoder \(reference)", sourceLocation: sourceLocation)
        #expect(fast.utf8.count == reference.utf8.count, "seed \(seed)", sourceLocation: sourceLocation)
        #expect(try Wire.decoder.decode(ServerMessage.self, from: Data(fast.utf8)) == message, "seed \(seed): \(fast)", sourceLocation: sourceLocation)
        // Foundation's own parser agrees too.
        let fastObject = try JSONSerialization.jsonObject(with: Data(fast.utf8)) as? NSDictionary
        let referenceObject = try JSONSerialization.jsonObject(with: Data(reference.utf8)) as? NSDictionary
        #expect(fastObject != nil && fastObject == referenceObject, "seed \(seed)", sourceLocation: sourceLocation)
        return fastTree
    }

    static func expectStateKeyOrder(_ tree: JSONTree, seed: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(tree.keys == stateKeys, "seed \(seed)", sourceLocation: sourceLocation)
        for milestone in tree["milestones"]?.elements ?? [] {
            #expect(milestone.keys == milestoneKeys, "seed \(seed)", sourceLocation: sourceLocation)
        }
        for command in tree["commands"]?.elements ?? [] {
            #expect(command.keys == commandKeys, "seed \(seed)", sourceLocation: sourceLocation)
        }
    }

    /// Random contracts of every preset, driven by the command scripts, seen by every role, with titles and
    /// descriptions full of quotes, backslashes, control characters and non-ASCII.
    @Test func stateFramesOfScriptedContractsMatchJSONEncoder() async {
        var tally = Tally()
        await propertyCheck(
            count: 150,
            input: Gen.int(in: 0...(Self.policies.count - 1)),
            Gen.int(in: 0...Int(Int32.max)).array(of: 1...120)
        ) { policyIndex, seeds in
            try Self.checkFrames(policy: Self.policies[policyIndex], seeds: seeds, into: &tally)
        }
        #expect(tally.frames > 1_000)
    }

    /// The same over a fixed corpus (the same every run) that goes on until it has passed every milestone
    /// state, a review period and an end request: random scripts cannot promise that (a CI run saw no
    /// `disputed` milestone in 150 of them once the offer and case commands joined the templates).
    @Test func stateFramesOfAFixedCorpusPassingEveryStateMatchJSONEncoder() throws {
        var tally = Tally()
        var random = SplitMix64(seed: 7)
        let expected: Set<String> = ["proposed", "requested", "agreed", "funded", "submitted", "revision_requested", "disputed", "released", "refunded", "split", "cancelled"]
        for script in 0..<3_000 {
            if script >= 150, expected.isSubset(of: tally.states), tally.sawReviewEnds, tally.sawEndRequest { break }
            let seeds = (0..<(1 + Int(random.next() % 120))).map { _ in Int(random.next() % UInt64(Int32.max)) }
            try Self.checkFrames(policy: Self.policies[script % Self.policies.count], seeds: seeds, into: &tally, onlyNew: true)
        }
        #expect(expected.subtracting(tally.states).isEmpty, "never reached: \(expected.subtracting(tally.states).sorted())")
        #expect(tally.sawReviewEnds)
        #expect(tally.sawEndRequest)
        #expect(tally.frames > 500)
    }

    struct Tally {
        var states: Set<String> = []
        /// How many frames were checked with a milestone in each state.
        var checked: [String: Int] = [:]
        var sawReviewEnds = false
        var sawEndRequest = false
        var frames = 0
    }

    /// Runs the script and, after every step, checks the state frame every viewer gets, now and later. With
    /// `onlyNew`, only frames with a state checked fewer than 20 times yet (the long corpus stays quick).
    static func checkFrames(policy: Policy, seeds: [Int], into tally: inout Tally, onlyNew: Bool = false) throws {
        var sim = SimulatedContract(policy: policy, title: "State frames", now: Self.start)
        for seed in seeds {
            guard (try? sim.run(CommandScript.step(seed))) != nil else { return }
            var random = WireRandom(seed: seed)
            var contract = sim.contract
            if random.chance(50) { contract.title = random.text() }
            for index in contract.milestones.indices where random.chance(50) {
                contract.milestones[index].description = random.text(maxLength: random.chance(10) ? 300 : 30)
            }
            let names = Set(contract.milestones.map(\.state.name))
            tally.states.formUnion(names)
            let rare = names.contains { tally.checked[$0, default: 0] < 20 } || !tally.sawReviewEnds || !tally.sawEndRequest
            if onlyNew, !rare { continue }
            for name in names { tally.checked[name, default: 0] += 1 }
            // Now, or later (past due dates and review periods).
            let now = seed % 2 == 0 ? sim.now : sim.now.addingTimeInterval(Double(seed % 40) * 86_400)
            for viewer in Self.viewers {
                let view = ContractView(contract, viewer: viewer, testMoney: random.chance(50), now: now)
                tally.sawReviewEnds = tally.sawReviewEnds || view.milestones.contains { $0.reviewEnds != nil }
                tally.sawEndRequest = tally.sawEndRequest || view.endRequest != nil
                let tree = try Self.expectSameAsJSONEncoder(.state(view), seed: seed)
                Self.expectStateKeyOrder(tree, seed: seed)
                tally.frames += 1
            }
        }
    }

    /// Every field of a view set at random: edge integers, nil and non-nil optionals, empty lists, any text.
    @Test func stateFramesWithRandomFieldsMatchJSONEncoder() async {
        var base = Contract(id: "c-1", title: "t", currency: .usd, buyer: CommandScript.buyer.user,
            freelancer: CommandScript.freelancer.user, policy: Self.policies[0])
        base.phase = .live
        // CommandSuggestion has no public initializer: decode one.
        let json = #"{"template":"/status","summary":"s","moves_money":false}"#
        let sample = try? Wire.decoder.decode(CommandSuggestion.self, from: Data(json.utf8))
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            var view = ContractView(base, viewer: random.pick(Self.viewers), testMoney: random.chance(50), now: Self.start)
            view.thread = random.text(maxLength: 10)
            view.title = random.text()
            view.preset = random.text(maxLength: 12)
            view.currency = random.text(maxLength: 4)
            view.phase = random.text(maxLength: 8)
            view.buyer = random.text(maxLength: 12)
            view.freelancer = random.text(maxLength: 12)
            view.role = random.text(maxLength: 10)
            view.held = random.int64()
            view.heldText = random.text(maxLength: 12)
            view.endRequest = random.optionalText()
            view.dispute = random.optionalText()
            view.cancellation = random.optionalText()
            view.reviews = (0..<Int.random(in: 0...2, using: &random)).map { _ in
                ContractView.ReviewView(by: random.text(maxLength: 10), author: random.text(maxLength: 10),
                    stars: Int(truncatingIfNeeded: random.int64()), text: random.text(), at: random.text(maxLength: 24))
            }
            view.reviewsSealed = Int(truncatingIfNeeded: random.int64())
            view.milestones = (0..<Int.random(in: 0...6, using: &random)).map { _ in
                ContractView.MilestoneView(
                    number: random.text(maxLength: 4), description: random.text(), amount: random.int64(),
                    amountText: random.text(maxLength: 12), state: random.text(maxLength: 10), held: random.int64(),
                    released: random.int64(), refunded: random.int64(), due: random.optionalText(),
                    revisionsUsed: Int(truncatingIfNeeded: random.int64()),
                    revisionAllowance: random.chance(40) ? nil : Int(truncatingIfNeeded: random.int64()),
                    reviewEnds: random.chance(50) ? nil : Timestamp.text(Date(timeIntervalSince1970: Double.random(in: 0...4e9, using: &random))),
                    reviewOutcome: random.optionalText(), offer: random.optionalText())
            }
            view.commands = try (0..<Int.random(in: 0...8, using: &random)).map { _ in
                var command = try #require(sample)
                command.template = random.text(maxLength: 20)
                command.summary = random.text()
                command.movesMoney = random.chance(50)
                return command
            }
            let tree = try Self.expectSameAsJSONEncoder(.state(view), seed: seed)
            Self.expectStateKeyOrder(tree, seed: seed)
        }
    }

    @Test func everyEscapedByteInAStateFrameIsWrittenAsJSONEncoderWritesIt() throws {
        let all = String(String.UnicodeScalarView((0...0x7F).compactMap(Unicode.Scalar.init))) + "\u{80}\u{2028}\u{2029}é😀"
        let contract = Contract(id: "c-1", title: all, currency: .usd, buyer: CommandScript.buyer.user,
            freelancer: CommandScript.freelancer.user, policy: Self.policies[0])
        var view = ContractView(contract, viewer: CommandScript.moderator, testMoney: true, now: Self.start)
        view.milestones = [ContractView.MilestoneView(
            number: "M1", description: all, amount: 100, amountText: "$1.00", state: "proposed", held: 0, released: 0, refunded: 0,
            due: nil, revisionsUsed: 0, revisionAllowance: nil, reviewEnds: nil, reviewOutcome: nil)]
        let tree = try Self.expectSameAsJSONEncoder(.state(view), seed: 0)
        Self.expectStateKeyOrder(tree, seed: 0)
        #expect(Wire.text(.state(view)).contains(#"\b\t\n\u000b\f\r"#))
    }

    @Test func aSmallStateFrameIsExactlyTheDocumentedText() {
        var view = ContractView(Contract(id: "c-1", title: "Logo", currency: .usd, buyer: CommandScript.buyer.user,
            freelancer: CommandScript.freelancer.user, policy: Self.policies[0]), viewer: CommandScript.buyer, testMoney: true, now: Self.start)
        view.preset = "p"
        view.phase = "live"
        view.commands = []
        view.milestones = [ContractView.MilestoneView(
            number: "M1", description: "a \"b\"", amount: 1000, amountText: "$10.00", state: "funded", held: 1000, released: 0, refunded: 0,
            due: "2099-01-31", revisionsUsed: 1, revisionAllowance: nil, reviewEnds: nil, reviewOutcome: nil)]
        #expect(Wire.text(.state(view)) == #"{"type":"state","thread":"c-1","title":"Logo","preset":"p","currency":"USD","phase":"live","buyer":"buyer-1","freelancer":"freelancer-1","role":"buyer","held":0,"held_text":"$0.00","test_money":true,"milestones":[{"number":"M1","description":"a \"b\"","amount":1000,"amount_text":"$10.00","state":"funded","held":1000,"released":0,"refunded":0,"due":"2099-01-31","revisions_used":1,"revision_allowance":null,"review_ends":null,"review_outcome":null,"offer":null}],"end_request":null,"dispute":null,"cancellation":null,"reviews":[],"reviews_sealed":0,"commands":[]}"#)
    }

    /// Rates as configured (`2`, `0.5`) and any finite Double: tiny, huge, negative zero, subnormal.
    @Test func helloFramesMatchJSONEncoder() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            func rate() -> Double {
                switch Int.random(in: 0..<5, using: &random) {
                case 0: random.pick([0, -0.0, 1, 2, 0.5, 10, 1e-5, 1e16, 1e20, 123_456_789.125, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -3.75])
                case 1: Double(bitPattern: random.next() & ~(0x7FF << 52) | (UInt64.random(in: 0...0x7FE, using: &random) << 52))
                case 2: Double(Int.random(in: 0...1000, using: &random)) / 10
                default: Double.random(in: 0...100, using: &random)
                }
            }
            let hello = ServerMessage.Hello(user: random.text(maxLength: 12), moderator: random.chance(50),
                                            maxFrameBytes: Int(truncatingIfNeeded: random.int64()), maxTextLength: Int.random(in: 0...100_000, using: &random),
                                            messagesPerSecond: rate(), messageBurst: rate(),
                                            floodStrikesBeforeClose: Int(truncatingIfNeeded: random.int64()), testMoney: random.chance(50),
                                            tokenExpiresAt: random.text(maxLength: 30))
            let tree = try Self.expectSameAsJSONEncoder(.hello(hello), seed: seed)
            #expect(tree.keys == ["type", "user", "moderator", "max_frame_bytes", "max_text_length", "messages_per_second", "message_burst",
                                  "flood_strikes_before_close", "test_money", "token_expires_at"])
        }
    }

    @Test func aHelloWithANonFiniteRateIsStillRefusedAsJSONEncoderRefusesIt() {
        let hello = ServerMessage.Hello(user: "u", moderator: false, maxFrameBytes: 1, maxTextLength: 1, messagesPerSecond: .infinity,
                                        messageBurst: 1, floodStrikesBeforeClose: 1, testMoney: false, tokenExpiresAt: "2026-12-03T10:00:00.000Z")
        #expect(Wire.text(.hello(hello)).contains(#""code":"internal""#))
    }

    @Test func joinedFramesMatchJSONEncoder() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            let joined = ServerMessage.Joined(thread: random.text(maxLength: 10), lastSeq: random.int64(), role: random.text(maxLength: 10))
            let tree = try Self.expectSameAsJSONEncoder(.joined(joined), seed: seed)
            #expect(tree.keys == ["type", "thread", "last_seq", "role"])
        }
    }

    @Test func historyFramesMatchJSONEncoder() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            var messages: [WireMessage] = []
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                messages.append(try WireFrameTests().wireMessage(&random))
            }
            let history = ServerMessage.History(thread: random.text(maxLength: 10), messages: messages, hasMore: random.chance(50))
            let tree = try Self.expectSameAsJSONEncoder(.history(history), seed: seed)
            #expect(tree.keys == ["type", "thread", "messages", "has_more"])
            for message in tree["messages"]?.elements ?? [] {
                #expect(message.keys == Array(WireFrameTests.messageKeys.dropFirst()))
            }
        }
    }
}
