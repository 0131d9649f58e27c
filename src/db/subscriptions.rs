//! Subscription rows. At most one row per reader is not `ended`, and one payment is recorded
//! in at most one row; the database enforces both (for a processor that runs the subscription,
//! the payment is its subscription: one row per processor subscription, updated as the
//! processor reports). Only an active row renews (the table's CHECK): every write that cancels
//! or ends a row says it no longer renews. Writes are made by `billing` with the reader's lock
//! held, and each notes a change of its reader for the caches.

use diesel::prelude::*;
use time::OffsetDateTime;

use super::changes::{Change, note};
use crate::domain::ids::{SubscriptionId, UserId};
use crate::domain::subscription::Status;
use crate::models::{HeldState, NewSubscription, SubscriptionRecord, SubscriptionRow};
use crate::schema::subscriptions;

/// The reader's current (not ended) subscription, whether or not its period has run out.
pub fn current(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .filter(subscriptions::status.ne(Status::Ended.as_str()))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()
}

/// Fails with a unique violation when the reader already has a current subscription.
pub fn insert(conn: &mut PgConnection, new: &NewSubscription<'_>) -> QueryResult<SubscriptionId> {
    let id = diesel::insert_into(subscriptions::table)
        .values(new)
        .returning(subscriptions::id)
        .get_result(conn)?;
    note(Change::Reader(new.user_id));
    Ok(id)
}

/// Cancels at the period's end: it no longer renews.
pub fn cancel(conn: &mut PgConnection, id: SubscriptionId, now: OffsetDateTime) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::status.eq(Status::Canceled.as_str()),
            subscriptions::canceled_at.eq(Some(now)),
            subscriptions::renews.eq(false),
        ))
        .returning(subscriptions::user_id)
        .get_result(conn)
        .map(|user_id| note(Change::Reader(user_id)))
}

pub fn resume(conn: &mut PgConnection, id: SubscriptionId) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::status.eq(Status::Active.as_str()),
            subscriptions::canceled_at.eq(None::<OffsetDateTime>),
        ))
        .returning(subscriptions::user_id)
        .get_result(conn)
        .map(|user_id| note(Change::Reader(user_id)))
}

/// Ends it for good at `now`: an ended subscription never renews (the table's CHECK).
pub fn end(conn: &mut PgConnection, id: SubscriptionId, now: OffsetDateTime) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::status.eq(Status::Ended.as_str()),
            subscriptions::ended_at.eq(Some(now)),
            subscriptions::renews.eq(false),
        ))
        .returning(subscriptions::user_id)
        .get_result(conn)
        .map(|user_id| note(Change::Reader(user_id)))
}

/// Whether a subscription row records this payment.
pub fn records_payment(
    conn: &mut PgConnection,
    gateway: &str,
    reference: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        subscriptions::table
            .filter(subscriptions::gateway.eq(gateway))
            .filter(subscriptions::gateway_reference.eq(reference)),
    ))
    .get_result(conn)
}

/// Every subscription of the reader, ended ones included, oldest first.
pub fn records(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<SubscriptionRecord>> {
    subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .order(subscriptions::id)
        .select(SubscriptionRecord::as_select())
        .load(conn)
}

/// Deletes the reader's subscriptions (the account is being deleted, and what accounting
/// needs was copied to `closed_account_payments`); returns how many.
pub fn delete_all(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    let deleted = diesel::delete(subscriptions::table.filter(subscriptions::user_id.eq(user_id)))
        .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(deleted)
}

/// The row recording the processor's subscription `reference`, ended or not.
pub fn find_by_reference(
    conn: &mut PgConnection,
    gateway: &str,
    reference: &str,
) -> QueryResult<Option<SubscriptionRow>> {
    subscriptions::table
        .filter(subscriptions::gateway.eq(gateway))
        .filter(subscriptions::gateway_reference.eq(reference))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()
}

/// Records a processor's subscription for the reader, in the state it reported. Fails with a
/// unique violation when the reader already has a current subscription.
pub fn insert_held(
    conn: &mut PgConnection,
    user_id: UserId,
    gateway: &str,
    reference: &str,
    state: &HeldState<'_>,
) -> QueryResult<SubscriptionId> {
    let id = diesel::insert_into(subscriptions::table)
        .values((
            subscriptions::user_id.eq(user_id),
            subscriptions::gateway.eq(gateway),
            subscriptions::gateway_reference.eq(reference),
            state,
        ))
        .returning(subscriptions::id)
        .get_result(conn)?;
    note(Change::Reader(user_id));
    Ok(id)
}

/// Sets a processor subscription's row to the state the processor reported.
pub fn apply_held(
    conn: &mut PgConnection,
    id: SubscriptionId,
    state: &HeldState<'_>,
) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set(state)
        .returning(subscriptions::user_id)
        .get_result(conn)
        .map(|user_id| note(Change::Reader(user_id)))
}

