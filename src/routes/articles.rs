use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use diesel::Connection;
use time::OffsetDateTime;

use crate::auth::current_reader::Reader;
use crate::auth::session::ReaderSession;
use crate::db;
use crate::domain::access::{self, Access, ReaderKind};
use crate::domain::meter::{Meter, Month};
use crate::error::AppError;
use crate::startup::AppState;
use crate::views::{
    ArticleCard, ArticlePage, GATED_CLASS, Layout, PaywallPage, article_json_ld, encode_next,
    meter_note, render,
};

pub async fn show(
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: ReaderSession,
    mut reader: Reader,
) -> Result<HttpResponse, AppError> {
    let id = parse_id(&path).ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let article = db::run(&state.pool, move |conn| {
        db::articles::find_published(conn, id, now)
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let allowance = state.free_articles_per_month;

    let access = match &reader.member {
        Some(member) if article.is_premium && reader.kind() == ReaderKind::NonSubscriber => {
            let (access, meter) = open_on_member_meter(&state, member.user_id, id, now).await?;
            reader.meter = Some(meter);
            access
        }
        _ => {
            let mut meter = reader
                .meter
                .clone()
                .unwrap_or_else(|| Meter::new(Month::of(now)));
            let access = access::decide(id, article.is_premium, reader.kind(), &meter, allowance);
            if access
                == (Access::Metered {
                    newly_counted: true,
                })
            {
                meter.record(id);
                session.set_meter(&meter)?;
                reader.meter = Some(meter);
            }
            access
        }
    };

    let json_ld = article_json_ld(&article);
    if access == Access::Paywalled {
        let article_path = format!("/articles/{id}");
        let page = PaywallPage {
            layout: Layout::for_reader(&article.title, &session, &reader, allowance)?,
            article: ArticleCard::from(&article),
            json_ld,
            logged_in: reader.member.is_some(),
            headline: if allowance == 0 {
                "This article is for subscribers".to_string()
            } else {
                meter_note(0, allowance)
            },
            subscribe_next: encode_next(&format!("/subscribe?next={}", encode_next(&article_path))),
            article_next: encode_next(&article_path),
        };
        return render(StatusCode::PAYMENT_REQUIRED, &page);
    }
    let page = ArticlePage {
        layout: Layout::for_reader(&article.title, &session, &reader, allowance)?,
        article: ArticleCard::from(&article),
        body_html: article.body_html,
        json_ld,
        gated_class: GATED_CLASS,
    };
    render(StatusCode::OK, &page)
}

/// The paywall decision for a logged-in non-subscriber, made and recorded in one transaction
/// that holds the reader's row, so two tabs cannot both spend the last free article.
async fn open_on_member_meter(
    state: &AppState,
    user_id: i64,
    article_id: i64,
    now: OffsetDateTime,
) -> Result<(Access, Meter), AppError> {
    let month = Month::of(now);
    let allowance = state.free_articles_per_month;
    let outcome = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            // Two tabs opening articles at once must not both take the last free article.
            db::users::lock(conn, user_id)?;
            let opened = db::meter::opened_in_month(conn, user_id, month.first_day())?;
            let mut meter = Meter::with_opened(month, opened);
            let access = access::decide(
                article_id,
                true,
                ReaderKind::NonSubscriber,
                &meter,
                allowance,
            );
            if access
                == (Access::Metered {
                    newly_counted: true,
                })
            {
                db::meter::record(conn, user_id, month.first_day(), &[article_id], now)?;
                meter.record(article_id);
            }
            Ok((access, meter))
        })
    })
    .await?;
    Ok(outcome)
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
