//! Uploads: the one multipart form (a file with a few short fields), read under the same CSRF
//! rules as every other form (see [`super::csrf`]) and bounded as it arrives.
//!
//! The order is fixed: the origin (403), when the request is extracted; then, once the handler
//! has checked who is asking and calls [`CsrfUpload::read`], the body. It must be
//! `multipart/form-data` (any other body carries no token: 403) with a boundary (400); a body
//! that says it is far larger than the file allowed is refused before a byte is read (413).
//! The parts are read in turn: `csrf_token` must arrive, and match the session's, before the
//! file (the form puts it first), so no stranger's file is ever read; text fields are at most
//! [`TEXT_FIELD_LIMIT`] bytes of UTF-8 without NUL; there are at most [`MAX_PARTS`] parts and
//! one file. The file's bytes are read until more than the caller's limit have arrived, and
//! then reading stops at once (413): the rest of the body is never buffered. The body must
//! keep arriving: a pause longer than the forms' timeout (`FORM_BODY_TIMEOUT_SECONDS`) is a
//! 400, and so is a body still arriving after [`UPLOAD_DEADLINE`] (a 15 MB photo on a slow
//! line takes longer than a form, but not for ever). Anything malformed is a 400; nothing
//! here is a 5xx.

use std::future::{Ready, ready};
use std::time::Duration;

use actix_multipart::{Field, Multipart};
use actix_web::HttpMessage;
use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;

use super::csrf::{check_origin, check_token};
use super::session::ReaderSession;
use crate::config::DEFAULT_FORM_BODY_TIMEOUT;
use crate::error::AppError;
use crate::state::AppState;

/// The longest text field of an upload, in bytes (alt text is 500 characters at most).
pub const TEXT_FIELD_LIMIT: usize = 4 * 1024;
/// The most parts an upload may have (the form has three).
pub const MAX_PARTS: usize = 8;
/// What the parts' headers, boundaries and text fields may add to the file in a body's
/// declared length before it is refused unread.
const BESIDES_THE_FILE: u64 = 64 * 1024;
/// The longest `csrf_token` read (the session's are 43 characters).
const TOKEN_LIMIT: usize = 256;
/// The longest a whole upload may take to arrive, however steadily.
pub const UPLOAD_DEADLINE: Duration = Duration::from_secs(300);

/// An upload whose request passed the origin check; its body is read by [`CsrfUpload::read`].
pub struct CsrfUpload {
    expected: Option<String>,
    timeout: Duration,
    declared_length: Option<u64>,
    /// `None` when the body is not `multipart/form-data`.
    parts: Option<Multipart>,
}

/// An upload's form once read: its text fields and its file, if one was chosen.
#[derive(Debug)]
pub struct UploadForm {
    fields: Vec<(String, String)>,
    pub file: Option<UploadedFile>,
}

impl UploadForm {
    /// The text field called `name`, if it was sent.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The file of an upload: its bytes, and the name it had on the sender's computer (shown,
/// never trusted).
#[derive(Debug)]
pub struct UploadedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl FromRequest for CsrfUpload {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if let Err(refused) = check_origin(req) {
            return ready(Err(refused));
        }
        let is_form_data = req
            .content_type()
            .eq_ignore_ascii_case("multipart/form-data");
        ready(Ok(Self {
            // Read now, before any other extractor of this request can rotate it.
            expected: ReaderSession::from_request(req).expected_csrf_token(),
            timeout: req
                .app_data::<web::Data<AppState>>()
                .map_or(DEFAULT_FORM_BODY_TIMEOUT, |state| state.form_body_timeout),
            declared_length: declared_length(req.headers()),
            parts: is_form_data.then(|| Multipart::new(req.headers(), payload.take())),
        }))
    }
}

