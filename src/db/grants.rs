//! Access grants (`access_grants`): complimentary access and redeemed gifts. A reader has at
//! most one comp row (the database enforces it); giving one again moves its dates. Writes are
//! made with the reader's lock held, and each notes a change of its reader for the caches (the
//! table's trigger tells the other instances).

use diesel::prelude::*;
use time::OffsetDateTime;

use super::changes::{Change, note};
use crate::domain::grant::GrantKind;
use crate::domain::ids::{GrantId, UserId};
use crate::models::AccessGrant;
use crate::schema::{access_grants, users};

/// The reader's grant that ends last, current or not: the one that decides their access.
pub fn latest(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<AccessGrant>> {
    access_grants::table
        .filter(access_grants::user_id.eq(user_id))
        .order((access_grants::ends_at.desc(), access_grants::id.desc()))
        .select(AccessGrant::as_select())
        .first(conn)
        .optional()
}

/// Every grant of the reader, newest first (for their data export).
pub fn records(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<AccessGrant>> {
    access_grants::table
        .filter(access_grants::user_id.eq(user_id))
        .order(access_grants::id.desc())
        .select(AccessGrant::as_select())
        .load(conn)
}

/// The reader's complimentary grant, current or not.
pub fn comp(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<AccessGrant>> {
    access_grants::table
        .filter(access_grants::user_id.eq(user_id))
        .filter(access_grants::kind.eq(GrantKind::Comp.as_str()))
        .select(AccessGrant::as_select())
        .first(conn)
        .optional()
}

/// Gives the reader complimentary access from `starts_at` until `ends_at`, replacing their comp
/// row's dates when they have one (its reminder is then due again).
pub fn set_comp(
    conn: &mut PgConnection,
    user_id: UserId,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    granted_by: Option<UserId>,
) -> QueryResult<()> {
    let updated = diesel::update(
        access_grants::table
            .filter(access_grants::user_id.eq(user_id))
            .filter(access_grants::kind.eq(GrantKind::Comp.as_str())),
    )
    .set((
        access_grants::starts_at.eq(starts_at),
        access_grants::ends_at.eq(ends_at),
        access_grants::granted_by.eq(granted_by),
        access_grants::reminded_at.eq(None::<OffsetDateTime>),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(access_grants::table)
            .values((
                access_grants::user_id.eq(user_id),
                access_grants::kind.eq(GrantKind::Comp.as_str()),
                access_grants::starts_at.eq(starts_at),
                access_grants::ends_at.eq(ends_at),
                access_grants::granted_by.eq(granted_by),
                access_grants::created_at.eq(starts_at),
            ))
            .execute(conn)?;
    }
    note(Change::Reader(user_id));
    Ok(())
}

/// Ends the reader's complimentary access at `now` if it runs past it; returns whether it did.
pub fn end_comp(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let ended = diesel::update(
        access_grants::table
            .filter(access_grants::user_id.eq(user_id))
            .filter(access_grants::kind.eq(GrantKind::Comp.as_str()))
            .filter(access_grants::starts_at.le(now))
            .filter(access_grants::ends_at.gt(now)),
    )
    .set(access_grants::ends_at.eq(now))
    .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(ended > 0)
}

/// Complimentary grants not over at `now`, with their reader's e-mail, ending soonest first;
/// at most `most`.
pub fn comps_running(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    most: i64,
) -> QueryResult<Vec<(String, AccessGrant)>> {
    access_grants::table
        .inner_join(users::table.on(users::id.eq(access_grants::user_id)))
        .filter(access_grants::kind.eq(GrantKind::Comp.as_str()))
        .filter(access_grants::ends_at.gt(now))
        .order((access_grants::ends_at.asc(), users::email.asc()))
        .limit(most)
        .select((users::email, AccessGrant::as_select()))
        .load(conn)
}

/// Grants current at `now` that end by `ends_by` and whose reader was not invited to subscribe
/// yet, with their reader's e-mail, soonest first; at most `most`. Each row stays locked until
/// the transaction ends, and rows another transaction holds are skipped, so two instances
/// never take the same grant.
pub fn claim_reminders_due(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    ends_by: OffsetDateTime,
    most: i64,
) -> QueryResult<Vec<(String, AccessGrant)>> {
    let grants: Vec<AccessGrant> = access_grants::table
        .filter(access_grants::reminded_at.is_null())
        .filter(access_grants::starts_at.le(now))
        .filter(access_grants::ends_at.gt(now))
        .filter(access_grants::ends_at.le(ends_by))
        .order(access_grants::ends_at.asc())
        .limit(most)
        .select(AccessGrant::as_select())
        .for_update()
        .skip_locked()
        .load(conn)?;
    let readers: Vec<(UserId, String)> = users::table
        .filter(users::id.eq_any(grants.iter().map(|grant| grant.user_id)))
        .select((users::id, users::email))
        .load(conn)?;
    Ok(grants
        .into_iter()
        .filter_map(|grant| {
            let (_, email) = readers.iter().find(|(id, _)| *id == grant.user_id)?;
            Some((email.clone(), grant))
        })
        .collect())
}

/// Notes that the grant's reader was invited to subscribe.
pub fn mark_reminded(
    conn: &mut PgConnection,
    grant: &AccessGrant,
    now: OffsetDateTime,
) -> QueryResult<()> {
    diesel::update(access_grants::table.find(grant.id))
        .set(access_grants::reminded_at.eq(now))
        .execute(conn)?;
    note(Change::Reader(grant.user_id));
    Ok(())
}

/// Gives the reader a redeemed gift's access from `starts_at` until `ends_at`; returns its id.
pub fn give_gift(
    conn: &mut PgConnection,
    user_id: UserId,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
) -> QueryResult<GrantId> {
    let id = diesel::insert_into(access_grants::table)
        .values((
            access_grants::user_id.eq(user_id),
            access_grants::kind.eq(GrantKind::Gift.as_str()),
            access_grants::starts_at.eq(starts_at),
            access_grants::ends_at.eq(ends_at),
            access_grants::created_at.eq(starts_at),
        ))
        .returning(access_grants::id)
        .get_result(conn)?;
    note(Change::Reader(user_id));
    Ok(id)
}
