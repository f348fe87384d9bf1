// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "milestone-bot",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "milestone-bot", targets: ["milestone-bot"]),
        .library(name: "MilestoneCore", targets: ["MilestoneCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        /// The pure domain: money, commands, policies, the contract state machine, the ledger rules.
        .target(name: "MilestoneCore"),
        /// `bot-config/` loading and validation: policy presets (and, later, server settings).
        .target(
            name: "BotConfig",
            dependencies: ["MilestoneCore", .product(name: "Yams", package: "Yams")]
        ),
        /// Deterministic random command scripts and an in-memory reference contract, for property tests,
        /// the crash test and benchmarks.
        .target(name: "CommandScripts", dependencies: ["MilestoneCore"]),
        /// Payment processors behind one protocol: the Stripe REST client, planning processor calls from
        /// ledger postings, and webhook signatures.
        .target(
            name: "Payments",
            dependencies: ["MilestoneCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        /// Durable storage on GRDB/SQLite: contracts, milestones, ledger, idempotency log, transcript.
        .target(
            name: "Storage",
            dependencies: [
                "MilestoneCore", "Payments",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The C API, for the few hottest statements (Statement+Fast.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        /// The second store: the same transcript guarantees on a PostgreSQL server (postgres-nio), for a site
        /// that outgrows one machine. Shares the pure parts (the core, the chain, the ledger rules) with `Storage`.
        .target(
            name: "PostgresStore",
            dependencies: [
                "MilestoneCore", "Storage", "Payments",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The chat server: HTTP API, WebSocket threads, authentication, the thread hub, metrics.
        .target(
            name: "ChatServer",
            dependencies: [
                "MilestoneCore", "Storage", "BotConfig", "Payments",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                // The case bundle (one ZIP of a transcript and its files).
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            /// The browser chat page (index.html, app.css, app.js), served at `/`, and the default settings and
            /// presets (`bot-config/`; the repository's `bot-config` links here), used when no settings file is named or found.
            resources: [.copy("Public"), .copy("bot-config"), .copy("OpenAPI")]
        ),
        /// The command-line entry point: `serve`, `token`, `verify`.
        .executableTarget(
            name: "milestone-bot",
            dependencies: [
                "ChatServer", "PostgresStore", "Storage", "MilestoneCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ChatServerTests",
            dependencies: [
                "ChatServer", "MilestoneCore", "Storage", "BotConfig", "Payments", "CommandScripts",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "MilestoneCoreTests",
            dependencies: [
                "MilestoneCore", "BotConfig", "CommandScripts",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        /// Each preset's flow end to end, driven by typed chat lines, with the real `bot-config/presets` loaded.
        .testTarget(
            name: "PresetScenarioTests",
            dependencies: ["MilestoneCore", "BotConfig"]
        ),
        .testTarget(
            name: "BotConfigTests",
            dependencies: ["BotConfig", "MilestoneCore"]
        ),
        /// The store's guarantees, one suite for both back ends (SQLite and a real PostgreSQL).
        .testTarget(
            name: "StoreConformanceTests",
            dependencies: [
                "Storage", "PostgresStore", "MilestoneCore", "BotConfig",
                .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "MilestoneCore", "BotConfig", "CommandScripts",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ]
)
