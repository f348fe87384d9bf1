import GRDB
import GRDBSQLite

/// A value bound straight through SQLite's C API by `Statement.runFast`.
enum FastValue {
    case text(String)
    case integer(Int64)
    case null

    static func text(_ value: String?) -> FastValue { value.map(FastValue.text) ?? .null }
    static func integer(_ value: Int64?) -> FastValue { value.map(FastValue.integer) ?? .null }
}

/// SQLite copies the bytes it is given (`SQLITE_TRANSIENT`).
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

extension Statement {
    /// Runs this statement (an INSERT or UPDATE returning no rows) with `values` bound through SQLite's C
    /// API. GRDB's `execute(arguments:)` builds `StatementArguments` (an array of existentials) and binds
    /// each string in a nested closure: 5-8 % of the writer's time for the statements every line runs.
    /// Only for those statements, inside a write transaction; GRDB's per-statement hooks are skipped (the
    /// server registers no observer of row changes; commit hooks still run).
    func runFast(_ db: Database, _ values: FastValue...) throws {
        let statement = sqliteStatement
        guard values.count == Int(sqlite3_bind_parameter_count(statement)) else {
            throw DatabaseError(message: "\(values.count) values for \(sqlite3_bind_parameter_count(statement)) parameters", sql: sql)
        }
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .integer(let number): code = sqlite3_bind_int64(statement, index, number)
            case .null: code = sqlite3_bind_null(statement, index)
            case .text(var text):
                code = text.withUTF8 { bytes in
                    // An empty buffer may have no address, which SQLite would take for NULL.
                    bytes.isEmpty ? sqlite3_bind_text(statement, index, "", 0, transient)
                        : sqlite3_bind_text(statement, index, bytes.baseAddress, Int32(bytes.count), transient)
                }
            }
            guard code == SQLITE_OK else { throw error(db, code) }
        }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw error(db, code) }
    }

    private func error(_ db: Database, _ code: Int32) -> DatabaseError {
        let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}
