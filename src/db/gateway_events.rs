//! Processor events applied, each once. `record` is called in the transaction that applies the
//! event's effect: when it finds the event already there, the caller changes nothing.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use time::OffsetDateTime;

use crate::domain::ids::UserId;
use crate::schema::gateway_events;

/// Whether the event was applied already (a quick look before asking the processor anything).
pub fn seen(conn: &mut PgConnection, gateway: &str, event_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        gateway_events::table.find((gateway, event_id)),
    ))
    .get_result(conn)
}

/// Records the event; false when it was recorded already (by an earlier delivery or one
/// racing this one: the unique key decides).
pub fn record(
    conn: &mut PgConnection,
    gateway: &str,
    event_id: &str,
    event_type: &str,
    user_id: Option<UserId>,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::insert_into(gateway_events::table)
        .values((
            gateway_events::gateway.eq(gateway),
            gateway_events::event_id.eq(event_id),
            gateway_events::event_type.eq(event_type),
            gateway_events::user_id.eq(user_id),
            gateway_events::applied_at.eq(now),
        ))
        .on_conflict((gateway_events::gateway, gateway_events::event_id))
        .do_nothing()
        .execute(conn)
        .map(|inserted| inserted > 0)
}

/// Deletes events applied before `applied_before`, in batches, through the index.
pub fn prune(conn: &mut PgConnection, applied_before: OffsetDateTime) -> QueryResult<usize> {
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM gateway_events WHERE (gateway, event_id) IN ( \
               SELECT gateway, event_id FROM gateway_events WHERE applied_at < $1 LIMIT $2)",
        )
        .bind::<Timestamptz, _>(applied_before)
        .bind::<BigInt, _>(batch)
        .execute(conn)
    })
}
