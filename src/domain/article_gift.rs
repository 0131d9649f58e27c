//! Articles a subscriber gifts: how many a month, which gift costs nothing, and the signed link
//! that opens a gifted article for anyone for a while.
//!
//! Rules:
//! - A subscriber gives at most the month's allowance of gifts per calendar month, the meter's
//!   `Month` (UTC). Gifting an article already gifted that month gives the same gift again
//!   and costs nothing ([`decide`]).
//! - A gift opens its one article, whole, until [`GIFT_LIFETIME`] after it was given, for
//!   whoever holds the link; it never counts on their meter.
//! - The link carries a token signed for this purpose alone ([`PURPOSE`], see
//!   `domain::signed_link`), naming the gift, its article and its end ([`GiftPass`]). A token
//!   changed, made up, signed for another purpose, for another article or past its end opens
//!   nothing ([`GiftPass::opens`]); the caller then checks that the gift is still kept.

use time::{Duration, OffsetDateTime};

use super::ids::{ArticleGiftId, ArticleId};
use super::signed_link::LinkSigner;

/// How long a gift link opens its article.
pub const GIFT_LIFETIME: Duration = Duration::days(14);

/// The most gifts a month may allow a subscriber (`GIFT_ARTICLES_PER_MONTH`).
pub const MAX_GIFT_ARTICLES_PER_MONTH: u32 = 100;

/// The purpose gift tokens are signed for.
pub const PURPOSE: &str = "article-gift";

/// What gifting an article would do, given the articles gifted this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gifting {
    /// The article was gifted this month already: the same gift again, at no cost.
    Again,
    /// A new gift, counted on the month.
    New,
    /// The month's gifts are all given.
    UsedUp,
}

/// Whether gifting `article_id` is a new gift, the same one again, or one too many, when
/// `given` were gifted this month and `allowance` may be.
pub fn decide(given: &[ArticleId], article_id: ArticleId, allowance: u32) -> Gifting {
    if given.contains(&article_id) {
        Gifting::Again
    } else if left(given, allowance) > 0 {
        Gifting::New
    } else {
        Gifting::UsedUp
    }
}

/// Gifts still to give this month.
pub fn left(given: &[ArticleId], allowance: u32) -> u32 {
    allowance.saturating_sub(u32::try_from(given.len()).unwrap_or(u32::MAX))
}

/// When a gift given at `now` stops opening its article: whole seconds, as the link says it.
pub fn expiry(now: OffsetDateTime) -> OffsetDateTime {
    let end = now + GIFT_LIFETIME;
    end.replace_nanosecond(0).unwrap_or(end)
}

/// What a gift link says: which gift, for which article, until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiftPass {
    pub gift_id: ArticleGiftId,
    pub article_id: ArticleId,
    pub expires_at: OffsetDateTime,
}

impl GiftPass {
    /// Whether the pass opens `article_id` at `now`.
    pub fn opens(&self, article_id: ArticleId, now: OffsetDateTime) -> bool {
        self.article_id == article_id && now < self.expires_at
    }

    /// `<gift>:<article>:<end in Unix seconds>`
    fn payload(&self) -> String {
        format!(
            "{}:{}:{}",
            self.gift_id,
            self.article_id,
            self.expires_at.unix_timestamp()
        )
    }

    fn from_payload(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let gift_id = parts.next()?.parse().ok()?;
        let article_id = parts.next()?.parse().ok()?;
        let expires_at = OffsetDateTime::from_unix_timestamp(parts.next()?.parse().ok()?).ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            gift_id,
            article_id,
            expires_at,
        })
    }
}

/// Makes and reads gift links' tokens.
#[derive(Clone)]
pub struct GiftLinks {
    signer: LinkSigner,
}

impl GiftLinks {
    /// Tokens signed under the site's `secret` (the session key), so every instance reads what
    /// another made.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            signer: LinkSigner::new(secret, PURPOSE),
        }
    }

    /// The token of a gift link: URL-safe, no padding.
    pub fn token(&self, pass: &GiftPass) -> String {
        self.signer.sign(&pass.payload())
    }

    /// What a token this site signed for gifts says, or `None` for anything else.
    pub fn read(&self, token: &str) -> Option<GiftPass> {
        GiftPass::from_payload(&self.signer.verify(token)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SECRET: &[u8] = b"a site secret of some length, for the tests only";
    const NOW: OffsetDateTime = datetime!(2026-11-28 12:00:00.250 UTC);

    fn ids(numbers: &[i64]) -> Vec<ArticleId> {
        numbers.iter().copied().map(ArticleId::new).collect()
    }

    #[test]
    fn the_same_article_again_costs_nothing_even_when_the_month_is_used_up() {
        let given = ids(&[1, 2, 3]);
        assert_eq!(decide(&given, ArticleId::new(2), 3), Gifting::Again);
        assert_eq!(decide(&given, ArticleId::new(4), 3), Gifting::UsedUp);
        assert_eq!(decide(&given, ArticleId::new(4), 4), Gifting::New);
        assert_eq!(left(&given, 10), 7);
        assert_eq!(left(&given, 2), 0);
    }

    #[test]
    fn an_allowance_of_zero_gives_no_gift() {
        assert_eq!(decide(&[], ArticleId::new(1), 0), Gifting::UsedUp);
    }

    #[test]
    fn a_gift_opens_its_article_for_fourteen_days() {
        let pass = GiftPass {
            gift_id: ArticleGiftId::new(7),
            article_id: ArticleId::new(3),
            expires_at: expiry(NOW),
        };
        assert_eq!(pass.expires_at, datetime!(2026-12-12 12:00 UTC));
        assert!(pass.opens(ArticleId::new(3), NOW));
        assert!(pass.opens(ArticleId::new(3), NOW + Duration::days(13)));
        assert!(!pass.opens(ArticleId::new(3), datetime!(2026-12-12 12:00 UTC)));
        assert!(!pass.opens(ArticleId::new(4), NOW), "another article");
    }

    #[test]
    fn a_link_reads_back_as_its_pass_and_only_from_this_site_and_purpose() {
        let links = GiftLinks::new(SECRET);
        let pass = GiftPass {
            gift_id: ArticleGiftId::new(42),
            article_id: ArticleId::new(9),
            expires_at: expiry(NOW),
        };
        let token = links.token(&pass);
        assert_eq!(links.read(&token), Some(pass));

        let other_site = GiftLinks::new(b"another site's secret, just as long as the first");
        assert_eq!(other_site.read(&token), None);
        let other_purpose = LinkSigner::new(SECRET, "newsletter-unsubscribe");
        assert_eq!(links.read(&other_purpose.sign(&pass.payload())), None);
        let mut changed = token.clone().into_bytes();
        changed[1] = if changed[1] == b'A' { b'B' } else { b'A' };
        assert_eq!(links.read(&String::from_utf8(changed).unwrap()), None);
    }

    #[test]
    fn a_signed_payload_that_is_not_a_pass_opens_nothing() {
        let signer = LinkSigner::new(SECRET, PURPOSE);
        let links = GiftLinks::new(SECRET);
        for payload in [
            "",
            "1:2",
            "1:2:3:4",
            "x:2:3",
            "1:2:99999999999999999",
            "1:-:3",
        ] {
            assert_eq!(links.read(&signer.sign(payload)), None, "{payload}");
        }
    }
}
