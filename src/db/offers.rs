//! Offers and their redemptions. A redemption is taken with one conditional UPDATE
//! (`take`): the count only moves while the offer is open and under its limit, so however
//! many requests race, never more redemptions than the limit (the table's CHECK agrees). The
//! writes that redeem are made by `billing` with the reader's lock held.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::domain::ids::UserId;
use crate::models::{NewOffer, OfferRedemption, OfferRow};
use crate::schema::{offer_redemptions, offers};

/// Stores a new offer; false when the code is taken.
pub fn insert(conn: &mut PgConnection, new: &NewOffer<'_>) -> QueryResult<bool> {
    diesel::insert_into(offers::table)
        .values(new)
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|inserted| inserted > 0)
}

/// The offer with this (normalised) code.
pub fn find(conn: &mut PgConnection, code: &str) -> QueryResult<Option<OfferRow>> {
    offers::table
        .find(code)
        .select(OfferRow::as_select())
        .first(conn)
        .optional()
}

/// Every offer, newest first.
pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<OfferRow>> {
    offers::table
        .order(offers::created_at.desc())
        .select(OfferRow::as_select())
        .load(conn)
}

/// Counts one more redemption if the offer is open at `now` and under its limit; false when
/// it is not (ended, used up, or unknown).
pub fn take(conn: &mut PgConnection, code: &str, now: OffsetDateTime) -> QueryResult<bool> {
    diesel::update(
        offers::table
            .find(code)
            .filter(offers::ends_at.is_null().or(offers::ends_at.gt(now)))
            .filter(
                offers::redemption_limit
                    .is_null()
                    .or(offers::redeemed.lt(offers::redemption_limit.assume_not_null())),
            ),
    )
    .set(offers::redeemed.eq(offers::redeemed + 1))
    .execute(conn)
    .map(|updated| updated > 0)
}

/// Records that the reader redeemed the offer; false when they already had.
pub fn record_redemption(
    conn: &mut PgConnection,
    code: &str,
    user_id: UserId,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::insert_into(offer_redemptions::table)
        .values((
            offer_redemptions::offer_code.eq(code),
            offer_redemptions::user_id.eq(user_id),
            offer_redemptions::redeemed_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|inserted| inserted > 0)
}

/// The offers the reader redeemed, oldest first, for their data export.
pub fn redemptions_of(
    conn: &mut PgConnection,
    user_id: UserId,
) -> QueryResult<Vec<OfferRedemption>> {
    offer_redemptions::table
        .filter(offer_redemptions::user_id.eq(user_id))
        .order((
            offer_redemptions::redeemed_at,
            offer_redemptions::offer_code,
        ))
        .select(OfferRedemption::as_select())
        .load(conn)
}

/// Whether the reader has redeemed the offer.
pub fn redeemed_by(conn: &mut PgConnection, code: &str, user_id: UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        offer_redemptions::table
            .filter(offer_redemptions::offer_code.eq(code))
            .filter(offer_redemptions::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Deletes the reader's redemption of the offer; false when there was none.
pub fn forget_redemption(
    conn: &mut PgConnection,
    code: &str,
    user_id: UserId,
) -> QueryResult<bool> {
    diesel::delete(
        offer_redemptions::table
            .filter(offer_redemptions::offer_code.eq(code))
            .filter(offer_redemptions::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|deleted| deleted > 0)
}

/// Counts one redemption fewer (one was given back).
pub fn untake(conn: &mut PgConnection, code: &str) -> QueryResult<()> {
    diesel::update(offers::table.find(code).filter(offers::redeemed.gt(0)))
        .set(offers::redeemed.eq(offers::redeemed - 1))
        .execute(conn)
        .map(|_| ())
}

/// The retention offers on plan `plan_code`, newest first, whether or not they are open.
pub fn retention_for(conn: &mut PgConnection, plan_code: &str) -> QueryResult<Vec<OfferRow>> {
    offers::table
        .filter(offers::retention.eq(true))
        .filter(offers::plan_code.eq(plan_code))
        .order((offers::created_at.desc(), offers::code))
        .select(OfferRow::as_select())
        .load(conn)
}
