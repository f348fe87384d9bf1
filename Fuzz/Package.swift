// swift-tools-version:6.1
// Coverage-guided fuzz targets (libFuzzer). Not part of the main build: run `Fuzz/run.sh`.
// `run.sh --planted` builds with `-Xswiftc -DPLANTED_BUG` (in .build/planted) to prove a trap is found.
import PackageDescription

let package = Package(
    name: "milestone-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "milestone-bot", path: "..")],
    targets: [
        /// `CommandParser.parse`, `AmountParser.parse` and `Contract.apply(line:by:at:)`.
        .executableTarget(
            name: "CommandFuzz",
            dependencies: [.product(name: "MilestoneCore", package: "milestone-bot")]
        ),
        /// `ClientMessage.swift` and its fast decoder from ChatServer, compiled on their own (symlinks) so the fuzzer does not
        /// have to build the whole server graph (NIO, BoringSSL, GRDB, ...) with ASan and coverage.
        .target(
            name: "EnvelopeProtocol",
            dependencies: [.product(name: "MilestoneCore", package: "milestone-bot")]
        ),
        .executableTarget(name: "EnvelopeFuzz", dependencies: ["EnvelopeProtocol"]),
    ]
)
