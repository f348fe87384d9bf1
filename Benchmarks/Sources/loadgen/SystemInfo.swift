import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum SystemInfo {
    /// Raises the open-files soft limit to the hard limit (each connection is a socket).
    @discardableResult
    static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }

    /// Resident memory of a process in bytes (`VmRSS` in /proc/<pid>/status), nil when unreadable.
    static func residentBytes(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kib = line.split(separator: " ").compactMap { Int($0) }.first
            return kib.map { $0 * 1024 }
        }
        return nil
    }

    static var ownPID: Int32 { getpid() }
}
