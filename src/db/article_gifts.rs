//! Articles subscribers gifted: one row per article a reader gifted in a calendar month. The
//! rows count the month's gifts (read and written under the reader's lock, see
//! `paywall::gifts`) and are what a gift link names. A row is kept while its month is the
//! current one or its link still opens the article; housekeeping deletes the rest.

use diesel::prelude::*;
use time::{Date, OffsetDateTime};

use super::changes::{Change, note};
use crate::domain::ids::{ArticleGiftId, ArticleId, UserId};
use crate::models::{ArticleGift, NewArticleGift};
use crate::schema::article_gifts;

/// The articles the reader gifted in the month starting on `month`, in the order given.
pub fn given_in_month(
    conn: &mut PgConnection,
    user_id: UserId,
    month: Date,
) -> QueryResult<Vec<ArticleGift>> {
    article_gifts::table
        .filter(article_gifts::user_id.eq(user_id))
        .filter(article_gifts::month.eq(month))
        .order(article_gifts::id)
        .select(ArticleGift::as_select())
        .load(conn)
}

/// Records a gift. Fails with a unique violation when the reader gifted the article in that
/// month already (the caller holds the reader's lock and looked first).
pub fn insert(conn: &mut PgConnection, new: &NewArticleGift) -> QueryResult<ArticleGift> {
    let gift = diesel::insert_into(article_gifts::table)
        .values(new)
        .returning(ArticleGift::as_returning())
        .get_result(conn)?;
    note(Change::Reader(new.user_id));
    Ok(gift)
}

/// Makes gift `id` open its article until `expires_at`; returns the gift.
pub fn renew(
    conn: &mut PgConnection,
    id: ArticleGiftId,
    expires_at: OffsetDateTime,
) -> QueryResult<ArticleGift> {
    let gift: ArticleGift = diesel::update(article_gifts::table.find(id))
        .set(article_gifts::expires_at.eq(expires_at))
        .returning(ArticleGift::as_returning())
        .get_result(conn)?;
    note(Change::Reader(gift.user_id));
    Ok(gift)
}

/// Whether gift `id` is kept, for `article_id`, and still opens it at `now`.
pub fn opens(
    conn: &mut PgConnection,
    id: ArticleGiftId,
    article_id: ArticleId,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        article_gifts::table
            .find(id)
            .filter(article_gifts::article_id.eq(article_id))
            .filter(article_gifts::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Every gift kept of the reader, oldest first.
pub fn records(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<ArticleGift>> {
    article_gifts::table
        .filter(article_gifts::user_id.eq(user_id))
        .order(article_gifts::id)
        .select(ArticleGift::as_select())
        .load(conn)
}

/// Deletes the reader's gifts (the account is being deleted: its links stop opening
/// anything); returns how many went.
pub fn delete_all(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    let deleted = diesel::delete(article_gifts::table.filter(article_gifts::user_id.eq(user_id)))
        .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(deleted)
}

/// Deletes, in batches, the gifts whose link has run out by `now` and whose month is before
/// the one starting on `this_month`; returns how many went.
pub fn prune(conn: &mut PgConnection, now: OffsetDateTime, this_month: Date) -> QueryResult<usize> {
    use diesel::sql_types::{BigInt, Date as SqlDate, Timestamptz};
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM article_gifts WHERE id IN ( \
               SELECT id FROM article_gifts WHERE expires_at <= $1 AND month < $2 LIMIT $3)",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<SqlDate, _>(this_month)
        .bind::<BigInt, _>(batch)
        .execute(conn)
    })
}
