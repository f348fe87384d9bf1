/// Whether a client-chosen id holds a control character. A NUL would be cut off when SQLite stores the id,
/// so the stored message would no longer match its hash (found by Tests/Reliability/live_fuzz_test.py).
func hasControlCharacter(_ text: String) -> Bool {
    // ASCII (almost every id) is settled by its bytes; the Unicode property lookup is for the rest.
    if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.contains { $0 < 0x20 || $0 == 0x7F } }
    return text.unicodeScalars.contains { $0.properties.generalCategory == .control }
}
