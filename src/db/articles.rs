//! Articles. Bodies are stored twice: the Markdown as written and the sanitised HTML made from
//! it once, when stored.

use diesel::prelude::*;
use time::OffsetDateTime;

use crate::models::{Article, ArticleSummary, NewArticle};
use crate::schema::articles;

/// Published articles, newest first.
pub fn list_published(
    conn: &mut PgConnection,
    now: OffsetDateTime,
) -> QueryResult<Vec<ArticleSummary>> {
    articles::table
        .filter(articles::published_at.le(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .select(ArticleSummary::as_select())
        .load(conn)
}

/// A published article by id.
pub fn find_published(
    conn: &mut PgConnection,
    id: i64,
    now: OffsetDateTime,
) -> QueryResult<Option<Article>> {
    articles::table
        .find(id)
        .filter(articles::published_at.le(now))
        .select(Article::as_select())
        .first(conn)
        .optional()
}

/// Locks the table against other writers until the transaction ends, so two instances
/// starting at once cannot both seed an empty table.
pub fn lock_for_seeding(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("LOCK TABLE articles IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .map(|_| ())
}

pub fn count(conn: &mut PgConnection) -> QueryResult<i64> {
    articles::table.count().get_result(conn)
}

pub fn insert_all(conn: &mut PgConnection, new: &[NewArticle<'_>]) -> QueryResult<usize> {
    diesel::insert_into(articles::table)
        .values(new)
        .execute(conn)
}
