import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server these tests use: `MILESTONE_TEST_POSTGRES_URL`, a superuser's URL
/// (`scripts/postgres-test-cluster start` makes a throwaway cluster and prints it; `scripts/test` does that).
/// Without it the tests fail: they never skip. Each test gets a fresh database.
actor TestPostgres {
    static let shared = TestPostgres()

    private var adminURL: String?
    private var databases = 0

    /// The URL of a new, empty database.
    func freshDatabase() async throws -> String {
        let admin = try await url()
        databases += 1
        let name = "t_\(ProcessInfo.processInfo.processIdentifier)_\(databases)_\(UInt32.random(in: 0...UInt32.max))"
        try await Self.run(admin, "CREATE DATABASE \(name)")
        guard var components = URLComponents(string: admin) else { throw Failure("bad admin URL \(admin)") }
        components.path = "/\(name)"
        return components.string!
    }

    private func url() async throws -> String {
        if let adminURL { return adminURL }
        guard let found = ProcessInfo.processInfo.environment["MILESTONE_TEST_POSTGRES_URL"], !found.isEmpty else {
            throw Failure("MILESTONE_TEST_POSTGRES_URL is not set: start a throwaway cluster with eval \"$(scripts/postgres-test-cluster start)\" (scripts/test does)")
        }
        adminURL = found
        return found
    }

    static func run(_ url: String, _ sql: String) async throws {
        guard let components = URLComponents(string: url), let user = components.user else { throw Failure("bad URL \(url)") }
        let database = String(components.path.drop { $0 == "/" })
        var configuration: PostgresClient.Configuration
        if let socket = components.queryItems?.first(where: { $0.name == "host" })?.value {
            configuration = .init(unixSocketPath: "\(socket)/.s.PGSQL.\(components.port ?? 5432)", username: user, password: components.password, database: database)
        } else {
            configuration = .init(host: components.host ?? "localhost", port: components.port ?? 5432, username: user, password: components.password,
                database: database, tls: .disable)
        }
        let client = PostgresClient(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql))
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

}
