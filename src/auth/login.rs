//! Starting and ending a logged-in session: the server-side record, the cookie, and the meter
//! that moves between them.
//!
//! The meter rule: a reader's free articles belong to the account while logged in, and the
//! browser keeps a copy of them when the login ends (by logging out, elsewhere, or by
//! expiry), so ending a login never hands out a fresh meter.
//!
//! Ending every login of an account (logging out everywhere, a new password) is how a reader
//! takes it back from someone who learned the password, so it ends everything that someone
//! could have started with it ([`end_every_login`]): the sessions, every mailed link, the mail
//! still waiting to carry one, and the trust of the account's device cookies (its login
//! generation goes up). A login or a form whose password was checked in an earlier generation
//! is refused at its commit: what the check proved no longer holds.

use diesel::{Connection, PgConnection, QueryResult};
use time::OffsetDateTime;

use super::session::{
    ABSOLUTE_LIMIT, IDLE_LIMIT, MAX_ENDED_SESSIONS, MAX_LIVE_SESSIONS, ReaderSession,
};
use super::{random_token, token_hash};
use crate::db;
use crate::domain::ids::{ArticleId, UserId};
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
///
/// `generation` is the account's login generation when its password was checked (or when the
/// account or its new password was made); if every login has ended since, the browser is
/// sent to log in again.
pub async fn start(
    state: &AppState,
    session: &ReaderSession,
    user_id: UserId,
    generation: i32,
    user_agent: &str,
) -> Result<(), AppError> {
    start_with(state, session, user_id, generation, user_agent, |_| Ok(())).await
}

/// As [`start`], with `first` run in the same transaction once the reader's lock is held and
/// the generation checked: for a change that must not leave this browser logged out half-way
/// (a new password ends every other login, and this browser goes on with a new one). Returns
/// what `first` returned.
pub async fn start_with<T: Send + 'static>(
    state: &AppState,
    session: &ReaderSession,
    user_id: UserId,
    generation: i32,
    user_agent: &str,
    first: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
) -> Result<T, AppError> {
    let now = state.clock.now();
    let month = Month::of(now);
    let token = random_token()?;
    let hash = token_hash(&token);
    let anonymous = session.meter(month);
    let previous = session.login_token().map(|t| token_hash(&t));
    let user_agent = user_agent.to_string();
    let started = db::run(&state.pool, "starting a login session", move |conn| {
        conn.transaction(|conn| {
            db::users::lock(conn, user_id)?;
            if db::users::login_generation(conn, user_id)? != Some(generation) {
                return Ok(None);
            }
            let first = first(conn)?;
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
            Ok(Some(first))
        })
    })
    .await?;
    let Some(first) = started else {
        tracing::info!(
            user_id = user_id.get(),
            "login refused: every login of the account ended meanwhile"
        );
        return Err(AppError::LogInFirst {
            next: "/account".to_string(),
        });
    };
    session.begin_login(&token)?;
    Ok(first)
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
                    db::users::lock(conn, user_id)?;
                    end_every_login(conn, user_id, now)?;
                }
            }
            db::meter::opened_in_month(conn, user_id, month.first_day())
        })
    })
    .await?;
    keep_account_meter(session, month, opened)?;
    session.forget_login()
}

/// Ends every login of the account and all that could start one, or move the account, without
/// its password: every session, every mailed link, the mail still waiting to carry one (a
/// sender that took it already finds it gone before making its link), and the trust of the
/// device cookies issued so far. Returns the account's new login generation. Call it inside a
/// transaction holding the reader's lock.
pub fn end_every_login(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
) -> QueryResult<i32> {
    db::sessions::revoke_all(conn, user_id, now)?;
    db::tokens::delete_all_for_user(conn, user_id)?;
    if let Some(user) = db::users::find(conn, user_id)? {
        db::outbox::drop_links_for(conn, user_id, &user.email)?;
    }
    db::users::next_login_generation(conn, user_id)
}

/// Adds the account's articles of `month` to the cookie's meter.
pub fn keep_account_meter(
    session: &ReaderSession,
    month: Month,
    opened: Vec<ArticleId>,
) -> Result<(), AppError> {
    let cookie = session.meter(month);
    let merged = Meter::with_opened(month, cookie.opened().iter().copied().chain(opened));
    if merged != cookie {
        session.set_meter(&merged)?;
    }
    Ok(())
}
