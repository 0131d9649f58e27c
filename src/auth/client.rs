//! Where a request comes from, for the limits kept per address and for the logs.
//!
//! Behind a trusted proxy (`TRUST_PROXY_HEADERS`) the address is the last `X-Forwarded-For`
//! entry: the one the proxy itself appended (entries before it, and earlier header lines, are
//! whatever the client chose to send). Otherwise it is the connection's peer. The same rule
//! gives the scheme the logs name ([`scheme`]); no header a client can write is believed
//! without a proxy the settings trust.
//!
//! The limits count a client by [`ClientAddress::limit_key`]: an IPv4 address whole, an IPv6
//! address by its /64 network. A home line or an office LAN is given a whole /64, so the other
//! half of an IPv6 address is the client's to change at will and would multiply every limit
//! kept per address; a /64 is what one IPv4 address is. Logs keep the whole address.

use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

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

    /// Who the limits per address count this client as: an IPv4 address whole (also one
    /// written as IPv6), an IPv6 address by its /64 network (`2001:db8:1:2::/64`), anything
    /// that is not an address as it was written.
    pub fn limit_key(&self) -> String {
        match parse(&self.0) {
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let network = Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
                    format!("{network}/64")
                }
            },
            None => self.0.clone(),
        }
    }
}

/// An address as proxies and peers write it: bare, in brackets, or with a port.
fn parse(address: &str) -> Option<IpAddr> {
    address
        .parse::<IpAddr>()
        .ok()
        .or_else(|| address.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            address
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

impl FromRequest for ClientAddress {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

/// The entry a trusted proxy added to the list header `name` (`X-Forwarded-For`,
/// `X-Forwarded-Proto`): the last one of its last line. Whatever comes before it was written by
/// the client. Call it only when the settings trust the proxy.
pub fn added_by_proxy<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(name)
        .last()
        .and_then(|line| line.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

fn client_address(req: &HttpRequest, trust_proxy: bool) -> String {
    let has_forwarded_for = req.headers().contains_key("x-forwarded-for");
    if has_forwarded_for && !trust_proxy {
        warn_once_about_untrusted_proxy();
    }
    let forwarded = trust_proxy
        .then(|| added_by_proxy(req, "x-forwarded-for"))
        .flatten();
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

/// The scheme the reader used, for the logs: behind a trusted proxy, the last
/// `X-Forwarded-Proto` entry (when it is `http` or `https`); otherwise the connection's own.
pub fn scheme(req: &HttpRequest) -> &'static str {
    let trust_proxy = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.trust_proxy_headers);
    let forwarded = trust_proxy
        .then(|| added_by_proxy(req, "x-forwarded-proto"))
        .flatten();
    match forwarded {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
        _ if req.app_config().secure() => "https",
        _ => "http",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(address: &str) -> String {
        ClientAddress(address.to_string()).limit_key()
    }

    #[test]
    fn an_ipv4_client_is_its_address() {
        assert_eq!(key("198.51.100.7"), "198.51.100.7");
        assert_eq!(key("198.51.100.7:51234"), "198.51.100.7");
        assert_eq!(key("::ffff:198.51.100.7"), "198.51.100.7");
        assert_ne!(key("198.51.100.7"), key("198.51.100.8"));
    }

    #[test]
    fn an_ipv6_client_is_its_network() {
        let one = key("2001:db8:5:7:1:2:3:4");
        assert_eq!(one, "2001:db8:5:7::/64");
        for same in [
            "2001:db8:5:7::1",
            "2001:DB8:5:7:ffff:ffff:ffff:ffff",
            "[2001:db8:5:7::9]",
            "[2001:db8:5:7::9]:443",
        ] {
            assert_eq!(key(same), one, "{same}");
        }
        assert_ne!(key("2001:db8:5:8::1"), one);
        assert_eq!(key("::1"), "::/64");
    }

    #[test]
    fn what_is_not_an_address_is_kept_as_written() {
        assert_eq!(key("unknown"), "unknown");
        assert_eq!(key("fe80::1%eth0"), "fe80::1%eth0");
    }
}
