import Foundation
import Logging
import MilestoneCore
import ServiceLifecycle
import Storage

/// Tells the platform of chat lines a party has not had (`message.created`, one event per party per batch,
/// with the unread count), so it can send the email or push the seeds describe. The hub says which threads
/// had chat lines and who is connected; the store decides what is news (``AppDatabase/tellUnread``), so a
/// restart loses nothing: it starts from every thread with lines some party was not told of.
struct UnreadDigestService: Service {
    let context: ServerContext
    var tick: Duration = .milliseconds(500)

    func run() async throws {
        context.hub.trackChatActivity()
        /// Threads with a batch still younger than the window, and when to look again.
        var waiting: [ContractID: Date] = [:]
        do {
            for thread in try await context.database.threadsWithUntoldLines() { waiting[thread] = .distantPast }
        } catch {
            context.logger.error("reading threads with unread lines failed", metadata: ["error": "\(error)"])
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = context.clock()
            for thread in context.hub.takeChatActivity() { waiting[thread] = waiting[thread] ?? now }
            for (thread, due) in waiting where due <= now {
                do {
                    waiting[thread] = try await context.database.tellUnread(
                        in: thread, connected: context.hub.connectedUsers(in: thread), window: context.settings.unreadAfter, at: now)
                } catch {
                    context.logger.error("telling unread lines failed", metadata: ["thread": "\(thread)", "error": "\(error)"])
                    waiting[thread] = now.addingTimeInterval(5)
                }
            }
            try? await Task.sleep(for: tick)
        }
    }
}
