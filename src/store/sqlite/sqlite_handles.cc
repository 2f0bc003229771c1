#include "store/sqlite/sqlite_handles.h"

namespace certplan::store::sqlite {

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return Error(ErrorCode::kServiceUnavailable, "The store is not available.",
                 "sqlite3_open_v2(" + path + "): " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  std::unique_ptr<Connection> conn(new Connection(std::move(db)));
  // WAL lets readers run beside the writer; synchronous=FULL makes every commit durable
  // before it returns (a WAL commit under NORMAL can be lost on power failure). Checkpoints
  // every ~40 MB of WAL rather than 4 MB: a page written many times in between (an order
  // created, then issued; the usage row in every batch) is copied back once. Temporary files in
  // memory: the group committer's savepoints journal every page a job first changes, and a
  // batch's journal past 64 KiB would otherwise go to a temporary file — written, then deleted
  // at the commit, doubling the bytes a batch writes.
  Status s = conn->Exec(
      "PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=10000; PRAGMA temp_store=MEMORY;");
  if (!s) return s.error();
  return conn;
}

Error Connection::Fail(std::string_view what) {
  const int code = sqlite3_errcode(db_.get());
  std::string detail(what);
  detail += ": ";
  detail += sqlite3_errmsg(db_.get());
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    return Error(ErrorCode::kServiceUnavailable, "The store is busy; retry later.",
                 std::move(detail));
  }
  return InternalError(std::move(detail));
}

Status Connection::Exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string detail = err ? err : "unknown";
    sqlite3_free(err);
    return Fail("exec: " + detail);
  }
  return Ok{};
}

Status Connection::Step(std::string_view sql) {
  Result<Stmt> stmt = Prepare(sql);
  if (!stmt) return stmt.error();
  if (sqlite3_step(*stmt) != SQLITE_DONE) return Fail(sql);
  return Ok{};
}

Result<Stmt> Connection::Prepare(std::string_view sql) {
  auto it = statements_.find(std::string(sql));
  if (it == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      return Fail("prepare");
    }
    it = statements_.emplace(std::string(sql), StmtPtr(raw)).first;
  }
  sqlite3_stmt* stmt = it->second.get();
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return Stmt(stmt);
}

void BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  // A default string_view has no data pointer, which SQLite would bind as NULL: "" it is.
  sqlite3_bind_text(stmt, index, text.data() ? text.data() : "", static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
}

void BindBlob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

void BindInt(sqlite3_stmt* stmt, int index, int64_t value) {
  sqlite3_bind_int64(stmt, index, value);
}

void BindOptionalInt(sqlite3_stmt* stmt, int index, std::optional<int64_t> value) {
  if (value) {
    sqlite3_bind_int64(stmt, index, *value);
  } else {
    sqlite3_bind_null(stmt, index);
  }
}

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, column)))
           : std::string();
}

std::string ColumnBlob(sqlite3_stmt* stmt, int column) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, column)))
           : std::string();
}

std::optional<int64_t> ColumnOptionalInt(sqlite3_stmt* stmt, int column) {
  if (sqlite3_column_type(stmt, column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt, column);
}

}  // namespace certplan::store::sqlite
