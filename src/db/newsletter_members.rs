//! Who is on the newsletter's list: the accounts' newsletter columns (`users.email_confirmed_at`,
//! `users.newsletter_opted_in_at`) and the addresses without an account (`newsletter_signups`).
//!
//! Rules: one query per function; callers (the `newsletter::members` workflow, sign-up, the
//! account's address change) decide and take the reader's lock where an account is concerned.
//! A confirmation writes only while the member still has the address it confirms and is not
//! confirmed yet, in the statement itself, so a race with an address change cannot confirm
//! the wrong address.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use time::OffsetDateTime;

use super::changes::{Change, note};
use crate::domain::ids::{SignupId, UserId};
use crate::schema::{articles, newsletter_deliveries, newsletter_sends, newsletter_signups, users};

/// An address on (or asking to join) the list without an account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = newsletter_signups, check_for_backend(diesel::pg::Pg))]
pub struct Signup {
    pub id: SignupId,
    pub email: String,
    pub created_at: OffsetDateTime,
    pub confirmed_at: Option<OffsetDateTime>,
    pub opted_in_at: Option<OffsetDateTime>,
}

/// An account's address and its newsletter columns.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct AccountChoice {
    pub id: UserId,
    pub email: String,
    pub email_confirmed_at: Option<OffsetDateTime>,
    pub newsletter_opted_in_at: Option<OffsetDateTime>,
}

/// One newsletter sent (or being sent) to an account, for its data export.
#[derive(Debug, Clone, Queryable)]
pub struct DeliveryRecord {
    pub title: String,
    pub started_at: OffsetDateTime,
    pub email: String,
    pub state: String,
    pub finished_at: Option<OffsetDateTime>,
}

/// The sign-up row of this normalised address.
pub fn signup_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<Signup>> {
    newsletter_signups::table
        .filter(newsletter_signups::email.eq(email))
        .select(Signup::as_select())
        .first(conn)
        .optional()
}

/// The sign-up row with this id.
pub fn signup(conn: &mut PgConnection, id: SignupId) -> QueryResult<Option<Signup>> {
    newsletter_signups::table
        .find(id)
        .select(Signup::as_select())
        .first(conn)
        .optional()
}

/// The sign-up row of `email`, made at `now` if there is none. An unconfirmed row asked for
/// again starts its confirmation lifetime again (the housekeeping sweep counts from
/// `created_at`); a confirmed one is left as it is.
pub fn ask(conn: &mut PgConnection, email: &str, now: OffsetDateTime) -> QueryResult<SignupId> {
    diesel::insert_into(newsletter_signups::table)
        .values((
            newsletter_signups::email.eq(email),
            newsletter_signups::created_at.eq(now),
        ))
        .on_conflict(newsletter_signups::email)
        .do_update()
        .set(
            newsletter_signups::created_at.eq(diesel::dsl::sql::<Timestamptz>(
                "CASE WHEN newsletter_signups.confirmed_at IS NULL \
                 THEN excluded.created_at ELSE newsletter_signups.created_at END",
            )),
        )
        .returning(newsletter_signups::id)
        .get_result(conn)
}

/// Confirms the sign-up row `id` and puts it on the list, if it still has `email` and is not
/// confirmed yet; returns whether it did.
pub fn confirm_signup(
    conn: &mut PgConnection,
    id: SignupId,
    email: &str,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        newsletter_signups::table
            .find(id)
            .filter(newsletter_signups::email.eq(email))
            .filter(newsletter_signups::confirmed_at.is_null()),
    )
    .set((
        newsletter_signups::confirmed_at.eq(now),
        newsletter_signups::opted_in_at.eq(now),
    ))
    .execute(conn)
    .map(|rows| rows > 0)
}

/// Sets the sign-up row's choice: `Some(when)` on the list, `None` off it. Joining writes only
/// to a confirmed row. Returns whether a row changed.
pub fn set_signup_choice(
    conn: &mut PgConnection,
    id: SignupId,
    opted_in_at: Option<OffsetDateTime>,
) -> QueryResult<bool> {
    let rows = match opted_in_at {
        None => diesel::update(newsletter_signups::table.find(id))
            .set(newsletter_signups::opted_in_at.eq(None::<OffsetDateTime>))
            .execute(conn)?,
        Some(at) => diesel::update(
            newsletter_signups::table
                .find(id)
                .filter(newsletter_signups::confirmed_at.is_not_null())
                .filter(newsletter_signups::opted_in_at.is_null()),
        )
        .set(newsletter_signups::opted_in_at.eq(at))
        .execute(conn)?,
    };
    Ok(rows > 0)
}

