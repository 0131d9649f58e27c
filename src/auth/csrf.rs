//! CSRF protection for every state-changing request, and the one place forms are read.
//!
//! Two independent checks: the browser's own word on where the request came from (`Origin`,
//! `Sec-Fetch-Site`), and a synchronizer token kept in the encrypted session that every form
//! echoes in `csrf_token`. Handlers take their form as [`CsrfForm<T>`], so a POST handler
//! cannot read its form without both checks having passed.
//!
//! The order is fixed: the origin; then the body, which must be a URL-encoded form (any other
//! body carries no token, so it is refused like a form without one: 403), too large is 413,
//! too slow to arrive is 400; then the token (403); then every field name and value must be
//! valid UTF-8 without NUL once percent-decoded (400: two different byte strings must never
//! become the same password); only then is the form deserialised (400 when it does not fit).
//!
//! The one form that is not URL-encoded, an upload, is read by [`super::upload`] with these
//! same two checks.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::session::ReaderSession;
use crate::config::DEFAULT_FORM_BODY_TIMEOUT;
use crate::error::AppError;
use crate::state::AppState;

/// The largest form accepted (the forms here hold an e-mail and a password at most).
pub const FORM_LIMIT: usize = 16 * 1024;

/// A form whose request passed the origin and token checks.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(default, rename = "csrf_token")]
    _csrf_token: String,
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
        let timeout = req
            .app_data::<web::Data<AppState>>()
            .map_or(DEFAULT_FORM_BODY_TIMEOUT, |state| state.form_body_timeout);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            origin?;
            if !is_form {
                return Err(AppError::CsrfRejected(
                    "the body is not a form, so it carries no csrf_token",
                ));
            }
            let body = read_within(timeout, body).await?;
            let fields = decode_form(&body);
            check_token(expected.as_deref(), sent_token(&fields))?;
            check_text(&fields)?;
            let envelope: Envelope<T> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| AppError::BadRequest(format!("unreadable form: {e}")))?;
            Ok(CsrfForm(envelope.fields))
        })
    }
}

/// The whole body, unless it takes longer than `timeout` to arrive: a client sending a form a
/// byte at a time must not hold a worker's connection for as long as it likes.
async fn read_within(
    timeout: Duration,
    body: impl Future<Output = Result<web::Bytes, actix_web::Error>>,
) -> Result<web::Bytes, AppError> {
    tokio::time::timeout(timeout, body)
        .await
        .map_err(|_| AppError::BadRequest("the form's body arrived too slowly".to_string()))?
        .map_err(body_error)
}

/// Refuses requests the browser says come from another site. Browsers always send these
/// headers on cross-site form posts; their absence (older clients, tools) leaves the token
/// check as the guard.
pub(super) fn check_origin(req: &HttpRequest) -> Result<(), AppError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(AppError::CsrfRejected("Sec-Fetch-Site is not same-origin"));
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

pub(super) fn check_token(expected: Option<&str>, sent: Option<&[u8]>) -> Result<(), AppError> {
    match (expected, sent) {
        (Some(expected), Some(sent))
            if !sent.is_empty() && bool::from(expected.as_bytes().ct_eq(sent)) =>
        {
            Ok(())
        }
        (Some(_), _) => Err(AppError::CsrfRejected("wrong or missing csrf_token")),
        (None, _) => Err(AppError::CsrfRejected("no csrf_token in the session")),
    }
}

/// A form's fields as bytes, percent-decoded (`+` is a space), in order. Unlike
/// `form_urlencoded::parse`, nothing is replaced: invalid UTF-8 stays visible to
/// [`check_text`].
fn decode_form(body: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 3;
                }
                // Not an escape: kept as it is, as browsers and `form_urlencoded` do.
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// The one `csrf_token` the form sent; none when it sent several (which one would count?).
fn sent_token(fields: &[(Vec<u8>, Vec<u8>)]) -> Option<&[u8]> {
    let mut tokens = fields
        .iter()
        .filter(|(name, _)| name == b"csrf_token")
        .map(|(_, value)| value.as_slice());
    match (tokens.next(), tokens.next()) {
        (Some(token), None) => Some(token),
        _ => None,
    }
}

/// Every field name and value is valid UTF-8 without NUL: no field has a use for a NUL
/// (PostgreSQL cannot even store one), and invalid UTF-8 would otherwise be replaced, making
/// different bytes the same text.
fn check_text(fields: &[(Vec<u8>, Vec<u8>)]) -> Result<(), AppError> {
    for (name, value) in fields {
        for part in [name, value] {
            let text = std::str::from_utf8(part)
                .map_err(|_| AppError::BadRequest("a form field is not valid UTF-8".to_string()))?;
            if text.contains('\0') {
                return Err(AppError::BadRequest(
                    "a form field contains a NUL character".to_string(),
                ));
            }
        }
    }
    Ok(())
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

    fn fields(body: &[u8]) -> Result<(), AppError> {
        check_text(&decode_form(body))
    }

    #[test]
    fn fields_are_percent_decoded_exactly() {
        assert_eq!(
            decode_form(b"email=a%40b.co&&csrf_token=t+u&flag&x=%zz%4"),
            vec![
                (b"email".to_vec(), b"a@b.co".to_vec()),
                (b"csrf_token".to_vec(), b"t u".to_vec()),
                (b"flag".to_vec(), Vec::new()),
                (b"x".to_vec(), b"%zz%4".to_vec()),
            ]
        );
        assert_eq!(
            decode_form(b"p=%FF%fe"),
            vec![(b"p".to_vec(), vec![0xff, 0xfe])]
        );
    }

    #[test]
    fn invalid_utf8_and_nul_are_refused_in_names_and_values() {
        assert!(fields(b"email=a%40b.co&password=%C3%A9t%C3%A9").is_ok());
        for body in [
            &b"password=%FF%FE"[..],
            b"password=abc%C3",
            b"%FF=x",
            b"email=\xff",
            b"email=a%00b",
            b"a%00=b",
        ] {
            assert!(
                matches!(fields(body), Err(AppError::BadRequest(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_token_must_be_sent_once_and_match_exactly() {
        let token = |body: &[u8]| {
            let fields = decode_form(body);
            check_token(Some("abc"), sent_token(&fields)).is_ok()
        };
        assert!(token(b"csrf_token=abc"));
        assert!(!token(b"csrf_token=abd"));
        assert!(!token(b"csrf_token="));
        assert!(!token(b"email=x"));
        assert!(!token(b"csrf_token=abc&csrf_token=abc"));
        assert!(!token(b"csrf_token=abc%FF"));
        assert!(check_token(None, Some(b"abc")).is_err());
        assert!(check_token(None, None).is_err());
    }

    #[test]
    fn the_form_is_deserialised_without_its_token() {
        let envelope: Envelope<Login> =
            serde_urlencoded::from_bytes(b"email=a%40b.co&csrf_token=t").unwrap();
        assert_eq!(envelope.fields.email, "a@b.co");
    }
}
