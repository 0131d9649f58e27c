//! Starting and ending a logged-in session: the server-side record, the cookie, and the meter
//! that moves between them.
//!
//! The meter rule: a reader's free articles belong to the account while logged in, and the
//! browser keeps a copy of them when the login ends (by logging out, elsewhere, or by
//! expiry), so ending a login never hands out a fresh meter.

use diesel::{Connection, PgConnection, QueryResult};

use super::session::{
    ABSOLUTE_LIMIT, IDLE_LIMIT, MAX_ENDED_SESSIONS, MAX_LIVE_SESSIONS, ReaderSession,
};
use super::{random_token, token_hash};
use crate::db;
use crate::domain::meter::{Meter, Month};
use crate::error::AppError;
use crate::models::NewUserSession;
use crate::state::AppState;

/// Which logins a log-out ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    ThisDevice,
    Everywhere,
}

/// Creates the server-side session, adds the articles opened anonymously this month to the
/// account's meter, and logs the browser in with a fresh cookie and CSRF token. A login this
/// browser already had is revoked. The reader keeps at most [`MAX_LIVE_SESSIONS`] live
/// sessions (the least recently used beyond them end) and [`MAX_ENDED_SESSIONS`] ended ones.
pub async fn start(
    state: &AppState,
    session: &ReaderSession,
    user_id: i64,
    user_agent: &str,
) -> Result<(), AppError> {
    start_with(state, session, user_id, user_agent, |_| Ok(())).await
}

/// As [`start`], with `first` run in the same transaction once the reader's lock is held: for
/// a change that must not leave this browser logged out half-way (a new password ends every
/// other login, and this browser goes on with a new one).
pub async fn start_with(
    state: &AppState,
    session: &ReaderSession,
    user_id: i64,
    user_agent: &str,
    first: impl FnOnce(&mut PgConnection) -> QueryResult<()> + Send + 'static,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let month = Month::of(now);
    let token = random_token()?;
    let hash = token_hash(&token);
    let anonymous = session.meter(month);
    let previous = session.login_token().map(|t| token_hash(&t));
    let user_agent = user_agent.to_string();
    db::run(&state.pool, "starting a login session", move |conn| {
        conn.transaction(|conn| {
            db::users::lock(conn, user_id)?;
            first(conn)?;
            if let Some(previous) = previous {
                db::sessions::revoke_by_token(conn, &previous, now)?;
            }
            let record = NewUserSession {
                user_id,
                token_hash: &hash,
                user_agent: &user_agent,
                created_at: now,
                last_seen_at: now,
                expires_at: now + ABSOLUTE_LIMIT,
            };
            db::sessions::insert(conn, &record)?;
            db::sessions::end_least_recently_used(
                conn,
                user_id,
                now,
                IDLE_LIMIT,
                MAX_LIVE_SESSIONS,
            )?;
            db::sessions::delete_oldest_ended(conn, user_id, now, IDLE_LIMIT, MAX_ENDED_SESSIONS)?;
            if !anonymous.opened().is_empty() {
                db::meter::record(conn, user_id, month.first_day(), anonymous.opened(), now)?;
            }
            Ok(())
        })
    })
    .await?;
    session.begin_login(&token)
}

/// Logs the browser out: revokes its login (or every login of the reader) and keeps the
/// account's meter in the cookie.
pub async fn end(
    state: &AppState,
    session: &ReaderSession,
    ending: Ending,
) -> Result<(), AppError> {
    let Some(token) = session.login_token() else {
        return session.forget_login();
    };
    let now = state.clock.now();
    let month = Month::of(now);
    let hash = token_hash(&token);
    let opened = db::run(&state.pool, "ending a login session", move |conn| {
        conn.transaction(|conn| {
            let Some(user_id) = db::sessions::owner_of_token(conn, &hash)? else {
                return Ok(Vec::new());
            };
            match ending {
                Ending::ThisDevice => db::sessions::revoke_by_token(conn, &hash, now)?,
                Ending::Everywhere => {
                    db::sessions::revoke_all(conn, user_id, now)?;
                }
            }
            db::meter::opened_in_month(conn, user_id, month.first_day())
        })
    })
    .await?;
    keep_account_meter(session, month, opened)?;
    session.forget_login()
}

/// Adds the account's articles of `month` to the cookie's meter.
pub fn keep_account_meter(
    session: &ReaderSession,
    month: Month,
    opened: Vec<i64>,
) -> Result<(), AppError> {
    let cookie = session.meter(month);
    let merged = Meter::with_opened(month, cookie.opened().iter().copied().chain(opened));
    if merged != cookie {
        session.set_meter(&merged)?;
    }
    Ok(())
}
