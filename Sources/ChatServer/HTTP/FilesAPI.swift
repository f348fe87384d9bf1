import Foundation
import HTTPTypes
import Hummingbird
import MilestoneCore
import NIOCore
import Storage

/// A file as the API describes it.
struct FileInfo: ResponseEncodable {
    var id: String
    var name: String
    var size: Int64
    var contentType: String
    var uploadedBy: String
    var uploadedAt: String
    /// A message carries it; an unreferenced file is removed `files.unreferenced_grace_hours` after upload.
    var referenced: Bool

    enum CodingKeys: String, CodingKey {
        case id, name, size, contentType = "content_type", uploadedBy = "uploaded_by", uploadedAt = "uploaded_at", referenced
    }

    init(_ file: StoredFile) {
        id = file.id.rawValue
        name = file.name
        size = file.size
        contentType = file.contentType
        uploadedBy = file.uploadedBy.rawValue
        uploadedAt = Timestamp.text(file.uploadedAt)
        referenced = file.referenced
    }
}

struct FileList: ResponseEncodable {
    var thread: String
    var files: [FileInfo]
    var usedBytes: Int64
    var quotaBytes: Int64

    enum CodingKeys: String, CodingKey { case thread, files, usedBytes = "used_bytes", quotaBytes = "quota_bytes" }
}

