//! Failed-login counters, shared by every instance of the app.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};
use time::OffsetDateTime;

use crate::schema::login_throttle;

#[derive(QueryableByName)]
struct Failures {
    #[diesel(sql_type = Integer)]
    failures: i32,
}

/// Failures counted in the window still open at `now` (one that started after
/// `window_opened_after`), with the window's start.
pub fn current(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    window_opened_after: OffsetDateTime,
) -> QueryResult<Option<(i32, OffsetDateTime)>> {
    login_throttle::table
        .find((scope, key))
        .filter(login_throttle::window_started_at.gt(window_opened_after))
        .select((login_throttle::failures, login_throttle::window_started_at))
        .first(conn)
        .optional()
}

/// Counts one more failure, opening a new window when the old one has closed; returns the
/// failures in the current window. One statement, so concurrent failures are all counted.
pub fn record_failure(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    now: OffsetDateTime,
    window_opened_after: OffsetDateTime,
) -> QueryResult<i32> {
    diesel::sql_query(
        "INSERT INTO login_throttle (scope, key, failures, window_started_at) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (scope, key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_started_at > $4 THEN login_throttle.failures + 1 ELSE 1 END, \
           window_started_at = CASE WHEN login_throttle.window_started_at > $4 THEN login_throttle.window_started_at ELSE $3 END \
         RETURNING failures",
    )
    .bind::<Text, _>(scope)
    .bind::<Text, _>(key)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(window_opened_after)
    .get_result::<Failures>(conn)
    .map(|row| row.failures)
}

pub fn clear(conn: &mut PgConnection, scope: &str, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find((scope, key)))
        .execute(conn)
        .map(|_| ())
}
