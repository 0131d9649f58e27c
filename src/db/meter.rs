//! The meter of logged-in readers who do not subscribe: one row per premium article opened,
//! per month. Only the current month decides anything; the previous one is kept as well (a
//! month that just ended may still be looked at), older ones are pruned by housekeeping.

use diesel::prelude::*;
use time::{Date, OffsetDateTime};

use diesel::sql_types::{Array, BigInt, Date as SqlDate, Timestamptz};

use super::changes::{Change, note};
use crate::domain::ids::{ArticleId, UserId};
use crate::models::MeterRead;
use crate::schema::meter_reads;

pub fn opened_in_month(
    conn: &mut PgConnection,
    user_id: UserId,
    month: Date,
) -> QueryResult<Vec<ArticleId>> {
    meter_reads::table
        .filter(meter_reads::user_id.eq(user_id))
        .filter(meter_reads::month.eq(month))
        .order(meter_reads::opened_at)
        .select(meter_reads::article_id)
        .load(conn)
}

/// Records articles as opened this month; ones already recorded, and ids that name no
/// article, are left alone.
pub fn record(
    conn: &mut PgConnection,
    user_id: UserId,
    month: Date,
    article_ids: &[ArticleId],
    now: OffsetDateTime,
) -> QueryResult<usize> {
    let recorded = diesel::sql_query(
        "INSERT INTO meter_reads (user_id, month, article_id, opened_at) \
         SELECT $1, $2, id, $3 FROM articles WHERE id = ANY($4) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<SqlDate, _>(month)
    .bind::<Timestamptz, _>(now)
    .bind::<Array<BigInt>, _>(article_ids)
    .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(recorded)
}

/// Every read kept of the reader, oldest first.
pub fn records(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<MeterRead>> {
    meter_reads::table
        .filter(meter_reads::user_id.eq(user_id))
        .order((meter_reads::month, meter_reads::opened_at))
        .select(MeterRead::as_select())
        .load(conn)
}

/// Deletes the reader's meter (the account is being deleted); returns how many reads went.
pub fn delete_all(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    let deleted = diesel::delete(meter_reads::table.filter(meter_reads::user_id.eq(user_id)))
        .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(deleted)
}

/// Deletes the reads of months before the one preceding `this_month` (its first day), in
/// batches; returns how many went.
pub fn prune(conn: &mut PgConnection, this_month: Date) -> QueryResult<usize> {
    let previous = this_month
        .previous_day()
        .and_then(|last_day| last_day.replace_day(1).ok())
        .unwrap_or(this_month);
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM meter_reads WHERE (user_id, month, article_id) IN ( \
               SELECT user_id, month, article_id FROM meter_reads WHERE month < $1 LIMIT $2)",
        )
        .bind::<SqlDate, _>(previous)
        .bind::<BigInt, _>(batch)
        .execute(conn)
    })
}
