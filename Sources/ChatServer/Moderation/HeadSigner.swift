import Crypto
import Foundation

/// Signs transcript heads with the operator's Ed25519 key (`transcripts.signing_key`), so an exported
/// transcript or case bundle proves where it came from without the database: whoever has the published
/// public key (`GET /api/signing-key`) checks that this server vouched for this thread's head.
public struct HeadSigner: Sendable {
    let key: Curve25519.Signing.PrivateKey

    /// Nil unless `base64` is a 32-byte Ed25519 private key (its raw representation, base64).
    public init?(base64: String) {
        guard let raw = Data(base64Encoded: base64), raw.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            return nil
        }
        self.key = key
    }

    /// A fresh key, base64 (for `milestone-bot` to print when asked, and for tests).
    public static func newKey() -> String {
        Curve25519.Signing.PrivateKey().rawRepresentation.base64EncodedString()
    }

    public var publicKey: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// What is signed: `milestone-bot transcript head v1`, the thread id, the number of messages and the head
    /// hash, each on its own line (UTF-8, `\n`, no trailing newline).
    public static func statement(thread: String, messages: Int, headHash: String) -> Data {
        Data("milestone-bot transcript head v1\n\(thread)\n\(messages)\n\(headHash)".utf8)
    }

    /// The signature of a head, base64.
    public func sign(thread: String, messages: Int, headHash: String) -> String {
        (try? key.signature(for: Self.statement(thread: thread, messages: messages, headHash: headHash)))?.base64EncodedString() ?? ""
    }

    /// Whether `signature` is `publicKey`'s over this head.
    public static func verify(signature: String, publicKey: String, thread: String, messages: Int, headHash: String) -> Bool {
        guard let signatureData = Data(base64Encoded: signature), let keyData = Data(base64Encoded: publicKey),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyData)
        else { return false }
        return key.isValidSignature(signatureData, for: statement(thread: thread, messages: messages, headHash: headHash))
    }
}
