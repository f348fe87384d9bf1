@testable import Storage
import Testing

/// ``LineQueueState`` step by step: when a batch starts, what it takes, and what follows each commit.
@Suite struct LineQueueStateTests {
    typealias State = LineQueueState<Int>

    @Test func theFirstLineOnAnIdleWriterGoesAtOnceAndLaterOnesWaitForTheNextBatch() {
        var state = State(maximumBatch: 512, fullEnough: 4)
        let step1 = state.submit(1)
        #expect(step1, "idle: write now")
        let step2 = state.takeBatch()
        #expect(step2 == [1])
        #expect(state.phase == .writing)
        let step3 = state.submit(2)
        #expect(!step3, "writing: wait for the next batch")
        let step4 = state.submit(3)
        #expect(!step4)
        let step5 = state.committed()
        #expect(step5 == .gather, "two waiting, fewer than fullEnough: gather")
        #expect(state.phase == .gathering)
        let step6 = state.gatheringEnded()
        #expect(step6, "the timer starts the batch")
        let step7 = state.takeBatch()
        #expect(step7 == [2, 3])
        let step8 = state.committed()
        #expect(step8 == .idle)
        #expect(state.phase == .idle)
        let step9 = state.submit(4)
        #expect(step9, "idle again: the next line goes at once")
    }

    @Test func aGatheringBatchThatFillsUpGoesBeforeTheTimer() {
        var state = State(maximumBatch: 512, fullEnough: 3)
        _ = state.submit(1)
        _ = state.takeBatch()
        _ = state.submit(2)
        let step10 = state.committed()
        #expect(step10 == .gather)
        let step11 = state.submit(3)
        #expect(!step11)
        let step12 = state.submit(4)
        #expect(step12, "the third waiting line fills the batch: write now")
        let step13 = state.takeBatch()
        #expect(step13 == [2, 3, 4])
        let step14 = state.gatheringEnded()
        #expect(!step14, "the timer finds the batch already started")
        #expect(state.phase == .writing)
    }

    @Test func enoughWaitingAfterACommitGoesNowWithoutGathering() {
        var state = State(maximumBatch: 512, fullEnough: 2)
        _ = state.submit(1)
        _ = state.takeBatch()
        _ = state.submit(2)
        _ = state.submit(3)
        let step15 = state.committed()
        #expect(step15 == .writeNow)
        #expect(state.phase == .writing)
        let step16 = state.takeBatch()
        #expect(step16 == [2, 3])
    }

    @Test func aHugeQueueCommitsInBatchesOfAtMostMaximumBatchOldestFirst() {
        var state = State(maximumBatch: 3, fullEnough: 2)
        _ = state.submit(0)
        _ = state.takeBatch()
        for line in 1...7 {
            let started = state.submit(line)
            #expect(!started)
        }
        let step17 = state.committed()
        #expect(step17 == .writeNow)
        let step18 = state.takeBatch()
        #expect(step18 == [1, 2, 3])
        let step19 = state.committed()
        #expect(step19 == .writeNow)
        let step20 = state.takeBatch()
        #expect(step20 == [4, 5, 6])
        let step21 = state.committed()
        #expect(step21 == .gather)
        let step22 = state.gatheringEnded()
        #expect(step22)
        let step23 = state.takeBatch()
        #expect(step23 == [7])
        let step24 = state.committed()
        #expect(step24 == .idle)
    }

    @Test func takingFromAnEmptyQueueLeavesTheWriterIdle() {
        var state = State(maximumBatch: 3, fullEnough: 2)
        let step25 = state.takeBatch()
        #expect(step25.isEmpty)
        #expect(state.phase == .idle)
        let step26 = state.submit(1)
        #expect(step26)
    }
}