/// Deletes the sign-up row (the address is forgotten, or became an account's); its
/// deliveries go with it unless they were moved first.
pub fn delete_signup(conn: &mut PgConnection, id: SignupId) -> QueryResult<bool> {
    diesel::delete(newsletter_signups::table.find(id))
        .execute(conn)
        .map(|rows| rows > 0)
}

/// Deletes, in bounded batches, sign-up rows never confirmed and asked for before `before`.
pub fn sweep_unconfirmed(conn: &mut PgConnection, before: OffsetDateTime) -> QueryResult<usize> {
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM newsletter_signups WHERE id IN \
             (SELECT id FROM newsletter_signups \
              WHERE confirmed_at IS NULL AND created_at < $1 LIMIT $2)",
        )
        .bind::<Timestamptz, _>(before)
        .bind::<BigInt, _>(batch)
        .execute(conn)
    })
}

/// The account's address and newsletter columns.
pub fn account_choice(
    conn: &mut PgConnection,
    user_id: UserId,
) -> QueryResult<Option<AccountChoice>> {
    users::table
        .find(user_id)
        .select(AccountChoice::as_select())
        .first(conn)
        .optional()
}

/// Proves the account's address and puts it on the list (keeping an earlier choice's date),
/// if it still has `email` and its address is not confirmed yet; returns whether it did.
pub fn confirm_account(
    conn: &mut PgConnection,
    user_id: UserId,
    email: &str,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let rows = diesel::update(
        users::table
            .find(user_id)
            .filter(users::email.eq(email))
            .filter(users::email_confirmed_at.is_null()),
    )
    .set((
        users::email_confirmed_at.eq(now),
        users::newsletter_opted_in_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<Timestamptz>,
        >("COALESCE(newsletter_opted_in_at, ")
        .bind::<Timestamptz, _>(now)
        .sql(")")),
    ))
    .execute(conn)?;
    if rows > 0 {
        note(Change::Reader(user_id));
    }
    Ok(rows > 0)
}

/// Sets the account's choice: `Some(when)` on the list (kept if it already is), `None` off it.
pub fn set_account_choice(
    conn: &mut PgConnection,
    user_id: UserId,
    opted_in_at: Option<OffsetDateTime>,
) -> QueryResult<bool> {
    let rows = match opted_in_at {
        None => diesel::update(users::table.find(user_id))
            .set(users::newsletter_opted_in_at.eq(None::<OffsetDateTime>))
            .execute(conn)?,
        Some(at) => diesel::update(
            users::table
                .find(user_id)
                .filter(users::newsletter_opted_in_at.is_null()),
        )
        .set(users::newsletter_opted_in_at.eq(at))
        .execute(conn)?,
    };
    note(Change::Reader(user_id));
    Ok(rows > 0)
}

/// Gives a new account the choice and confirmation of the sign-up row its address had.
pub fn take_over_choice(
    conn: &mut PgConnection,
    user_id: UserId,
    email_confirmed_at: Option<OffsetDateTime>,
    opted_in_at: Option<OffsetDateTime>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::email_confirmed_at.eq(email_confirmed_at),
            users::newsletter_opted_in_at.eq(opted_in_at),
        ))
        .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(())
}

/// Notes that the account's (new) address was proved, by a link sent to it.
pub fn mark_email_confirmed(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::email_confirmed_at.eq(now))
        .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(())
}

/// Moves what was sent to a sign-up row to the account it became, so the account's export
/// still lists it once the row is deleted.
pub fn move_deliveries(
    conn: &mut PgConnection,
    signup_id: SignupId,
    user_id: UserId,
) -> QueryResult<usize> {
    diesel::update(
        newsletter_deliveries::table.filter(newsletter_deliveries::signup_id.eq(signup_id)),
    )
    .set((
        newsletter_deliveries::signup_id.eq(None::<SignupId>),
        newsletter_deliveries::user_id.eq(Some(user_id)),
    ))
    .execute(conn)
}

/// The newsletters sent (or being sent) to the account, oldest first.
pub fn deliveries_of(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<DeliveryRecord>> {
    newsletter_deliveries::table
        .inner_join(newsletter_sends::table.inner_join(articles::table))
        .filter(newsletter_deliveries::user_id.eq(user_id))
        .order((newsletter_sends::started_at, newsletter_deliveries::id))
        .select((
            articles::title,
            newsletter_sends::started_at,
            newsletter_deliveries::email,
            newsletter_deliveries::state,
            newsletter_deliveries::finished_at,
        ))
        .load(conn)
}
