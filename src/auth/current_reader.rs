//! The reader behind a request: a visitor, or a member whose login is still live on the
//! server. A login token in the cookie counts only while its `user_sessions` row is neither
//! revoked nor expired (idle or absolute), so logging out, "log out everywhere" and expiry
//! take effect even for a copy of the cookie.
//!
//! A member reads everything while their subscription is in standing or an access grant (a
//! comp or a gift) is current: both are read through the caches, which follow the database.
//!
//! The newsroom's pages take [`Editor`] (or [`Admin`]): the role is read from the database
//! with the login on every request, so granting or removing it takes effect at once. Others
//! get a 403; logged-out visitors are sent to log in.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::login::keep_account_meter;
use super::session::{IDLE_LIMIT, ReaderSession, TOUCH_INTERVAL};
use super::token_hash;

use crate::cache::SessionEntry;
use crate::db::{self, DbError};
use crate::domain::access::ReaderKind;
use crate::domain::ids::{ArticleId, SessionId, UserId};
use crate::domain::meter::{Meter, Month};
use crate::domain::role::Role;
use crate::error::AppError;
use crate::models::{AccessGrant, SubscriptionRow};
use crate::state::AppState;

#[derive(Clone, Debug)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    /// The `user_sessions` row of this browser.
    pub session_id: SessionId,
    pub subscription: Option<SubscriptionRow>,
    /// The access grant that ends last (a comp or a gift), current or not.
    pub grant: Option<AccessGrant>,
    pub role: Role,
}

#[derive(Clone, Debug)]
pub struct Reader {
    pub member: Option<Member>,
    /// Whether the reader's subscription (if any) grants access right now.
    pub subscribed: bool,
    /// What the paywall asks: subscribers in standing and the newsroom read everything.
    pub kind: ReaderKind,
    /// The meter that applies this month; `None` for those who read everything.
    pub meter: Option<Meter>,
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

/// A member who may write and publish: editors and admins.
#[derive(Clone, Debug)]
pub struct Editor(pub Member);

impl FromRequest for Editor {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_form = req.method() != actix_web::http::Method::GET;
        let member = Member::from_request(req, payload);
        Box::pin(async move {
            let member = match member.await {
                // A form sent logged out comes back to the desk after logging in.
                Err(AppError::LogInFirst { .. }) if is_form => {
                    return Err(AppError::LogInFirst {
                        next: "/editor".to_string(),
                    });
                }
                other => other?,
            };
            if member.role.edits() {
                Ok(Self(member))
            } else {
                Err(AppError::Forbidden("the newsroom's pages are for editors"))
            }
        })
    }
}

/// A member who may also grant and remove the editor role.
#[derive(Clone, Debug)]
pub struct Admin(pub Member);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let member = Member::from_request(req, payload);
        Box::pin(async move {
            let member = member.await?;
            if member.role.administers() {
                Ok(Self(member))
            } else {
                Err(AppError::Forbidden("granting roles is for admins"))
            }
        })
    }
}

async fn identify(state: &AppState, session: &ReaderSession) -> Result<Reader, AppError> {
    let now = state.clock.now();
    let month = Month::of(now);
    let Some(token) = session.login_token() else {
        return Ok(Reader {
            member: None,
            subscribed: false,
            kind: ReaderKind::OnTheMeter,
            meter: Some(session.meter(month)),
        });
    };

    let found = session_of(state, token_hash(&token)).await?;
    let owner = found.as_ref().map(|login| login.session.user_id);
    let Some(login) = found.filter(|login| login.session.is_live(now, IDLE_LIMIT)) else {
        // Logged out elsewhere, revoked or expired: a visitor again, who keeps the account's
        // meter for the month.
        let opened = match owner {
            Some(user_id) => opened_this_month(state, user_id, month).await?,
            None => Vec::new(),
        };
        keep_account_meter(session, month, opened)?;
        session.forget_login()?;
        return Ok(Reader {
            member: None,
            subscribed: false,
            kind: ReaderKind::OnTheMeter,
            meter: Some(session.meter(month)),
        });
    };
    let (record, email, role) = (&login.session, &login.email, login.role);
    if now - record.last_seen_at >= TOUCH_INTERVAL {
        let record = record.clone();
        db::run(&state.pool, "noting the login was used", move |conn| {
            db::sessions::touch(conn, &record, now)
        })
        .await?;
    }

    let user_id = record.user_id;
    let subscription = state
        .caches
        .subscriptions
        .get_or_fill(user_id, || async {
            let current = db::run(
                &state.pool,
                "reading the reader's subscription",
                move |conn| db::subscriptions::current(conn, user_id),
            )
            .await?;
            Ok::<_, DbError>(current.map(Arc::new))
        })
        .await?;
    let subscribed = subscription
        .as_ref()
        .is_some_and(|s| s.standing(now).grants_access());
    let grant = state
        .caches
        .grants
        .get_or_fill(user_id, || async {
            let latest = db::run(
                &state.pool,
                "reading the reader's access grant",
                move |conn| db::grants::latest(conn, user_id),
            )
            .await?;
            Ok::<_, DbError>(latest.map(Arc::new))
        })
        .await?;
    // A grant ends by time alone: it is checked against now on every request.
    let granted = grant.as_ref().is_some_and(|g| g.is_current(now));
    let kind = if subscribed || granted || role.reads_everything() {
        ReaderKind::ReadsEverything
    } else {
        ReaderKind::OnTheMeter
    };
    let meter = if kind == ReaderKind::ReadsEverything {
        None
    } else {
        Some(Meter::with_opened(
            month,
            opened_this_month(state, user_id, month).await?,
        ))
    };
    Ok(Reader {
        member: Some(Member {
            user_id,
            email: email.clone(),
            session_id: record.id,
            subscription: subscription.as_deref().cloned(),
            grant: grant.as_deref().cloned(),
            role,
        }),
        subscribed,
        kind,
        meter,
    })
}

/// The login session this token hash names, live or not (from the cache when it holds it).
async fn session_of(state: &AppState, hash: Vec<u8>) -> Result<SessionEntry, AppError> {
    let read = hash.clone();
    let found = state
        .caches
        .sessions
        .get_or_fill(hash, || async {
            let found = db::run(&state.pool, "finding the reader's login", move |conn| {
                db::sessions::find_by_token(conn, &read)
            })
            .await?;
            Ok::<_, DbError>(found.map(Arc::new))
        })
        .await?;
    Ok(found)
}

/// The articles the reader opened in `month` (the member meter), from the cache when it holds
/// that month.
pub async fn opened_this_month(
    state: &AppState,
    user_id: UserId,
    month: Month,
) -> Result<Vec<ArticleId>, AppError> {
    let read = || async {
        let opened = db::run(&state.pool, "reading the reader's meter", move |conn| {
            db::meter::opened_in_month(conn, user_id, month.first_day())
        })
        .await?;
        Ok::<_, DbError>(Arc::new((month, opened)))
    };
    let cached = state.caches.meters.get_or_fill(user_id, read).await?;
    if cached.0 == month {
        return Ok(cached.1.clone());
    }
    // A month has begun since the entry was kept.
    state.caches.meters.invalidate(&user_id);
    Ok(state
        .caches
        .meters
        .get_or_fill(user_id, read)
        .await?
        .1
        .clone())
}
