import ArgumentParser

/// Creates contracts through the API and exits: the runner uses it to give the startup benchmark's database
/// real contracts before filling it with messages.
struct ContractsSetup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "contracts", abstract: "Create N contracts (<prefix>-<i>) through POST /api/contracts.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Contracts to create.") var count = 1_000

    func run() throws {
        try Rig(options: common).createContracts(count)
        progress("created \(count) contracts")
    }
}
