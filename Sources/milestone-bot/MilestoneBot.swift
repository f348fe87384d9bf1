import ArgumentParser
import ChatServer

@main
struct MilestoneBot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-bot",
        abstract: "A chat-first milestone-payment bot: per-contract WebSocket threads driven by slash-commands.",
        subcommands: [Serve.self, Token.self, Verify.self, Export.self],
        defaultSubcommand: Serve.self)
}
