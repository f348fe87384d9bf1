@testable import ChatServer
import CommandScripts
import Foundation
import MilestoneCore
import Storage
import Testing

/// The exports against the attacks of docs/SECURITY.md: stored script in the HTML transcript (a Prepend
/// scalar before `<` made one grapheme that the old per-`Character` escaping let through raw), forged
/// entries in the text export (a chat line holding a newline), and bidi controls reversing text.
@Suite struct TranscriptEscapingTests {
    /// Scalars that join the character next to them into one grapheme: Prepend (before), Extend and
    /// combining marks (after), ZWJ.
    static let gluing: [Unicode.Scalar] = [
        "\u{0600}", "\u{0601}", "\u{0605}", "\u{06DD}", "\u{070F}", "\u{08E2}", "\u{110BD}", "\u{110CD}",
        "\u{0301}", "\u{0300}", "\u{094D}", "\u{200D}", "\u{200C}", "\u{FE0F}", "\u{1F3FB}",
    ]
    static let special: [Unicode.Scalar] = ["<", ">", "&", "\"", "'"]
    static let filler: [String] = ["img", "script", " ", "/", "=", "x", "onerror", "a", "é", "😀", "<!--", "-->", "<![CDATA[", "&lt;", "&#60;"]

    static func sample(_ random: inout SplitMix64) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 1...24, using: &random) {
            switch Int.random(in: 0..<3, using: &random) {
            case 0: text.unicodeScalars.append(gluing.randomElement(using: &random)!)
            case 1: text.unicodeScalars.append(special.randomElement(using: &random)!)
            default: text += filler.randomElement(using: &random)!
            }
        }
        // Stored lines are trimmed; a line of spaces is refused; one starting with `/` would be a command
        // (and its notice a row the template has not).
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty || trimmed.unicodeScalars.first == "/" ? "<\u{0600}>" + trimmed : trimmed
    }

    /// A contract whose title, milestone description, chat lines and dispute reason are `texts`, exported
    /// as HTML for a moderator.
    static func renderedTranscript(_ texts: [String], folder: URL) throws -> String {
        let database = try AppDatabase.open(path: folder.appendingPathComponent("\(UUID().uuidString).sqlite").path)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let title = String(texts[0].prefix(150))
        try database.createContract(NewContract(
            id: "x-1", title: title, currency: .usd, buyer: "alice", freelancer: "bob", policy: TestServer.presets["indeelancer"]!,
            milestones: [MilestoneDraft(amount: 10_000, description: String(texts[0].prefix(300)))]), at: now)
        var lines = texts.map { ($0, Participant(user: "bob", role: .freelancer)) }
        lines.append(("/fund M1", Participant(user: "alice", role: .buyer)))
        lines.append(("/dispute M1 \(texts[0])", Participant(user: "bob", role: .freelancer)))
        for (index, (text, author)) in lines.enumerated() {
            _ = try database.handle(LineRequest(commandID: CommandID("c\(index)"), thread: "x-1", author: author, text: text,
                clientMessageID: "c\(index)", receivedAt: now))
        }
        let export = try database.export("x-1", for: Participant(user: "mia", role: .moderator), at: now)
        return TranscriptRenderer.render(export, as: .html, testMoney: true)
    }

    /// The start and end tags of a serialized DOM, in order. In Chromium's serialization every `<` in text
    /// is written `&lt;`, so each `<` starts a tag. Read by scalars: a `Character` can hide a `<`.
    static func tags(_ dom: String) -> [String] {
        var tags: [String] = []
        let scalars = Array(dom.unicodeScalars)
        var index = 0
        while index < scalars.count {
            defer { index += 1 }
            guard scalars[index] == "<" else { continue }
            var name = String.UnicodeScalarView()
            var next = index + 1
            while next < scalars.count, scalars[next] == "/" || scalars[next] == "!" || scalars[next].properties.isAlphabetic || ("0"..."9").contains(scalars[next]) {
                name.append(scalars[next])
                next += 1
            }
            tags.append(String(name))
        }
        return tags
    }

    /// The text of every `<td class="body">` cell (before its outcome), unescaped; by scalars.
    static func bodyCells(_ dom: String) -> [String] {
        let scalars = Array(dom.unicodeScalars)
        let marker = Array("<td class=\"body\">".unicodeScalars)
        var cells: [String] = []
        var index = 0
        while index + marker.count <= scalars.count {
            guard scalars[index..<(index + marker.count)].elementsEqual(marker) else {
                index += 1
                continue
            }
            index += marker.count
            var text = String.UnicodeScalarView()
            while index < scalars.count, scalars[index] != "<" {
                text.append(scalars[index])
                index += 1
            }
            cells.append(unescape(String(text)))
        }
        return cells
    }

    /// `&lt;` `&gt;` `&amp;` `&nbsp;` `&quot;` back to their characters, scanning scalars.
    static func unescape(_ text: String) -> String {
        let entities: [(String, Unicode.Scalar)] = [("lt;", "<"), ("gt;", ">"), ("amp;", "&"), ("nbsp;", "\u{A0}"), ("quot;", "\"")]
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        scan: while index < scalars.count {
            if scalars[index] == "&" {
                for (name, value) in entities {
                    let name = Array(name.unicodeScalars)
                    if index + name.count < scalars.count, Array(scalars[(index + 1)...(index + name.count)]) == name {
                        out.append(value)
                        index += name.count + 1
                        continue scan
                    }
                }
            }
            out.append(scalars[index])
            index += 1
        }
        return String(out)
    }

    /// The property: whatever the text (special characters mixed with scalars that glue to their
    /// neighbours), the page a real browser builds has exactly the template's elements, and the text as text.
    @Test func noTextMadeOfSpecialAndGluingScalarsAddsAnElementToTheHTMLTranscript() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("escaping-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed: UInt64 = 20_261_203
        var random = SplitMix64(seed: seed)
        let samples = ["ok \u{0600}<img src=x onerror=alert(1)//\u{0600}>"] + (0..<200).map { _ in Self.sample(&random) }
        let attacked = try Self.renderedTranscript(samples, folder: folder)
        let benign = try Self.renderedTranscript(samples.indices.map { "plain text \($0)" }, folder: folder)
        let attackedDOM = try #require(try TranscriptExportTests.dom(attacked))
        let benignDOM = try #require(try TranscriptExportTests.dom(benign))
        #expect(Self.tags(attackedDOM) == Self.tags(benignDOM), "the same elements as the template (seed \(seed))")
        let cells = Self.bodyCells(attackedDOM)
        for sample in samples {
            #expect(cells.contains { $0.unicodeScalars.elementsEqual(sample.unicodeScalars) },
                "shown as text: \(sample.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        #expect(!Self.tags(attackedDOM).contains { ["img", "script", "svg", "iframe"].contains($0.lowercased()) })
    }

    /// The escaping is by bytes: each of the five specials becomes its entity wherever it stands, and every
    /// other scalar is copied.
    @Test func escapingWorksOnBytesNotGraphemes() {
        #expect(ExportText.html("\u{0600}<") == "\u{0600}&lt;")
        #expect(ExportText.html("a\u{0301}>\u{0301}") == "a\u{0301}&gt;\u{0301}")
        #expect(ExportText.html("&\"'") == "&amp;&quot;&#39;")
        #expect(ExportText.html("\u{202E}evil") == "[U+202E]evil")
    }

    /// The attack: a party posts a line holding newlines so that the text export shows a forged entry
    /// (`#4 ... bot system: Buyer released M1`), and uses U+202E to reverse what follows.
    @Test func aChatLineCannotForgeAnEntryOrReverseTextInAnyExport() async throws {
        try await TestServer.with { server in
            try server.contract(milestones: [MilestoneDraft(amount: 10_000, description: "Logo")])
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await bob.join("c-1")
            let forged = "ok\n#4 2026-12-01T10:00:00.000Z bot system: Buyer released M1: $900.00 was paid to the freelancer.\r#5 fake\u{2028}#6 fake"
            let reversed = "pay \u{202E}009$ refund\u{202C} now"
            for line in [forged, reversed] {
                guard case .ack = try await bob.say(line) else { Issue.record("not stored: \(line)"); return }
            }
            let mia = try await server.token("mia", role: "moderator")
            let messages = try server.database.fullTranscript(of: "c-1")
            let (text, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/transcript?format=text", token: mia)
            let entries = text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("#") }
            #expect(entries.count == messages.count, "one line starting with # per message, no more")
            #expect(text.contains("\n    | #4 2026-12-01T10:00:00.000Z bot system"), "the continuation is indented")
            for export in ["text", "html", "json"] {
                let (body, status) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/transcript?format=\(export)", token: mia)
                #expect(status == 200)
                #expect(!body.unicodeScalars.contains { ExportText.isBidiControl($0) }, "no raw bidi control in the \(export) export")
                #expect(body.contains(export == "json" ? "\\u202E009$" : "[U+202E]009$"), "the control is shown in the \(export) export")
            }
            // The JSON export is still the exact record: decoded, the line is what was said.
            let (json, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/transcript?format=json", token: mia)
            let document = try JSONDecoder().decode(TranscriptExportTests.Document.self, from: Data(json.utf8))
            #expect(document.messages.contains { $0.message.text == reversed })
            await bob.close()
        }
    }
}
