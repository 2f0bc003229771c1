#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <sqlite3.h>

#include "core/free_with.h"
#include "core/result.h"

namespace certplan::store::sqlite {

using DbPtr = std::unique_ptr<sqlite3, FreeWith<&sqlite3_close_v2>>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, FreeWith<&sqlite3_finalize>>;

// A prepared statement borrowed from a Connection's cache; resets itself when it goes out of
// scope, so no finished read keeps a snapshot (and the WAL) pinned.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    if (stmt_) sqlite3_reset(stmt_);
  }
  operator sqlite3_stmt*() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// One open database connection with its prepared statements. Serves one thread at a time.
class Connection {
 public:
  // Opens (creating if needed) the file in WAL mode with durable commits.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);

  // Runs statements with no result rows (parsed each time: set-up and rare statements).
  Status Exec(std::string_view sql);
  // Runs one statement with no result rows through the statement cache (BEGIN, SAVEPOINT, …
  // on hot paths, where parsing would cost more than running).
  Status Step(std::string_view sql);
  // A cached prepared statement, reset and with bindings cleared.
  Result<Stmt> Prepare(std::string_view sql);
  sqlite3* db() { return db_.get(); }

  // An error carrying SQLite's text in its detail; SQLITE_BUSY becomes kServiceUnavailable.
  Error Fail(std::string_view what);

 private:
  // Finds a cached statement by a string_view of its text without building a std::string (a
  // malloc and a copy of the SQL per statement run on the write path).
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>()(sql); }
  };
  explicit Connection(DbPtr db) : db_(std::move(db)) {}
  DbPtr db_;
  std::unordered_map<std::string, StmtPtr, SqlHash, std::equal_to<>> statements_;
};

// Binding and reading helpers; columns and parameters are 1-based / 0-based as in SQLite.
void BindText(sqlite3_stmt* stmt, int index, std::string_view text);
void BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes);
void BindInt(sqlite3_stmt* stmt, int index, int64_t value);
void BindOptionalInt(sqlite3_stmt* stmt, int index, std::optional<int64_t> value);
std::string ColumnText(sqlite3_stmt* stmt, int column);
std::string ColumnBlob(sqlite3_stmt* stmt, int column);
std::optional<int64_t> ColumnOptionalInt(sqlite3_stmt* stmt, int column);

}  // namespace certplan::store::sqlite
