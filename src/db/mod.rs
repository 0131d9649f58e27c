//! PostgreSQL access: the pool, the embedded migrations, and [`run`], the one way the rest of
//! the application reaches the database.
//!
//! Rules: queries are plain functions `fn(&mut PgConnection, ...) -> QueryResult<T>`, one file
//! per table, and every write the application makes is one of them (or a transaction of the
//! billing workflow made of them), so one place can tell caches what changed. This module
//! knows nothing of HTTP: its errors are [`DbError`], which name the failed step; `error.rs`
//! turns them into pages. Callers go through [`run`], which runs the closure on actix's
//! blocking thread pool, never on an async worker.

pub mod article_gifts;
pub mod articles;
pub mod changes;
pub mod checkouts;
pub mod closed_account_payments;
pub mod gateway_customers;
pub mod gateway_events;
pub mod gift_subscriptions;
pub mod grants;
pub mod hosted_checkouts;
pub mod media;
pub mod members;
pub mod meter;
pub mod newsletter_members;
pub mod newsletter_sends;
pub mod offers;
pub mod outbox;
pub mod plans;
pub mod sessions;
pub mod subscriptions;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::redact_url;

/// The pool of connections, and who hears of the changes its writes make.
#[derive(Clone)]
pub struct DbPool {
    connections: Pool<ConnectionManager<PgConnection>>,
    listeners: Arc<OnceLock<ChangeListener>>,
}

/// Told of the changes each `run` made on this instance, once it returns.
pub type ChangeListener = Arc<dyn Fn(&[changes::Change]) + Send + Sync>;

impl DbPool {
    /// From now on, `listener` hears of every change noted by a `run` on this pool (one
    /// listener per pool: a second call is ignored).
    pub fn tell_changes_to(&self, listener: ChangeListener) {
        let _ = self.listeners.set(listener);
    }

    /// A connection for code already on the blocking pool that notes no change (a store of
    /// bytes); everything else goes through [`run`].
    pub fn blocking_connection(
        &self,
        step: &'static str,
    ) -> Result<PooledConnection<ConnectionManager<PgConnection>>, DbError> {
        self.connections
            .get()
            .map_err(|error| DbError::Pool { step, error })
    }
}

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a request waits for a connection before the reader gets a 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(2);
/// Seconds libpq waits for the server to answer a new connection.
const CONNECT_TIMEOUT_SECS: u32 = 2;
/// A query slower than this is canceled: a stuck database must not hold pages hostage.
const STATEMENT_TIMEOUT_MS: u32 = 5_000;
/// Arbitrary key of the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK_KEY: i64 = 0x0067_617a_6574_7465;

/// A failed database step, naming the step (what the caller was doing) so the log says which
/// query failed, not only how.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    // The cause is written into the message rather than chained as a source, so a log line
    // holds it once.
    #[error("{step}: no database connection available: {error}")]
    Pool {
        step: &'static str,
        error: PoolError,
    },
    #[error("{step}: {error}")]
    Query {
        step: &'static str,
        error: DieselError,
    },
    #[error(
        "{step}: did not run to completion on the blocking pool (it panicked, or the pool is shut down)"
    )]
    Blocking { step: &'static str },
}

impl DbError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query {
                error: DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _),
                ..
            }
        )
    }

    /// True when the database is down, unreachable or too slow, rather than the query wrong.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Pool { .. } => true,
            Self::Query { error, .. } => match error {
                DieselError::DatabaseError(kind, info) => match kind {
                    DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand => true,
                    DatabaseErrorKind::Unknown => {
                        let message = info.message();
                        message.contains("statement timeout")
                            || message.contains("terminating connection")
                            || message.contains("server closed the connection")
                    }
                    _ => false,
                },
                DieselError::BrokenTransactionManager => true,
                _ => false,
            },
            Self::Blocking { .. } => false,
        }
    }

    /// True when a concurrent transaction got in the way (see [`is_contention`]).
    pub fn is_contention(&self) -> bool {
        matches!(self, Self::Query { error, .. } if is_contention(error))
    }
}

/// True when a transaction failed only because a concurrent one got in its way (a
/// serialization failure or a deadlock): trying again is the cure.
pub fn is_contention(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            info.message().contains("deadlock detected")
        }
        _ => false,
    }
}

/// Runs `query` with a pooled connection on the blocking thread pool, within the caller's
/// span (so its log lines name the request). The pool's size bounds how many run at once; its
/// checkout timeout turns a dead database into a quick error. `step` says what the query is
/// for, in the words a log reader needs ("loading the article").
pub async fn run<T, F>(pool: &DbPool, step: &'static str, query: F) -> Result<T, DbError>
where
    F: FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        let mut conn = pool
            .connections
            .get()
            .map_err(|error| DbError::Pool { step, error })?;
        changes::take_noted();
        let result = query(&mut conn).map_err(|error| DbError::Query { step, error });
        let noted = changes::take_noted();
        if result.is_ok()
            && !noted.is_empty()
            && let Some(listener) = pool.listeners.get()
        {
            listener(&noted);
        }
        result
    })
    .await
    .map_err(|_| DbError::Blocking { step })?
}

