//! Articles and the lists of them, kept in memory. An article is kept with its publication
//! time and shown only once the clock has reached it; a list is kept until the next
//! publication time comes (or an article changes), so a scheduled article appears on its own
//! at its time on every instance, with no job to run. Each article comes with its feature
//! image, read from the library when the entry is filled (never per request), and goes when
//! that picture changes (`Change::Media`).

use std::sync::{Arc, OnceLock};

use time::OffsetDateTime;

use super::Caches;
use crate::db::{self, DbError, DbPool};
use crate::domain::ids::ArticleId;
use crate::models::{Article, ArticleSummary};

/// Which list: the front page and its older pages, or one author's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ListingKey {
    pub author_slug: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

/// A list of published articles as it stood at `computed_at`, right until `valid_until`.
pub struct Listing {
    pub articles: Vec<ArticleSummary>,
    computed_at: OffsetDateTime,
    valid_until: Option<OffsetDateTime>,
    /// The HTML the front page makes of these articles, made once by the first request that
    /// shows them: it is the same for every reader, and goes with the listing when the
    /// listing is invalidated.
    pub rendered: OnceLock<Arc<str>>,
}

impl Listing {
    fn holds_at(&self, now: OffsetDateTime) -> bool {
        self.computed_at <= now && self.valid_until.is_none_or(|until| now < until)
    }
}

impl Caches {
    /// The published article `id` as readers may see it at `now`.
    pub async fn published_article(
        &self,
        pool: &DbPool,
        id: ArticleId,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<Article>>, DbError> {
        let dated = self
            .articles
            .get_or_fill(id, || async move {
                let found = db::run(pool, "loading the article", move |conn| {
                    db::articles::find_dated(conn, id)
                })
                .await?;
                Ok::<_, DbError>(found.map(Arc::new))
            })
            .await?;
        Ok(dated.filter(|article| article.summary.published_at <= now))
    }

    /// A page of published articles, newest first, as they stand at `now`.
    pub async fn published_list(
        &self,
        pool: &DbPool,
        key: ListingKey,
        now: OffsetDateTime,
    ) -> Result<Arc<Listing>, DbError> {
        let asked = key.clone();
        let read = || {
            let key = asked.clone();
            async move {
                let listing = db::run(pool, "listing published articles", move |conn| {
                    let articles = match &key.author_slug {
                        None => db::articles::list_published(conn, now, key.offset, key.limit)?,
                        Some(author) => {
                            db::articles::list_by_author(conn, author, now, key.offset, key.limit)?
                        }
                    };
                    Ok(Listing {
                        articles,
                        computed_at: now,
                        valid_until: db::articles::next_publication_after(conn, now)?,
                        rendered: OnceLock::new(),
                    })
                })
                .await?;
                Ok::<_, DbError>(Arc::new(listing))
            }
        };
        let kept = self.listings.get_or_fill(key.clone(), read).await?;
        if kept.holds_at(now) {
            return Ok(kept);
        }
        self.listings.invalidate(&key);
        self.listings.get_or_fill(key, read).await
    }
}
