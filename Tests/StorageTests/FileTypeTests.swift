@testable import Storage
import Testing

/// A file's type comes from its first bytes, never its name or the uploader's claim; anything that could be
/// markup is plain text, so nothing we serve is ever rendered as a page.
@Suite struct FileTypeTests {
    @Test(arguments: [
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0], "image/png"),
        ([0xFF, 0xD8, 0xFF, 0xE0], "image/jpeg"),
        (Array("GIF89a..".utf8), "image/gif"),
        (Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), "image/webp"),
        (Array("%PDF-1.7".utf8), "application/pdf"),
        ([0x50, 0x4B, 0x03, 0x04, 1], "application/zip"),
        ([0x1F, 0x8B, 8], "application/gzip"),
        (Array("<html><script>alert(1)</script>".utf8), "text/plain; charset=utf-8"),
        (Array("<svg onload=alert(1)>".utf8), "text/plain; charset=utf-8"),
        (Array("héllo ✓".utf8), "text/plain; charset=utf-8"),
        // A multi-byte character cut off at the end of the sample is still text.
        (Array("abc ✓".utf8).dropLast(1).map { $0 }, "text/plain; charset=utf-8"),
        ([0x00, 0x01, 0x02], "application/octet-stream"),
        ([0xC3, 0x28, 0x41], "application/octet-stream"),
        ([], "text/plain; charset=utf-8"),
    ] as [([UInt8], String)])
    func sniffed(head: [UInt8], type: String) {
        #expect(FileType.sniff(head) == type)
    }

    @Test func onlyRasterImagesAreShownInline() {
        #expect(FileType.isInlineImage("image/png") && FileType.isInlineImage("image/webp"))
        #expect(!FileType.isInlineImage("image/svg+xml") && !FileType.isInlineImage("text/plain; charset=utf-8") && !FileType.isInlineImage("application/pdf"))
    }
}
