//! An article page: the full article, or the paywall (402) when the meter is used up.
//!
//! `/articles/{id}/{slug}` is an article's canonical address; `/articles/{id}` answers the
//! same (as it always has), naming the canonical address in the page; a wrong slug is a 301
//! to the right one. Only published articles are found: a draft or an article scheduled for
//! later is a 404 by either address, like an id that never existed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::home::moved_permanently;
use super::visit::Visit;
use crate::domain::access::Access;
use crate::domain::ids::ArticleId;
use crate::error::AppError;
use crate::models::{Article, ArticleHtml};
use crate::paywall::{self, ArticleFacts};
use crate::state::AppState;
use crate::views::{
    ArticlePage, Layout, PaywallPage, PreviewBar, article_html, encode_next, meter_note, render,
};

pub async fn show(
    path: web::Path<String>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path).ok_or(AppError::NotFound)?;
    respond(&state, &visit, id, None).await
}

pub async fn show_canonical(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let (id, slug) = path.into_inner();
    let id = parse_id(&id).ok_or(AppError::NotFound)?;
    respond(&state, &visit, id, Some(slug)).await
}

async fn respond(
    state: &AppState,
    visit: &Visit,
    id: ArticleId,
    slug: Option<String>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let article = state
        .caches
        .published_article(&state.pool, id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let canonical = article.summary.path();
    if slug.is_some_and(|slug| slug != article.summary.slug) {
        // Before the meter: following the redirect opens the article once, not twice.
        return Ok(moved_permanently(&canonical));
    }
    let facts = ArticleFacts {
        article_id: id,
        premium: article.summary.is_premium,
    };
    let opened = paywall::open(state, &visit.session, &visit.reader, facts).await?;
    let layout = visit
        .layout_with_meter(&article.summary.title, opened.meter.as_ref())?
        .canonical(&canonical);
    let html = article_html(&article, &layout.site_url)?;

    if opened.access == Access::Paywalled {
        let allowance = visit.allowance();
        let headline = if allowance == 0 {
            "This article is for subscribers".to_string()
        } else {
            meter_note(0, allowance)
        };
        let page = paywall_page(
            layout,
            &article,
            &html,
            visit.member().is_some(),
            headline,
            None,
        );
        return Ok(render(StatusCode::PAYMENT_REQUIRED, &page)?);
    }
    Ok(render(
        StatusCode::OK,
        &article_page(layout, &article, &html, None),
    )?)
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
