import Foundation
import MilestoneCore
import Testing

/// Reviews as data, and double-blind where the policy says so (`review_blind_days`): neither side sees the
/// other's review until both have reviewed or the blind time after the first has passed.
@Suite struct ReviewScenarioTests {
    func completed(blindDays: Int) throws -> Scenario {
        var policy = try PresetFiles.policy("indeelancer")
        policy.reviewBlindSeconds = blindDays * 86_400
        var s = Scenario(policy: policy, title: "Logo")
        try s.run("/milestone add 500 Logo", by: s.buyer)
        try s.run("/fund M1", by: s.buyer)
        try s.run("/submit M1", by: s.freelancer)
        try s.run("/release M1", by: s.buyer)
        try s.run("/complete", by: s.buyer)
        return s
    }

    @Test("Open reviews are shown at once, with rating, text, author role and time")
    func openReviews() throws {
        var s = try completed(blindDays: 0)
        let posted = try s.run("/review 5 clear and fast", by: s.buyer)
        #expect(posted.events == [.reviewPosted(by: .buyer, stars: 5, text: "clear and fast")])
        let review = try #require(s.contract.reviews.first)
        #expect(review.by == .buyer && review.stars == 5 && review.text == "clear and fast" && review.at == s.now)
        #expect(s.contract.reviewIsVisible(review, to: .freelancer, at: s.now))
    }

    @Test("Double-blind: sealed until both have reviewed", arguments: [true, false])
    func doubleBlindUntilBoth(bothReview: Bool) throws {
        var s = try completed(blindDays: 14)
        let first = try s.run("/review 4 good work", by: s.buyer)
        let revealAt = s.now.addingTimeInterval(14 * Scenario.day)
        #expect(first.events == [.reviewSealed(by: .buyer, revealAt: revealAt)])
        #expect(first.arms(.reviewsReveal, at: revealAt))
        #expect(!first.events.map(\.text).joined().contains("good work"), "the sealed review's words are not in the thread")
        let buyerReview = try #require(s.contract.reviews.first)
        #expect(!s.contract.reviewIsVisible(buyerReview, to: .freelancer, at: s.now))
        #expect(s.contract.reviewIsVisible(buyerReview, to: .buyer, at: s.now))
        #expect(s.contract.reviewIsVisible(buyerReview, to: .moderator, at: s.now))
        if bothReview {
            s.advance(days: 2)
            let second = try s.run("/review 5 great client", by: s.freelancer)
            #expect(second.events == [.reviewSealed(by: .freelancer, revealAt: revealAt), .reviewsRevealed(s.contract.reviews)])
            #expect(second.cancels(.reviewsReveal))
            #expect(second.events.last?.text.contains("good work") == true && second.events.last?.text.contains("great client") == true)
            #expect(s.contract.reviews.allSatisfy { s.contract.reviewIsVisible($0, to: .freelancer, at: s.now) && s.contract.reviewIsVisible($0, to: .buyer, at: s.now) })
        } else {
            s.now = revealAt.addingTimeInterval(-1)
            #expect(try s.fire(.reviewsReveal).isEmpty)
            s.now = revealAt
            let revealed = try s.fire(.reviewsReveal)
            #expect(revealed.events == [.reviewsRevealed([buyerReview])])
            #expect(s.contract.reviewIsVisible(buyerReview, to: .freelancer, at: s.now))
            // A review after the reveal is shown at once.
            #expect(try s.run("/review 3 slow to pay", by: s.freelancer).events == [.reviewPosted(by: .freelancer, stars: 3, text: "slow to pay")])
        }
    }
}
