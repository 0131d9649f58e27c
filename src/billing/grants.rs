//! Complimentary access: an admin gives a reader the whole publication until a date, with no
//! payment, from the command line (`gazette user comp`) or the desk's people page.
//!
//! Rules: the date is read and checked by `domain::grant` (the whole day in UTC; a date
//! before today is refused); giving a comp again moves its dates (a reader has one comp);
//! removing one ends it now, and the row stays as a record. Each runs in one transaction that
//! takes the reader's lock first, like every change to a reader's access. These functions take
//! a connection so the command line (which has no pool) and the desk (through `db::run`) share
//! them.

use diesel::prelude::*;
use time::{Date, OffsetDateTime};

use crate::db;
use crate::domain::grant::{self, CompDateError};
use crate::domain::ids::UserId;

/// A comp given: the reader reads everything until the end of `until` (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comped {
    pub user_id: UserId,
    pub until: Date,
    /// The reader had a comp already, now moved to the new date.
    pub moved: bool,
}

/// Why a comp was not given or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompRefused {
    /// No account has the e-mail.
    NoAccount,
    Date(CompDateError),
}

impl CompRefused {
    /// The words for the admin, after the address.
    pub fn message(self) -> &'static str {
        match self {
            Self::NoAccount => {
                "no account has this e-mail: the reader signs up first, then you give the access"
            }
            Self::Date(error) => error.message(),
        }
    }
}

/// Gives the account with the normalised e-mail `email` complimentary access until the end of
/// `until` (written `YYYY-MM-DD`).
pub fn give(
    conn: &mut PgConnection,
    email: &str,
    until: &str,
    granted_by: Option<UserId>,
    now: OffsetDateTime,
) -> QueryResult<Result<Comped, CompRefused>> {
    let date = match grant::parse_until(until) {
        Ok(date) => date,
        Err(error) => return Ok(Err(CompRefused::Date(error))),
    };
    let ends_at = match grant::comp_end(date, now) {
        Ok(ends_at) => ends_at,
        Err(error) => return Ok(Err(CompRefused::Date(error))),
    };
    conn.transaction(|conn| {
        let Some(user) = db::users::find_by_email(conn, email)? else {
            return Ok(Err(CompRefused::NoAccount));
        };
        db::users::lock(conn, user.id)?;
        let earlier = db::grants::comp(conn, user.id)?;
        let moved = earlier.as_ref().is_some_and(|comp| comp.is_current(now));
        // A comp still running keeps its start; one over starts again now.
        let starts_at = earlier
            .filter(|comp| comp.is_current(now))
            .map_or(now, |comp| comp.starts_at);
        db::grants::set_comp(conn, user.id, starts_at, ends_at, granted_by)?;
        tracing::info!(
            user_id = user.id.get(),
            until = %date,
            by = granted_by.map(UserId::get),
            "complimentary access given"
        );
        Ok(Ok(Comped {
            user_id: user.id,
            until: date,
            moved,
        }))
    })
}

/// Ends the complimentary access of the account with the normalised e-mail `email` now;
/// `Ok(false)` when it had none running.
pub fn remove(
    conn: &mut PgConnection,
    email: &str,
    now: OffsetDateTime,
) -> QueryResult<Result<bool, CompRefused>> {
    conn.transaction(|conn| {
        let Some(user) = db::users::find_by_email(conn, email)? else {
            return Ok(Err(CompRefused::NoAccount));
        };
        db::users::lock(conn, user.id)?;
        let ended = db::grants::end_comp(conn, user.id, now)?;
        if ended {
            tracing::info!(user_id = user.id.get(), "complimentary access removed");
        }
        Ok(Ok(ended))
    })
}
