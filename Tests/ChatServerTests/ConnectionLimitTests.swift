import ChatServer
import Foundation
import MilestoneCore
import NIOWebSocket
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-user cap on WebSockets, and the deadline on handshakes (slowloris).
@Suite struct ConnectionLimitTests {
    @Test func connectionsOverTheUsersCapAreRefusedAndTheOthersCarryOn() async throws {
        try await TestServer.with(settings: TestServer.settings { $0.limits.maxConnectionsPerUser = 3 }) { server in
            try server.contract()
            let token = try await server.token("alice")
            var tabs: [TestClient] = []
            for _ in 0..<3 { tabs.append(try await TestClient.connect(server, token: token)) }
            #expect(server.context.userConnections.count(of: "alice") == 3)

            // The fourth: an `error` frame, then close 4429; the three open ones are untouched.
            let refusal = try await TestClient.refused(server, token: token)
            #expect(refusal == .init(code: "too_many_connections", closeCode: 4429))
            #expect(server.context.userConnections.count(of: "alice") == 3)
            for (index, tab) in tabs.enumerated() {
                _ = try await tab.join("c-1")
                guard case .ack = try await tab.say("tab \(index) still works") else { Issue.record("no ack on tab \(index)"); return }
            }

            // Another user is not affected by alice's cap.
            let bob = try await TestClient.connect(server, token: try await server.token("bob"))
            _ = try await bob.join("c-1")
            guard case .ack = try await bob.say("hi") else { Issue.record("no ack for bob"); return }

            // Closing a connection gives its slot back.
            await tabs.removeLast().close()
            try await waitUntil { server.context.userConnections.count(of: "alice") == 2 }
            let again = try await TestClient.connect(server, token: token)
            #expect(server.context.userConnections.count(of: "alice") == 3)
            #expect(try await TestClient.refused(server, token: token)?.code == "too_many_connections")
            for client in tabs + [again, bob] { await client.close() }
            try await waitUntil { server.context.userConnections.count(of: "alice") == 0 }
        }
    }

    @Test func handshakesThatDoNotFinishInTimeAreClosed() async throws {
        try await TestServer.with(settings: TestServer.settings { $0.limits.handshakeTimeout = 1 }) { server in
            let port = server.port
            // Nothing at all; half an upgrade request, then silence; one header byte every 200 ms (a total
            // deadline, not an idle timer: the trickle must not keep it open).
            async let silent = RawSocket.closedAfter(port: port, send: "", trickle: nil)
            async let partial = RawSocket.closedAfter(port: port, send: "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n", trickle: nil)
            async let trickle = RawSocket.closedAfter(port: port, send: "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n", trickle: 0.2)
            for (name, seconds) in [("silent", try await silent), ("partial", try await partial), ("trickle", try await trickle)] {
                #expect(seconds != nil && seconds! >= 0.8 && seconds! < 3, "\(name): closed after \(String(describing: seconds)) s")
            }
            // A normal handshake well within the deadline is unaffected, and stays open past it.
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            try await Task.sleep(for: .milliseconds(1500))
            try server.contract()
            _ = try await alice.join("c-1")
            guard case .ack = try await alice.say("after the deadline") else { Issue.record("no ack"); return }
            await alice.close()
        }
    }

    @Test func aMessageIDWithAControlCharacterIsRefusedAndTheChainStaysIntact() async throws {
        // Found by the live fuzzer: SQLite cut the id at the NUL, so the stored message no longer matched its hash.
        try await TestServer.with { server in
            try server.contract()
            let alice = try await TestClient.connect(server, token: try await server.token("alice"))
            _ = try await alice.join("c-1")
            for id in ["nul\u{0}id", "bell\u{7}", "\u{0}"] {
                guard case .error(let error) = try await alice.say("/help", id: id) else { Issue.record("accepted \(id.debugDescription)"); continue }
                #expect(error.code == "invalid_id")
            }
            guard case .ack = try await alice.say("/help", id: "plain-id") else { Issue.record("no ack"); return }
            #expect(try server.database.verify(thread: "c-1").isIntact)
            await alice.close()
        }
    }

    private func waitUntil(timeout: TimeInterval = 5, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw Timeout(description: "condition not met within \(timeout)s") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A plain TCP socket, for clients too broken for a WebSocket library.
enum RawSocket {
    /// Connects, sends `send`, then one byte of a header every `trickle` seconds (if set); returns how many
    /// seconds until the server closed the connection, or nil if it was still open after 5 s.
    static func closedAfter(port: Int, send text: String, trickle: Double?) async throws -> Double? {
        try await Task.detached {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Timeout(description: "socket() failed") }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw Timeout(description: "connect() failed") }
            let started = Date()
            if !text.isEmpty { _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
            let header = Array("X-Slow: " + String(repeating: "a", count: 200))
            var next = 0
            while Date().timeIntervalSince(started) < 5 {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let wait = Int32((trickle ?? 0.05) * 1000)
                if poll(&poller, 1, wait) > 0 {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n <= 0 { return Date().timeIntervalSince(started) }
                }
                if trickle != nil {
                    let byte = String(header[next % header.count])
                    next += 1
                    let sent = byte.withCString { send(fd, $0, 1, Int32(MSG_NOSIGNAL)) }
                    if sent < 0 { return Date().timeIntervalSince(started) }
                }
            }
            return nil
        }.value
    }
}
