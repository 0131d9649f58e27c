//! What every page starts with: who is reading, and the layout around the page.
//!
//! The session is read for the layout only when a page is rendered (a handler that redirects
//! leaves the one-time flash for the next page): the CSRF token (made on first use, so a new
//! or replaced cookie is set), the flash, and whether the cookie notice was shown; a page that
//! must leave the cookie as it came (an article opened by a gift link) takes
//! [`Visit::layout_untouched`], which writes none of them. A member whose subscription has a
//! payment that did not go through gets a banner on every page. The views get plain values.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::current_reader::{Member, Reader};
use crate::auth::session::ReaderSession;
use crate::domain::meter::Meter;
use crate::domain::subscription::Status;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{Layout, SITE_DESCRIPTION, meter_note};

pub struct Visit {
    pub reader: Reader,
    pub session: ReaderSession,
    /// Free premium articles a month, for the meter note.
    allowance: u32,
    /// Where readers reach the site, for canonical links.
    public_url: String,
}

impl FromRequest for Visit {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let reader = Reader::from_request(req, payload);
        let session = ReaderSession::from_request(req);
        let state = req.app_data::<web::Data<AppState>>();
        let allowance = state.map_or(0, |state| state.free_articles_per_month);
        let public_url = state.map_or_else(String::new, |state| state.public_url.clone());
        Box::pin(async move {
            Ok(Self {
                reader: reader.await?,
                session,
                allowance,
                public_url,
            })
        })
    }
}

impl Visit {
    pub fn member(&self) -> Option<&Member> {
        self.reader.member.as_ref()
    }

    pub fn allowance(&self) -> u32 {
        self.allowance
    }

    /// The layout of a page titled `title`.
    pub fn layout(&self, title: impl Into<String>) -> Result<Layout, AppError> {
        self.layout_with_meter(title, self.reader.meter.as_ref())
    }

    /// As [`Visit::layout`], with the meter as it stands after this request (an article just
    /// counted shows in the note).
    pub fn layout_with_meter(
        &self,
        title: impl Into<String>,
        meter: Option<&Meter>,
    ) -> Result<Layout, AppError> {
        let mut layout = self.layout_untouched(title);
        layout.meter_note =
            meter.map(|meter| meter_note(meter.left(self.allowance), self.allowance));
        layout.csrf_token = self.session.csrf_token()?;
        layout.flash = self.session.take_flash();
        layout.cookie_notice = self.session.first_visit()?;
        Ok(layout)
    }

    /// The layout of a page that leaves the session cookie exactly as it came: no CSRF token
    /// is made (the page's forms need the one the session has: a member's always has one),
    /// the cookie notice is not marked as shown, and a flash waits for the next page. For an
    /// article opened by a gift link, which must not touch a visitor's cookie.
    pub fn layout_untouched(&self, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            description: SITE_DESCRIPTION.to_string(),
            site_url: self.public_url.clone(),
            canonical_url: None,
            og_type: "website",
            share_image: None,
            noindex: false,
            editor: self.member().is_some_and(|m| m.role.edits()),
            csrf_token: self.session.expected_csrf_token().unwrap_or_default(),
            member_email: self.member().map(|m| m.email.clone()),
            subscribed: self.reader.subscribed,
            payment_notice: self
                .member()
                .and_then(|m| m.subscription.as_ref())
                .is_some_and(|row| {
                    row.failed_payment.since.is_some() && row.status != Status::Ended
                }),
            newsroom: self.member().is_some_and(|m| m.role.reads_everything()),
            meter_note: self
                .reader
                .meter
                .as_ref()
                .map(|meter| meter_note(meter.left(self.allowance), self.allowance)),
            flash: None,
            cookie_notice: false,
            knows_reader: true,
        }
    }
}
