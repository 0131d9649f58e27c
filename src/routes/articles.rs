//! An article page: the full article, or the paywall (402) when the meter is used up.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::visit::Visit;
use crate::db;
use crate::domain::access::Access;
use crate::error::AppError;
use crate::paywall::{self, Door};
use crate::state::AppState;
use crate::views::{
    ArticleCard, ArticlePage, GATED_CLASS, PaywallPage, article_json_ld, encode_next, meter_note,
    render,
};

pub async fn show(
    path: web::Path<String>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path).ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let article = db::run(&state.pool, "loading the article", move |conn| {
        db::articles::find_published(conn, id, now)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let door = Door {
        article_id: id,
        premium: article.summary.is_premium,
    };
    let opened = paywall::open(&state, &visit.session, &visit.reader, door).await?;
    let layout = visit.layout_with_meter(&article.summary.title, opened.meter.as_ref())?;
    let json_ld = article_json_ld(&article);

    if opened.access == Access::Paywalled {
        let allowance = visit.allowance();
        let article_path = format!("/articles/{id}");
        let page = PaywallPage {
            layout,
            article: ArticleCard::from(&article.summary),
            json_ld,
            logged_in: visit.member().is_some(),
            headline: if allowance == 0 {
                "This article is for subscribers".to_string()
            } else {
                meter_note(0, allowance)
            },
            subscribe_next: encode_next(&format!("/subscribe?next={}", encode_next(&article_path))),
            article_next: encode_next(&article_path),
        };
        return Ok(render(StatusCode::PAYMENT_REQUIRED, &page)?);
    }
    let page = ArticlePage {
        layout,
        article: ArticleCard::from(&article.summary),
        body_html: article.body_html,
        json_ld,
        gated_class: GATED_CLASS,
    };
    Ok(render(StatusCode::OK, &page)?)
}

/// An article id as written in its address: digits only (no sign, no spaces).
fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn article_ids_are_plain_digits() {
        assert_eq!(parse_id("42"), Some(42));
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