/// Files in a thread over HTTP: upload (the body is the file's bytes, streamed; `?name=` names it), list,
/// download. Anyone who may read the thread may do each; the bearer token goes in the header, never the URL.
enum FilesAPI {
    static func addRoutes(to router: Router<ChatRequestContext>, server: ServerContext) {
        let api = router.group("/api").add(middleware: AuthMiddleware(server: server))

        api.post("contracts/:id/files") { request, context -> EditedResponse<FileInfo> in
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            let name = try fileName(request.uri.queryParameters["name"].map(String.init))
            let limits = server.settings.files
            let used = try await server.offloaded { try server.database.fileBytes(of: contract.id) }
            let left = Int64(limits.contractQuotaBytes) - used
            if let declared = request.headers[.contentLength].flatMap({ Int64($0) }) {
                try refuseOversized(declared, left: left, limits: limits)
            }
            let limit = Int(min(Int64(limits.maxFileBytes), max(left, 0)))
            let upload = try server.blobs.upload(limit: limit)
            let stored: (id: FileID, size: Int, head: [UInt8])
            do {
                for try await buffer in request.body {
                    try buffer.withUnsafeReadableBytes { bytes throws(BlobError) in try upload.append(bytes) }
                }
                // The fsync of up to max_file_bytes runs off the cooperative pool.
                stored = try await server.offloaded { try upload.commit() }
            } catch BlobError.tooLarge {
                upload.discard()
                try refuseOversized(Int64(limit) + 1, left: left, limits: limits)
                throw APIError(.contentTooLarge, "file_too_large", "the file is larger than \(limits.maxFileBytes) bytes")
            } catch {
                upload.discard()
                throw error
            }
            let file = StoredFile(contract: contract.id, id: stored.id, name: name, size: Int64(stored.size), contentType: FileType.sniff(stored.head),
                uploadedBy: viewer.user, uploadedAt: server.clock(), referenced: false)
            let recorded: StoredFile
            do {
                recorded = try await server.database.recordUpload(file, quota: Int64(limits.contractQuotaBytes))
            } catch StorageError.invalid(let detail) {
                // Over quota after all (another upload came first): the bytes go unless some contract has them.
                if try await server.offloaded({ try server.database.isFileKnown(stored.id) }) == false { try? server.blobs.remove(stored.id) }
                throw APIError(.contentTooLarge, "quota_exceeded", detail)
            }
            // The same bytes may have been removed between the commit and the record (a collection of an old,
            // unreferenced copy, or another upload's quota refusal): never answer with a row pointing at nothing.
            guard server.blobs.contains(stored.id) else {
                try await server.offloaded { try server.database.forgetUnreferencedFile(stored.id, of: contract.id) }
                throw APIError(.serviceUnavailable, "upload_lost", "the file was removed while it was being stored; upload it again")
            }
            return EditedResponse(status: .created, headers: [.location: "/api/contracts/\(contract.id.rawValue)/files/\(stored.id.rawValue)"],
                response: FileInfo(recorded))
        }

        api.get("contracts/:id/files") { _, context -> FileList in
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            let (files, used) = try await server.offloaded {
                let all = try server.database.files(of: contract.id)
                let visible = viewer.role == .moderator ? all : try all.filter { try server.database.file($0.id, in: contract.id, isVisibleTo: viewer.user) }
                return (visible, try server.database.fileBytes(of: contract.id))
            }
            return FileList(thread: contract.id.rawValue, files: files.map(FileInfo.init), usedBytes: used, quotaBytes: Int64(server.settings.files.contractQuotaBytes))
        }

        api.get("contracts/:id/files/:file") { _, context -> Response in
            let (contract, viewer) = try await ContractsAPI.access(context, server: server)
            guard let id = FileID(try context.parameters.require("file")),
                let file = try await server.offloaded({ try server.database.file(id, of: contract.id) }), server.blobs.contains(id),
                try await server.offloaded({ try viewer.role == .moderator || server.database.file(id, in: contract.id, isVisibleTo: viewer.user) })
            else {
                throw APIError(.notFound, "unknown_file", "this thread has no such file")
            }
            let disposition = FileType.isInlineImage(file.contentType) ? "inline" : "attachment"
            var headers: HTTPFields = [
                .contentType: file.contentType,
                .contentLength: String(file.size),
                .contentDisposition: "\(disposition); filename=\"\(asciiFallback(file.name))\"; filename*=UTF-8''\(percentEncoded(file.name))",
            ]
            headers[.init("X-File-SHA256")!] = id.rawValue
            let blobs = server.blobs
            let body = ResponseBody(contentLength: Int(file.size)) { writer in
                let found = try await blobs.read(id, chunkSize: 64 << 10) { chunk in
                    try await writer.write(ByteBuffer(data: chunk))
                }
                if !found { throw APIError(.notFound, "unknown_file", "the file's bytes are missing") }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
    }

    /// 413 with the limit that was passed: the file's own, or what is left of the contract's quota.
    static func refuseOversized(_ size: Int64, left: Int64, limits: ServerSettings.Files) throws {
        if size > Int64(limits.maxFileBytes) {
            throw APIError(.contentTooLarge, "file_too_large", "the file is \(size) bytes; one file may be at most \(limits.maxFileBytes)")
        }
        if size > left {
            throw APIError(.contentTooLarge, "quota_exceeded",
                "the contract's files may take \(limits.contractQuotaBytes) bytes together and \(max(left, 0)) are left; this file is \(size)")
        }
    }

    /// The file's name as given: required, at most 200 bytes, no folders, control, format or bidi characters.
    static func fileName(_ given: String?) throws -> String {
        guard let name = given, !name.isEmpty else {
            throw APIError(.badRequest, "bad_request", "name the file: ?name=report.pdf")
        }
        if let problem = IdentifierRules.problem(name, what: "the file name", maxBytes: 200) {
            throw APIError(.badRequest, "bad_file_name", problem)
        }
        guard !name.contains("/"), !name.contains("\\"), name != ".", name != ".." else {
            throw APIError(.badRequest, "bad_file_name", "a file name has no folders: no / or \\, and is not . or ..")
        }
        return name
    }

    /// `filename="..."` for old clients: printable ASCII only, quotes and backslashes replaced.
    static func asciiFallback(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar in
            (0x20...0x7E).contains(scalar.value) && scalar != "\"" && scalar != "\\" ? Character(scalar) : "_"
        })
    }

    /// RFC 8187 percent-encoding of the UTF-8 bytes (attr-char stays as it is).
    static func percentEncoded(_ name: String) -> String {
        var out = ""
        for byte in name.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || "!#$&+-.^_`|~".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
