import Foundation
import MilestoneCore
import Storage

extension LineRequest {
    /// A line read in `currency` (the test contracts' USD unless said), as the WebSocket layer reads it.
    init(commandID: CommandID, thread: ContractID, author: Participant, text: String, clientMessageID: String? = nil,
        receivedAt: Date, currency: Currency = .usd) {
        self.init(commandID: commandID, thread: thread, author: author, text: text, parsed: ParsedLine(text, currency: currency),
            clientMessageID: clientMessageID, receivedAt: receivedAt)
    }
}
