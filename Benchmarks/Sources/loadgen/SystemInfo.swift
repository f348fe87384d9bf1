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

    /// CPU time (user + system) a process has used, in seconds (`/proc/<pid>/stat` fields 14 and 15).
    static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces), starting with field 3 (state).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static var ownPID: Int32 { getpid() }
}

/// CPU used by the server and by the generator between its creation and `percent()`, as a percentage of one
/// core (200 % is both cores of this machine).
struct CPUMeter {
    let server: Int32?
    let started = nowNanos()
    let serverStart: Double?
    let ownStart: Double?

    init(server: Int32?) {
        self.server = server
        serverStart = server.flatMap(SystemInfo.cpuSeconds)
        ownStart = SystemInfo.cpuSeconds(pid: SystemInfo.ownPID)
    }

    func percent() -> (server: Double?, generator: Double?) {
        let wall = Double(nowNanos() - started) / 1e9
        func share(_ start: Double?, _ pid: Int32?) -> Double? {
            guard let start, let pid, let now = SystemInfo.cpuSeconds(pid: pid) else { return nil }
            return (now - start) / wall * 100
        }
        return (share(serverStart, server), share(ownStart, SystemInfo.ownPID))
    }
}
