@testable import ChatServer
import Testing

/// ``OutboxState`` step by step: each test is a sequence of pushes, drains and endings, with the actions
/// the outbox must carry out.
@Suite struct OutboxStateTests {
    /// A frame of a given size.
    struct Frame: OutboxFrame {
        var name: String
        var byteCount: Int
        init(_ name: String, bytes: Int = 10) { self.name = name; self.byteCount = bytes }
    }
    typealias State = OutboxState<Frame>

    @Test func pushesShareOneScheduledDrainAndAreWrittenInOrder() {
        var state = State(limit: 10, byteLimit: 1000)
        let step1 = state.push(Frame("a"))
        #expect(step1 == .init(accepted: true, scheduleDrain: true))
        let step2 = state.push(Frame("b"))
        #expect(step2 == .init(accepted: true, scheduleDrain: false), "a drain is already scheduled")
        #expect(state.queuedBytes == 20)
        let step3 = state.startDrain(socketWritable: true)
        #expect(step3 == .write([Frame("a"), Frame("b")], ending: nil, ignoringWritability: false))
        #expect(state.queue.isEmpty && state.queuedBytes == 0)
        let step4 = state.push(Frame("c"))
        #expect(step4 == .init(accepted: true, scheduleDrain: true), "after a drain, the next push schedules again")
    }

    @Test func aFullSocketWaitsAndKeepsTheFrames() {
        var state = State(limit: 10, byteLimit: 1000)
        _ = state.push(Frame("a"))
        let step5 = state.startDrain(socketWritable: false)
        #expect(step5 == .wait)
        #expect(state.queue == [Frame("a")])
        // The writability change drains again, without a new push.
        let step6 = state.startDrain(socketWritable: true)
        #expect(step6 == .write([Frame("a")], ending: nil, ignoringWritability: false))
    }

    @Test func overTheFrameLimitTheOutboxOverflowsDropsEverythingAndClosesAtOnce() {
        var state = State(limit: 2, byteLimit: 1000)
        _ = state.push(Frame("a"))
        _ = state.push(Frame("b"))
        let step7 = state.push(Frame("c"))
        #expect(step7 == .init(accepted: false, scheduleDrain: false))
        #expect(state.ending == .overflow && state.queue.isEmpty && state.queuedBytes == 0)
        let step8 = state.push(Frame("d"))
        #expect(step8 == .init(accepted: false, scheduleDrain: false), "an ended outbox drops pushes")
        // Written even though the socket is full: the close goes out immediately.
        let step9 = state.startDrain(socketWritable: false)
        #expect(step9 == .write([], ending: .overflow, ignoringWritability: true))
        let step10 = state.startDrain(socketWritable: true)
        #expect(step10 == .write([], ending: nil, ignoringWritability: false), "the ending is carried out once")
    }

    @Test func overTheByteLimitTheOutboxOverflows() {
        var state = State(limit: 100, byteLimit: 25)
        let step11 = state.push(Frame("a", bytes: 20))
        #expect(step11.accepted)
        let step12 = state.push(Frame("b", bytes: 5))
        #expect(step12.accepted, "exactly at the limit is fine")
        let step13 = state.push(Frame("c", bytes: 1))
        #expect(!step13.accepted)
        #expect(state.ending == .overflow)
    }

    @Test func anEndingWaitsForTheQueuedFramesThenIsCarriedOutOnce() {
        var state = State(limit: 10, byteLimit: 1000)
        _ = state.push(Frame("error"))
        let step14 = state.finish(.closing(code: 4401, reason: "expired"))
        #expect(step14 == false, "a drain is already scheduled")
        let step15 = state.finish(.shutdown)
        #expect(step15 == false)
        #expect(state.ending == .closing(code: 4401, reason: "expired"), "the first reason wins")
        let step16 = state.push(Frame("late"))
        #expect(!step16.accepted)
        let step17 = state.startDrain(socketWritable: true)
        #expect(step17 == .write([Frame("error")], ending: .closing(code: 4401, reason: "expired"), ignoringWritability: false))
        let step18 = state.finish(.shutdown)
        #expect(step18 == true, "nothing scheduled: a finish schedules a drain")
        let step19 = state.startDrain(socketWritable: true)
        #expect(step19 == .write([], ending: nil, ignoringWritability: false))
    }

    @Test func framesTheSocketDidNotTakeGoBackFirstAndTheEndingWaitsForThem() {
        var state = State(limit: 10, byteLimit: 1000)
        _ = state.push(Frame("a"))
        _ = state.push(Frame("b"))
        _ = state.push(Frame("c"))
        _ = state.finish(.shutdown)
        guard case .write(let frames, .shutdown, false) = state.startDrain(socketWritable: true) else {
            Issue.record("expected a write ending in shutdown"); return
        }
        // The socket took only the first; meanwhile another frame was pushed.
        let step20 = state.push(Frame("d"))
        #expect(step20.accepted == false, "ended: no new frames")
        state.unwritten(frames[1...])
        #expect(state.queue == [Frame("b"), Frame("c")] && state.queuedBytes == 20)
        let step21 = state.startDrain(socketWritable: true)
        #expect(step21 == .write([Frame("b"), Frame("c")], ending: .shutdown, ignoringWritability: false),
            "the ending comes again, after the rest")
    }

    @Test func aFlooderWhoseSocketIsFullIsDroppedLikeAnOverflow() {
        var state = State(limit: 10, byteLimit: 1000)
        _ = state.push(Frame("refusal"))
        _ = state.finish(.flood)
        let step22 = state.startDrain(socketWritable: false)
        #expect(step22 == .write([], ending: .overflow, ignoringWritability: true))
    }

    @Test func aFlooderStillReadingGetsItsQueueThenTheClose() {
        var state = State(limit: 10, byteLimit: 1000)
        _ = state.push(Frame("refusal"))
        _ = state.finish(.flood)
        let step23 = state.startDrain(socketWritable: true)
        #expect(step23 == .write([Frame("refusal")], ending: .flood, ignoringWritability: false))
    }

    @Test func claimDrainSchedulesOnlyWhenNoneIs() {
        var state = State(limit: 10, byteLimit: 1000)
        let step24 = state.claimDrain()
        #expect(step24)
        let step25 = state.claimDrain()
        #expect(!step25)
        _ = state.startDrain(socketWritable: true)
        let step26 = state.claimDrain()
        #expect(step26)
    }
}
