//! Attempt counters for logins and sign-ups (and the requests to the payment processor a
//! reader causes), shared by every instance of the app.
//!
//! An attempt is checked against all its counters and counted in one transaction that locks
//! those counters first, always in the same order (so two attempts sharing counters wait for
//! each other instead of deadlocking). It is counted in every counter or, when any of them
//! already reached its limit, in none: a burst of parallel guesses is refused exactly past the
//! limit, and refused attempts never push a shared counter further.
//!
//! A refused attempt stores nothing. Most refusals are decided by a counter already at its
//! limit, read before anything is written; an attempt that only learns it is refused once its
//! counters are locked (a burst that filled a counter meanwhile) rolls back, so the counters
//! it created for keys never seen before (a made-up e-mail) go with it. The number of rows is
//! therefore bounded by the attempts that were counted, never by those that were refused.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamptz};
use time::{Duration, OffsetDateTime};

use crate::domain::throttle::retry_after;
use crate::schema::login_throttle;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Failed logins for one account from everywhere (key: SHA-256 of the normalised e-mail).
    Account,
    /// Failed logins for one account from one address (key: SHA-256 of both).
    AccountAddress,
    /// Failed logins from one client address.
    Address,
    /// Failed logins from one device cookie (key: the cookie's random nonce).
    Device,
    /// Successful logins from one client address.
    Login,
    /// Sign-up attempts from one client address.
    Signup,
    /// Requests mailing a link (a password reset, a new address to confirm) to one typed
    /// address (key: SHA-256 of it, normalised).
    ResetAccount,
    /// Requests that mail a link, or a notice of a new password, from one client address.
    ResetAddress,
    /// Password checks on one account's own forms (key: the account's id).
    PasswordCheck,
    /// Requests to the payment processor caused by one reader's requests (key: the account's
    /// id).
    ProcessorCall,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::AccountAddress => "account_address",
            Self::Address => "address",
            Self::Device => "device",
            Self::Login => "login",
            Self::Signup => "signup",
            Self::ResetAccount => "reset_account",
            Self::ResetAddress => "reset_address",
            Self::PasswordCheck => "password_check",
            Self::ProcessorCall => "processor_call",
        }
    }
}

/// One counter an attempt is counted in, and how many attempts its window allows.
#[derive(Clone, Debug)]
pub struct Counter {
    pub scope: Scope,
    pub key: String,
    pub limit: i32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Counted everywhere: the attempts in each counter's window, this one included, in the
    /// order the counters were given.
    Counted(Vec<i32>),
    /// Counted nowhere: a counter is at its limit until its window closes in this many seconds.
    Refused { retry_after_secs: u64 },
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Integer)]
    failures: i32,
    #[diesel(sql_type = Timestamptz)]
    window_started_at: OffsetDateTime,
}

/// Counts one attempt in every counter, or in none when any of them is at its limit. Windows
/// last `window`; a counter whose window closed starts a new one. A refusal writes nothing.
pub fn count_attempt(
    conn: &mut PgConnection,
    counters: &[Counter],
    now: OffsetDateTime,
    window: Duration,
) -> QueryResult<Outcome> {
    if let Some(retry_after_secs) = already_full(conn, counters, now, window)? {
        return Ok(Outcome::Refused { retry_after_secs });
    }
    let mut order: Vec<usize> = (0..counters.len()).collect();
    order.sort_by(|&a, &b| {
        (counters[a].scope, &counters[a].key).cmp(&(counters[b].scope, &counters[b].key))
    });
    let counted = conn.transaction(|conn| {
        let mut locked = Vec::with_capacity(counters.len());
        for &i in &order {
            let counter = &counters[i];
            locked.push((
                i,
                lock(conn, counter.scope, &counter.key, now, now - window)?,
            ));
        }
        let wait = locked
            .iter()
            .filter_map(|(i, row)| {
                retry_after(
                    row.failures,
                    counters[*i].limit,
                    row.window_started_at,
                    window,
                    now,
                )
            })
            .max();
        if let Some(retry_after_secs) = wait {
            // Rolls back: the counters this attempt created or reopened are not kept.
            return Err(Uncounted::Refused(retry_after_secs));
        }
        let mut counted = vec![0; counters.len()];
        for (i, row) in &locked {
            let counter = &counters[*i];
            diesel::update(login_throttle::table.find((counter.scope.as_str(), &counter.key)))
                .set(login_throttle::failures.eq(login_throttle::failures + 1))
                .execute(conn)?;
            counted[*i] = row.failures + 1;
        }
        Ok(counted)
    });
    match counted {
        Ok(counted) => Ok(Outcome::Counted(counted)),
        Err(Uncounted::Refused(retry_after_secs)) => Ok(Outcome::Refused { retry_after_secs }),
        Err(Uncounted::Failed(error)) => Err(error),
    }
}

