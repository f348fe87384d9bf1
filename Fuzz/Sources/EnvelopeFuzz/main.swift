import EnvelopeProtocol
import Foundation

// libFuzzer entry point for WebSocket text frames: `ClientMessage.decode` must return a value or an
// error (never trap), an error must say something, and a decoded value must survive encode -> decode.

private let encoder = JSONEncoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    // UTF-8 with repair: invalid sequences become U+FFFD, as a WebSocket text frame would be read.
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    switch ClientMessage.decode(text) {
    case .failure(let error):
        if error.description.isEmpty { fatalError("empty envelope error for \(text.debugDescription)") }
    case .success(let message):
        _ = message.thread
        let data: Data
        do { data = try encoder.encode(message) } catch {
            fatalError("could not re-encode \(message) decoded from \(text.debugDescription): \(error)")
        }
        let json = String(decoding: data, as: UTF8.self)
        switch ClientMessage.decode(json) {
        case .success(let again):
            if again != message {
                fatalError("round trip changed \(message) into \(again) (frame \(text.debugDescription), re-encoded \(json))")
            }
        case .failure(let error):
            fatalError("re-encoded \(json) of \(message) does not decode: \(error)")
        }
    }
    return 0
}
