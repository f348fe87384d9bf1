import Foundation
@testable import Storage
import Testing

/// The one-pass check of plain ASCII lines agrees with the general check (trimming, length in characters,
/// control characters) wherever it answers.
@Suite struct PlainLineTests {
    /// The general rules, written out the slow way: trimmed, not empty, within the limit, no control
    /// characters but line breaks and tabs.
    static func general(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= AppDatabase.maximumLineLength else { return nil }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !["\n", "\r", "\t"].contains($0) }) else { return nil }
        return trimmed
    }

    @Test func plainLinesAreAcceptedExactlyAsTheGeneralCheckWould() {
        var random = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", "0", " ", "/", "\\", "\"", "~", "\u{7F}", "\u{0}", "\t", "\n", "\r", "\u{1F}", "é", "€", "🙂", "\u{2028}", "\u{A0}"]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...12, using: &random)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &random)! })
            if let plain = AppDatabase.plainASCII(text) {
                #expect(Self.general(text) == plain, "\(text.debugDescription)")
            }
        }
        let long = String(repeating: "x", count: AppDatabase.maximumLineLength)
        #expect(AppDatabase.plainASCII(long) == long)
        #expect(AppDatabase.plainASCII(long + "x") == nil)
        #expect(AppDatabase.plainASCII("/fund M1") == "/fund M1")
        #expect(AppDatabase.plainASCII(" padded") == nil && AppDatabase.plainASCII("") == nil)
    }
}