/// Why the counting transaction stopped without counting (and so rolled back).
enum Uncounted {
    Refused(u64),
    Failed(diesel::result::Error),
}

impl From<diesel::result::Error> for Uncounted {
    fn from(error: diesel::result::Error) -> Self {
        Self::Failed(error)
    }
}

/// The wait, when one of the counters already holds its limit in an open window: read
/// without locking or writing anything. A counter that fills up after this read is caught
/// again under lock.
fn already_full(
    conn: &mut PgConnection,
    counters: &[Counter],
    now: OffsetDateTime,
    window: Duration,
) -> QueryResult<Option<u64>> {
    let scopes: Vec<&str> = counters.iter().map(|c| c.scope.as_str()).collect();
    let keys: Vec<&str> = counters.iter().map(|c| c.key.as_str()).collect();
    let rows: Vec<(String, String, i32, OffsetDateTime)> = login_throttle::table
        .filter(login_throttle::scope.eq_any(&scopes))
        .filter(login_throttle::key.eq_any(&keys))
        .filter(login_throttle::window_started_at.gt(now - window))
        .select((
            login_throttle::scope,
            login_throttle::key,
            login_throttle::failures,
            login_throttle::window_started_at,
        ))
        .load(conn)?;
    Ok(counters
        .iter()
        .filter_map(|counter| {
            let (_, _, failures, started) = rows.iter().find(|(scope, key, _, _)| {
                scope == counter.scope.as_str() && *key == counter.key
            })?;
            retry_after(*failures, counter.limit, *started, window, now)
        })
        .max())
}

/// Counts `cost` attempts at once in one counter, or none when they would take it past its
/// limit (then refused until its window closes).
pub fn count_several(
    conn: &mut PgConnection,
    counter: &Counter,
    cost: i32,
    now: OffsetDateTime,
    window: Duration,
) -> QueryResult<Outcome> {
    conn.transaction(|conn| {
        let row = lock(conn, counter.scope, &counter.key, now, now - window)?;
        // Refused when the last of the `cost` attempts would find the counter at its limit.
        let last_sees = row.failures.saturating_add(cost - 1);
        if let Some(retry_after_secs) =
            retry_after(last_sees, counter.limit, row.window_started_at, window, now)
        {
            return Ok(Outcome::Refused { retry_after_secs });
        }
        diesel::update(login_throttle::table.find((counter.scope.as_str(), &counter.key)))
            .set(login_throttle::failures.eq(login_throttle::failures + cost))
            .execute(conn)?;
        Ok(Outcome::Counted(vec![row.failures + cost]))
    })
}

/// Locks one counter for the rest of the transaction, creating it, or opening a new window
/// when its last one opened at or before `window_opened_after`.
fn lock(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    now: OffsetDateTime,
    window_opened_after: OffsetDateTime,
) -> QueryResult<Locked> {
    diesel::sql_query(
        "INSERT INTO login_throttle (scope, key, failures, window_started_at) VALUES ($1, $2, 0, $3) \
         ON CONFLICT (scope, key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_started_at > $4 THEN login_throttle.failures ELSE 0 END, \
           window_started_at = CASE WHEN login_throttle.window_started_at > $4 THEN login_throttle.window_started_at ELSE $3 END \
         RETURNING failures, window_started_at",
    )
    .bind::<Text, _>(scope.as_str())
    .bind::<Text, _>(key)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(window_opened_after)
    .get_result(conn)
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

/// Deletes counters whose window opened at or before `closed_before` (in batches): they no
/// longer count. Returns how many went.
pub fn sweep(conn: &mut PgConnection, closed_before: OffsetDateTime) -> QueryResult<usize> {
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM login_throttle WHERE (scope, key) IN \
             (SELECT scope, key FROM login_throttle WHERE window_started_at <= $1 LIMIT $2)",
        )
        .bind::<Timestamptz, _>(closed_before)
        .bind::<BigInt, _>(batch)
        .execute(conn)
    })
}
