//! The middleware every request passes through, outermost first: the request's span and id
//! (`RedactedRootSpan`), one log line per answer (`request_outcome`), and the security
//! headers. Nothing here reads a header a client can write unless the settings trust the proxy
//! that wrote it, and no secret reaches a log line.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::web;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

use super::connections;
use crate::auth::client::{self, ClientAddress};
use crate::state::AppState;

/// The request's span, like tracing-actix-web's own, except that the values of `token` and
/// `gift` parameters in the query are left out (links from mail carry their single-use tokens
/// there, gift links the token that opens an article, and the logs never hold a secret), and
/// that nothing in it comes from a header a client can write unless the settings trust the
/// proxy that wrote it: the host is the site's own (`PUBLIC_URL`, else the address listened
/// on), the scheme and client address are the connection's or the trusted proxy's
/// (`auth::client`).
pub(super) struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        // The span formats its fields as it is made: everything is borrowed, nothing copied.
        let extensions = request.extensions();
        let request_id = extensions.get::<RequestId>();
        let route = request.match_pattern();
        let user_agent = request
            .headers()
            .get("User-Agent")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let host = request
            .app_data::<web::Data<AppState>>()
            .map(|state| state.public_host())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route.as_deref().unwrap_or("default"),
            http.flavor = ?request.version(),
            http.scheme = %client::scheme(request.request()),
            http.host = %host,
            http.client_ip = %ClientAddress::of(request.request()).0,
            http.user_agent = %user_agent,
            http.target = %redacted_target(request.uri()),
            request_id = %OrEmpty(request_id),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    /// The status is on the request's `answered` line already, and nothing is logged in the
    /// span after it: only a failure actix answered itself is recorded here.
    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let failed = match outcome {
            Ok(response) => response.response().error().is_some(),
            Err(_) => true,
        };
        if failed {
            DefaultRootSpanBuilder::on_request_end(span, outcome);
        }
    }
}

/// A value that may be missing, written as nothing when it is.
struct OrEmpty<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for OrEmpty<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(value) => value.fmt(f),
            None => Ok(()),
        }
    }
}

/// Query parameters whose values are secrets: mailed single-use tokens, and gift links' tokens.
const SECRET_PARAMETERS: [&str; 2] = ["token", "gift"];

/// Paths whose last part is a secret: a gift subscription's link.
const SECRET_PATHS: [&str; 1] = ["/gift/"];

/// The path and query, with the value of every `token` and `gift` parameter, and the secret
/// part of a path under [`SECRET_PATHS`], replaced.
fn redacted_target(uri: &actix_web::http::Uri) -> Cow<'_, str> {
    if let Some(prefix) = SECRET_PATHS
        .iter()
        .find(|prefix| uri.path().starts_with(*prefix))
    {
        return Cow::Owned(format!("{prefix}[redacted]"));
    }
    let Some(query) = uri.query() else {
        return Cow::Borrowed(uri.path());
    };
    if !query
        .split('&')
        .any(|pair| SECRET_PARAMETERS.contains(&pair.split('=').next().unwrap_or_default()))
    {
        return Cow::Borrowed(
            uri.path_and_query()
                .map_or(uri.path(), |whole| whole.as_str()),
        );
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name == "token" || name == "gift" => format!("{name}=[redacted]"),
            _ => pair.to_string(),
        })
        .collect();
    Cow::Owned(format!("{}?{}", uri.path(), query.join("&")))
}

/// Gives every response the id its request's log lines carry, logs one line per request
/// (health checks only at debug level: load balancers ask every few seconds), and while the
/// instance drains, closes each connection after its response, so that keep-alive connections
/// are gone by the time the listener closes instead of holding the stop until they idle out.
pub(super) async fn request_outcome(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req.extensions().get::<RequestId>().map(ToString::to_string);
    let lifecycle = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.lifecycle.clone());
    let is_health_check = req.path() == "/healthz";
    let _in_flight = req
        .conn_data::<connections::ConnectionWatch>()
        .map(connections::ConnectionWatch::request_started);
    // An error here (rare: handlers' errors arrive as responses) is answered by actix without
    // these headers; the logger still records it with the request id.
    let mut response = next.call(req).await?;
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    if lifecycle.is_some_and(|lifecycle| lifecycle.is_draining()) {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_millis();
    if is_health_check {
        tracing::debug!(status, elapsed_ms, "answered");
    } else {
        tracing::info!(status, elapsed_ms, "answered");
    }
    Ok(response)
}

/// Headers every response carries unless a handler set its own. Pages depend on the reader
/// (meter, login), so nothing dynamic may be stored by shared caches. Forms post to the site
/// itself; `form_targets` are the payment processor's pages that a form's answer redirects to
/// (browsers apply `form-action` to that redirect too).
pub(super) fn security_headers(https_only: bool, form_targets: &[String]) -> DefaultHeaders {
    let form_action = std::iter::once("'self'")
        .chain(form_targets.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let headers = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            format!(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 font-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
            ),
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cache-Control", "no-store"));
    if https_only {
        // The site is served over HTTPS only (its cookie is Secure): browsers should never
        // try plain HTTP again.
        headers.add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_the_query_are_left_out_of_the_logged_target() {
        let target = |uri: &str| redacted_target(&uri.parse().unwrap()).into_owned();
        assert_eq!(
            target("/password/reset?token=s3cr3t-t0ken"),
            "/password/reset?token=[redacted]"
        );
        assert_eq!(
            target("/account/email/confirm?x=1&token=abc&next=/"),
            "/account/email/confirm?x=1&token=[redacted]&next=/"
        );
        assert_eq!(
            target("/articles/3/a-title?gift=abc.def"),
            "/articles/3/a-title?gift=[redacted]"
        );
        assert_eq!(target("/login?next=/account"), "/login?next=/account");
        assert_eq!(target("/articles/3"), "/articles/3");
        assert_eq!(target("/gift/NDI.c2lnbmF0dXJl"), "/gift/[redacted]");
        assert_eq!(target("/gift/NDI.c2ln?x=1"), "/gift/[redacted]");
        assert_eq!(target("/gift"), "/gift");
    }
}
