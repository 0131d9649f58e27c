//! Gift subscriptions (`gift_subscriptions`): bought, paid, redeemed. A gift's buyer writes it
//! with the buyer's lock held (buying, confirming its payment); its redemption with the
//! redeeming reader's lock held, then this row's ([`lock`]). The two never overlap: a gift is
//! redeemed only once paid, and nothing changes a paid gift but its redemption.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::domain::gift_subscription::GiftState;
use crate::domain::ids::{GiftId, GrantId, UserId};
use crate::models::{GiftSubscription, NewGiftSubscription};
use crate::schema::{gift_subscriptions, users};

/// The gift the buyer's form `form_key` made, if it made one.
pub fn by_form(
    conn: &mut PgConnection,
    buyer_id: UserId,
    form_key: &str,
) -> QueryResult<Option<GiftSubscription>> {
    gift_subscriptions::table
        .filter(gift_subscriptions::buyer_id.eq(buyer_id))
        .filter(gift_subscriptions::form_key.eq(form_key))
        .select(GiftSubscription::as_select())
        .first(conn)
        .optional()
}

/// How many gifts the buyer began buying since `since`, paid or not.
pub fn bought_since(
    conn: &mut PgConnection,
    buyer_id: UserId,
    since: OffsetDateTime,
) -> QueryResult<i64> {
    gift_subscriptions::table
        .filter(gift_subscriptions::buyer_id.eq(buyer_id))
        .filter(gift_subscriptions::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// Records a gift whose payment is about to be taken.
pub fn insert(
    conn: &mut PgConnection,
    new: &NewGiftSubscription<'_>,
) -> QueryResult<GiftSubscription> {
    diesel::insert_into(gift_subscriptions::table)
        .values(new)
        .returning(GiftSubscription::as_returning())
        .get_result(conn)
}

/// The gift `id`.
pub fn find(conn: &mut PgConnection, id: GiftId) -> QueryResult<Option<GiftSubscription>> {
    gift_subscriptions::table
        .find(id)
        .select(GiftSubscription::as_select())
        .first(conn)
        .optional()
}

/// The gift `id`, with its buyer's address (`None` once their account is closed).
pub fn find_with_buyer(
    conn: &mut PgConnection,
    id: GiftId,
) -> QueryResult<Option<(GiftSubscription, Option<String>)>> {
    gift_subscriptions::table
        .left_join(users::table.on(users::id.nullable().eq(gift_subscriptions::buyer_id)))
        .filter(gift_subscriptions::id.eq(id))
        .select((GiftSubscription::as_select(), users::email.nullable()))
        .first(conn)
        .optional()
}

/// The gift `id`, locked until the transaction ends.
pub fn lock(conn: &mut PgConnection, id: GiftId) -> QueryResult<Option<GiftSubscription>> {
    gift_subscriptions::table
        .find(id)
        .select(GiftSubscription::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Marks a pending gift paid with the processor's reference; false when it was not pending.
pub fn mark_paid(
    conn: &mut PgConnection,
    id: GiftId,
    reference: &str,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        gift_subscriptions::table
            .find(id)
            .filter(gift_subscriptions::status.eq(GiftState::Pending.as_str())),
    )
    .set((
        gift_subscriptions::status.eq(GiftState::Paid.as_str()),
        gift_subscriptions::gateway_reference.eq(reference),
        gift_subscriptions::paid_at.eq(now),
    ))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Notes the processor's checkout opened to pay a pending gift; false when it was not pending
/// or has one already.
pub fn set_checkout(conn: &mut PgConnection, id: GiftId, reference: &str) -> QueryResult<bool> {
    diesel::update(
        gift_subscriptions::table
            .find(id)
            .filter(gift_subscriptions::status.eq(GiftState::Pending.as_str()))
            .filter(gift_subscriptions::checkout_reference.is_null()),
    )
    .set(gift_subscriptions::checkout_reference.eq(reference))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// The gift paid through the processor's checkout `reference`.
pub fn by_checkout(
    conn: &mut PgConnection,
    reference: &str,
) -> QueryResult<Option<GiftSubscription>> {
    gift_subscriptions::table
        .filter(gift_subscriptions::checkout_reference.eq(reference))
        .select(GiftSubscription::as_select())
        .first(conn)
        .optional()
}

/// Marks a pending gift unpaid (declined, or never charged); false when it was not pending.
pub fn mark_unpaid(conn: &mut PgConnection, id: GiftId) -> QueryResult<bool> {
    diesel::update(
        gift_subscriptions::table
            .find(id)
            .filter(gift_subscriptions::status.eq(GiftState::Pending.as_str())),
    )
    .set(gift_subscriptions::status.eq(GiftState::Unpaid.as_str()))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Marks a paid gift redeemed by the reader, with the access it gave; false when it was not
/// paid (redeemed already, or not a gift yet).
pub fn mark_redeemed(
    conn: &mut PgConnection,
    id: GiftId,
    reader: UserId,
    grant: GrantId,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::update(
        gift_subscriptions::table
            .find(id)
            .filter(gift_subscriptions::status.eq(GiftState::Paid.as_str())),
    )
    .set((
        gift_subscriptions::status.eq(GiftState::Redeemed.as_str()),
        gift_subscriptions::redeemed_by.eq(reader),
        gift_subscriptions::redeemed_at.eq(now),
        gift_subscriptions::grant_id.eq(grant),
    ))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Blanks the name and message the buyer wrote on every gift they gave (their account is
/// being deleted; the gifts and their payments stay).
pub fn forget_buyer_words(conn: &mut PgConnection, buyer_id: UserId) -> QueryResult<usize> {
    diesel::update(gift_subscriptions::table.filter(gift_subscriptions::buyer_id.eq(buyer_id)))
        .set((
            gift_subscriptions::from_name.eq(""),
            gift_subscriptions::message.eq(""),
        ))
        .execute(conn)
}

/// Gifts still pending that were begun before `before`, oldest first; at most `most`.
pub fn pending_before(
    conn: &mut PgConnection,
    before: OffsetDateTime,
    most: i64,
) -> QueryResult<Vec<GiftSubscription>> {
    gift_subscriptions::table
        .filter(gift_subscriptions::status.eq(GiftState::Pending.as_str()))
        .filter(gift_subscriptions::created_at.lt(before))
        .order(gift_subscriptions::created_at.asc())
        .limit(most)
        .select(GiftSubscription::as_select())
        .load(conn)
}

/// The gifts the reader bought, newest first; at most `most`.
pub fn bought_by(
    conn: &mut PgConnection,
    buyer_id: UserId,
    most: i64,
) -> QueryResult<Vec<GiftSubscription>> {
    gift_subscriptions::table
        .filter(gift_subscriptions::buyer_id.eq(buyer_id))
        .order(gift_subscriptions::id.desc())
        .limit(most)
        .select(GiftSubscription::as_select())
        .load(conn)
}

/// The gifts the reader redeemed, newest first (for their data export).
pub fn redeemed_by(conn: &mut PgConnection, reader: UserId) -> QueryResult<Vec<GiftSubscription>> {
    gift_subscriptions::table
        .filter(gift_subscriptions::redeemed_by.eq(reader))
        .order(gift_subscriptions::id.desc())
        .select(GiftSubscription::as_select())
        .load(conn)
}
