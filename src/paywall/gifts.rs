//! Articles subscribers gift (the rules are `domain::article_gift`'s): giving one, and opening
//! a gift link.
//!
//! Rules:
//! - Only a subscriber in standing gives (as `auth` found the reader for this request), and
//!   only premium articles: a free one is open to all already, and costs no gift.
//! - A gift is decided and written in one transaction that takes the reader's lock first and
//!   counts the month's gifts in PostgreSQL, so double clicks, tabs and instances give each
//!   article once a month and never more gifts than the month allows. Asking again for an
//!   article gifted this month gives the same gift, its link opening for [`GIFT_LIFETIME`]
//!   from now (never shorter than before), at no cost.
//! - A link opens its article when its token is this site's, for this article and not run
//!   out, and its gift is still kept: a deleted account's gifts open nothing, and neither does
//!   a gift an operator deleted. Opening writes nothing, neither a meter nor the session.
//!
//! [`GIFT_LIFETIME`]: crate::domain::article_gift::GIFT_LIFETIME

use std::sync::Arc;

use time::OffsetDateTime;

use super::ArticleFacts;
use crate::auth::current_reader::Reader;
use crate::db::{self, DbError};
use crate::domain::article_gift::{self, GiftPass, Gifting};
use crate::domain::ids::{ArticleId, UserId};
use crate::domain::meter::Month;
use crate::error::AppError;
use crate::models::{ArticleGift, NewArticleGift};
use crate::state::AppState;

/// What asking to gift an article gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gifted {
    /// The link to share.
    Link {
        /// The gift link's token (`?gift=`).
        token: String,
        expires_at: OffsetDateTime,
        /// False when the article was gifted this month already (it cost nothing).
        new: bool,
        /// Gifts left this month.
        left: u32,
    },
    /// The month's gifts are all given; the same articles may still be gifted again.
    UsedUp,
    /// The article is free: its plain address is the link, and no gift is used.
    FreeArticle,
    /// The reader is not a subscriber in standing.
    NotSubscriber,
}

/// What the gifting transaction found.
enum Giving {
    Given {
        gift: ArticleGift,
        new: bool,
        left: u32,
    },
    UsedUp,
}

/// Gifts `article` as `reader`, or says why not.
pub async fn give(
    state: &AppState,
    reader: &Reader,
    article: ArticleFacts,
) -> Result<Gifted, AppError> {
    let Some(member) = reader.member.as_ref().filter(|_| reader.subscribed) else {
        return Ok(Gifted::NotSubscriber);
    };
    if !article.premium {
        return Ok(Gifted::FreeArticle);
    }
    let user_id = member.user_id;
    let article_id = article.article_id;
    let allowance = state.gift_articles_per_month;
    let now = state.clock.now();
    let month = Month::of(now).first_day();
    let expires_at = article_gift::expiry(now);
    let giving = db::run(&state.pool, "gifting an article", move |conn| {
        use diesel::Connection;
        conn.transaction(|conn| {
            db::users::lock(conn, user_id)?;
            let given = db::article_gifts::given_in_month(conn, user_id, month)?;
            let articles: Vec<ArticleId> = given.iter().map(|gift| gift.article_id).collect();
            let left = article_gift::left(&articles, allowance);
            if article_gift::decide(&articles, article_id, allowance) == Gifting::UsedUp {
                return Ok(Giving::UsedUp);
            }
            // Gifted this month already: the same gift, its link renewed.
            let again = given.into_iter().find(|gift| gift.article_id == article_id);
            let (gift, new) = match again {
                Some(gift) => {
                    let until = gift.expires_at.max(expires_at);
                    (db::article_gifts::renew(conn, gift.id, until)?, false)
                }
                None => {
                    let new = NewArticleGift {
                        user_id,
                        article_id,
                        month,
                        created_at: now,
                        expires_at,
                    };
                    (db::article_gifts::insert(conn, &new)?, true)
                }
            };
            let left = if new { left.saturating_sub(1) } else { left };
            Ok(Giving::Given { gift, new, left })
        })
    })
    .await?;
    Ok(match giving {
        Giving::UsedUp => Gifted::UsedUp,
        Giving::Given { gift, new, left } => {
            let pass = GiftPass {
                gift_id: gift.id,
                article_id: gift.article_id,
                expires_at: gift.expires_at,
            };
            tracing::info!(
                user_id = user_id.get(),
                article_id = article_id.get(),
                new,
                left,
                "article gifted"
            );
            Gifted::Link {
                token: state.gift_links.token(&pass),
                expires_at: gift.expires_at,
                new,
                left,
            }
        }
    })
}

/// The articles the reader gifted this month (from the cache when it holds this month).
pub async fn given_this_month(
    state: &AppState,
    user_id: UserId,
) -> Result<Vec<ArticleId>, AppError> {
    let month = Month::of(state.clock.now());
    let read = || async {
        let given = db::run(&state.pool, "reading the reader's gifts", move |conn| {
            db::article_gifts::given_in_month(conn, user_id, month.first_day())
        })
        .await?;
        let articles = given.into_iter().map(|gift| gift.article_id).collect();
        Ok::<_, DbError>(Arc::new((month, articles)))
    };
    let cached = state
        .caches
        .article_gifts
        .get_or_fill(user_id, read)
        .await?;
    if cached.0 == month {
        return Ok(cached.1.clone());
    }
    // A month has begun since the entry was kept.
    state.caches.article_gifts.invalidate(&user_id);
    Ok(state
        .caches
        .article_gifts
        .get_or_fill(user_id, read)
        .await?
        .1
        .clone())
}

/// The pass a gift link's `token` gives to `article_id` now, if it opens it.
pub async fn open(
    state: &AppState,
    token: &str,
    article_id: ArticleId,
) -> Result<Option<GiftPass>, AppError> {
    let now = state.clock.now();
    let Some(pass) = state
        .gift_links
        .read(token)
        .filter(|pass| pass.opens(article_id, now))
    else {
        return Ok(None);
    };
    let kept = db::run(&state.pool, "checking a gift link", move |conn| {
        db::article_gifts::opens(conn, pass.gift_id, article_id, now)
    })
    .await?;
    Ok(kept.then_some(pass))
}
