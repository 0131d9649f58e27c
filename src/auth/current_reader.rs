//! The reader behind a request: a visitor, or a member whose login is still live on the
//! server. A login token in the cookie counts only while its `user_sessions` row is neither
//! revoked nor expired (idle or absolute), so logging out, "log out everywhere" and expiry
//! take effect even for a copy of the cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::login::keep_account_meter;
use super::session::{IDLE_LIMIT, ReaderSession, TOUCH_INTERVAL};
use super::token_hash;
use crate::db;
use crate::domain::access::ReaderKind;
use crate::domain::meter::{Meter, Month};
use crate::domain::subscription::{Standing, Status};
use crate::error::AppError;
use crate::models::SubscriptionRow;
use crate::startup::AppState;

#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    /// The `user_sessions` row of this browser.
    pub session_id: i64,
    pub subscription: Option<SubscriptionRow>,
}

#[derive(Clone, Debug)]
pub struct Reader {
    pub member: Option<Member>,
    /// Whether the reader's subscription (if any) grants access right now.
    pub subscribed: bool,
    /// The meter that applies this month; `None` for subscribers, who have none.
    pub meter: Option<Meter>,
}

impl Reader {
    pub fn kind(&self) -> ReaderKind {
        if self.subscribed {
            ReaderKind::Subscriber
        } else {
            ReaderKind::NonSubscriber
        }
    }
}

impl FromRequest for Reader {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = ReaderSession::from_request(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state", "missing"))?;
            identify(&state, &session).await
        })
    }
}

/// What the server knows of this browser's login.
enum Login {
    Live {
        member: Member,
        subscribed: bool,
        opened_this_month: Vec<i64>,
    },
    /// Revoked or expired: the account's articles of the month, for the cookie to keep.
    Ended { opened_this_month: Vec<i64> },
}

async fn identify(state: &AppState, session: &ReaderSession) -> Result<Reader, AppError> {
    let now = state.clock.now();
    let month = Month::of(now);
    let Some(token) = session.login_token() else {
        return Ok(Reader {
            member: None,
            subscribed: false,
            meter: Some(session.meter(month)),
        });
    };

    let hash = token_hash(&token);
    let first_day = month.first_day();
    let login = db::run(&state.pool, move |conn| {
        let Some((row, email)) = db::sessions::find_live(conn, &hash, now, IDLE_LIMIT)? else {
            let opened_this_month = match db::sessions::owner_of_token(conn, &hash)? {
                Some(user_id) => db::meter::opened_in_month(conn, user_id, first_day)?,
                None => Vec::new(),
            };
            return Ok(Login::Ended { opened_this_month });
        };
        if now - row.last_seen_at >= TOUCH_INTERVAL {
            db::sessions::touch(conn, row.id, now)?;
        }
        let subscription = db::subscriptions::current(conn, row.user_id)?;
        let subscribed = subscription.as_ref().is_some_and(|s| grants_access(s, now));
        let opened_this_month = if subscribed {
            Vec::new()
        } else {
            db::meter::opened_in_month(conn, row.user_id, first_day)?
        };
        let member = Member {
            user_id: row.user_id,
            email,
            session_id: row.id,
            subscription,
        };
        Ok(Login::Live {
            member,
            subscribed,
            opened_this_month,
        })
    })
    .await?;

    match login {
        Login::Live {
            member,
            subscribed,
            opened_this_month,
        } => {
            let meter = (!subscribed).then(|| Meter::with_opened(month, opened_this_month));
            Ok(Reader {
                member: Some(member),
                subscribed,
                meter,
            })
        }
        Login::Ended { opened_this_month } => {
            // Logged out elsewhere, revoked or expired: a visitor again, who keeps the
            // account's meter for the month.
            keep_account_meter(session, month, opened_this_month)?;
            session.forget_login()?;
            Ok(Reader {
                member: None,
                subscribed: false,
                meter: Some(session.meter(month)),
            })
        }
    }
}

pub fn grants_access(subscription: &SubscriptionRow, now: time::OffsetDateTime) -> bool {
    Status::parse(&subscription.status).is_some_and(|status| {
        Standing::of(status, subscription.current_period_end, now).grants_access()
    })
}
