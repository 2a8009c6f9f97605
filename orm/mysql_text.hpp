// Statements pourd sends to MySQL as plain text, beside ODB.
//
// ODB 2.4 resets a prepared statement before every execution, and the
// client library sends that reset to the server: two round trips per
// statement. The statements every pour runs go as one text query each
// instead, over the connection ODB holds for the transaction, and so do
// the multi-row inserts ODB cannot write at all. Values are written as
// numbers or as strings escaped for the connection's character set.
//
// Internal to the store (C++14, includes the ODB runtime); errors are
// thrown as ODB's MySQL exceptions, which Store::transact translates.
#pragma once

#include "orm/model.hxx"
#include "orm/store.hpp"

#include <odb/mysql/forward.hxx>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pourd {
namespace orm {
namespace mysql_text {

// The columns of pourd_session after `id`, in the order both backends
// write them.
extern const char* const session_columns;

// The user, the user's bottle `bottle_id` and the user's live sessions
// on local days `from_day` to `to_day` in one statement, or null when the
// user or the bottle is missing; `for_update` takes the user's row lock
// (and the sessions') as it reads.
odb::nullable<PourContext> pour_context(odb::mysql::connection& c,
                                        std::int64_t user_id,
                                        std::int64_t bottle_id,
                                        std::int32_t from_day,
                                        std::int32_t to_day, bool for_update);

// The user's sessions on local days `from_day` to `to_day` that were not
// merged away, by day and id.
std::vector<Session> live_sessions(odb::mysql::connection& c,
                                   std::int64_t user_id, std::int32_t from_day,
                                   std::int32_t to_day);

// Inserts the pour and sets its id.
void insert(odb::mysql::connection& c, Pour& pour);

// Inserts the pour, first inserting `opened` when given (the pour joins
// that new session), then writes every session of `changed`: one round
// trip. Sets the new ids.
void insert_pour(odb::mysql::connection& c, Pour& pour, Session* opened,
                 const std::vector<const Session*>& changed);

// Writes every column of the session; throws odb::object_not_persistent
// when there is no session with its id.
void update(odb::mysql::connection& c, const Session& session);

// Inserts `n` sessions in one statement and sets their ids.
void insert_sessions(odb::mysql::connection& c, Session* const* sessions,
                     std::size_t n);

} // namespace mysql_text
} // namespace orm
} // namespace pourd
