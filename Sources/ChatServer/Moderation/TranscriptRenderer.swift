import Foundation
import MilestoneCore
import Storage

/// Renders a contract's record for moderators and tools: JSON, plain text, or a printable HTML page.
public enum TranscriptRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case json, text, html

        public var contentType: String {
            switch self {
            case .json: "application/json; charset=utf-8"
            case .text: "text/plain; charset=utf-8"
            case .html: "text/html; charset=utf-8"
            }
        }
    }

    public static func render(_ export: TranscriptExport, as format: Format, testMoney: Bool) -> String {
        switch format {
        case .json: ExportText.jsonShowingBidiControls(Wire.text(TranscriptDocument(export, testMoney: testMoney)))
        case .text: text(export, testMoney: testMoney)
        case .html: html(export, testMoney: testMoney)
        }
    }

    /// The policy every HTML export carries in its own `<head>`, before any untrusted text: no script, no
    /// fetch, no form, no frame, whether it is opened from the API, a `blob:` URL or a file on disk.
    /// (The API also sends it as a header, with `sandbox`.)
    static let htmlPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

    /// The page's one style block (no other inline style): the chat page's policy allows exactly it by its
    /// hash (``SecurityHeadersMiddleware``), since a transcript opened from the page as a `blob:` document
    /// inherits the page's policy.
    static let style = """
        body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:2rem;max-width:70rem}
        h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #999}h3{font-size:1rem;margin:.8rem 0 .2rem}
        table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top}
        tr.system td{background:#eef3ff}tr.private td{background:#fff4e0}tr.note td{background:#eaf7ea}
        .tag{font-size:.8em;color:#8a4b00}.outcome{color:#333;font-size:.9em;margin-top:.2rem}.num{text-align:right}
        .ok{color:#0a5d1e}.bad{color:#a00;font-weight:bold}.test{background:#fff3b0;padding:.3rem .6rem;display:inline-block}
        code{word-break:break-all}.body{white-space:pre-wrap}
        @media print{body{margin:0}a{color:inherit;text-decoration:none}tr{break-inside:avoid}}
        """

    static func who(_ message: StoredMessage) -> String {
        guard let author = message.author, let role = message.authorRole else { return "bot" }
        return "\(author) (\(role.rawValue))"
    }

    /// The plain-text export. Every field that came from a person or the platform goes through
    /// ``ExportText/plain(_:)``: its line breaks are indented and its bidi controls shown.
    static func text(_ export: TranscriptExport, testMoney: Bool) -> String {
        let p = ExportText.plain
        let contract = export.contract
        var out: [String] = []
        out.append("Transcript of contract \(p(contract.id.rawValue)): \(p(contract.title))")
        out.append("Preset \(p(contract.policy.name)), \(contract.currency.code)\(testMoney ? " (TEST MONEY: payments are simulated)" : ""), phase \(contract.phase.rawValue)")
        out.append("Buyer \(p(contract.buyer.rawValue)), freelancer \(p(contract.freelancer.rawValue)). Exported \(Timestamp.text(export.exportedAt)) for \(p(export.viewer.user.rawValue)) (\(export.viewer.role.rawValue)).")
        out.append("Chain: \(p(export.verification.summary))")
        out.append("")
        out.append("== Messages (\(export.entries.count))")
        for entry in export.entries {
            let message = entry.message
            let marker = message.isPrivate ? " [private to \(p(message.visibleTo!.rawValue))]" : ""
            out.append("#\(message.seq) \(Timestamp.text(unixMilliseconds: message.createdAt.milliseconds)) \(p(who(message))) \(message.kind.rawValue)\(marker): \(p(message.body))")
            if let outcome = entry.outcome { out.append("    -> \(p(outcome))") }
        }
        out.append("")
        out.append("== Milestones")
        for milestone in contract.milestones {
            out.append("\(milestone.number) \(p(milestone.description)): \(contract.money(milestone.amount)), \(milestone.state.name); held \(contract.money(milestone.held)), released \(contract.money(milestone.released)), refunded \(contract.money(milestone.refunded))")
            for item in export.timelines[milestone.number] ?? [] {
                out.append("    #\(item.seq) \(Timestamp.text(unixMilliseconds: item.at.milliseconds)) \(item.event): \(p(item.text))")
            }
        }
        out.append("")
        out.append("== Ledger (\(export.ledger.count) entries)")
        for entry in export.ledger {
            out.append("\(entry.id) \(Timestamp.text(unixMilliseconds: entry.createdAt.milliseconds)) \(entry.posting.milestone) \(entry.posting.kind.rawValue) \(entry.amount) \(p(entry.posting.debit.description)) -> \(p(entry.posting.credit.description)) (announced in #\(entry.messageSeq))")
        }
        out.append("Balances: " + export.balances.keys.sorted().map { "\(p($0)) \(export.balances[$0]!)" }.joined(separator: ", "))
        out.append("Head hash: \(export.verification.headHash)")
        return out.joined(separator: "\n") + "\n"
    }

    static func html(_ export: TranscriptExport, testMoney: Bool) -> String {
        let contract = export.contract
        var rows = ""
        for entry in export.entries {
            let message = entry.message
            let classes = ["msg", message.kind.rawValue] + (message.isPrivate ? ["private"] : [])
            rows += "<tr class=\"\(classes.joined(separator: " "))\" id=\"m\(message.seq)\"><td>\(message.seq)</td><td>\(ExportText.html(Timestamp.text(unixMilliseconds: message.createdAt.milliseconds)))</td><td>\(ExportText.html(who(message)))</td><td>\(message.kind.rawValue)\(message.isPrivate ? "<br><span class=\"tag\">private to \(ExportText.html(message.visibleTo!.rawValue))</span>" : "")</td><td class=\"body\">\(ExportText.html(message.body))\(entry.outcome.map { "<div class=\"outcome\">→ \(ExportText.html($0))</div>" } ?? "")</td></tr>\n"
        }
        var milestones = ""
        for milestone in contract.milestones {
            milestones += "<section class=\"milestone\"><h3>\(milestone.number) \(ExportText.html(milestone.description)): \(ExportText.html(contract.money(milestone.amount).description)), \(milestone.state.name)</h3><p>Held \(ExportText.html(contract.money(milestone.held).description)), released \(ExportText.html(contract.money(milestone.released).description)), refunded \(ExportText.html(contract.money(milestone.refunded).description)).</p><ol>"
            for item in export.timelines[milestone.number] ?? [] {
                milestones += "<li><a href=\"#m\(item.seq)\">#\(item.seq)</a> \(ExportText.html(Timestamp.text(unixMilliseconds: item.at.milliseconds))): \(ExportText.html(item.text))</li>"
            }
            milestones += "</ol></section>\n"
        }
        var ledger = ""
        for entry in export.ledger {
            ledger += "<tr><td>\(entry.id)</td><td>\(ExportText.html(Timestamp.text(unixMilliseconds: entry.createdAt.milliseconds)))</td><td>\(entry.posting.milestone)</td><td>\(entry.posting.kind.rawValue)</td><td>\(ExportText.html(entry.posting.debit.description)) → \(ExportText.html(entry.posting.credit.description))</td><td class=\"num\">\(ExportText.html(entry.amount.description))</td><td><a href=\"#m\(entry.messageSeq)\">#\(entry.messageSeq)</a></td></tr>\n"
        }
        let balances = export.balances.keys.sorted().map { "<li>\(ExportText.html($0)): \(ExportText.html(export.balances[$0]!.description))</li>" }.joined()
        let chain = export.verification.isIntact
            ? "<p class=\"ok\">Hash chain intact: \(export.verification.messages) messages, head <code>\(export.verification.headHash)</code></p>"
            : "<p class=\"bad\">Hash chain BROKEN: \(ExportText.html(export.verification.summary))</p>"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(htmlPolicy)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Transcript \(ExportText.html(contract.id.rawValue)): \(ExportText.html(contract.title))</title>
            <style>\(style)</style></head><body>
            <h1>Transcript of \(ExportText.html(contract.id.rawValue)): \(ExportText.html(contract.title))</h1>
            \(testMoney ? "<p class=\"test\">Test money: payments are simulated.</p>" : "")
            <p>Preset \(ExportText.html(contract.policy.name)), \(contract.currency.code), phase \(contract.phase.rawValue). Buyer \(ExportText.html(contract.buyer.rawValue)), freelancer \(ExportText.html(contract.freelancer.rawValue)). Exported \(ExportText.html(Timestamp.text(export.exportedAt))) for \(ExportText.html(export.viewer.user.rawValue)) (\(export.viewer.role.rawValue)).</p>
            \(chain)
            <h2>Messages (\(export.entries.count))</h2>
            <table id="messages"><thead><tr><th>#</th><th>Time (UTC)</th><th>Who</th><th>Kind</th><th>Text</th></tr></thead><tbody>
            \(rows)</tbody></table>
            <h2>Milestones</h2>
            \(milestones)
            <h2>Ledger</h2>
            <table id="ledger"><thead><tr><th>Entry</th><th>Time (UTC)</th><th>Milestone</th><th>Kind</th><th>Accounts</th><th>Amount</th><th>Announced</th></tr></thead><tbody>
            \(ledger)</tbody></table>
            <p>Balances now:</p><ul>\(balances)</ul>
            </body></html>

            """
    }
}

/// The JSON export.
struct TranscriptDocument: Encodable {
    struct Entry: Encodable {
        var message: WireMessage
        var visibleTo: String?
        var outcome: String?
        enum CodingKeys: String, CodingKey { case message, visibleTo = "visible_to", outcome }
    }

    struct TimelineItem: Encodable {
        var seq: Int64
        var at: String
        var event: String
        var text: String
    }

    struct LedgerRow: Encodable {
        var id: Int64
        var at: String
        var milestone: String
        var kind: String
        var debit: String
        var credit: String
        var amount: Int64
        var amountText: String
        var currency: String
        var messageSeq: Int64
        var commandID: String?
        enum CodingKeys: String, CodingKey {
            case id, at, milestone, kind, debit, credit, amount, amountText = "amount_text", currency, messageSeq = "message_seq", commandID = "command_id"
        }
    }

    var thread: String
    var title: String
    var preset: String
    var currency: String
    var phase: String
    var buyer: String
    var freelancer: String
    var testMoney: Bool
    var viewer: String
    var viewerRole: String
    var exportedAt: String
    var messages: [Entry]
    var timelines: [String: [TimelineItem]]
    var ledger: [LedgerRow]
    var balances: [String: Int64]
    var headHash: String
    var chainIntact: Bool
    var chainProblem: String?

    enum CodingKeys: String, CodingKey {
        case thread, title, preset, currency, phase, buyer, freelancer, testMoney = "test_money", viewer, viewerRole = "viewer_role",
            exportedAt = "exported_at", messages, timelines, ledger, balances, headHash = "head_hash", chainIntact = "chain_intact",
            chainProblem = "chain_problem"
    }

    init(_ export: TranscriptExport, testMoney: Bool) {
        let contract = export.contract
        thread = contract.id.rawValue
        title = contract.title
        preset = contract.policy.name
        currency = contract.currency.code
        phase = contract.phase.rawValue
        buyer = contract.buyer.rawValue
        freelancer = contract.freelancer.rawValue
        self.testMoney = testMoney
        viewer = export.viewer.user.rawValue
        viewerRole = export.viewer.role.rawValue
        exportedAt = Timestamp.text(export.exportedAt)
        messages = export.entries.map { Entry(message: WireMessage($0.message), visibleTo: $0.message.visibleTo?.rawValue, outcome: $0.outcome) }
        var timelines: [String: [TimelineItem]] = [:]
        for (milestone, items) in export.timelines {
            timelines[milestone.description] = items.map { TimelineItem(seq: $0.seq, at: Timestamp.text(unixMilliseconds: $0.at.milliseconds), event: $0.event, text: $0.text) }
        }
        self.timelines = timelines
        ledger = export.ledger.map {
            LedgerRow(id: $0.id, at: Timestamp.text(unixMilliseconds: $0.createdAt.milliseconds), milestone: $0.posting.milestone.description, kind: $0.posting.kind.rawValue,
                debit: $0.posting.debit.description, credit: $0.posting.credit.description, amount: $0.posting.amount,
                amountText: $0.amount.description, currency: $0.currency.code, messageSeq: $0.messageSeq, commandID: $0.commandID?.rawValue)
        }
        balances = export.balances.mapValues(\.minorUnits)
        headHash = export.verification.headHash
        chainIntact = export.verification.isIntact
        chainProblem = export.verification.isIntact ? nil : export.verification.summary
    }
}