impl CsrfUpload {
    /// Reads the form, with a file of at most `max_file_bytes` (see the module's rules).
    pub async fn read(self, max_file_bytes: u64) -> Result<UploadForm, AppError> {
        let Some(parts) = self.parts else {
            return Err(AppError::CsrfRejected(
                "the body is not multipart/form-data, so it carries no csrf_token",
            ));
        };
        if self.expected.is_none() {
            // Whatever token comes, it cannot match: nothing is read.
            return Err(AppError::CsrfRejected("no csrf_token in the session"));
        }
        if self
            .declared_length
            .is_some_and(|length| length > max_file_bytes.saturating_add(BESIDES_THE_FILE))
        {
            return Err(AppError::PayloadTooLarge);
        }
        let limit = usize::try_from(max_file_bytes).unwrap_or(usize::MAX);
        tokio::time::timeout(
            UPLOAD_DEADLINE,
            read_parts(parts, self.expected.as_deref(), limit, self.timeout),
        )
        .await
        .map_err(|_| too_slow())?
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

/// Reads every part in turn, under the rules of the module.
async fn read_parts(
    mut parts: Multipart,
    expected: Option<&str>,
    max_file_bytes: usize,
    pause: Duration,
) -> Result<UploadForm, AppError> {
    let mut form = UploadForm {
        fields: Vec::new(),
        file: None,
    };
    let mut token_checked = false;
    let mut file_seen = false;
    let mut count = 0;
    while let Some(part) = tokio::time::timeout(pause, parts.next())
        .await
        .map_err(|_| too_slow())?
    {
        let mut part = part.map_err(unreadable)?;
        count += 1;
        if count > MAX_PARTS {
            return Err(AppError::BadRequest(format!(
                "an upload has at most {MAX_PARTS} parts"
            )));
        }
        let name = part.name().unwrap_or_default().to_string();
        match name.as_str() {
            "csrf_token" => {
                if token_checked {
                    return Err(AppError::CsrfRejected("csrf_token sent twice"));
                }
                let sent = read_bounded(&mut part, TOKEN_LIMIT, pause)
                    .await?
                    .ok_or(AppError::CsrfRejected("wrong or missing csrf_token"))?;
                check_token(expected, Some(&sent))?;
                token_checked = true;
            }
            "file" => {
                if !token_checked {
                    return Err(AppError::CsrfRejected("no csrf_token before the file"));
                }
                if file_seen {
                    return Err(AppError::BadRequest(
                        "an upload carries one file".to_string(),
                    ));
                }
                file_seen = true;
                let file_name = part
                    .content_disposition()
                    .and_then(|disposition| disposition.get_filename())
                    .unwrap_or_default()
                    .to_string();
                let bytes = read_bounded(&mut part, max_file_bytes, pause)
                    .await?
                    .ok_or(AppError::PayloadTooLarge)?;
                // What a browser sends when no file was chosen.
                if !(bytes.is_empty() && file_name.is_empty()) {
                    form.file = Some(UploadedFile {
                        name: file_name,
                        bytes,
                    });
                }
            }
            _ => {
                if form.fields.iter().any(|(seen, _)| *seen == name) {
                    return Err(AppError::BadRequest(format!(
                        "the upload's field {name} was sent twice"
                    )));
                }
                let value = read_bounded(&mut part, TEXT_FIELD_LIMIT, pause)
                    .await?
                    .ok_or_else(|| {
                        AppError::BadRequest(format!(
                            "a field of the upload is longer than {TEXT_FIELD_LIMIT} bytes"
                        ))
                    })?;
                form.fields.push((name, text(value)?));
            }
        }
    }
    if !token_checked {
        return Err(AppError::CsrfRejected("wrong or missing csrf_token"));
    }
    Ok(form)
}

/// A part's bytes, or `None` as soon as more than `limit` have arrived (the rest is not read).
async fn read_bounded(
    part: &mut Field,
    limit: usize,
    pause: Duration,
) -> Result<Option<Vec<u8>>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = tokio::time::timeout(pause, part.next())
        .await
        .map_err(|_| too_slow())?
    {
        let chunk = chunk.map_err(unreadable)?;
        if chunk.len() > limit.saturating_sub(bytes.len()) {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// A text field's value: UTF-8 without NUL (as `csrf::check_text` requires of forms).
fn text(value: Vec<u8>) -> Result<String, AppError> {
    let text = String::from_utf8(value).map_err(|_| {
        AppError::BadRequest("a field of the upload is not valid UTF-8".to_string())
    })?;
    if text.contains('\0') {
        return Err(AppError::BadRequest(
            "a field of the upload contains a NUL character".to_string(),
        ));
    }
    Ok(text)
}

fn too_slow() -> AppError {
    AppError::BadRequest("the upload's body arrived too slowly".to_string())
}

fn unreadable(error: actix_multipart::MultipartError) -> AppError {
    AppError::BadRequest(format!("the upload's body is not readable: {error}"))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
    use actix_web::web::Bytes;

    use super::*;

    const BOUNDARY: &str = "----gazette-test";

    enum Part<'a> {
        Text(&'a str, &'a [u8]),
        File(&'a str, &'a [u8]),
    }

    fn body(parts: &[Part<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let (head, value) = match part {
                Part::Text(name, value) => (
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
                    *value,
                ),
                Part::File(file_name, value) => (
                    format!(
                        "Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                         Content-Type: image/jpeg\r\n\r\n"
                    ),
                    *value,
                ),
            };
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    /// Reads `body` as it would arrive in chunks of `chunk` bytes.
    async fn read(body: Vec<u8>, chunk: usize, limit: usize) -> Result<UploadForm, AppError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&format!("multipart/form-data; boundary={BOUNDARY}")).unwrap(),
        );
        let chunks: Vec<Result<Bytes, actix_web::error::PayloadError>> = body
            .chunks(chunk)
            .map(|piece| Ok(Bytes::copy_from_slice(piece)))
            .collect();
        let parts = Multipart::new(&headers, futures_util::stream::iter(chunks));
        read_parts(parts, Some("token"), limit, Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn the_token_then_the_fields_and_the_file_are_read() {
        let form = read(
            body(&[
                Part::Text("csrf_token", b"token"),
                Part::Text("alt", "A harbour at dawn, café".as_bytes()),
                Part::File("harbour.jpg", &[7; 5000]),
            ]),
            97,
            5000,
        )
        .await
        .unwrap();
        assert_eq!(form.field("alt"), Some("A harbour at dawn, café"));
        let file = form.file.unwrap();
        assert_eq!(
            (file.name.as_str(), file.bytes.len()),
            ("harbour.jpg", 5000)
        );
    }

    #[tokio::test]
    async fn a_file_before_the_token_or_without_a_good_one_is_refused_unread() {
        for parts in [
            vec![
                Part::File("a.jpg", b"x"),
                Part::Text("csrf_token", b"token"),
            ],
            vec![
                Part::Text("csrf_token", b"wrong"),
                Part::File("a.jpg", b"x"),
            ],
            vec![Part::Text("csrf_token", b""), Part::File("a.jpg", b"x")],
            vec![Part::Text("alt", b"x")],
            vec![
                Part::Text("csrf_token", b"token"),
                Part::Text("csrf_token", b"token"),
            ],
            vec![Part::Text("csrf_token", &[b'a'; 300])],
        ] {
            let refused = read(body(&parts), 64, 1000).await;
            assert!(
                matches!(refused, Err(AppError::CsrfRejected(_))),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_file_is_cut_off_past_the_limit() {
        let parts = [
            Part::Text("csrf_token", b"token"),
            Part::File("big.jpg", &[1; 1001]),
        ];
        assert!(matches!(
            read(body(&parts), 100, 1000).await,
            Err(AppError::PayloadTooLarge)
        ));
        assert!(read(body(&parts), 100, 1001).await.is_ok());
    }

    #[tokio::test]
    async fn malformed_uploads_are_400s() {
        let long = vec![b'a'; TEXT_FIELD_LIMIT + 1];
        let many: Vec<Part<'_>> = std::iter::once(Part::Text("csrf_token", b"token"))
            .chain((0..MAX_PARTS).map(|_| Part::Text("x", b"1")))
            .collect();
        let cases: Vec<Vec<u8>> = vec![
            body(&[
                Part::Text("csrf_token", b"token"),
                Part::File("a.jpg", b"x"),
                Part::File("b.jpg", b"y"),
            ]),
            body(&[Part::Text("csrf_token", b"token"), Part::Text("alt", &long)]),
            body(&[
                Part::Text("csrf_token", b"token"),
                Part::Text("alt", b"\xff"),
            ]),
            body(&[
                Part::Text("csrf_token", b"token"),
                Part::Text("alt", b"a\0"),
            ]),
            body(&[
                Part::Text("csrf_token", b"token"),
                Part::Text("alt", b"a"),
                Part::Text("alt", b"b"),
            ]),
            body(&many),
            b"no boundary anywhere".repeat(10_000),
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok"
            )
            .into_bytes(),
        ];
        for case in cases {
            let refused = read(case, 512, 1000).await;
            assert!(
                matches!(refused, Err(AppError::BadRequest(_))),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn no_file_chosen_is_a_form_without_a_file() {
        let form = read(
            body(&[Part::Text("csrf_token", b"token"), Part::File("", b"")]),
            64,
            1000,
        )
        .await
        .unwrap();
        assert!(form.file.is_none());
    }
}
