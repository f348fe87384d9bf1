import Foundation
import GRDB
@testable import Storage
import Testing

/// `Statement.runFast` binds through SQLite's C API: it must store exactly what GRDB's binding stores, and
/// fail like it.
@Suite struct FastStatementTests {
    static let texts = ["", "plain", "é 中 😀 👩‍👩‍👧", "quote ' and \" and \\", "\u{7F}\u{1}\t\n", String(repeating: "x", count: 5000)]

    @Test func storesWhatGRDBStores() throws {
        let file = try TemporaryDatabaseFile()
        let queue = try DatabaseQueue(path: file.path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, fast_text TEXT, fast_number INTEGER, slow_text TEXT, slow_number INTEGER)")
            let fast = try db.cachedStatement(sql: "INSERT INTO t (id, fast_text, fast_number) VALUES (?, ?, ?)")
            let numbers: [Int64?] = [0, -1, Int64.max, Int64.min, nil, 42]
            for (index, (text, number)) in zip(Self.texts + [nil], numbers + [7]).enumerated() {
                try fast.runFast(db, .integer(Int64(index)), .text(text), .integer(number))
                try db.execute(sql: "UPDATE t SET slow_text = ?, slow_number = ? WHERE id = ?", arguments: [text, number, index])
            }
            let rows = try Row.fetchAll(db, sql: "SELECT fast_text IS slow_text AND fast_number IS slow_number AND typeof(fast_text) = typeof(slow_text) FROM t")
            #expect(rows.count == 7)
            let all = try Row.fetchAll(db, sql: "SELECT * FROM t")
            #expect(rows.allSatisfy { $0[0] as Bool }, "\(all)")
            // Every byte is bound, even past a NUL (GRDB's binding stops there; lines never contain one).
            try fast.runFast(db, .integer(100), .text("nul\u{0}inside"), .null)
            #expect(try Int.fetchOne(db, sql: "SELECT length(CAST(fast_text AS BLOB)) FROM t WHERE id = 100") == 10)
        }
    }

    @Test func failsWithSQLitesErrorAndStaysUsable() throws {
        let file = try TemporaryDatabaseFile()
        let queue = try DatabaseQueue(path: file.path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
            let insert = try db.cachedStatement(sql: "INSERT INTO t (id, name) VALUES (?, ?)")
            try insert.runFast(db, .integer(1), .text("a"))
            #expect {
                try insert.runFast(db, .integer(2), .text("a"))
            } throws: { error in
                (error as? DatabaseError)?.resultCode == .SQLITE_CONSTRAINT && (error as? DatabaseError)?.message?.contains("UNIQUE") == true
            }
            #expect(throws: DatabaseError.self) { try insert.runFast(db, .integer(3), .null) }
            #expect(throws: DatabaseError.self) { try insert.runFast(db, .integer(4)) }
            // After the failures the statement runs again, with nothing left bound from them.
            try insert.runFast(db, .integer(5), .text("b"))
            #expect(try String.fetchAll(db, sql: "SELECT name FROM t ORDER BY id") == ["a", "b"])
        }
    }
}
