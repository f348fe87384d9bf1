/// What a file is, read from its first bytes (never from the uploader's claim or its name).
public enum FileType {
    /// The media type of a file starting with `head`. Text (HTML and SVG included) is `text/plain`: nothing
    /// we serve is ever interpreted as markup.
    public static func sniff(_ head: [UInt8]) -> String {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + prefix.count && Array(head[offset..<(offset + prefix.count)]) == prefix
        }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return "image/gif" }
        if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) { return "image/webp" }
        if starts(Array("%PDF-".utf8)) { return "application/pdf" }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return "application/zip" }
        if starts([0x1F, 0x8B]) { return "application/gzip" }
        if isText(head) { return "text/plain; charset=utf-8" }
        return "application/octet-stream"
    }

    /// Raster images a browser may show inline; everything else is only ever downloaded.
    public static func isInlineImage(_ contentType: String) -> Bool {
        ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(contentType)
    }

    /// UTF-8 without NUL (a sequence cut off at the end of the sample is allowed).
    static func isText(_ head: [UInt8]) -> Bool {
        guard !head.contains(0) else { return false }
        var bytes = head[...]
        // Drop a possibly cut multi-byte sequence at the end.
        var trailing = 0
        while trailing < 3, let last = bytes.last, last & 0xC0 == 0x80 || last >= 0xC0 {
            let isLead = last >= 0xC0
            bytes = bytes.dropLast()
            trailing += 1
            if isLead { break }
        }
        return String(validating: Array(bytes), as: UTF8.self) != nil
    }
}
