//! Articles. Bodies are stored twice: the Markdown as written and the sanitised HTML made from
//! it once, when stored.
//!
//! Rules: what readers may see is decided here, in the queries, by one condition: the
//! publication time has come (`published_at <= now`); drafts have none, scheduled articles
//! have one still ahead. Reads of public articles go through the few `list_*`/`find_*`/`feed`/
//! sitemap functions below and every write through `insert` and `update`, so a cache of
//! articles has one place to learn of each change. Lists are bounded by the caller's page
//! size, never by the size of the archive. What readers are given carries its feature image:
//! the pictures of a whole list are read from the library in one more query (none when no
//! article of the list has one).

use std::collections::HashMap;

use diesel::dsl::case_when;
use diesel::pg::Pg;
use diesel::prelude::*;

use super::changes::{Change, note};
use time::OffsetDateTime;

use crate::domain::ids::{ArticleId, MediaId, UserId};
use crate::domain::media::Picture;

use crate::models::{
    Article, ArticleRow, ArticleSummary, DeskArticle, DeskEntry, Feature, FeatureColumns,
    FeedArticle, NewArticle, SitemapEntry, SummaryRow,
};
use crate::schema::articles;

/// The library pictures that are feature images among `ids`, by id: one query (none when
/// no article has one).
fn feature_pictures(
    conn: &mut PgConnection,
    ids: impl Iterator<Item = Option<MediaId>>,
) -> QueryResult<HashMap<MediaId, Picture>> {
    let ids: Vec<MediaId> = ids.flatten().collect();
    super::media::pictures(conn, &ids)
}

/// Summaries with their feature images.
fn summaries(conn: &mut PgConnection, rows: Vec<SummaryRow>) -> QueryResult<Vec<ArticleSummary>> {
    let pictures = feature_pictures(conn, rows.iter().map(|row| row.feature_media_id))?;
    Ok(rows
        .into_iter()
        .map(|row| row.with_pictures(&pictures))
        .collect())
}

/// An article with its feature image.
fn article(conn: &mut PgConnection, row: Option<ArticleRow>) -> QueryResult<Option<Article>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let pictures = feature_pictures(conn, std::iter::once(row.summary.feature_media_id))?;
    Ok(Some(Article::new(
        row.summary.with_pictures(&pictures),
        row.body_html,
    )))
}

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
    let rows = published_newest_first(now)
        .offset(offset)
        .limit(limit)
        .select(SummaryRow::as_select())
        .load(conn)?;
    summaries(conn, rows)
}

/// Published articles under one byline, newest first, a page at a time.
pub fn list_by_author(
    conn: &mut PgConnection,
    author_slug: &str,
    now: OffsetDateTime,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ArticleSummary>> {
    let rows = published_newest_first(now)
        .filter(articles::author_slug.eq(author_slug))
        .offset(offset)
        .limit(limit)
        .select(SummaryRow::as_select())
        .load(conn)?;
    summaries(conn, rows)
}

/// A published article by id.
pub fn find_published(
    conn: &mut PgConnection,
    id: ArticleId,
    now: OffsetDateTime,
) -> QueryResult<Option<Article>> {
    let row = articles::table
        .find(id)
        .filter(articles::published_at.le(now))
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?;
    article(conn, row)
}

/// An article that has a publication time, past or still ahead (a draft has none), by id:
/// whether readers may see it yet is the caller's to decide against the clock, so a kept copy
/// stays right when its time comes.
pub fn find_dated(conn: &mut PgConnection, id: ArticleId) -> QueryResult<Option<Article>> {
    let row = articles::table
        .find(id)
        .filter(articles::published_at.is_not_null())
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?;
    article(conn, row)
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
    let rows: Vec<(SummaryRow, Option<String>)> = published_newest_first(now)
        .limit(limit)
        .select((
            SummaryRow::as_select(),
            case_when(articles::is_premium.eq(false), articles::body_html),
        ))
        .load(conn)?;
    let pictures = feature_pictures(conn, rows.iter().map(|(row, _)| row.feature_media_id))?;
    Ok(rows
        .into_iter()
        .map(|(row, free_body_html)| FeedArticle {
            summary: row.with_pictures(&pictures),
            free_body_html,
        })
        .collect())
}

/// The feature image of an article the desk loaded (a preview, a newsletter).
pub fn feature_of(conn: &mut PgConnection, article: &DeskArticle) -> QueryResult<Option<Feature>> {
    let pictures = feature_pictures(conn, std::iter::once(article.feature_media_id))?;
    Ok(article.feature(&pictures))
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

/// Stores a new article written by `author_id` (none for imports), with its feature image;
/// fails with a unique violation when its slug is taken.
pub fn insert(
    conn: &mut PgConnection,
    new: &NewArticle<'_>,
    feature: &FeatureColumns<'_>,
    author_id: Option<UserId>,
) -> QueryResult<ArticleId> {
    let id = diesel::insert_into(articles::table)
        .values((new, feature, articles::author_id.eq(author_id)))
        .returning(articles::id)
        .get_result(conn)?;
    note(Change::Article(id));
    Ok(id)
}

/// Saves an edit of article `id` (its text, its feature image and its publication); returns
/// whether it exists.
pub fn update(
    conn: &mut PgConnection,
    id: ArticleId,
    article: &NewArticle<'_>,
    feature: &FeatureColumns<'_>,
) -> QueryResult<bool> {
    let rows = diesel::update(articles::table.find(id))
        .set((article, feature))
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
