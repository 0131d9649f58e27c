//! The typed session over actix-session's encrypted cookie. The keys are private to this
//! module; everything else asks for what it means (the meter, the CSRF token, the login token).
//!
//! What the cookie holds stays small and bounded (well under 4 KB): the meter (at most
//! `MAX_FREE_ARTICLES_PER_MONTH` ids), two 43-character tokens, one short flash message and a
//! notice flag. A value that does not deserialise is treated as absent, never as an error.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::Duration;

use super::random_token;
use crate::domain::meter::{Meter, Month};
use crate::error::AppError;

/// A logged-in session ends after this long without a request...
pub const IDLE_LIMIT: Duration = Duration::days(14);
/// ...and in any case this long after logging in.
pub const ABSOLUTE_LIMIT: Duration = Duration::days(30);
/// The cookie outlives a calendar month, so the anonymous meter survives until it resets.
pub const COOKIE_MAX_AGE: Duration = Duration::days(32);
/// `last_seen_at` is written at most this often, to keep reads from becoming writes.
pub const TOUCH_INTERVAL: Duration = Duration::minutes(5);
/// Logged-in sessions one reader may have at once; logging in once more ends the one used
/// least recently. It also bounds the device list on the account page.
pub const MAX_LIVE_SESSIONS: i64 = 20;
/// Ended sessions kept per reader (until housekeeping deletes them), the most recently used.
pub const MAX_ENDED_SESSIONS: i64 = 20;

const METER: &str = "m";
const CSRF: &str = "c";
const LOGIN: &str = "u";
const FLASH: &str = "f";
const NOTICE_SEEN: &str = "n";

/// Longest flash message kept; longer ones are cut (they are ours, but the cookie is small).
const MAX_FLASH_BYTES: usize = 200;

pub struct ReaderSession(Session);

impl FromRequest for ReaderSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(req.get_session())))
    }
}

impl ReaderSession {
    pub fn from_request(req: &HttpRequest) -> Self {
        Self(req.get_session())
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get(key).ok().flatten()
    }

    fn set<T: Serialize>(&self, key: &str, value: &T) -> Result<(), AppError> {
        self.0
            .insert(key, value)
            .map_err(|e| AppError::internal("writing the session", e))
    }

    /// The anonymous meter for `month` (fresh when none is stored or it is from another month).
    pub fn meter(&self, month: Month) -> Meter {
        Meter::for_month(self.get(METER), month)
    }

    pub fn set_meter(&self, meter: &Meter) -> Result<(), AppError> {
        self.set(METER, meter)
    }

    /// The session's CSRF token, created on first use.
    pub fn csrf_token(&self) -> Result<String, AppError> {
        match self.get::<String>(CSRF) {
            Some(token) => Ok(token),
            None => self.rotate_csrf_token(),
        }
    }

    /// The token a form must echo, if the session has one.
    pub fn expected_csrf_token(&self) -> Option<String> {
        self.get(CSRF)
    }

    pub fn rotate_csrf_token(&self) -> Result<String, AppError> {
        let token = random_token()?;
        self.set(CSRF, &token)?;
        Ok(token)
    }

    /// The token naming this browser's server-side login session, if logged in.
    pub fn login_token(&self) -> Option<String> {
        self.get(LOGIN)
    }

    /// Logs in: a new cookie (so one captured before never carries the user), the login token,
    /// and a new CSRF token.
    pub fn begin_login(&self, login_token: &str) -> Result<(), AppError> {
        self.0.renew();
        self.set(LOGIN, &login_token)?;
        self.rotate_csrf_token()?;
        Ok(())
    }

    /// Forgets the login in the cookie only (`auth::login::end` also ends it on the server);
    /// the meter stays.
    pub fn forget_login(&self) -> Result<(), AppError> {
        self.0.renew();
        self.0.remove(LOGIN);
        self.rotate_csrf_token()?;
        Ok(())
    }

    pub fn set_flash(&self, message: &str) -> Result<(), AppError> {
        let mut end = message.len().min(MAX_FLASH_BYTES);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        self.set(FLASH, &&message[..end])
    }

    pub fn take_flash(&self) -> Option<String> {
        let message = self.get(FLASH);
        if message.is_some() {
            self.0.remove(FLASH);
        }
        message
    }

    /// True the first time it is asked for a browser; records that the notice was shown.
    pub fn first_visit(&self) -> Result<bool, AppError> {
        if self.get::<bool>(NOTICE_SEEN).unwrap_or(false) {
            return Ok(false);
        }
        self.set(NOTICE_SEEN, &true)?;
        Ok(true)
    }
}
