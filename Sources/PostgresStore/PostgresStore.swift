import Foundation
import Logging
import MilestoneCore
import PostgresNIO
import Storage

/// The transcript store on a PostgreSQL server: the same guarantees as the embedded SQLite file (see
/// ``TranscriptStore``) for a site that runs several nodes on one database. A line's transaction locks its
/// thread's head row (`FOR UPDATE`), so sequence numbers stay gap-free and the hash chain linear under
/// concurrent writers on any number of connections; a line is acknowledged only after COMMIT returned, and
/// a resend with the same command id after an unknown outcome gets the first receipt.
///
/// Run ``run()`` (it keeps the connection pool) for as long as the store is used.
public final class PostgresStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Whether every event is also written to the notification outbox for the platform's webhook.
    let recordsNotifications: Bool
    let batcher = LineBatcher()

    /// `postgres://user[:password]@host[:port]/database`; `?host=/path/to/socket/folder` connects over a Unix
    /// socket instead (as libpq reads it).
    public init(url: String, recordsNotifications: Bool = false, logger: Logger = Logger(label: "postgres-store")) throws {
        client = PostgresClient(configuration: try Self.configuration(url), backgroundLogger: logger)
        self.recordsNotifications = recordsNotifications
        self.logger = logger
    }

    /// Keeps the connection pool until the task is cancelled.
    public func run() async {
        await client.run()
    }

    static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let user = components.user, !user.isEmpty else {
            throw StorageError.invalid("a PostgreSQL database is named postgres://user@host:port/database, got \(text.prefix(200))")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw StorageError.invalid("name the database: postgres://user@host:port/database") }
        let password = components.password   // URLComponents has already decoded it
        var configuration: PostgresClient.Configuration
        if let socketFolder = components.queryItems?.first(where: { $0.name == "host" })?.value, socketFolder.hasPrefix("/") {
            let port = components.port ?? 5432
            configuration = .init(unixSocketPath: "\(socketFolder)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            configuration = .init(host: components.host ?? "localhost", port: components.port ?? 5432, username: user, password: password,
                database: database, tls: .disable)
        }
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 20
        return configuration
    }
}
