// swift-tools-version:6.1
import PackageDescription

/// The load generator for docs/PERFORMANCE.md: its own package (and `.build`), so building it does not take
/// the main package's build lock. Run everything with `Benchmarks/run.sh`.
let package = Package(
    name: "milestone-bot-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "loadgen",
            dependencies: [
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Everything a connection does runs on its event loop; Swift 5 mode keeps the per-loop state
            // (plain classes, never shared across loops) free of Sendable ceremony.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
