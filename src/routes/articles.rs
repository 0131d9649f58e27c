//! An article page: the full article, or the paywall (402) when the meter is used up; an
//! article opened by a gift link; and gifting an article.
//!
//! `/articles/{id}/{slug}` is an article's canonical address; `/articles/{id}` answers the
//! same (as it always has), naming the canonical address in the page; a wrong slug is a 301
//! to the right one. Only published articles are found: a draft or an article scheduled for
//! later is a 404 by either address, like an id that never existed.
//!
//! A gift link is either address with `?gift=<token>` (`paywall::gifts` decides). For a reader
//! on the meter a good token opens the whole premium article with nothing written: no meter,
//! no cookie. A bad one (forged, changed, for another article, run out, its gift deleted)
//! gives the page anyone else gets. Every answer to an address with a token is `no-store`
//! and `X-Robots-Tag: noindex`; its canonical link is the plain article's.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::NoFields;
use super::home::moved_permanently;
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::domain::access::{Access, ReaderKind};
use crate::domain::article_gift::{self, GiftPass};
use crate::domain::ids::ArticleId;
use crate::domain::meter::Month;
use crate::error::AppError;
use crate::models::{Article, ArticleHtml};
use crate::paywall::gifts::{self, Gifted};
use crate::paywall::{self, ArticleFacts};
use crate::state::AppState;
use crate::views::{
    ArticleCard, ArticlePage, GiftAnswer, GiftLinkPage, GiftOffer, GiftedNote, Layout, PaywallPage,
    PreviewBar, article_html, encode_next, long_date, meter_note, render,
};

/// The query parameter a gift link carries its token in.
pub const GIFT_PARAMETER: &str = "gift";

pub async fn show(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path).ok_or(AppError::NotFound)?;
    respond(&state, &visit, id, None, gift_token(&req)).await
}

pub async fn show_canonical(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let (id, slug) = path.into_inner();
    let id = parse_id(&id).ok_or(AppError::NotFound)?;
    respond(&state, &visit, id, Some(slug), gift_token(&req)).await
}

/// The first `gift` parameter of the query, if any (read by hand: a repeated or odd parameter
/// is no reason to refuse the article).
fn gift_token(req: &HttpRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == GIFT_PARAMETER)
        .map(|(_, value)| value.into_owned())
}