/// Current subscriptions held by `gateway` whose period ends between `ended_after` and
/// `ends_before`, whose state was last read, and which reconciliation last asked about, before
/// `synced_before`: `(reader, processor reference)`, at most `limit`, those never asked about
/// first, then those asked longest ago (so one that cannot be brought up to date waits its
/// turn).
pub fn due_for_sync(
    conn: &mut PgConnection,
    gateway: &str,
    ended_after: OffsetDateTime,
    ends_before: OffsetDateTime,
    synced_before: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<(UserId, String)>> {
    subscriptions::table
        .filter(subscriptions::status.ne(Status::Ended.as_str()))
        .filter(subscriptions::current_period_end.lt(ends_before))
        .filter(subscriptions::current_period_end.gt(ended_after))
        .filter(subscriptions::gateway.eq(gateway))
        .filter(
            subscriptions::synced_at
                .is_null()
                .or(subscriptions::synced_at.lt(synced_before)),
        )
        .filter(
            subscriptions::checked_at
                .is_null()
                .or(subscriptions::checked_at.lt(synced_before)),
        )
        .order((
            subscriptions::checked_at.asc().nulls_first(),
            subscriptions::synced_at.asc().nulls_first(),
        ))
        .limit(limit)
        .select((subscriptions::user_id, subscriptions::gateway_reference))
        .load(conn)
}

/// Notes that reconciliation asked the processor about subscription `reference` at `at`,
/// whatever the answer.
pub fn mark_checked(
    conn: &mut PgConnection,
    gateway: &str,
    reference: &str,
    at: OffsetDateTime,
) -> QueryResult<()> {
    let readers: Vec<UserId> = diesel::update(
        subscriptions::table
            .filter(subscriptions::gateway.eq(gateway))
            .filter(subscriptions::gateway_reference.eq(reference)),
    )
    .set(subscriptions::checked_at.eq(Some(at)))
    .returning(subscriptions::user_id)
    .get_results(conn)?;
    for user_id in readers {
        note(Change::Reader(user_id));
    }
    Ok(())
}

/// Notes the offer a subscription began with, and the end of its free trial (if it is one)
/// and whether the trial started without a payment method.
pub fn set_offer(
    conn: &mut PgConnection,
    id: SubscriptionId,
    offer_code: &str,
    trial_ends_at: Option<OffsetDateTime>,
    trial_without_card: bool,
) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::offer_code.eq(Some(offer_code)),
            subscriptions::trial_ends_at.eq(trial_ends_at),
            subscriptions::trial_without_card.eq(trial_without_card),
        ))
        .returning(subscriptions::user_id)
        .get_result(conn)
        .map(|user_id| note(Change::Reader(user_id)))
}

/// Notes the offer a processor's subscription began with, as the processor applies it: the
/// end of its free trial (if it has one) and whether it has no payment method for the charge
/// at its end, and until when its discount lasts.
pub fn set_held_offer(
    conn: &mut PgConnection,
    id: SubscriptionId,
    offer_code: &str,
    trial_ends_at: Option<OffsetDateTime>,
    trial_without_card: bool,
    discount_ends_at: Option<OffsetDateTime>,
) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::offer_code.eq(Some(offer_code)),
            subscriptions::trial_ends_at.eq(trial_ends_at),
            subscriptions::trial_without_card.eq(trial_without_card),
            subscriptions::discount_ends_at.eq(discount_ends_at),
        ))
        .returning(subscriptions::user_id)
        .get_result(conn)
        .map(|user_id| note(Change::Reader(user_id)))
}

