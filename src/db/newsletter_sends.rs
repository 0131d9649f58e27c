//! The newsletter's sending: one `newsletter_sends` row per article ever e-mailed, its
//! audience as `newsletter_deliveries` rows, the shared pace (`newsletter_pace`) and the
//! addresses never mailed again (`newsletter_suppressions`).
//!
//! Rules:
//! - A send and its audience are written in one transaction by the caller: [`start`] is a no-op
//!   when the article already has a send (the unique `article_id`), so a second start changes
//!   nothing.
//! - A delivery is taken with `FOR UPDATE SKIP LOCKED` and a lease ([`claim`]); the taking
//!   counts an attempt, and the attempt number is the holder's proof: every later write names
//!   it, so a holder whose lease ran out (and whose row was taken again) writes nothing.
//! - A row is `sending` only while its message's data is being handed over
//!   ([`mark_sending`]); one found `sending` after its lease ran out becomes `uncertain`
//!   ([`expire_sending`]) and is never sent again.
//! - The rows read here by raw SQL are declared beside their query.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Int4, Nullable, Text, Timestamptz};
use time::{Duration, OffsetDateTime};

use crate::domain::ids::{ArticleId, DeliveryId, SendId, SignupId, UserId};
use crate::schema::{newsletter_deliveries, newsletter_sends, newsletter_suppressions};

/// A send as its pages and commands show it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = newsletter_sends, check_for_backend(diesel::pg::Pg))]
pub struct SendRow {
    pub id: SendId,
    pub article_id: ArticleId,
    pub audience: String,
    pub started_by: Option<UserId>,
    pub started_at: OffsetDateTime,
}

/// A delivery taken by a sender, with the attempt that is its proof of holding it.
#[derive(Debug, Clone, QueryableByName)]
pub struct DueDelivery {
    #[diesel(sql_type = BigInt)]
    pub id: DeliveryId,
    #[diesel(sql_type = BigInt)]
    pub send_id: SendId,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub user_id: Option<UserId>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub signup_id: Option<SignupId>,
    #[diesel(sql_type = Bool)]
    pub whole: bool,
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
}

/// Where a send stands: its audience by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct Counts {
    #[diesel(sql_type = BigInt)]
    pub queued: i64,
    #[diesel(sql_type = BigInt)]
    pub sending: i64,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    #[diesel(sql_type = BigInt)]
    pub suppressed: i64,
    #[diesel(sql_type = BigInt)]
    pub uncertain: i64,
}

impl Counts {
    /// Every address of the audience.
    pub fn audience(&self) -> i64 {
        self.queued + self.sending + self.sent + self.failed + self.suppressed + self.uncertain
    }

    /// Still to go (queued, or being handed over now).
    pub fn waiting(&self) -> i64 {
        self.queued + self.sending
    }
}

/// A suppressed address.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = newsletter_suppressions, check_for_backend(diesel::pg::Pg))]
pub struct Suppression {
    pub email: String,
    pub reason: String,
    pub suppressed_at: OffsetDateTime,
}

/// Starts the send of `article_id`; `None` when the article already has one.
pub fn start(
    conn: &mut PgConnection,
    article_id: ArticleId,
    audience: &str,
    started_by: Option<UserId>,
    now: OffsetDateTime,
) -> QueryResult<Option<SendId>> {
    diesel::insert_into(newsletter_sends::table)
        .values((
            newsletter_sends::article_id.eq(article_id),
            newsletter_sends::audience.eq(audience),
            newsletter_sends::started_by.eq(started_by),
            newsletter_sends::started_at.eq(now),
        ))
        .on_conflict(newsletter_sends::article_id)
        .do_nothing()
        .returning(newsletter_sends::id)
        .get_result(conn)
        .optional()
}

/// Fixes the audience of `send_id`: one row per distinct address on the list (confirmed and
/// opted in; an account before an address alone), only subscribers when `subscribers_only`.
/// A subscriber (a subscription in standing, or the newsroom) gets the whole article, and so
/// does everyone when it is free. An address in `newsletter_suppressions` is recorded as
/// `suppressed` and finished at once. Returns how many rows were made.
pub fn insert_audience(
    conn: &mut PgConnection,
    send_id: SendId,
    premium: bool,
    subscribers_only: bool,
    now: OffsetDateTime,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO newsletter_deliveries
             (send_id, email, user_id, signup_id, whole, state, next_attempt_at, finished_at)
         SELECT $1, m.email, m.user_id, m.signup_id, (m.subscriber OR NOT $2),
                CASE WHEN x.email IS NULL THEN 'queued' ELSE 'suppressed' END,
                $4,
                CASE WHEN x.email IS NULL THEN NULL ELSE $4 END
         FROM (
             SELECT DISTINCT ON (email) email, user_id, signup_id, subscriber
             FROM (
                 SELECT u.email, u.id AS user_id, NULL::BIGINT AS signup_id,
                        (u.role IN ('editor', 'admin') OR EXISTS (
                            SELECT 1 FROM subscriptions s
                            WHERE s.user_id = u.id AND s.status <> 'ended'
                              AND s.current_period_end > $4)) AS subscriber,
                        0 AS rank
                 FROM users u
                 WHERE u.email_confirmed_at IS NOT NULL AND u.newsletter_opted_in_at IS NOT NULL
                 UNION ALL
                 SELECT g.email, NULL, g.id, FALSE, 1
                 FROM newsletter_signups g
                 WHERE g.confirmed_at IS NOT NULL AND g.opted_in_at IS NOT NULL
             ) members
             ORDER BY email, rank
         ) m
         LEFT JOIN newsletter_suppressions x ON x.email = m.email
         WHERE m.subscriber OR NOT $3",
    )
    .bind::<BigInt, _>(send_id)
    .bind::<Bool, _>(premium)
    .bind::<Bool, _>(subscribers_only)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
}

