import GRDB

extension Database {
    /// Runs `body` in a savepoint of the current transaction: committed (released) when it returns, rolled
    /// back when it throws. Like GRDB's `inSavepoint`, but its three statements are compiled once per
    /// connection instead of for every line of a group commit. Only inside a transaction.
    func inLineSavepoint<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement(sql: "SAVEPOINT line").execute()
        let result: T
        do {
            result = try body()
        } catch {
            // Undo the line's writes and leave the savepoint; the transaction and the other lines go on.
            try? cachedStatement(sql: "ROLLBACK TO SAVEPOINT line").execute()
            try? cachedStatement(sql: "RELEASE SAVEPOINT line").execute()
            throw error
        }
        try cachedStatement(sql: "RELEASE SAVEPOINT line").execute()
        return result
    }
}
