import ChatServer
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import MilestoneCore
import Storage
import Testing
import ZIPFoundation

/// Deliverables on the real server: uploads streamed to the blob store under their SHA-256, downloads by
/// every role that may read the thread and nobody else, served inertly; files carried by messages (a
/// submission, evidence) inside the hash chain; `verify` naming a changed or missing file; unreferenced
/// uploads removed after the grace period.
@Suite struct FilesTests {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 100)
    static let html = Array("<html><body><script>alert(document.cookie)</script></body></html>".utf8)
    static let svg = Array(#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.utf8)

    struct Info: Decodable {
        var id: String
        var name: String
        var size: Int64
        var content_type: String
        var uploaded_by: String
        var referenced: Bool
    }

    struct Listing: Decodable {
        var files: [Info]
        var used_bytes: Int64
        var quota_bytes: Int64
    }

    struct Answer {
        var status: Int
        var body: Data
        var headers: [String: String]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func request(_ url: String, method: String = "GET", token: String?, body: [UInt8]? = nil, contentType: String? = nil) async throws -> Answer {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let body { request.httpBody = Data(body) }
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields { headers[String(describing: name).lowercased()] = String(describing: value) }
        return Answer(status: http.statusCode, body: data, headers: headers)
    }

    static func upload(_ server: TestServer, _ bytes: [UInt8], name: String, as user: String, role: String = "user", thread: String = "c-1",
        claimed: String = "text/html") async throws -> Answer {
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        return try await request("\(server.baseURL)/api/contracts/\(thread)/files?name=\(encoded)", method: "POST",
            token: try await server.token(user, role: role), body: bytes, contentType: claimed)
    }

    static func sha(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: Data(bytes)).map { String(format: "%02x", $0) }.joined()
    }

    static func blobFolder(_ server: TestServer) -> URL {
        server.folder.appendingPathComponent("bot.sqlite.files")
    }

    static func storedBlobs(_ server: TestServer) throws -> [FileID] {
        try FileBlobStore(folder: blobFolder(server), readOnly: true).ids()
    }

    @Test func uploadedFilesAreTheirBytesHashAndDownloadOnlyForTheThreadsReadersInertly() async throws {
        try await TestServer.with { server in
            try server.contract("c-1")
            try server.contract("c-2", buyer: "carol", freelancer: "dave")
            // The client's claim (text/html) is ignored: the bytes say PNG.
            let uploaded = try await Self.upload(server, Self.png, name: "logo.png", as: "bob")
            #expect(uploaded.status == 201, "\(uploaded.text)")
            let info = try JSONDecoder().decode(Info.self, from: uploaded.body)
            #expect(info.id == Self.sha(Self.png) && info.size == Int64(Self.png.count) && info.content_type == "image/png")
            #expect(info.name == "logo.png" && info.uploaded_by == "bob" && !info.referenced)
            #expect(uploaded.headers["location"] == "/api/contracts/c-1/files/\(info.id)")
            #expect(try Self.storedBlobs(server).map(\.rawValue) == [info.id])

            // Until a line carries it, only its uploader (and moderators) can fetch it.
            let early = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(info.id)", token: try await server.token("alice"))
            #expect(early.status == 404)
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await bob.join("c-1")
            #expect(try await bob.say("the new logo", files: [try #require(FileID(info.id))]).ackOutcome == "chat")
            await bob.close()

            for (user, role) in [("alice", "user"), ("bob", "user"), ("mia", "moderator")] {
                let download = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(info.id)", token: try await server.token(user, role: role))
                #expect(download.status == 200 && Array(download.body) == Self.png, "\(user)")
                #expect(download.headers["content-type"] == "image/png")
                #expect(download.headers["content-disposition"]?.hasPrefix("inline;") == true)
                #expect(download.headers["x-content-type-options"] == "nosniff")
                #expect(download.headers["content-security-policy"]?.hasPrefix("sandbox;") == true)
            }
            // A stranger, and the parties of another contract, are refused; another thread's file is not here.
            let stranger = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(info.id)", token: try await server.token("eve"))
            #expect(stranger.status == 403)
            let other = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(info.id)", token: try await server.token("carol"))
            #expect(other.status == 403)
            let elsewhere = try await Self.request("\(server.baseURL)/api/contracts/c-2/files/\(info.id)", token: try await server.token("carol"))
            #expect(elsewhere.status == 404 && elsewhere.text.contains("unknown_file"))
            let strangerUpload = try await Self.upload(server, Self.png, name: "x.png", as: "eve")
            #expect(strangerUpload.status == 403)
            let noToken = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(info.id)", token: nil)
            #expect(noToken.status == 401)

            // HTML and SVG with script are plain text, downloaded as attachments in a sandbox: never run here.
            for (bytes, name) in [(Self.html, "page.html"), (Self.svg, "icon.svg")] {
                let up = try JSONDecoder().decode(Info.self, from: try await Self.upload(server, bytes, name: name, as: "alice").body)
                #expect(up.content_type == "text/plain; charset=utf-8")
                let down = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(up.id)", token: try await server.token("alice"))
                #expect(down.headers["content-type"] == "text/plain; charset=utf-8")
                #expect(down.headers["content-disposition"] == "attachment; filename=\"\(name)\"; filename*=UTF-8''\(name)")
                #expect(down.headers["content-security-policy"] == "sandbox; default-src 'none'; frame-ancestors 'none'")
            }
            let listing = try JSONDecoder().decode(Listing.self, from: try await Self.request("\(server.baseURL)/api/contracts/c-1/files", token: try await server.token("alice")).body)
            #expect(listing.files.count == 3 && listing.used_bytes == Int64(Self.png.count + Self.html.count + Self.svg.count))
            // Alice's two files are in no message yet: bob sees only his own.
            let bobs = try JSONDecoder().decode(Listing.self, from: try await Self.request("\(server.baseURL)/api/contracts/c-1/files", token: try await server.token("bob")).body)
            #expect(bobs.files.map(\.id) == [info.id])

            // A moderator's internal note with a file: the parties never get the file.
            let mia = try await TestClient.connect(server, token: try await server.token("mia", role: "moderator"))
            _ = try await mia.join("c-1")
            let screenshot = try JSONDecoder().decode(Info.self, from: try await Self.upload(server, Array("call log".utf8), name: "call.txt", as: "mia", role: "moderator").body)
            #expect(try await mia.say("/note called both sides", files: [try #require(FileID(screenshot.id))]).ackOutcome == "applied")
            for party in ["alice", "bob"] {
                let refused = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(screenshot.id)", token: try await server.token(party))
                #expect(refused.status == 404, "\(party)")
            }
            let otherModerator = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(screenshot.id)", token: try await server.token("max", role: "moderator"))
            #expect(otherModerator.status == 200)
            await mia.close()

            // Names: required, no folders, no controls or bidi characters.
            #expect(try await Self.upload(server, Self.png, name: "", as: "bob").status == 400)
            #expect(try await Self.upload(server, Self.png, name: "../etc/passwd", as: "bob").text.contains("bad_file_name"))
            #expect(try await Self.upload(server, Self.png, name: "invoice\u{202E}fdp.exe", as: "bob").text.contains("bad_file_name"))
        }
    }

    @Test func anOversizedFileAndAnOverQuotaContractAreRefusedAndNothingIsStored() async throws {
        let settings = TestServer.settings {
            $0.files.maxFileBytes = 1_000
            $0.files.contractQuotaBytes = 1_500
        }
        try await TestServer.with(settings: settings) { server in
            try server.contract("c-1")
            let big = try await Self.upload(server, Array(repeating: 65, count: 1_001), name: "big.txt", as: "alice")
            #expect(big.status == 413 && big.text.contains("file_too_large") && big.text.contains("at most 1000"), "\(big.text)")
            #expect(try Self.storedBlobs(server).isEmpty)
            #expect(try server.database.files(of: "c-1").isEmpty)
            #expect(try await Self.upload(server, Array(repeating: 66, count: 900), name: "a.txt", as: "alice").status == 201)
            let over = try await Self.upload(server, Array(repeating: 67, count: 700), name: "b.txt", as: "bob")
            #expect(over.status == 413 && over.text.contains("quota_exceeded") && over.text.contains("600 are left"), "\(over.text)")
            #expect(try Self.storedBlobs(server).count == 1)
            #expect(try server.database.files(of: "c-1").count == 1)
        }
    }

    @Test func aSubmissionCarriesItsFilesInsideTheHashChainAndVerifyNamesAChangedOrMissingFile() async throws {
        try await TestServer.with { server in
            try server.contract("c-1", milestones: [MilestoneDraft(amount: 50_000, description: "Logo")])
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await alice.join("c-1")
            _ = try await bob.join("c-1")
            #expect(try await alice.say("/fund M1").ackOutcome == "applied")
            let first = try JSONDecoder().decode(Info.self, from: try await Self.upload(server, Self.png, name: "logo.png", as: "bob").body)
            let second = try JSONDecoder().decode(Info.self, from: try await Self.upload(server, Array("final notes".utf8), name: "notes.txt", as: "bob").body)
            let ids = [try #require(FileID(first.id)), try #require(FileID(second.id))]

            // A file that was never uploaded here is refused, and nothing is stored.
            let unknown = try await bob.say("/submit M1 here", files: [try #require(FileID(String(repeating: "a", count: 64)))])
            guard case .error(let refusal) = unknown else { Issue.record("\(unknown)"); return }
            #expect(refusal.message.contains("was not uploaded to this thread"))
            let bad = try await bob.say("x", files: [])
            #expect(bad.ackOutcome == "chat")

            let submitted = try await bob.say("/submit M1 final files attached", files: ids)
            #expect(submitted.ackOutcome == "applied")
            let line = try await alice.next { if case .message(let m) = $0, m.kind == "command", m.text.hasPrefix("/submit") { true } else { false } }
            guard case .message(let message) = line else { return }
            #expect(message.files == ids.map(\.rawValue))
            #expect(try server.database.files(of: "c-1").allSatisfy(\.referenced))
            let stored = try #require(try server.database.fullTranscript(of: "c-1").first { $0.seq == message.seq })
            #expect(stored.files == ids)
            #expect(TranscriptChain.expectedHash(of: stored) == stored.hash)
            var withoutFiles = stored
            withoutFiles.files = []
            #expect(TranscriptChain.expectedHash(of: withoutFiles) != stored.hash, "the hash covers the files")
            #expect(try server.database.verify(thread: "c-1", blobs: server.context.blobs).isIntact)

            // The moderator's case file lists the files with their hashes, and the submission that carries them.
            let moderator = try await server.token("mia", role: "moderator")
            let caseFile = try await Self.request("\(server.baseURL)/api/contracts/c-1/cases/M1", token: moderator)
            #expect(caseFile.status == 404, "no dispute yet: \(caseFile.text)")
            #expect(try await bob.say("/evidence M1 x").ackOutcome == "rejected")
            #expect(try await alice.say("/dispute M1 the logo is blurry").ackOutcome == "applied")
            let evidence = try JSONDecoder().decode(Info.self, from: try await Self.upload(server, Array("screenshot".utf8), name: "proof.txt", as: "bob").body)
            #expect(try await bob.say("/evidence M1 the delivered file is sharp at 100%", files: [try #require(FileID(evidence.id))]).ackOutcome == "applied")
            let opened = try await Self.request("\(server.baseURL)/api/contracts/c-1/cases/M1", token: moderator)
            let caseJSON = try #require(try JSONSerialization.jsonObject(with: opened.body) as? [String: Any])
            let listed = (caseJSON["files"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(Set(listed) == Set([first.id, second.id, evidence.id]), "\(opened.text)")
            let carried = (caseJSON["timeline"] as? [[String: Any]] ?? []).flatMap { $0["files"] as? [String] ?? [] }
            #expect(carried == [first.id, second.id, evidence.id])

            // The case bundle: verifies offline; a changed byte anywhere fails it; parties cannot export it.
            let bundle = try await Self.request("\(server.baseURL)/api/contracts/c-1/bundle", token: moderator)
            #expect(bundle.status == 200 && bundle.headers["content-type"] == "application/zip")
            let verified = CaseBundle.verify(bundle.body)
            let total = try server.database.fullTranscript(of: "c-1").count
            #expect(verified.isIntact && verified.files == 3 && verified.messages == total, "\(verified.summary)")
            // A flipped byte in a delivered file, in every copy of a message's text (chain, JSON and HTML
            // transcripts) and in the README: each is noticed.
            var targets: [Int] = []
            for needle in [Self.png, Array("final files attached".utf8), Array("Case bundle of one".utf8), Array("sharp at 100%".utf8)] {
                var from = bundle.body.startIndex
                while let found = bundle.body[from...].firstRange(of: needle) {
                    targets.append(found.lowerBound + needle.count / 2)
                    from = found.upperBound
                }
            }
            #expect(targets.count >= 6, "\(targets)")
            for offset in targets {
                var flipped = bundle.body
                flipped[offset] ^= 0x01
                #expect(!CaseBundle.verify(flipped).isIntact, "a flipped byte at \(offset) went unnoticed")
            }
            // Rebuilt with a changed message and valid ZIP checksums: the hash chain names it.
            let original = try Archive(data: bundle.body, accessMode: .read)
            let forged = try Archive(accessMode: .create)
            for item in original {
                var data = Data()
                _ = try original.extract(item) { data.append($0) }
                if item.path == "chain.json" {
                    data = Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "the logo is blurry", with: "the logo is perfect").utf8)
                }
                try forged.addEntry(with: item.path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
            let forgery = CaseBundle.verify(try #require(forged.data))
            #expect(forgery.problems.contains { $0.contains("chain.json was changed") })
            #expect(forgery.problems.contains { $0.hasPrefix("message ") && $0.contains("was changed") }, "\(forgery.problems)")
            #expect(try await Self.request("\(server.baseURL)/api/contracts/c-1/bundle", token: try await server.token("alice")).status == 403)

            // One byte of a delivered file changed on disk: verify names it; removed: named too.
            let path = Self.blobFolder(server).appendingPathComponent(String(first.id.prefix(2))).appendingPathComponent(first.id)
            var bytes = try Data(contentsOf: path)
            bytes[20] ^= 0x01
            try bytes.write(to: path)
            let altered = try server.database.verify(thread: "c-1", blobs: server.context.blobs)
            #expect(altered.problem == .fileAltered && altered.seq == message.seq && altered.detail?.contains(first.id) == true, "\(altered)")
            try FileManager.default.removeItem(at: path)
            let missing = try server.database.verify(thread: "c-1", blobs: server.context.blobs)
            #expect(missing.problem == .fileMissing && missing.detail?.contains(first.id) == true)
            let (body, _) = try await AccessTests.get("\(server.baseURL)/api/contracts/c-1/verify", token: try await server.token("alice"))
            #expect(body.contains("file_missing"))
            for client in [alice, bob] { await client.close() }
        }
    }

    @Test func filesNoMessageReferencesAreRemovedAfterTheGracePeriod() async throws {
        try await TestServer.with { server in
            try server.contract("c-1")
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            let kept = try JSONDecoder().decode(Info.self, from: try await Self.upload(server, Self.png, name: "kept.png", as: "alice").body)
            let dropped = try JSONDecoder().decode(Info.self, from: try await Self.upload(server, Self.html, name: "draft.html", as: "alice").body)
            #expect(try await alice.say("the logo", files: [try #require(FileID(kept.id))]).ackOutcome == "chat")
            // Not yet: both are younger than the grace period.
            let early = try await server.database.collectUnreferencedFiles(uploadedBefore: server.clock.now.addingTimeInterval(-3_600), blobs: server.context.blobs)
            let stillStored = try Self.storedBlobs(server)
            #expect(early == 0 && stillStored.count == 2)
            let removed = try await server.database.collectUnreferencedFiles(uploadedBefore: server.clock.now.addingTimeInterval(3_600), blobs: server.context.blobs)
            #expect(removed == 1)
            #expect(try Self.storedBlobs(server).map(\.rawValue) == [kept.id])
            #expect(try server.database.files(of: "c-1").map(\.id.rawValue) == [kept.id])
            let gone = try await Self.request("\(server.baseURL)/api/contracts/c-1/files/\(dropped.id)", token: try await server.token("alice"))
            #expect(gone.status == 404)
            await alice.close()
        }
    }
}
