//! Attempt counters for logins and sign-ups, shared by every instance of the app.
//!
//! An attempt is counted *before* the password is checked, in one statement, so a burst of
//! parallel guesses is counted in full and refused once over the limit.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};
use time::OffsetDateTime;

use crate::schema::login_throttle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Failed logins for one account from everywhere (key: SHA-256 of the normalised e-mail).
    Account,
    /// Failed logins for one account from one address (key: SHA-256 of both).
    AccountAddress,
    /// Failed logins from one client address.
    Address,
    /// Sign-up attempts from one client address.
    Signup,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::AccountAddress => "account_address",
            Self::Address => "address",
            Self::Signup => "signup",
        }
    }
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Integer)]
    failures: i32,
    #[diesel(sql_type = Timestamptz)]
    window_started_at: OffsetDateTime,
}

/// Counts one more attempt, opening a new window when the old one closed (it opened at or
/// before `window_opened_after`). Returns the attempts in the window, this one included, and
/// when the window opened.
pub fn count_attempt(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    now: OffsetDateTime,
    window_opened_after: OffsetDateTime,
) -> QueryResult<(i32, OffsetDateTime)> {
    diesel::sql_query(
        "INSERT INTO login_throttle (scope, key, failures, window_started_at) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (scope, key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_started_at > $4 THEN login_throttle.failures + 1 ELSE 1 END, \
           window_started_at = CASE WHEN login_throttle.window_started_at > $4 THEN login_throttle.window_started_at ELSE $3 END \
         RETURNING failures, window_started_at",
    )
    .bind::<Text, _>(scope.as_str())
    .bind::<Text, _>(key)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(window_opened_after)
    .get_result::<Counted>(conn)
    .map(|row| (row.failures, row.window_started_at))
}

/// Takes back one counted attempt (it turned out not to be a failure).
pub fn forgive_one(conn: &mut PgConnection, scope: Scope, key: &str) -> QueryResult<()> {
    diesel::update(login_throttle::table.find((scope.as_str(), key)))
        .set(login_throttle::failures.eq(diesel::dsl::sql::<Integer>("GREATEST(failures - 1, 0)")))
        .execute(conn)
        .map(|_| ())
}

pub fn clear(conn: &mut PgConnection, scope: Scope, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find((scope.as_str(), key)))
        .execute(conn)
        .map(|_| ())
}

/// Deletes counters whose window closed before `closed_before`: they no longer count.
pub fn sweep(conn: &mut PgConnection, closed_before: OffsetDateTime) -> QueryResult<usize> {
    diesel::delete(
        login_throttle::table.filter(login_throttle::window_started_at.le(closed_before)),
    )
    .execute(conn)
}
