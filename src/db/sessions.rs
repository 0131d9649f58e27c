use diesel::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::models::{NewUserSession, UserSession};
use crate::schema::{user_sessions, users};

/// A session that is neither revoked, past its absolute limit, nor idle for too long, with
/// the e-mail of its reader.
pub fn find_live(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: OffsetDateTime,
    idle_limit: Duration,
) -> QueryResult<Option<(UserSession, String)>> {
    user_sessions::table
        .inner_join(users::table)
        .filter(user_sessions::token_hash.eq(token_hash))
        .filter(user_sessions::revoked_at.is_null())
        .filter(user_sessions::expires_at.gt(now))
        .filter(user_sessions::last_seen_at.gt(now - idle_limit))
        .select((UserSession::as_select(), users::email))
        .first(conn)
        .optional()
}

pub fn list_live(
    conn: &mut PgConnection,
    user_id: i64,
    now: OffsetDateTime,
    idle_limit: Duration,
) -> QueryResult<Vec<UserSession>> {
    user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::revoked_at.is_null())
        .filter(user_sessions::expires_at.gt(now))
        .filter(user_sessions::last_seen_at.gt(now - idle_limit))
        .order(user_sessions::last_seen_at.desc())
        .select(UserSession::as_select())
        .load(conn)
}

pub fn insert(conn: &mut PgConnection, new: &NewUserSession<'_>) -> QueryResult<i64> {
    diesel::insert_into(user_sessions::table)
        .values(new)
        .returning(user_sessions::id)
        .get_result(conn)
}

pub fn touch(conn: &mut PgConnection, session_id: i64, now: OffsetDateTime) -> QueryResult<()> {
    diesel::update(user_sessions::table.find(session_id))
        .set(user_sessions::last_seen_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Revokes one of the reader's own sessions; returns whether it was live.
pub fn revoke(
    conn: &mut PgConnection,
    user_id: i64,
    session_id: i64,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        user_sessions::table
            .filter(user_sessions::id.eq(session_id))
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::revoked_at.is_null()),
    )
    .set(user_sessions::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
}

/// Revokes every session of the reader; returns how many were live.
pub fn revoke_all(
    conn: &mut PgConnection,
    user_id: i64,
    now: OffsetDateTime,
) -> QueryResult<usize> {
    diesel::update(
        user_sessions::table
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::revoked_at.is_null()),
    )
    .set(user_sessions::revoked_at.eq(now))
    .execute(conn)
}

/// The reader a session token belonged to, whatever the session's state now.
pub fn owner_of_token(conn: &mut PgConnection, token_hash: &[u8]) -> QueryResult<Option<i64>> {
    user_sessions::table
        .filter(user_sessions::token_hash.eq(token_hash))
        .select(user_sessions::user_id)
        .first(conn)
        .optional()
}

/// Revokes the session with this token (this browser's), if it is not already.
pub fn revoke_by_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(
        user_sessions::table
            .filter(user_sessions::token_hash.eq(token_hash))
            .filter(user_sessions::revoked_at.is_null()),
    )
    .set(user_sessions::revoked_at.eq(now))
    .execute(conn)
    .map(|_| ())
}

/// Deletes sessions that ended (revoked or past their absolute limit) before `ended_before`.
pub fn sweep(conn: &mut PgConnection, ended_before: OffsetDateTime) -> QueryResult<usize> {
    diesel::delete(
        user_sessions::table.filter(
            user_sessions::expires_at
                .lt(ended_before)
                .or(user_sessions::revoked_at.lt(ended_before)),
        ),
    )
    .execute(conn)
}