/// Why the database could not be made ready at start-up; each names `DATABASE_URL`.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("DATABASE_URL: cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("DATABASE_URL: cannot create database {name}: {reason}")]
    Create { name: String, reason: String },
    #[error("DATABASE_URL: applying migrations to {url} failed: {reason}")]
    Migrate { url: String, reason: String },
}

/// Creates the database when it does not exist and applies pending migrations. Blocking: call
/// it from a blocking context.
pub fn prepare(database_url: &str) -> Result<(), PrepareError> {
    let url = with_connect_timeout(database_url);
    let mut conn = match PgConnection::establish(&url) {
        Ok(conn) => conn,
        Err(error) if error.to_string().contains("does not exist") => {
            create_database(&url)?;
            PgConnection::establish(&url).map_err(|e| connect_error(database_url, e))?
        }
        Err(error) => return Err(connect_error(database_url, error)),
    };
    migrate(&mut conn).map_err(|reason| PrepareError::Migrate {
        url: redact_url(database_url),
        reason,
    })
}

fn migrate(conn: &mut PgConnection) -> Result<(), String> {
    // Several instances may start at once; only one may migrate at a time.
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .execute(conn)
        .map_err(|e| e.to_string())?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.len())
        .map_err(|e| e.to_string());
    let _ =
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(conn);
    let applied = applied?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

fn create_database(url: &str) -> Result<(), PrepareError> {
    let mut parsed = url::Url::parse(url).map_err(|e| PrepareError::Connect {
        url: redact_url(url),
        reason: e.to_string(),
    })?;
    let name = parsed.path().trim_start_matches('/').to_string();
    parsed.set_path("/postgres");
    let mut admin = PgConnection::establish(parsed.as_str()).map_err(|e| connect_error(url, e))?;
    let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    match diesel::sql_query(statement).execute(&mut admin) {
        Ok(_) => {
            tracing::info!(database = %name, "created the database");
            Ok(())
        }
        // Another instance created it in the meantime.
        Err(error) if error.to_string().contains("already exists") => Ok(()),
        Err(error) => Err(PrepareError::Create {
            name,
            reason: error.to_string(),
        }),
    }
}

fn connect_error(url: &str, error: impl std::fmt::Display) -> PrepareError {
    PrepareError::Connect {
        url: redact_url(url),
        reason: error.to_string().trim().replace('\n', " "),
    }
}

/// Adds libpq's `connect_timeout` unless the URL sets one, so an unreachable host fails fast.
fn with_connect_timeout(database_url: &str) -> String {
    if database_url.contains("connect_timeout=") {
        return database_url.to_string();
    }
    let separator = if database_url.contains('?') { '&' } else { '?' };
    format!("{database_url}{separator}connect_timeout={CONNECT_TIMEOUT_SECS}")
}

#[derive(Debug)]
struct SessionDefaults;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionDefaults {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        diesel::sql_query(format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool of at most `size` connections. Connections are opened lazily, so the pool heals by
/// itself when the database comes back after an outage.
pub fn pool(database_url: &str, size: u32) -> DbPool {
    let manager = ConnectionManager::<PgConnection>::new(with_connect_timeout(database_url));
    let connections = Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .connection_customizer(Box::new(SessionDefaults))
        .build_unchecked(manager);
    DbPool {
        connections,
        listeners: Arc::new(OnceLock::new()),
    }
}

/// Rows one periodic deletion removes per statement, so each statement holds its locks briefly
/// and stays far inside the statement timeout.
pub const SWEEP_BATCH: i64 = 1_000;
/// Statements one sweep runs at most, so it holds its connection briefly; a sweep that
/// deleted [`SWEEP_MAX_ROWS`] may have left more, and is run again.
const SWEEP_MAX_BATCHES: usize = 100;
/// The most rows one sweep deletes.
pub const SWEEP_MAX_ROWS: usize = SWEEP_BATCH as usize * SWEEP_MAX_BATCHES;

/// Calls `delete_batch` (which deletes at most the number of rows it is given, each call in
/// its own statement) until a batch comes back short; returns how many rows went.
pub fn delete_in_batches(
    mut delete_batch: impl FnMut(i64) -> QueryResult<usize>,
) -> QueryResult<usize> {
    let mut deleted = 0;
    for _ in 0..SWEEP_MAX_BATCHES {
        let batch = delete_batch(SWEEP_BATCH)?;
        deleted += batch;
        if i64::try_from(batch).map_or(true, |n| n < SWEEP_BATCH) {
            break;
        }
    }
    Ok(deleted)
}

/// `SELECT 1`, for the health check.
pub fn ping(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_is_added_once() {
        assert_eq!(
            with_connect_timeout("postgres://h/db"),
            "postgres://h/db?connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable"),
            "postgres://h/db?sslmode=disable&connect_timeout=2"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=9"),
            "postgres://h/db?connect_timeout=9"
        );
    }
}
