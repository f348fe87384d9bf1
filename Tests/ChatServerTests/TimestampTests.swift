@testable import ChatServer
@testable import MilestoneCore
import Foundation
import PropertyBased
import Testing

/// `Timestamp.text` against the `Date.formatted(.iso8601...)` it replaces.
@Suite struct TimestampTests {
    func expectSameAsFoundation(_ date: Date, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Timestamp.text(date) == Timestamp.foundationText(date), "reference interval \(date.timeIntervalSinceReferenceDate)",
                sourceLocation: sourceLocation)
    }

    /// Stored times are whole milliseconds: their text is exactly that millisecond (a `Date` made from it can
    /// fall a hair below and truncate to the one before: an outsider recomputing the hash chain from `at`
    /// then failed on 182 of 401 messages).
    @Test func storedMillisecondsAreWrittenExactly() async {
        await propertyCheck(count: 3_000, input: Gen.int(in: 0...253_402_300_799_999)) { value in
            let ms = Int64(value)
            let text = Timestamp.text(unixMilliseconds: ms)
            // The fast path's text of a time half a millisecond later: the same millisecond, whatever the float error.
            #expect(text == Timestamp.text(Date(timeIntervalSince1970: (Double(ms) + 0.5) / 1000)), "\(ms)")
            let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
            #expect(Int64((parsed.timeIntervalSince1970 * 1000).rounded()) == ms, "\(ms) -> \(text)")
        }
        // The case that failed: a stored millisecond whose Date truncates to the one before.
        let failing = (Int64(1_800_000_000_000)...Int64(1_800_000_010_000)).first {
            Timestamp.text(Date(timeIntervalSince1970: Double($0) / 1000)) != Timestamp.text(unixMilliseconds: $0)
        }
        #expect(failing != nil, "no millisecond in the range truncates: the exact writer would not be needed")
    }

    @Test func randomInstantsFrom1970To9999() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...Int.max)) { seed in
            var random = WireRandom(seed: seed)
            for _ in 0..<20 {
                // Fractional seconds as a clock gives them, and whole milliseconds as a database gives them back.
                expectSameAsFoundation(Date(timeIntervalSince1970: Double.random(in: 0..<253_402_300_800, using: &random)))
                let milliseconds = Int64.random(in: 0..<4_200_000_000_000, using: &random)
                expectSameAsFoundation(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
                expectSameAsFoundation(Date(timeIntervalSince1970: Double(milliseconds) / 1000 + 0.000_999_9))
                expectSameAsFoundation(Date(timeIntervalSinceReferenceDate: Double.random(in: -1e9...1e9, using: &random)))
            }
        }
    }

    @Test(arguments: [
        0, 0.000_5, 0.000_999_9, 0.999, 0.999_5, 0.999_9, 1.001, 1.001_5, 59.999, 86_399.999, 86_400,
        951_782_400, 951_868_799.999, // 2000-02-29, a leap day in a century year
        4_107_542_399.999, 4_107_542_400, // 2100-02-28 end and 2100-03-01: 2100 is not a leap year
        1_700_000_000.123, 1_709_210_096.789, 2_147_483_647.999, 4_102_444_800.999_6,
        253_402_300_799.999, // the last millisecond the fast path writes
        253_402_300_800, 1e12, // years past 9999: Foundation's formatter
        -0.000_5, -0.001, -1, -86_400 * 365.25 * 100, -12_219_292_800, -62_135_596_800, // before 1970: Foundation's formatter
    ] as [Double])
    func edges(secondsSince1970: Double) {
        expectSameAsFoundation(Date(timeIntervalSince1970: secondsSince1970))
        expectSameAsFoundation(Date(timeIntervalSince1970: secondsSince1970).addingTimeInterval(0.000_000_1))
    }

    @Test func theBoundsOfTheFastPath() {
        expectSameAsFoundation(Date(timeIntervalSinceReferenceDate: TimestampCalendar.firstSupported))
        expectSameAsFoundation(Date(timeIntervalSinceReferenceDate: TimestampCalendar.firstSupported.nextDown))
        expectSameAsFoundation(Date(timeIntervalSinceReferenceDate: TimestampCalendar.endSupported))
        expectSameAsFoundation(Date(timeIntervalSinceReferenceDate: TimestampCalendar.endSupported.nextDown))
        #expect(Timestamp.text(Date(timeIntervalSince1970: 951_782_400.042)) == "2000-02-29T00:00:00.042Z")
    }

    @Test func everyDayOf2000Through2101() {
        var date = Date(timeIntervalSince1970: 946_684_800.5)
        while date.timeIntervalSince1970 < 4_133_980_800 {
            expectSameAsFoundation(date)
            date += 86_400 - 0.25
        }
    }
}
