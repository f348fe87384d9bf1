import Foundation

/// The one time format of every output: WebSocket frames, webhooks, transcripts and exports.
public enum Timestamp {
    /// ISO 8601 with milliseconds, UTC: `2024-02-29T13:05:09.042Z`.
    ///
    /// The same text as `Date.formatted(.iso8601...)` (``foundationText(_:)``), written by hand: that
    /// format style builds a calendar and date components per call and was a visible share of the chat
    /// path. Milliseconds are truncated, as Foundation does, from the nanosecond it derives from the
    /// reference-date interval. Outside 1970...9999 (Foundation switches to the Julian calendar before
    /// 1582 and writes 5-digit years after 9999) the Foundation formatter is used.
    public static func text(_ date: Date) -> String {
        let interval = date.timeIntervalSinceReferenceDate
        guard interval >= TimestampCalendar.firstSupported, interval < TimestampCalendar.endSupported else { return foundationText(date) }
        let whole = interval.rounded(.down)
        let millisecond = Int((interval - whole) * 1_000_000_000) / 1_000_000
        // Exact: `whole` is an integral Double well inside Int's range.
        return format(unixSeconds: Int(whole) + TimestampCalendar.referenceDateUnixSeconds, millisecond: millisecond)
    }

    /// The same format for a time stored as whole milliseconds since 1970, exactly: no floating point, so
    /// the text shows the very millisecond a stored message's hash covers (a `Date` made from it may
    /// truncate to the one before).
    public static func text(unixMilliseconds: Int64) -> String {
        guard unixMilliseconds >= 0, unixMilliseconds < 253_402_300_800_000 else {
            return text(Date(timeIntervalSince1970: TimeInterval(unixMilliseconds) / 1000))
        }
        return format(unixSeconds: Int(unixMilliseconds / 1000), millisecond: Int(unixMilliseconds % 1000))
    }

    private static func format(unixSeconds: Int, millisecond: Int) -> String {
        let days = unixSeconds / 86_400
        let secondOfDay = unixSeconds - days * 86_400
        let (year, month, day) = TimestampCalendar.civil(daysSince1970: days)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var at = 0
            func put(_ value: Int, digits: Int) {
                var value = value
                for offset in stride(from: digits - 1, through: 0, by: -1) {
                    buffer[at + offset] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
                    value /= 10
                }
                at += digits
            }
            func put(_ byte: Unicode.Scalar) {
                buffer[at] = UInt8(ascii: byte)
                at += 1
            }
            put(year, digits: 4); put("-"); put(month, digits: 2); put("-"); put(day, digits: 2); put("T")
            put(secondOfDay / 3600, digits: 2); put(":"); put(secondOfDay / 60 % 60, digits: 2); put(":")
            put(secondOfDay % 60, digits: 2); put("."); put(millisecond, digits: 3); put("Z")
            return at
        }
    }

    /// The reference implementation of ``text(_:)``, kept for the dates it does not handle and for tests.
    static func foundationText(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// Calendar arithmetic for ``Timestamp/text(_:)``.
enum TimestampCalendar {
    /// 2001-01-01T00:00:00Z (Foundation's reference date) in seconds since 1970.
    static let referenceDateUnixSeconds = 978_307_200
    /// 1970-01-01T00:00:00Z, as a reference-date interval.
    static let firstSupported = -978_307_200.0
    /// 10000-01-01T00:00:00Z, as a reference-date interval.
    static let endSupported = 253_402_300_800.0 - 978_307_200.0

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
