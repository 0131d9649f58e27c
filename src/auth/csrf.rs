//! CSRF protection for every state-changing request.
//!
//! Two independent checks: the browser's own word on where the request came from (`Origin`,
//! `Sec-Fetch-Site`), and a synchronizer token kept in the encrypted session that every form
//! echoes in `csrf_token`. Handlers take their form as [`CsrfForm<T>`], so a POST handler
//! cannot read its form without both checks having passed.

use std::future::Future;
use std::pin::Pin;

use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::session::ReaderSession;
use crate::error::AppError;

/// The largest form accepted (the forms here hold an e-mail and a password at most).
pub const FORM_LIMIT: usize = 16 * 1024;

/// A form whose request passed the origin and token checks.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    csrf_token: String,
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let origin = check_origin(req);
        // Read now, before any other extractor of this request can rotate it.
        let expected = ReaderSession::from_request(req).expected_csrf_token();
        let is_form = req
            .content_type()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded");
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            origin?;
            if !is_form {
                return Err(AppError::BadRequest("expected an HTML form".to_string()));
            }
            let envelope = parse_form::<T>(&body.await.map_err(body_error)?)?;
            check_token(expected.as_deref(), &envelope.csrf_token)?;
            Ok(CsrfForm(envelope.fields))
        })
    }
}

/// Refuses requests the browser says come from another site. Browsers always send these
/// headers on cross-site form posts; their absence (older clients, tools) leaves the token
/// check as the guard.
fn check_origin(req: &HttpRequest) -> Result<(), AppError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        if !matches!(site, "same-origin" | "none") {
            return Err(AppError::CsrfRejected("Sec-Fetch-Site is not same-origin"));
        }
    }
    if let Some(origin) = header("origin") {
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        let host = req.connection_info().host().to_string();
        if !authority.is_some_and(|authority| authority.eq_ignore_ascii_case(&host)) {
            return Err(AppError::CsrfRejected("Origin is another site"));
        }
    }
    Ok(())
}

fn check_token(expected: Option<&str>, sent: &str) -> Result<(), AppError> {
    match expected {
        Some(expected)
            if !sent.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) =>
        {
            Ok(())
        }
        Some(_) => Err(AppError::CsrfRejected("wrong or missing csrf_token")),
        None => Err(AppError::CsrfRejected("no csrf_token in the session")),
    }
}

/// Decodes a form. A NUL character is refused here, once for every form: no field has a use
/// for one, and PostgreSQL cannot store it.
fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<Envelope<T>, AppError> {
    if url::form_urlencoded::parse(body)
        .any(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        return Err(AppError::BadRequest(
            "a form field contains a NUL character".to_string(),
        ));
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|e| AppError::BadRequest(format!("unreadable form: {e}")))
}

fn body_error(error: actix_web::Error) -> AppError {
    match error.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => AppError::PayloadTooLarge,
        _ => AppError::BadRequest(format!("unreadable request body: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Login {
        email: String,
    }

    #[test]
    fn forms_with_a_nul_character_are_refused() {
        let ok = parse_form::<Login>(b"email=a%40b.co&csrf_token=t").unwrap();
        assert_eq!(
            (ok.fields.email.as_str(), ok.csrf_token.as_str()),
            ("a@b.co", "t")
        );
        assert!(matches!(
            parse_form::<Login>(b"email=a%00b&csrf_token=t"),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn the_token_must_match_exactly() {
        assert!(check_token(Some("abc"), "abc").is_ok());
        assert!(check_token(Some("abc"), "abd").is_err());
        assert!(check_token(Some("abc"), "").is_err());
        assert!(check_token(None, "").is_err());
        assert!(check_token(None, "abc").is_err());
    }
}