/// Current trials held by `gateway` that end before `ends_before` and are still active (a
/// canceled trial just ends): `(reader, subscription, started without a card)`, at most
/// `limit`, the earliest first.
pub fn trials_ending(
    conn: &mut PgConnection,
    gateway: &str,
    ends_before: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<(UserId, SubscriptionId, bool)>> {
    subscriptions::table
        .filter(subscriptions::status.eq(Status::Active.as_str()))
        .filter(subscriptions::gateway.eq(gateway))
        .filter(subscriptions::trial_ends_at.lt(ends_before))
        .order(subscriptions::trial_ends_at)
        .limit(limit)
        .select((
            subscriptions::user_id,
            subscriptions::id,
            subscriptions::trial_without_card,
        ))
        .load(conn)
}

/// Current trials held by `gateway` ending before `ends_before` whose reader was not told
/// yet: `(reader, subscription)`, at most `limit`.
pub fn trials_to_notify(
    conn: &mut PgConnection,
    gateway: &str,
    ends_before: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<(UserId, SubscriptionId)>> {
    subscriptions::table
        .filter(subscriptions::status.eq(Status::Active.as_str()))
        .filter(subscriptions::gateway.eq(gateway))
        .filter(subscriptions::trial_ends_at.lt(ends_before))
        .filter(subscriptions::trial_notice_at.is_null())
        .order(subscriptions::trial_ends_at)
        .limit(limit)
        .select((subscriptions::user_id, subscriptions::id))
        .load(conn)
}

/// Notes that the reader was told their trial ends; false when someone already had.
pub fn mark_trial_notice(
    conn: &mut PgConnection,
    id: SubscriptionId,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::trial_notice_at.is_null()),
    )
    .set(subscriptions::trial_notice_at.eq(Some(now)))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Notes that the reader was shown a retention offer for this subscription; false when they
/// had been already.
pub fn mark_retention_offered(
    conn: &mut PgConnection,
    id: SubscriptionId,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::retention_offered_at.is_null()),
    )
    .set(subscriptions::retention_offered_at.eq(Some(now)))
    .returning(subscriptions::user_id)
    .get_result::<UserId>(conn)
    .optional()
    .map(|marked| {
        marked.inspect(|user_id| note(Change::Reader(*user_id)));
        marked.is_some()
    })
}

/// Takes back a discount noted by [`set_discount`] (the processor did not apply it): false
/// when the subscription no longer notes offer `offer_code` from `from`.
pub fn clear_discount(
    conn: &mut PgConnection,
    id: SubscriptionId,
    offer_code: &str,
    from: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::offer_code.eq(offer_code))
            .filter(subscriptions::discount_from.eq(from)),
    )
    .set((
        subscriptions::offer_code.eq(None::<String>),
        subscriptions::discount_from.eq(None::<OffsetDateTime>),
        subscriptions::discount_ends_at.eq(None::<OffsetDateTime>),
    ))
    .returning(subscriptions::user_id)
    .get_result::<UserId>(conn)
    .optional()
    .map(|cleared| {
        cleared.inspect(|user_id| note(Change::Reader(*user_id)));
        cleared.is_some()
    })
}

/// Notes a discount taken on the subscription (a retention offer), applying to the periods
/// charged from `from`.
pub fn set_discount(
    conn: &mut PgConnection,
    id: SubscriptionId,
    offer_code: &str,
    from: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((
            subscriptions::offer_code.eq(Some(offer_code)),
            subscriptions::discount_from.eq(Some(from)),
        ))
        .returning(subscriptions::user_id)
        .get_result(conn)
        .map(|user_id| note(Change::Reader(user_id)))
}
