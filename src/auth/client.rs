//! Where a request comes from, for the limits kept per address.
//!
//! Behind a trusted proxy (`TRUST_PROXY_HEADERS`) the address is the last `X-Forwarded-For`
//! entry: the one the proxy itself appended (entries before it, and earlier header lines, are
//! whatever the client chose to send). Otherwise it is the connection's peer.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::error::AppError;
use crate::state::AppState;

/// The longest address kept (an IPv6 address is at most 45 characters).
const MAX_CHARS: usize = 64;

/// The client's address, as the limits per address see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    pub fn of(req: &HttpRequest) -> Self {
        let trust_proxy = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.trust_proxy_headers);
        Self(client_address(req, trust_proxy))
    }
}

impl FromRequest for ClientAddress {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

fn client_address(req: &HttpRequest, trust_proxy: bool) -> String {
    let forwarded_for = req.headers().get_all("x-forwarded-for").last();
    if forwarded_for.is_some() && !trust_proxy {
        warn_once_about_untrusted_proxy();
    }
    let forwarded = forwarded_for
        .filter(|_| trust_proxy)
        .and_then(|line| line.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .map(str::trim)
        .filter(|address| !address.is_empty());
    let peer = req.peer_addr().map(|addr| addr.ip().to_string());
    forwarded
        .map(str::to_string)
        .or(peer)
        .unwrap_or_else(|| "unknown".to_string())
        .chars()
        .take(MAX_CHARS)
        .collect()
}

/// Behind a proxy whose headers are not trusted, every reader shares the proxy's address, and
/// the per-address limits apply to all of them together: worth one warning in the log.
fn warn_once_about_untrusted_proxy() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        tracing::warn!(
            "requests carry X-Forwarded-For but TRUST_PROXY_HEADERS is off: login and sign-up \
             limits per address see the proxy's address for everyone"
        )
    });
}