/// The send of `article_id`, if it was ever started.
pub fn find_by_article(
    conn: &mut PgConnection,
    article_id: ArticleId,
) -> QueryResult<Option<SendRow>> {
    newsletter_sends::table
        .filter(newsletter_sends::article_id.eq(article_id))
        .select(SendRow::as_select())
        .first(conn)
        .optional()
}

/// A send by id.
pub fn find(conn: &mut PgConnection, send_id: SendId) -> QueryResult<Option<SendRow>> {
    newsletter_sends::table
        .find(send_id)
        .select(SendRow::as_select())
        .first(conn)
        .optional()
}

/// The audience of `send_id` by state.
pub fn counts(conn: &mut PgConnection, send_id: SendId) -> QueryResult<Counts> {
    diesel::sql_query(
        "SELECT count(*) FILTER (WHERE state = 'queued') AS queued,
                count(*) FILTER (WHERE state = 'sending') AS sending,
                count(*) FILTER (WHERE state = 'sent') AS sent,
                count(*) FILTER (WHERE state = 'failed') AS failed,
                count(*) FILTER (WHERE state = 'suppressed') AS suppressed,
                count(*) FILTER (WHERE state = 'uncertain') AS uncertain
         FROM newsletter_deliveries WHERE send_id = $1",
    )
    .bind::<BigInt, _>(send_id)
    .get_result(conn)
}

/// Rows left `sending` by an instance that died mid-exchange (their lease ran out before
/// `now`) become `uncertain`: their message may have been delivered. Returns how many.
pub fn expire_sending(conn: &mut PgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    diesel::update(
        newsletter_deliveries::table
            .filter(newsletter_deliveries::state.eq("sending"))
            .filter(newsletter_deliveries::lease_until.lt(now)),
    )
    .set((
        newsletter_deliveries::state.eq("uncertain"),
        newsletter_deliveries::finished_at.eq(now),
        newsletter_deliveries::lease_until.eq(None::<OffsetDateTime>),
        newsletter_deliveries::last_error.eq("the sender stopped during the exchange"),
    ))
    .execute(conn)
}

