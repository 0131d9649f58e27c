//! The reader behind a request: a visitor, or a member whose login is still live on the
//! server. A login token in the cookie counts only while its `user_sessions` row is neither
//! revoked nor expired (idle or absolute), so logging out, "log out everywhere" and expiry
//! take effect even for a copy of the cookie.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::login::keep_account_meter;
use super::session::{IDLE_LIMIT, ReaderSession, TOUCH_INTERVAL};
use super::token_hash;
use crate::db;
use crate::domain::access::ReaderKind;
use crate::domain::meter::{Meter, Month};
use crate::error::AppError;
use crate::models::SubscriptionRow;
use crate::state::AppState;

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

    /// Identified once per request: later extractors of the same request get the same reader.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let known = req.extensions().get::<Reader>().cloned();
        let req = req.clone();
        Box::pin(async move {
            if let Some(reader) = known {
                return Ok(reader);
            }
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal("application state", "missing"))?;
            let reader = identify(&state, &ReaderSession::from_request(&req)).await?;
            req.extensions_mut().insert(reader.clone());
            Ok(reader)
        })
    }
}

/// A member's page or form: a logged-out reader is sent to log in, and back here after.
impl FromRequest for Member {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // A form cannot be sent again after logging in: its page is the place to come back to.
        let next = if req.method() == actix_web::http::Method::GET {
            req.path().to_string()
        } else {
            "/account".to_string()
        };
        let reader = Reader::from_request(req, payload);
        Box::pin(async move { reader.await?.member.ok_or(AppError::LogInFirst { next }) })
    }
}

/// What the server knows of this browser's login.
enum Login {
    Live {
        // Boxed: a member carries the whole subscription row.
        member: Box<Member>,
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
    let login = db::run(&state.pool, "identifying the reader's login", move |conn| {
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
        let subscribed = subscription
            .as_ref()
            .is_some_and(|s| s.standing(now).grants_access());
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
            member: Box::new(member),
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
                member: Some(*member),
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
