import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// A URLSession that never follows a redirect: the 3xx itself is the answer. A followed 301 or 302 turns
/// a webhook's POST into an empty GET (still carrying our signature), and that GET's 200 would count as
/// delivered while the event was lost.
///
/// FoundationNetworking on Linux follows redirects for tasks with a completion handler (and so for
/// `data(for:)`) without asking any delegate, so tasks here run through the session's delegate.
final class NoRedirectSession: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<(Data, URLResponse), any Error>
        var data = Data()
    }

    /// Tasks in flight, by task identifier. (Unchecked Sendable: every stored property is this lock or a let.)
    private let pending = Mutex<[Int: Pending]>([:])
    private var session: URLSession!

    override init() {
        super.init()
        session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
    }

    func data(for request: URLRequest) async throws -> (Data, URLResponse) {
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                pending.withLock { $0[task.taskIdentifier] = Pending(continuation: continuation) }
                task.resume()
            }
        } onCancel: {
            // Completes with an error through the delegate, which resumes the continuation once.
            task.cancel()
        }
    }

    func invalidate() { session.invalidateAndCancel() }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        pending.withLock { $0[dataTask.taskIdentifier]?.data.append(data) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let done = pending.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if let error {
            done.continuation.resume(throwing: error)
        } else if let response = task.response {
            done.continuation.resume(returning: (done.data, response))
        } else {
            done.continuation.resume(throwing: URLError(.badServerResponse))
        }
    }
}
