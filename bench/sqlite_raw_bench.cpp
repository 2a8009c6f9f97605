// The raw limit pourd's embedded store is compared with: single-row
// INSERT transactions into a table shaped like pourd_pour, with the
// durability pourd uses (WAL, synchronous = FULL).
//
//   sqlite_raw_bench FILE SECONDS
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int
main(int argc, char** argv)
{
  if (argc != 3) {
    std::fprintf(stderr, "usage: sqlite_raw_bench FILE SECONDS\n");
    return 2;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(argv[1], &db) != SQLITE_OK)
    return 1;
  const char* setup =
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
      "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, user_id INTEGER,"
      " session_id INTEGER, poured_at_ms INTEGER, amount INTEGER,"
      " notes TEXT, tags TEXT);"
      "CREATE INDEX IF NOT EXISTS t_user ON t (user_id, poured_at_ms);"
      "CREATE INDEX IF NOT EXISTS t_session ON t (session_id);";
  if (sqlite3_exec(db, setup, nullptr, nullptr, nullptr) != SQLITE_OK)
    return 1;
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO t (user_id, session_id, poured_at_ms, "
                     "amount, notes, tags) VALUES (?, ?, ?, 150, '', 'bench')",
                     -1, &insert, nullptr);
  const auto seconds = std::atof(argv[2]);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  long long count = 0;
  while (std::chrono::steady_clock::now() < end) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_int64(insert, 1, count % 200);
    sqlite3_bind_int64(insert, 2, count % 5000);
    sqlite3_bind_int64(insert, 3, 1767225600000LL + count * 1000);
    sqlite3_step(insert);
    sqlite3_reset(insert);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    ++count;
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("%.0f\n", static_cast<double>(count) / took);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return 0;
}
