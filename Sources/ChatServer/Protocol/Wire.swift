import Foundation

/// The JSON of WebSocket frames through Foundation: the reference the hand-written frames
/// (`ServerMessage+WireFrame.swift`) are tested against, and the path for the rare frames they do not write.
enum Wire {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    static let decoder = JSONDecoder()

    static func text(_ value: some Encodable) -> String {
        // Encoding our own value types cannot fail; a failure here is a bug worth a loud message.
        do { return String(decoding: try encoder.encode(value), as: UTF8.self) } catch {
            return #"{"type":"error","code":"internal","message":"could not encode a reply"}"#
        }
    }
}
