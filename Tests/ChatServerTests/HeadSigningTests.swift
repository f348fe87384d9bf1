import ChatServer
import Foundation
import FoundationNetworking
import MilestoneCore
import Storage
import Testing

/// Signed transcript heads: with `transcripts.signing_key` set, the verify answer and the case bundle carry an
/// Ed25519 signature of the head that checks with the key `GET /api/signing-key` publishes, and fails with
/// any other key; without a key nothing claims to be signed.
@Suite struct HeadSigningTests {
    struct Published: Decodable {
        var algorithm: String
        var public_key: String
        var statement: String
    }

    struct Verified: Decodable {
        var thread: String
        var messages: Int
        var head_hash: String
        var problem: String?
        var signature: String?
    }

    @Test func aSignedHeadVerifiesWithThePublishedKeyAndFailsWithAnother() async throws {
        let key = HeadSigner.newKey()
        try await TestServer.with(settings: TestServer.settings { $0.transcriptSigningKey = key }) { server in
            try server.contract("c-1", milestones: [MilestoneDraft(amount: 10_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            #expect(try await alice.say("/fund M1").ackOutcome == "applied")
            await alice.close()

            let (keyBody, keyStatus) = try await AccessTests.get("\(server.baseURL)/api/signing-key")
            #expect(keyStatus == 200, "\(keyBody)")
            let published = try JSONDecoder().decode(Published.self, from: Data(keyBody.utf8))
            #expect(published.algorithm == "Ed25519" && published.public_key == HeadSigner(base64: key)?.publicKey)

            let (body, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/verify", token: try await server.token("alice"))
            let verified = try JSONDecoder().decode(Verified.self, from: Data(body.utf8))
            let signature = try #require(verified.signature, "\(body)")
            #expect(verified.problem == nil)
            #expect(HeadSigner.verify(signature: signature, publicKey: published.public_key, thread: "c-1", messages: verified.messages, headHash: verified.head_hash))
            let other = try #require(HeadSigner(base64: HeadSigner.newKey())).publicKey
            #expect(!HeadSigner.verify(signature: signature, publicKey: other, thread: "c-1", messages: verified.messages, headHash: verified.head_hash))
            // Another head (one message fewer, or another hash) does not verify with this signature.
            #expect(!HeadSigner.verify(signature: signature, publicKey: published.public_key, thread: "c-1", messages: verified.messages - 1, headHash: verified.head_hash))

            let bundle = try await FilesTests.request("\(server.baseURL)/api/contracts/c-1/bundle", token: try await server.token("mia", role: "moderator"))
            #expect(bundle.status == 200)
            let checked = CaseBundle.verify(bundle.body, publicKey: published.public_key)
            #expect(checked.isIntact && checked.signed, "\(checked.summary)")
            let forged = CaseBundle.verify(bundle.body, publicKey: other)
            #expect(forged.problems.contains("the head's signature does not verify with the given public key"))
        }
    }

    @Test func withoutAKeyNothingIsSigned() async throws {
        try await TestServer.with { server in
            try server.contract("c-1")
            let (body, status) = try await AccessTests.get("\(server.baseURL)/api/signing-key")
            #expect(status == 404 && body.contains("not_signing"))
            let (verify, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/verify", token: try await server.token("alice"))
            #expect(try JSONDecoder().decode(Verified.self, from: Data(verify.utf8)).signature == nil && verify.contains(#""signature":null"#))
            let bundle = try await FilesTests.request("\(server.baseURL)/api/contracts/c-1/bundle", token: try await server.token("mia", role: "moderator"))
            let checked = CaseBundle.verify(bundle.body, publicKey: try #require(HeadSigner(base64: HeadSigner.newKey())).publicKey)
            #expect(checked.problems == ["the bundle is not signed"])
            #expect(CaseBundle.verify(bundle.body).isIntact)
        }
    }

    @Test func aKeyThatIsNotOneStopsStartUp() {
        var settings = TestServer.settings()
        settings.transcriptSigningKey = "not a key"
        #expect(settings.problems(requireSecret: true).contains { $0.hasPrefix("transcripts.signing_key must be") })
    }
}
