//! Login sessions: one row per logged-in browser, found by the SHA-256 of its cookie's token.
//!
//! Rows are bounded per reader: at most a fixed number live (logging in ends the least
//! recently used beyond it) and a fixed number ended (kept a while so a browser whose login
//! ended still gets the account's meter, the oldest deleted beyond it). Housekeeping deletes
//! long-ended rows in batches. Every change to whether a session is live, or to when it was
//! last used, notes a change of its reader for the caches.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use time::{Duration, OffsetDateTime};

use super::changes::{Change, note};
use crate::domain::ids::{SessionId, UserId};
use crate::models::{NewUserSession, SessionRecord, SessionWithReader, StoredRole, UserSession};
use crate::schema::{user_sessions, users};

/// The reader's live sessions, most recently used first, at most `most` of them.
pub fn list_live(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
    idle_limit: Duration,
    most: i64,
) -> QueryResult<Vec<UserSession>> {
    user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .filter(user_sessions::revoked_at.is_null())
        .filter(user_sessions::expires_at.gt(now))
        .filter(user_sessions::last_seen_at.gt(now - idle_limit))
        .order((user_sessions::last_seen_at.desc(), user_sessions::id.desc()))
        .limit(most)
        .select(UserSession::as_select())
        .load(conn)
}

/// Ends the reader's live sessions beyond the `keep` most recently used; returns how many.
pub fn end_least_recently_used(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
    idle_limit: Duration,
    keep: i64,
) -> QueryResult<usize> {
    note(Change::Reader(user_id));
    beyond_the_most_recent(
        conn,
        "UPDATE user_sessions SET revoked_at = $2 WHERE id IN ( \
           SELECT id FROM user_sessions \
           WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3 \
           ORDER BY last_seen_at DESC, id DESC OFFSET $4)",
        (user_id, now, idle_limit, keep),
    )
}

/// Deletes the reader's ended sessions (revoked, expired or idle too long) beyond the `keep`
/// most recently used; returns how many.
pub fn delete_oldest_ended(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
    idle_limit: Duration,
    keep: i64,
) -> QueryResult<usize> {
    beyond_the_most_recent(
        conn,
        "DELETE FROM user_sessions WHERE id IN ( \
           SELECT id FROM user_sessions \
           WHERE user_id = $1 AND (revoked_at IS NOT NULL OR expires_at <= $2 OR last_seen_at <= $3) \
           ORDER BY last_seen_at DESC, id DESC OFFSET $4)",
        (user_id, now, idle_limit, keep),
    )
}

/// Runs `statement` with the reader ($1), now ($2), the idle cut-off ($3) and how many to
/// keep ($4).
fn beyond_the_most_recent(
    conn: &mut PgConnection,
    statement: &'static str,
    (user_id, now, idle_limit, keep): (UserId, OffsetDateTime, Duration, i64),
) -> QueryResult<usize> {
    diesel::sql_query(statement)
        .bind::<BigInt, _>(user_id)
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(now - idle_limit)
        .bind::<BigInt, _>(keep)
        .execute(conn)
}

pub fn insert(conn: &mut PgConnection, new: &NewUserSession<'_>) -> QueryResult<SessionId> {
    diesel::insert_into(user_sessions::table)
        .values(new)
        .returning(user_sessions::id)
        .get_result(conn)
}

/// Notes that the session was used at `now` (for the idle limit).
pub fn touch(
    conn: &mut PgConnection,
    session: &UserSession,
    now: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(user_sessions::table.find(session.id))
        .set(user_sessions::last_seen_at.eq(now))
        .execute(conn)?;
    note(Change::Reader(session.user_id));
    Ok(())
}

/// Revokes one of the reader's own sessions; returns whether it was live.
pub fn revoke(
    conn: &mut PgConnection,
    user_id: UserId,
    session_id: SessionId,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let revoked = diesel::update(
        user_sessions::table
            .filter(user_sessions::id.eq(session_id))
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::revoked_at.is_null()),
    )
    .set(user_sessions::revoked_at.eq(now))
    .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(revoked > 0)
}

/// Revokes every session of the reader; returns how many were live.
pub fn revoke_all(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
) -> QueryResult<usize> {
    let revoked = diesel::update(
        user_sessions::table
            .filter(user_sessions::user_id.eq(user_id))
            .filter(user_sessions::revoked_at.is_null()),
    )
    .set(user_sessions::revoked_at.eq(now))
    .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(revoked)
}

/// Deletes every session of the reader, live or ended (the account is being deleted); returns
/// how many.
pub fn delete_all(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    let deleted = diesel::delete(user_sessions::table.filter(user_sessions::user_id.eq(user_id)))
        .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(deleted)
}

/// Every session kept of the reader, live or ended, most recently used first.
pub fn records(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<SessionRecord>> {
    user_sessions::table
        .filter(user_sessions::user_id.eq(user_id))
        .order((user_sessions::last_seen_at.desc(), user_sessions::id.desc()))
        .select(SessionRecord::as_select())
        .load(conn)
}

/// The reader a session token belonged to, whatever the session's state now.
pub fn owner_of_token(conn: &mut PgConnection, token_hash: &[u8]) -> QueryResult<Option<UserId>> {
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
    let owners: Vec<UserId> = diesel::update(
        user_sessions::table
            .filter(user_sessions::token_hash.eq(token_hash))
            .filter(user_sessions::revoked_at.is_null()),
    )
    .set(user_sessions::revoked_at.eq(now))
    .returning(user_sessions::user_id)
    .get_results(conn)?;
    owners
        .into_iter()
        .for_each(|user_id| note(Change::Reader(user_id)));
    Ok(())
}

/// The session this token names, live or not, with its reader's e-mail and role.
pub fn find_by_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<SessionWithReader>> {
    user_sessions::table
        .inner_join(users::table)
        .filter(user_sessions::token_hash.eq(token_hash))
        .select((UserSession::as_select(), users::email, users::role))
        .first::<(UserSession, String, StoredRole)>(conn)
        .optional()
        .map(|found| {
            found.map(|(session, email, role)| SessionWithReader {
                session,
                email,
                role: role.into(),
            })
        })
}

/// Deletes sessions that ended (revoked or past their absolute limit) before `ended_before`,
/// in batches; returns how many went.
pub fn sweep(conn: &mut PgConnection, ended_before: OffsetDateTime) -> QueryResult<usize> {
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM user_sessions WHERE id IN ( \
               SELECT id FROM user_sessions WHERE expires_at < $1 \
               UNION SELECT id FROM user_sessions WHERE revoked_at < $1 \
               LIMIT $2)",
        )
        .bind::<Timestamptz, _>(ended_before)
        .bind::<BigInt, _>(batch)
        .execute(conn)
    })
}
