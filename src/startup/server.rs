//! The HTTP server: actix's timeouts, the per-connection watch, the session cookie and the
//! middleware around the routes, bound to the listener the application opened.

use std::net::TcpListener;
use std::time::Duration;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::SameSite;
use actix_web::dev::Server;
use actix_web::http::KeepAlive;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use super::Services;
use super::connections::OpenConnections;
use super::middleware::{RedactedRootSpan, request_outcome, security_headers};
use crate::auth::session::COOKIE_MAX_AGE;
use crate::config::Settings;
use crate::error::AppError;
use crate::lifecycle::Phase;
use crate::routes;

/// Once the server has decided to close a connection (keep-alive over, 408 sent), how long the
/// client gets to take the last bytes: one that stops reading cannot hold a closing connection.
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn serve(
    listener: TcpListener,
    services: Services,
    settings: &Settings,
    form_targets: Vec<String>,
    connections: OpenConnections,
) -> std::io::Result<Server> {
    let key = settings.session_key.clone();
    let cookie_name = settings.session_cookie_name().to_string();
    let cookie_secure = settings.cookie_secure;
    let keep_alive = match settings.keep_alive {
        Duration::ZERO => KeepAlive::Disabled,
        idle => KeepAlive::Timeout(idle),
    };
    let quiet_limit = settings.keep_alive + settings.client_request_timeout;
    let lifecycle = services.state.lifecycle.clone();
    let server = HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_name(cookie_name.clone())
            .cookie_secure(cookie_secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_string())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(PersistentSession::default().session_ttl(COOKIE_MAX_AGE))
            .build();
        App::new()
            .wrap(security_headers(cookie_secure, &form_targets))
            // Inside the logger: its request id is in the extensions, its span around the line.
            .wrap(from_fn(request_outcome))
            .wrap(TracingLogger::<RedactedRootSpan>::new())
            .app_data(services.state.clone())
            .app_data(services.passwords.clone())
            .app_data(services.billing.clone())
            .app_data(services.device_cookies.clone())
            .app_data(services.accounts.clone())
            .app_data(services.members.clone())
            .app_data(services.newsletter.clone())
            .app_data(services.media.clone())
            .app_data(web::PayloadConfig::new(crate::auth::csrf::FORM_LIMIT))
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                AppError::BadRequest(format!("unreadable query string: {error}")).into()
            }))
            // The assets and pictures need no session: they skip the cookie's decryption and
            // encryption, and never carry a cookie a shared cache would have to keep apart.
            .configure(routes::configure_assets)
            .service(web::scope("").wrap(sessions).configure(routes::configure))
            .default_service(web::to(routes::not_found))
    })
    .client_request_timeout(settings.client_request_timeout)
    .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
    .keep_alive(keep_alive)
    .on_connect(move |connection, data| {
        let stopping = lifecycle.reached(Phase::Stopping);
        connections.watch(connection, data, quiet_limit, stopping);
    })
    // `run_until_signalled` waits for requests in flight itself; this only backs it up.
    .shutdown_timeout(settings.shutdown_timeout.as_secs())
    // Signals are handled by `run_until_signalled`, which drains before stopping the server.
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
