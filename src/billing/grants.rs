//! Complimentary access: an admin gives a reader the whole publication until a date, with no
//! payment, from the command line (`gazette user comp`) or the desk's people page. And, for
//! every grant (comp or gift), the invitation to subscribe a few days before it ends.
//!
//! Rules: the date is read and checked by `domain::grant` (the whole day in UTC; a date
//! before today is refused); giving a comp again moves its dates (a reader has one comp);
//! removing one ends it now, and the row stays as a record. Each runs in one transaction that
//! takes the reader's lock first, like every change to a reader's access. These functions take
//! a connection so the command line (which has no pool) and the desk (through `db::run`) share
//! them.
//!
//! The invitation is queued by housekeeping at most once per grant: the grant is claimed with
//! `FOR UPDATE SKIP LOCKED` and marked in the same transaction as its mail is queued, so two
//! instances running at once never queue it twice. It does not take the reader's lock: it
//! changes no access, and taking that lock after the grant's would invert the order every other
//! writer keeps. Giving a comp again makes the invitation due again for the new date.

use diesel::prelude::*;
use time::{Date, OffsetDateTime};

use crate::db;
use crate::domain::grant::{self, CompDateError};
use crate::domain::ids::UserId;
use crate::domain::mail::MailKind;

/// How long before a grant ends its reader is invited to subscribe.
pub const REMINDER_AHEAD: time::Duration = time::Duration::days(7);

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

/// Queues the invitation to subscribe for grants ending within [`REMINDER_AHEAD`] of `now`
/// (one batch); returns how many were queued.
pub fn queue_reminders(conn: &mut PgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    conn.transaction(|conn| {
        // One sweep's worth: housekeeping comes back at once while batches come back full.
        let most = i64::try_from(db::SWEEP_MAX_ROWS).unwrap_or(i64::MAX);
        let due = db::grants::claim_reminders_due(conn, now, now + REMINDER_AHEAD, most)?;
        for (email, grant) in &due {
            let until = crate::views::long_date(grant::last_day(grant.ends_at));
            db::outbox::owe(
                conn,
                MailKind::AccessEnding,
                email,
                Some(grant.user_id),
                &until,
                now,
            )?;
            db::grants::mark_reminded(conn, grant, now)?;
        }
        Ok(due.len())
    })
}
