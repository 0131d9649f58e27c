//! Articles. Bodies are stored twice: the Markdown as written and the sanitised HTML made from
//! it once, when stored.
//!
//! Rules: what readers may see is decided here, in the queries, by one condition: the
//! publication time has come (`published_at <= now`); drafts have none, scheduled articles
//! have one still ahead. Reads of public articles go through the few `list_*`/`find_*`/`feed`/
//! sitemap functions below and every write through `insert`, `update`, `insert_all` and
//! `set_feature`, so a cache of articles has one place to learn of each change. Lists are
//! bounded by the caller's page size, never by the size of the archive.

use diesel::dsl::case_when;
use diesel::pg::Pg;
use diesel::prelude::*;

use super::changes::{Change, note};
use time::OffsetDateTime;

use crate::domain::ids::{ArticleId, MediaId, UserId};

use crate::models::{
    Article, ArticleSummary, DeskArticle, DeskEntry, FeedArticle, NewArticle, SitemapEntry,
};
use crate::schema::articles;

/// What readers may see at `now` (the publication time has come), newest first.
fn published_newest_first(now: OffsetDateTime) -> articles::BoxedQuery<'static, Pg> {
    articles::table
        .filter(articles::published_at.le(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .into_boxed()
}

/// Published articles, newest first: `limit` of them after skipping `offset`.
pub fn list_published(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleSummary>> {
    published_newest_first(now)
        .offset(offset)
        .limit(limit)
        .select(ArticleSummary::as_select())
        .load(conn)
}

/// Published articles under one byline, newest first, a page at a time.
pub fn list_by_author(
    conn: &mut PgConnection,
    author_slug: &str,
    now: OffsetDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleSummary>> {
    published_newest_first(now)
        .filter(articles::author_slug.eq(author_slug))
        .offset(offset)
        .limit(limit)
        .select(ArticleSummary::as_select())
        .load(conn)
}

/// A published article by id.
pub fn find_published(
    conn: &mut PgConnection,
    id: ArticleId,
    now: OffsetDateTime,
) -> QueryResult<Option<Article>> {
    articles::table
        .find(id)
        .filter(articles::published_at.le(now))
        .select(Article::as_select())
        .first(conn)
        .optional()
}

/// An article that has a publication time, past or still ahead (a draft has none), by id:
/// whether readers may see it yet is the caller's to decide against the clock, so a kept copy
/// stays right when its time comes.
pub fn find_dated(conn: &mut PgConnection, id: ArticleId) -> QueryResult<Option<Article>> {
    articles::table
        .find(id)
        .filter(articles::published_at.is_not_null())
        .select(Article::as_select())
        .first(conn)
        .optional()
}

/// The first publication time after `now`: until then, every list of published articles
/// stays as it is (unless an article is written).
pub fn next_publication_after(
    conn: &mut PgConnection,
    now: OffsetDateTime,
) -> QueryResult<Option<OffsetDateTime>> {
    articles::table
        .filter(articles::published_at.gt(now))
        .select(diesel::dsl::min(articles::published_at))
        .first(conn)
}

/// The newest published articles for the feed. A premium article's body is not even read.
pub fn feed(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<FeedArticle>> {
    published_newest_first(now)
        .limit(limit)
        .select((
            ArticleSummary::as_select(),
            case_when(articles::is_premium.eq(false), articles::body_html),
        ))
        .load(conn)
}

/// The highest id of an article published at `now`, if any: how far the sitemap's files reach.
pub fn last_published_id(
    conn: &mut PgConnection,
    now: OffsetDateTime,
) -> QueryResult<Option<ArticleId>> {
    articles::table
        .filter(articles::published_at.le(now))
        .select(diesel::dsl::max(articles::id))
        .first(conn)
}

/// Whether an article whose id is in `ids` is published at `now`.
pub fn any_published(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    ids: std::ops::Range<ArticleId>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        articles::table
            .filter(articles::id.ge(ids.start))
            .filter(articles::id.lt(ids.end))
            .filter(articles::published_at.le(now)),
    ))
    .get_result(conn)
}

/// The address and dates of every article published at `now` whose id is in `ids`, by id:
/// one range of the primary key, so a sitemap file is as large as its range and no larger.
pub fn sitemap(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    ids: std::ops::Range<ArticleId>,
) -> QueryResult<Vec<SitemapEntry>> {
    articles::table
        .filter(articles::id.ge(ids.start))
        .filter(articles::id.lt(ids.end))
        .filter(articles::published_at.le(now))
        .order(articles::id)
        .select(SitemapEntry::as_select())
        .load(conn)
}

/// Any article, at any stage, for the desk.
pub fn find_for_desk(conn: &mut PgConnection, id: ArticleId) -> QueryResult<Option<DeskArticle>> {
    articles::table
        .find(id)
        .select(DeskArticle::as_select())
        .first(conn)
        .optional()
}

/// As [`find_for_desk`], holding the row until the transaction ends, so two saves of one
/// article run one after the other, each seeing what the last one wrote.
pub fn lock_for_edit(conn: &mut PgConnection, id: ArticleId) -> QueryResult<Option<DeskArticle>> {
    articles::table
        .find(id)
        .select(DeskArticle::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Drafts, the most recently edited first.
pub fn list_drafts(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<DeskEntry>> {
    articles::table
        .filter(articles::published_at.is_null())
        .order((articles::updated_at.desc(), articles::id.desc()))
        .limit(limit)
        .select(DeskEntry::as_select())
        .load(conn)
}

/// Articles whose publication time is still ahead, the latest first.
pub fn list_scheduled(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    limit: i64,
) -> QueryResult<Vec<DeskEntry>> {
    articles::table
        .filter(articles::published_at.gt(now))
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit)
        .select(DeskEntry::as_select())
        .load(conn)
}

/// Published articles for the desk, newest first, a page at a time.
pub fn list_published_for_desk(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<DeskEntry>> {
    published_newest_first(now)
        .offset(offset)
        .limit(limit)
        .select(DeskEntry::as_select())
        .load(conn)
}

/// Whether another article than `except` has this slug.
pub fn slug_taken(
    conn: &mut PgConnection,
    slug: &str,
    except: Option<ArticleId>,
) -> QueryResult<bool> {
    let mut query = articles::table
        .filter(articles::slug.eq(slug))
        .select(articles::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(articles::id.ne(id));
    }
    diesel::select(diesel::dsl::exists(query)).get_result(conn)
}

/// Stores a new article written by `author_id` (none for imports); fails with a unique
/// violation when its slug is taken.
pub fn insert(
    conn: &mut PgConnection,
    new: &NewArticle<'_>,
    author_id: Option<UserId>,
) -> QueryResult<ArticleId> {
    let id = diesel::insert_into(articles::table)
        .values((new, articles::author_id.eq(author_id)))
        .returning(articles::id)
        .get_result(conn)?;
    note(Change::Article(id));
    Ok(id)
}

/// Saves an edit of article `id` (its text and its publication); returns whether it exists.
pub fn update(
    conn: &mut PgConnection,
    id: ArticleId,
    article: &NewArticle<'_>,
) -> QueryResult<bool> {
    let rows = diesel::update(articles::table.find(id))
        .set(article)
        .execute(conn)?;
    note(Change::Article(id));
    Ok(rows == 1)
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

/// Stores many articles at once (the demo content); gives each one's id with its slug.
pub fn insert_all(
    conn: &mut PgConnection,
    new: &[NewArticle<'_>],
) -> QueryResult<Vec<(ArticleId, String)>> {
    let inserted = diesel::insert_into(articles::table)
        .values(new)
        .returning((articles::id, articles::slug))
        .get_results(conn)?;
    note(Change::Everything);
    Ok(inserted)
}

/// Sets an article's feature image (none with `None`), with the words shown with it; returns
/// whether the article exists.
pub fn set_feature(
    conn: &mut PgConnection,
    id: ArticleId,
    picture: Option<MediaId>,
    alt: &str,
    credit: &str,
) -> QueryResult<bool> {
    let rows = diesel::update(articles::table.find(id))
        .set((
            articles::feature_media_id.eq(picture),
            articles::feature_alt.eq(alt),
            articles::feature_credit.eq(credit),
        ))
        .execute(conn)?;
    note(Change::Article(id));
    Ok(rows == 1)
}