async fn respond(
    state: &AppState,
    visit: &Visit,
    id: ArticleId,
    slug: Option<String>,
    gift: Option<String>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let article = published(state, id, now).await?;
    let canonical = article.summary.path();
    if slug.is_some_and(|slug| slug != article.summary.slug) {
        // Before the meter: following the redirect opens the article once, not twice. A gift
        // link keeps its token.
        let location = match &gift {
            Some(token) => format!("{canonical}?{GIFT_PARAMETER}={}", encode_next(token)),
            None => canonical,
        };
        return Ok(moved_permanently(&location));
    }
    let Some(token) = gift else {
        return read(state, visit, &article, false).await;
    };
    // Only a reader on the meter needs the gift; anyone else reads the article as always.
    let pass = if article.summary.is_premium && visit.reader.kind == ReaderKind::OnTheMeter {
        gifts::open(state, &token, id).await?
    } else {
        None
    };
    let mut response = match pass {
        Some(pass) => gifted(visit, &article, pass)?,
        // A forged, changed or run-out token: the page anyone else gets.
        None => read(state, visit, &article, true).await?,
    };
    // Addresses with a gift token stay out of search engines, whatever they showed.
    response.headers_mut().insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The article as the reader's standing and meter allow: in full (counted on the meter when
/// it must be), or the paywall.
async fn read(
    state: &AppState,
    visit: &Visit,
    article: &Article,
    unindexed: bool,
) -> Result<HttpResponse, AppError> {
    let id = article.summary.id;
    let facts = ArticleFacts {
        article_id: id,
        premium: article.summary.is_premium,
    };
    let opened = paywall::open(state, &visit.session, &visit.reader, facts).await?;
    let mut layout = visit
        .layout_with_meter(&article.summary.title, opened.meter.as_ref())?
        .canonical(&article.summary.path());
    layout.noindex |= unindexed;
    let html = article_html(article, &layout.site_url)?;

    if opened.access == Access::Paywalled {
        let allowance = visit.allowance();
        let headline = if allowance == 0 {
            "This article is for subscribers".to_string()
        } else {
            meter_note(0, allowance)
        };
        let page = paywall_page(
            layout,
            article,
            &html,
            visit.member().is_some(),
            headline,
            None,
        );
        return Ok(render(StatusCode::PAYMENT_REQUIRED, &page)?);
    }
    let mut page = article_page(layout, article, &html, None);
    page.gift_offer = gift_offer(state, visit, article).await?;
    Ok(render(StatusCode::OK, &page)?)
}

/// The form a subscriber gifts a premium article with, when gifts are on.
async fn gift_offer(
    state: &AppState,
    visit: &Visit,
    article: &Article,
) -> Result<Option<GiftOffer>, AppError> {
    let allowance = state.gift_articles_per_month;
    let Some(member) = visit.member() else {
        return Ok(None);
    };
    if !visit.reader.subscribed || !article.summary.is_premium || allowance == 0 {
        return Ok(None);
    }
    let id = article.summary.id;
    let given = gifts::given_this_month(state, member.user_id).await?;
    Ok(Some(GiftOffer {
        action: format!("/articles/{id}/gift"),
        left: article_gift::left(&given, allowance),
        allowance,
        given: given.contains(&id),
    }))
}

/// The article opened by a gift link: whole, with nothing written (neither the meter nor the
/// session), saying a subscriber shared it and inviting the reader to subscribe.
fn gifted(visit: &Visit, article: &Article, pass: GiftPass) -> Result<HttpResponse, AppError> {
    let layout = visit
        .layout_untouched(&article.summary.title)
        .canonical(&article.summary.path())
        .unindexed();
    let article_path = format!("/articles/{}", article.summary.id);
    let html = article_html(article, &layout.site_url)?;
    let mut page = article_page(layout, article, &html, None);
    page.gifted = Some(GiftedNote {
        until: long_date(pass.expires_at),
        logged_in: visit.member().is_some(),
        subscribe_next: encode_next(&format!("/subscribe?next={}", encode_next(&article_path))),
        article_next: encode_next(&article_path),
    });
    Ok(render(StatusCode::OK, &page)?)
}

/// The published article `id` as it stands at `now`: a draft, a scheduled article or an id
/// that never existed is a 404 alike.
async fn published(
    state: &AppState,
    id: ArticleId,
    now: time::OffsetDateTime,
) -> Result<std::sync::Arc<Article>, AppError> {
    (state.caches)
        .published_article(&state.pool, id, now)
        .await?
        .ok_or(AppError::NotFound)
}

/// `POST /articles/{id}/gift`: a subscriber gifts the article; the answer is the link to share.
/// Asked again for the same article in the month, it gives the same gift at no cost.
pub async fn gift(
    CsrfForm(_): CsrfForm<NoFields>,
    path: web::Path<String>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path).ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let article = published(&state, id, now).await?;
    if visit.member().is_none() {
        return Err(AppError::LogInFirst {
            next: format!("/articles/{id}"),
        });
    }
    let facts = ArticleFacts {
        article_id: id,
        premium: article.summary.is_premium,
    };
    let gifted = gifts::give(&state, &visit.reader, facts).await?;
    let canonical = article.summary.path();
    let allowance = state.gift_articles_per_month;
    let (status, answer) = match gifted {
        Gifted::Link {
            token,
            expires_at,
            new,
            left,
        } => (
            StatusCode::OK,
            GiftAnswer::Link {
                url: format!("{}{canonical}?{GIFT_PARAMETER}={token}", state.public_url),
                until: long_date(expires_at),
                new,
                left,
                allowance,
            },
        ),
        Gifted::UsedUp => (
            StatusCode::CONFLICT,
            GiftAnswer::UsedUp {
                allowance,
                next_month: long_date(Month::of(now).next().first_day().midnight().assume_utc()),
            },
        ),
        Gifted::FreeArticle => (
            StatusCode::OK,
            GiftAnswer::Free {
                url: format!("{}{canonical}", state.public_url),
            },
        ),
        Gifted::NotSubscriber => (StatusCode::FORBIDDEN, GiftAnswer::SubscribersOnly),
    };
    let page = GiftLinkPage {
        layout: visit.layout("Gift this article")?.unindexed(),
        article: ArticleCard::from(&article.summary),
        answer,
    };
    Ok(render(status, &page)?)
}

/// The article in full, as a reader who may read it sees it (and as a preview shows it);
/// `html` is what [`article_html`] made of it.
pub fn article_page<'a>(
    layout: Layout,
    article: &Article,
    html: &'a ArticleHtml,
    preview: Option<PreviewBar>,
) -> ArticlePage<'a> {
    ArticlePage {
        layout: as_article(layout, article),
        html,
        preview,
        gift_offer: None,
        gifted: None,
    }
}

/// The paywall in front of `article`: title, teaser, feature image and the offer, never the
/// body (nor any picture it places: `html.teaser` holds none of the body).
pub fn paywall_page<'a>(
    layout: Layout,
    article: &Article,
    html: &'a ArticleHtml,
    logged_in: bool,
    headline: String,
    preview: Option<PreviewBar>,
) -> PaywallPage<'a> {
    // Where to come back to after logging in or subscribing: the short address, which
    // answers the same as the canonical one.
    let article_path = format!("/articles/{}", article.summary.id);
    PaywallPage {
        layout: as_article(layout, article),
        preview,
        html,
        logged_in,
        headline,
        subscribe_next: encode_next(&format!("/subscribe?next={}", encode_next(&article_path))),
        article_next: encode_next(&article_path),
    }
}

/// The layout of an article's page: its teaser and feature image stand for it wherever it is
/// shared.
fn as_article(layout: Layout, article: &Article) -> Layout {
    let mut layout = layout
        .described(&article.summary.teaser)
        .shared_with(article.summary.feature.as_deref());
    layout.og_type = "article";
    layout
}

/// An article id as written in its address: digits only (no sign, no spaces).
pub fn parse_id(text: &str) -> Option<ArticleId> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_id;
    use crate::domain::ids::ArticleId;

    #[test]
    fn article_ids_are_plain_digits() {
        assert_eq!(parse_id("42"), Some(ArticleId::new(42)));
        for bad in [
            "",
            "+5",
            "-1",
            " 5",
            "5 ",
            "1.5",
            "99999999999999999999",
            "٣",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
