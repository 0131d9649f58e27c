//! Payments in progress: at most one per reader (the database's unique key decides).

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::schema::checkouts;

/// Starts a checkout, clearing one of the reader's left over from a crash (started before
/// `stale_before`). `None` when another one is in progress.
pub fn begin(
    conn: &mut PgConnection,
    user_id: i64,
    plan_code: &str,
    now: OffsetDateTime,
    stale_before: OffsetDateTime,
) -> QueryResult<Option<i64>> {
    diesel::delete(
        checkouts::table
            .filter(checkouts::user_id.eq(user_id))
            .filter(checkouts::started_at.lt(stale_before)),
    )
    .execute(conn)?;
    diesel::insert_into(checkouts::table)
        .values((
            checkouts::user_id.eq(user_id),
            checkouts::plan_code.eq(plan_code),
            checkouts::started_at.eq(now),
        ))
        .on_conflict(checkouts::user_id)
        .do_nothing()
        .returning(checkouts::id)
        .get_result(conn)
        .optional()
}

/// Ends a checkout; returns whether it was still there.
pub fn finish(conn: &mut PgConnection, checkout_id: i64) -> QueryResult<bool> {
    diesel::delete(checkouts::table.find(checkout_id))
        .execute(conn)
        .map(|n| n > 0)
}
