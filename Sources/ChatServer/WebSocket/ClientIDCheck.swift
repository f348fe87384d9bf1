/// Whether a client-chosen id holds a control character. A NUL would be cut off when SQLite stores the id,
/// so the stored message would no longer match its hash (found by Tests/Reliability/live_fuzz_test.py).
func hasControlCharacter(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0.properties.generalCategory == .control }
}
