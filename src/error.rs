//! The one place where failures become HTTP responses.
//!
//! Handlers return `Result<_, AppError>`. Expected outcomes that re-show a form (422, 401) are
//! rendered by the handler itself; everything else is an `AppError`, which logs what happened
//! (the failed step, within the request's span so the line carries its id; never secrets) and
//! shows the reader a styled page with the right status and no internals. A database outage
//! or contention is a 503 with `Retry-After`; a page for members only, reached logged out, is
//! a 303 to the log-in form.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::DbError;
use crate::views::{ErrorPage, Layout};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// A page or form for members only, reached logged out: log in, then come back to `next`.
    #[error("log in first (then {next})")]
    LogInFirst { next: String },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// A page for a role the reader does not have (the newsroom's pages).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
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
            Self::LogInFirst { .. } => (
                "Please log in",
                "This page is for readers with an account. Log in to continue.",
            ),
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
            Self::Forbidden(_) => (
                "This page is not for you",
                "This part of Gazette is for its editors. If you should be one, ask an admin.",
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
            Self::LogInFirst { .. } => StatusCode::SEE_OTHER,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::CsrfRejected(_) | Self::Forbidden(_) => StatusCode::FORBIDDEN,
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
            Self::CsrfRejected(_)
            | Self::Forbidden(_)
            | Self::TooManyRequests { .. }
            | Self::BadRequest(_) => {
                tracing::info!(status = status.as_u16(), "{self}")
            }
            Self::NotFound | Self::PayloadTooLarge | Self::LogInFirst { .. } => {}
        }
        if let Self::LogInFirst { next } = self {
            // A plain path reads as itself (`/login?next=/account`); anything else is encoded.
            let plain = next
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
            let next = if plain {
                next.clone()
            } else {
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect()
            };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/login?next={next}")))
                .finish();
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

impl From<DbError> for AppError {
    fn from(error: DbError) -> Self {
        if error.is_outage() {
            Self::Unavailable(error.into())
        } else if error.is_contention() {
            tracing::warn!("{error}");
            Self::Busy("the database reported contention between transactions")
        } else {
            Self::Internal(error.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as DieselError};

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DbError {
        DbError::Query {
            step: "testing",
            error: DieselError::DatabaseError(kind, Box::new(message.to_string())),
        }
    }

    #[test]
    fn contention_between_transactions_is_a_503_not_a_500() {
        for error in [
            database_error(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize access",
            ),
            database_error(DatabaseErrorKind::Unknown, "deadlock detected"),
        ] {
            assert_eq!(AppError::from(error).status_code().as_u16(), 503);
        }
        let bug = database_error(DatabaseErrorKind::CheckViolation, "violates check");
        assert_eq!(AppError::from(bug).status_code().as_u16(), 500);
    }

    #[test]
    fn a_failed_step_names_itself_in_the_log_line() {
        let error = AppError::from(database_error(DatabaseErrorKind::CheckViolation, "boom"));
        assert_eq!(error.to_string(), "internal error: testing: boom");
    }

    #[test]
    fn members_pages_send_logged_out_readers_to_log_in_and_back() {
        let response = AppError::LogInFirst {
            next: "/account".to_string(),
        }
        .error_response();
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(
            response.headers().get(header::LOCATION).unwrap(),
            "/login?next=/account"
        );
    }
}
