//! The one place where failures become HTTP responses.
//!
//! Handlers return `Result<_, AppError>`. Expected outcomes that re-show a form (422, 401) are
//! rendered by the handler itself; everything else is an `AppError`, which logs what happened
//! (with context, never with secrets) and shows the reader a styled page with the right status
//! and no internals.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::views::{ErrorPage, Layout};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("cross-site request refused: {0}")]
    CsrfRejected(&'static str),
    #[error("too many attempts; retry in {retry_after_secs}s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// Too much work queued (for example password hashing); a retry soon will do.
    #[error("busy: {0}")]
    Busy(&'static str),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn internal(context: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{context}: {error}"))
    }

    fn page(&self) -> (&'static str, &'static str) {
        match self {
            Self::NotFound => (
                "Page not found",
                "We could not find that page. It may have moved, or the address may be mistyped.",
            ),
            Self::BadRequest(_) => (
                "That request did not make sense",
                "Something in the request was malformed. Go back and try again.",
            ),
            Self::PayloadTooLarge => (
                "That was too much",
                "The form you sent was far larger than anything we accept.",
            ),
            Self::CsrfRejected(_) => (
                "This form has expired",
                "For your safety we only accept forms sent from this site's own pages. \
                 Reload the page and try again.",
            ),
            Self::TooManyRequests { .. } => (
                "Too many attempts",
                "There have been too many attempts from here. Please wait a little and try again.",
            ),
            Self::Busy(_) => (
                "We are very busy",
                "Many requests are arriving at once. Please try again in a few seconds.",
            ),
            Self::Unavailable(_) => (
                "We will be right back",
                "Gazette cannot reach its database at the moment. Please try again in a few seconds.",
            ),
            Self::Internal(_) => (
                "Something went wrong on our side",
                "The error has been logged. Please try again in a moment.",
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::CsrfRejected(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::Internal(_) => tracing::error!(status = status.as_u16(), "{self}"),
            Self::Unavailable(_) | Self::Busy(_) => {
                tracing::warn!(status = status.as_u16(), "{self}")
            }
            Self::CsrfRejected(_) | Self::TooManyRequests { .. } | Self::BadRequest(_) => {
                tracing::info!(status = status.as_u16(), "{self}")
            }
            Self::NotFound | Self::PayloadTooLarge => {}
        }

        let (heading, message) = self.page();
        let page = ErrorPage {
            layout: Layout::bare(heading),
            status: status.as_u16(),
            heading,
            message,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        match self {
            Self::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unavailable(_) | Self::Busy(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        match page.render() {
            Ok(html) => response.content_type("text/html; charset=utf-8").body(html),
            Err(error) => {
                tracing::error!("rendering the error page failed: {error}");
                response
                    .content_type("text/plain; charset=utf-8")
                    .body(message)
            }
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::internal("rendering a template", error)
    }
}
