import ArgumentParser
import ChatServer
import Foundation
import NIOCore
import NIOPosix

struct MilestoneBot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "milestone-bot",
        abstract: "A chat-first milestone-payment bot: per-contract WebSocket threads driven by slash-commands.",
        subcommands: [Serve.self, Token.self, Verify.self, Export.self, SigningKeyCommand.self, BenchStore.self],
        defaultSubcommand: Serve.self)
}

@main
enum Entry {
    /// Swift concurrency runs on the server's NIO event loops instead of a pool of its own: a line then goes
    /// from socket to storage and back without hopping between two sets of threads (on 2 cores, four busy
    /// threads were context-switching). Nothing blocks in a task: storage waits on its own queue.
    static func main() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await MilestoneBot.main()
            exit(0)
        }
        dispatchMain()
    }
}
