import Foundation
import Metrics
import Prometheus
import Storage

/// The server's Prometheus metrics. Each server instance has its own registry (so tests can run many in one
/// process); `/metrics` renders it.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1),
        ]
        self.factory = factory
        connections = Meter(label: "ws_connections", factory: factory)
        lineStoreDuration = Metrics.Timer(label: "line_store_duration_seconds", factory: factory)
        lineCommits = Metrics.Counter(label: "line_commits_total", factory: factory)
        linesCommitted = Metrics.Counter(label: "lines_committed_total", factory: factory)
        storedByKind = Dictionary(uniqueKeysWithValues: MessageKind.allCases.map {
            ($0.rawValue, Metrics.Counter(label: "messages_stored_total", dimensions: [("kind", $0.rawValue)], factory: factory))
        })
    }

    // The metrics touched for every line, made once (looking one up in the registry costs a lock and a
    // dictionary lookup per call).
    private let connections: Meter
    private let lineStoreDuration: Metrics.Timer
    private let storedByKind: [String: Metrics.Counter]
    private let lineCommits: Metrics.Counter
    private let linesCommitted: Metrics.Counter

    func connectionOpened() { connections.increment() }
    func connectionClosed() { connections.decrement() }

    func messageStored(kind: String) {
        (storedByKind[kind] ?? Metrics.Counter(label: "messages_stored_total", dimensions: [("kind", kind)], factory: factory)).increment()
    }

    /// A command's outcome (`applied`, `answered`, `rejected`, `duplicate`) and how long it took to be durable.
    func command(_ name: String, outcome: String, duration: Duration) {
        Counter(label: "commands_total", dimensions: [("command", name), ("outcome", outcome)], factory: factory).increment()
        Metrics.Timer(label: "command_duration_seconds", dimensions: [("command", name)], factory: factory).record(duration: duration)
    }

    /// A transaction committed `lines` lines (chat and commands): `lines_committed_total` over
    /// `line_commits_total` is how many lines share a commit (group commit) on average.
    func committed(lines: Int) {
        guard lines > 0 else { return }
        lineCommits.increment()
        linesCommitted.increment(by: Int64(lines))
    }

    func lineStored(duration: Duration) {
        lineStoreDuration.record(duration: duration)
    }

    func protocolError(_ code: String) {
        Counter(label: "protocol_errors_total", dimensions: [("code", code)], factory: factory).increment()
    }

    func deadlineFired() { Counter(label: "deadlines_fired_total", factory: factory).increment() }

    func notificationDelivered() { Counter(label: "notifications_delivered_total", factory: factory).increment() }
    func notificationFailed() { Counter(label: "notification_attempts_failed_total", factory: factory).increment() }

    public func render() -> String { registry.emitToString() }
}
