//! In-memory caches of what the reading path asks on every request: for logged-in readers
//! their login session, their subscription, their access grant, this month's meter and the
//! articles they gifted this month; and the published articles.
//!
//! Rules:
//! - A cache only ever holds what the database said. Every write that changes a cached fact
//!   notes a `db::changes::Change`; it reaches this instance as soon as the write returns
//!   (through `db::run`) and every instance when its transaction commits (through the
//!   [`listener`]). Writes themselves always go to the database: nothing is lost to a cache.
//! - A fill that began before an invalidation of its cache is not kept (see [`store`]).
//! - While the listener is not connected the caches are bypassed, and on every (re)connect they
//!   are emptied, because notifications sent while nobody listened are lost.
//! - Entries also expire after [`TIME_TO_LIVE`], a safety net; every cache is bounded, so it
//!   holds the hot set, not everything.

pub mod articles;
pub mod listener;
pub mod media;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::db::changes::Change;
use crate::domain::ids::{ArticleId, UserId};
use crate::domain::media::VariantName;
use crate::domain::meter::Month;
use crate::models::{AccessGrant, Article, SessionWithReader, SubscriptionRow};
use store::Store;

/// The longest any entry is kept without being asked of the database again.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(60);
/// Readers kept per cache: each entry is a few hundred bytes.
const READERS: u64 = 20_000;
/// Bytes of articles kept (bodies included): the hot set, not the archive.
const ARTICLE_BYTES: u64 = 16 * 1024 * 1024;
/// Lists kept: front pages, archive pages and author pages most asked for.
const LISTINGS: u64 = 500;

/// A login session with its reader's e-mail and role; `None` for a token no session has.
pub type SessionEntry = Option<Arc<SessionWithReader>>;
/// The articles a reader opened in a month (the meter), or gifted in a month.
pub type MeterEntry = Arc<(Month, Vec<ArticleId>)>;

pub struct Caches {
    pub sessions: Store<Vec<u8>, SessionEntry>,
    pub subscriptions: Store<UserId, Option<Arc<SubscriptionRow>>>,
    /// The reader's access grant that ends last (a comp or a gift), current or not.
    pub grants: Store<UserId, Option<Arc<AccessGrant>>>,
    pub meters: Store<UserId, MeterEntry>,
    /// The articles a subscriber gifted in a month, for the gifts left on the article page.
    pub article_gifts: Store<UserId, MeterEntry>,
    /// Articles with a publication time (published or scheduled), by id; `None` for the rest.
    pub articles: Store<ArticleId, Option<Arc<Article>>>,
    pub listings: Store<articles::ListingKey, Arc<articles::Listing>>,
    /// Picture variants most asked for, by address, weighed by their bytes.
    pub media: Store<VariantName, Arc<media::CachedVariant>>,
    live: Arc<AtomicBool>,
}

impl Default for Caches {
    fn default() -> Self {
        Self::new(media::DEFAULT_BYTES)
    }
}

impl Caches {
    /// Empty caches, bypassed until the listener connects, keeping at most `media_bytes` of
    /// picture variants.
    pub fn new(media_bytes: u64) -> Self {
        let live = Arc::new(AtomicBool::new(false));
        Self {
            sessions: Store::new(READERS, TIME_TO_LIVE, None, live.clone()),
            subscriptions: Store::new(READERS, TIME_TO_LIVE, None, live.clone()),
            grants: Store::new(READERS, TIME_TO_LIVE, None, live.clone()),
            meters: Store::new(READERS, TIME_TO_LIVE, None, live.clone()),
            article_gifts: Store::new(READERS, TIME_TO_LIVE, None, live.clone()),
            articles: Store::new(
                ARTICLE_BYTES,
                TIME_TO_LIVE,
                Some(article_weight),
                live.clone(),
            ),
            listings: Store::new(LISTINGS, TIME_TO_LIVE, None, live.clone()),
            media: Store::new(media_bytes, TIME_TO_LIVE, Some(media::weight), live.clone()),
            live,
        }
    }

    /// Forgets what `change` may have made wrong.
    pub fn apply(&self, change: Change) {
        match change {
            Change::Reader(user_id) => {
                self.sessions.invalidate_if(move |_, entry| {
                    entry
                        .as_ref()
                        .is_some_and(|login| login.session.user_id == user_id)
                });
                self.subscriptions.invalidate(&user_id);
                self.grants.invalidate(&user_id);
                self.meters.invalidate(&user_id);
                self.article_gifts.invalidate(&user_id);
            }
            Change::Article(id) => {
                self.articles.invalidate(&id);
                self.listings.clear();
            }
            Change::Media(id) => {
                self.media
                    .invalidate_if(move |_, variant| variant.media_id == id);
                // Articles carry their feature image, with the library's alt text.
                self.articles.invalidate_if(move |_, article| {
                    article
                        .as_ref()
                        .is_some_and(|article| article.summary.features(id))
                });
                self.listings.invalidate_if(move |_, listing| {
                    listing.articles.iter().any(|article| article.features(id))
                });
            }
            Change::Everything => self.clear(),
        }
    }

    pub fn clear(&self) {
        self.sessions.clear();
        self.subscriptions.clear();
        self.grants.clear();
        self.meters.clear();
        self.article_gifts.clear();
        self.articles.clear();
        self.listings.clear();
        self.media.clear();
    }

    /// Whether changes are heard: when not, the caches are bypassed and emptied.
    pub fn set_live(&self, live: bool) {
        self.clear();
        self.live.store(live, Ordering::Release);
        // Whatever was filled between the clear and the switch is dropped too.
        self.clear();
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
}

/// An article's weight in the cache: its body twice (once as stored, once inside the HTML its
/// pages are made of, `Article::html`), and a few kilobytes for the rest of that HTML.
fn article_weight(_: &ArticleId, article: &Option<Arc<Article>>) -> u32 {
    let body = article
        .as_ref()
        .map_or(0, |a| 2 * a.body_html.len() + a.summary.teaser.len() + 4096);
    u32::try_from(body + 512).unwrap_or(u32::MAX)
}
