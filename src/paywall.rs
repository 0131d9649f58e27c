//! The read step of an article page, in one place: decide with `domain::access`, and record
//! an article newly counted on the meter, for the cookie meter of visitors and the member meter
//! of logged-in non-subscribers alike.
//!
//! Rules: the decision is made once by the pure rule; an article is recorded only when that
//! rule says it is newly counted; and a newly counted article on the member meter is decided
//! again and recorded under the reader's lock, so two tabs cannot both take the last free
//! article. Articles already counted, free articles, subscribers and the newsroom cost no write.

pub mod gifts;

use time::OffsetDateTime;

use crate::auth::current_reader::Reader;
use crate::auth::session::ReaderSession;
use crate::db;
use crate::domain::access::{self, Access, ReaderKind};
use crate::domain::ids::{ArticleId, UserId};
use crate::domain::meter::{Meter, Month};
use crate::error::AppError;
use crate::state::AppState;

/// What opening an article gave: the access, and the reader's meter after it.
pub struct Opened {
    pub access: Access,
    pub meter: Option<Meter>,
}

/// The article being opened, as far as the paywall cares.
#[derive(Clone, Copy)]
pub struct ArticleFacts {
    pub article_id: ArticleId,
    pub premium: bool,
}

pub async fn open(
    state: &AppState,
    session: &ReaderSession,
    reader: &Reader,
    article: ArticleFacts,
) -> Result<Opened, AppError> {
    let now = state.clock.now();
    let allowance = state.free_articles_per_month;
    let meter = reader
        .meter
        .clone()
        .unwrap_or_else(|| Meter::new(Month::of(now)));
    let access = access::decide(
        article.article_id,
        article.premium,
        reader.kind,
        &meter,
        allowance,
    );
    let newly_counted = access
        == Access::Metered {
            newly_counted: true,
        };
    if !newly_counted {
        return Ok(Opened {
            access,
            meter: reader.meter.clone(),
        });
    }
    match &reader.member {
        Some(member) => open_on_member_meter(state, member.user_id, article.article_id, now).await,
        None => {
            let mut meter = meter;
            meter.record(article.article_id);
            session.set_meter(&meter)?;
            Ok(Opened {
                access,
                meter: Some(meter),
            })
        }
    }
}

/// Decides again and records, in one transaction holding the reader's lock.
async fn open_on_member_meter(
    state: &AppState,
    user_id: UserId,
    article_id: ArticleId,
    now: OffsetDateTime,
) -> Result<Opened, AppError> {
    let month = Month::of(now);
    let allowance = state.free_articles_per_month;
    let opened = db::run(
        &state.pool,
        "counting an article on the reader's meter",
        move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                db::users::lock(conn, user_id)?;
                let opened = db::meter::opened_in_month(conn, user_id, month.first_day())?;
                let mut meter = Meter::with_opened(month, opened);
                let access =
                    access::decide(article_id, true, ReaderKind::OnTheMeter, &meter, allowance);
                if access
                    == (Access::Metered {
                        newly_counted: true,
                    })
                {
                    db::meter::record(conn, user_id, month.first_day(), &[article_id], now)?;
                    meter.record(article_id);
                }
                Ok(Opened {
                    access,
                    meter: Some(meter),
                })
            })
        },
    )
    .await?;
    Ok(opened)
}
