import ArgumentParser

/// Where the server under test is and how to talk to it; shared by every scenario.
struct CommonOptions: ParsableArguments {
    @Option(help: "Label of the server under test in results: ours or peer.") var target = "ours"
    @Option(help: "Server address.") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 8080
    @Option(help: "The server's auth.signing_secret (HS256), to mint user tokens.") var secret = ""
    @Option(help: "The server's auth.api_key, to create contracts.") var apiKey = ""
    @Option(help: "The server's process id, to read its memory (VmRSS).") var serverPid: Int32?
    @Option(help: "Event loop threads of the generator.") var eventLoops = 2
    @Option(help: "Connections being opened at once.") var parallel = 200
    @Option(help: "Write the JSON result here.") var out: String?
    @Option(help: "Prefix of contract ids, so runs on one database do not collide.") var prefix = "bench"
}