/// Takes up to `most` queued deliveries due at `now` and not held by another sender, for
/// `lease`; counts the attempt on each.
pub fn claim(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    lease: Duration,
    most: i64,
) -> QueryResult<Vec<DueDelivery>> {
    diesel::sql_query(
        "UPDATE newsletter_deliveries d
         SET lease_until = $2, attempts = d.attempts + 1
         FROM (
             SELECT id FROM newsletter_deliveries
             WHERE state = 'queued' AND next_attempt_at <= $1
               AND (lease_until IS NULL OR lease_until < $1)
             ORDER BY next_attempt_at, id
             LIMIT $3
             FOR UPDATE SKIP LOCKED
         ) due
         WHERE d.id = due.id
         RETURNING d.id, d.send_id, d.email, d.user_id, d.signup_id, d.whole, d.attempts",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now + lease)
    .bind::<BigInt, _>(most)
    .load(conn)
}

/// The message's data is about to be handed over: the row is `sending` until its answer is
/// written. False when the row is no longer this holder's.
pub fn mark_sending(conn: &mut PgConnection, id: DeliveryId, attempt: i32) -> QueryResult<bool> {
    diesel::update(
        newsletter_deliveries::table
            .find(id)
            .filter(newsletter_deliveries::attempts.eq(attempt))
            .filter(newsletter_deliveries::state.eq("queued")),
    )
    .set(newsletter_deliveries::state.eq("sending"))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// The delivery ended as `state` (`sent`, `failed` or `uncertain`), `error` saying why when
/// it did not go. False when the row is no longer this holder's.
pub fn finish(
    conn: &mut PgConnection,
    id: DeliveryId,
    attempt: i32,
    state: &str,
    error: Option<&str>,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let error: Option<String> = error.map(|e| e.chars().take(500).collect());
    diesel::update(
        newsletter_deliveries::table
            .find(id)
            .filter(newsletter_deliveries::attempts.eq(attempt))
            .filter(newsletter_deliveries::state.eq_any(["queued", "sending"])),
    )
    .set((
        newsletter_deliveries::state.eq(state),
        newsletter_deliveries::finished_at.eq(now),
        newsletter_deliveries::lease_until.eq(None::<OffsetDateTime>),
        newsletter_deliveries::last_error.eq(error),
    ))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// The delivery did not go and its data was never handed over: queued again for `at`.
pub fn retry_at(
    conn: &mut PgConnection,
    id: DeliveryId,
    attempt: i32,
    at: OffsetDateTime,
    error: &str,
) -> QueryResult<bool> {
    let error: String = error.chars().take(500).collect();
    diesel::update(
        newsletter_deliveries::table
            .find(id)
            .filter(newsletter_deliveries::attempts.eq(attempt))
            .filter(newsletter_deliveries::state.eq_any(["queued", "sending"])),
    )
    .set((
        newsletter_deliveries::state.eq("queued"),
        newsletter_deliveries::next_attempt_at.eq(at),
        newsletter_deliveries::lease_until.eq(None::<OffsetDateTime>),
        newsletter_deliveries::last_error.eq(Some(error)),
    ))
    .execute(conn)
    .map(|rows| rows == 1)
}

/// Gives back deliveries taken but never begun (the sender is stopping): another sender may
/// take them at once. The attempt is not counted.
pub fn release(conn: &mut PgConnection, id: DeliveryId, attempt: i32) -> QueryResult<()> {
    diesel::update(
        newsletter_deliveries::table
            .find(id)
            .filter(newsletter_deliveries::attempts.eq(attempt))
            .filter(newsletter_deliveries::state.eq("queued")),
    )
    .set((
        newsletter_deliveries::lease_until.eq(None::<OffsetDateTime>),
        newsletter_deliveries::attempts.eq(attempt - 1),
    ))
    .execute(conn)
    .map(|_| ())
}

/// When the next queued delivery falls due, if any.
pub fn next_due(conn: &mut PgConnection) -> QueryResult<Option<OffsetDateTime>> {
    newsletter_deliveries::table
        .filter(newsletter_deliveries::state.eq("queued"))
        .select(diesel::dsl::min(newsletter_deliveries::next_attempt_at))
        .get_result(conn)
}

/// When the earliest `sending` lease runs out, if any row is `sending`.
pub fn next_sending_expiry(conn: &mut PgConnection) -> QueryResult<Option<OffsetDateTime>> {
    newsletter_deliveries::table
        .filter(newsletter_deliveries::state.eq("sending"))
        .select(diesel::dsl::min(newsletter_deliveries::lease_until))
        .get_result(conn)
}

/// Takes `slots` consecutive sending slots of `spacing` from the pace every instance shares;
/// returns how long to wait, by the database's clock, until the first one.
pub fn take_slots(
    conn: &mut PgConnection,
    slots: i64,
    spacing: std::time::Duration,
) -> QueryResult<std::time::Duration> {
    #[derive(QueryableByName)]
    struct Wait {
        #[diesel(sql_type = BigInt)]
        micros: i64,
    }
    let spacing = i64::try_from(spacing.as_micros()).unwrap_or(i64::MAX / 4);
    let wait: Wait = diesel::sql_query(
        "WITH taken AS (
             SELECT greatest(next_slot_at, clock_timestamp()) AS first, clock_timestamp() AS now
             FROM newsletter_pace WHERE id = 1 FOR UPDATE
         ), moved AS (
             UPDATE newsletter_pace
             SET next_slot_at = taken.first + make_interval(secs => $1::DOUBLE PRECISION / 1e6)
             FROM taken WHERE id = 1
             RETURNING taken.first, taken.now
         )
         SELECT greatest(0, (extract(epoch FROM (first - now)) * 1e6)::BIGINT) AS micros
         FROM moved",
    )
    .bind::<BigInt, _>(slots.saturating_mul(spacing))
    .get_result(conn)?;
    Ok(std::time::Duration::from_micros(
        u64::try_from(wait.micros).unwrap_or(0),
    ))
}

/// Suppresses `email` for newsletters, for `reason`; an address already suppressed keeps its
/// first reason.
pub fn suppress(
    conn: &mut PgConnection,
    email: &str,
    reason: &str,
    now: OffsetDateTime,
) -> QueryResult<()> {
    let reason: String = reason.chars().take(500).collect();
    diesel::insert_into(newsletter_suppressions::table)
        .values((
            newsletter_suppressions::email.eq(email),
            newsletter_suppressions::reason.eq(reason),
            newsletter_suppressions::suppressed_at.eq(now),
        ))
        .on_conflict(newsletter_suppressions::email)
        .do_nothing()
        .execute(conn)
        .map(|_| ())
}

/// Every suppressed address, the latest first.
pub fn suppressions(conn: &mut PgConnection) -> QueryResult<Vec<Suppression>> {
    newsletter_suppressions::table
        .order(newsletter_suppressions::suppressed_at.desc())
        .select(Suppression::as_select())
        .load(conn)
}

/// Lifts the suppression of `email`; false when it was not suppressed.
pub fn lift(conn: &mut PgConnection, email: &str) -> QueryResult<bool> {
    diesel::delete(newsletter_suppressions::table.filter(newsletter_suppressions::email.eq(email)))
        .execute(conn)
        .map(|rows| rows > 0)
}
