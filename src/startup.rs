//! Building the application: database ready, pool, password hasher, payment gateway, the
//! middleware stack and the routes, bound to a listener (port 0 picks a free port).

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::cookie::SameSite;
use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::device::DeviceCookies;
use crate::auth::password::Passwords;
use crate::auth::session::COOKIE_MAX_AGE;
use crate::billing::Billing;
use crate::clock::{Clock, SystemClock};
use crate::config::{GatewayChoice, Settings, redact_url};
use crate::db::{self, DbPool};
use crate::domain::throttle::Limits;
use crate::error::AppError;
use crate::housekeeping::Housekeeping;
use crate::payments::{PaymentGateway, TestGateway};
use crate::{demo, routes};

/// What every request handler can reach. Everything here is either immutable or shared
/// through PostgreSQL, so any number of instances can serve the same readers.
pub struct AppState {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub billing: Billing,
    pub free_articles_per_month: u32,
    pub session_cookie_name: String,
    pub trust_proxy_headers: bool,
    pub limits: Limits,
    pub device_cookies: DeviceCookies,
    pub form_body_timeout: std::time::Duration,
}

impl AppState {
    /// The client's IP address, for throttling. Behind a trusted proxy it is the last
    /// `X-Forwarded-For` entry: the one the proxy itself appended (entries before it, and
    /// earlier header lines, are whatever the client chose to send).
    pub fn client_address(&self, req: &actix_web::HttpRequest) -> String {
        let forwarded_for = req.headers().get_all("x-forwarded-for").last();
        if forwarded_for.is_some() && !self.trust_proxy_headers {
            warn_once_about_untrusted_proxy();
        }
        let forwarded = forwarded_for
            .filter(|_| self.trust_proxy_headers)
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
            .take(64)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::PrepareError),
    #[error("DATABASE_URL: {0}")]
    DemoContent(String),
    #[error("HOST/PORT: cannot listen on {address}: {reason}")]
    Bind {
        address: String,
        reason: std::io::Error,
    },
    #[error("start-up failed: {0}")]
    Other(String),
}

pub struct Application {
    address: std::net::SocketAddr,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let gateway: Option<Arc<dyn PaymentGateway>> = match settings.payment_gateway {
            GatewayChoice::Test => Some(Arc::new(TestGateway::default())),
            GatewayChoice::Disabled => None,
        };
        Self::build_with_gateway(settings, clock, gateway).await
    }

    /// As [`Application::build_with_clock`], with the payment gateway given rather than chosen
    /// by `PAYMENT_GATEWAY` (for a processor added in code, or a test's).
    pub async fn build_with_gateway(
        settings: Settings,
        clock: Arc<dyn Clock>,
        gateway: Option<Arc<dyn PaymentGateway>>,
    ) -> Result<Self, StartupError> {
        crate::allocator::return_large_blocks_to_the_system();
        if settings.session_key_is_ephemeral {
            tracing::warn!(
                "SESSION_KEY is not set: using a throw-away key, so sessions end when the app restarts"
            );
        }
        let database_url = settings.database_url.clone();
        let load_demo = settings.demo_content;
        let passwords = tokio::task::spawn_blocking(move || -> Result<Passwords, StartupError> {
            db::prepare(&database_url)?;
            if load_demo {
                let loaded = prepare_demo_content(&database_url)?;
                if loaded > 0 {
                    tracing::info!(loaded, "loaded the demo articles");
                }
            }
            Passwords::new(hashing_slots())
                .map_err(|e: AppError| StartupError::Other(e.to_string()))
        })
        .await
        .map_err(|e| StartupError::Other(e.to_string()))??;

        let pool = db::pool(&settings.database_url, settings.database_pool_size);
        tracing::info!(database = %redact_url(&settings.database_url), "database ready");

        let billing = Billing::new(pool.clone(), clock.clone(), gateway);
        Housekeeping {
            pool: pool.clone(),
            clock: clock.clone(),
            billing: billing.clone(),
            throttle_window: settings.limits.window,
        }
        .spawn(settings.housekeeping_interval);
        let state = web::Data::new(AppState {
            pool,
            clock,
            passwords,
            billing,
            free_articles_per_month: settings.free_articles_per_month,
            session_cookie_name: settings.session_cookie_name().to_string(),
            trust_proxy_headers: settings.trust_proxy_headers,
            limits: settings.limits,
            device_cookies: DeviceCookies::new(
                settings.session_key.clone(),
                settings.device_cookie_name(),
                settings.cookie_secure,
            ),
            form_body_timeout: settings.form_body_timeout,
        });

        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|reason| StartupError::Bind {
            address: address.clone(),
            reason,
        })?;
        let bound = listener
            .local_addr()
            .map_err(|reason| StartupError::Bind { address, reason })?;
        let server =
            serve(listener, state, settings).map_err(|e| StartupError::Other(e.to_string()))?;
        Ok(Self {
            address: bound,
            server,
        })
    }

    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
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

/// One hashing slot per core (at least two): hashing can keep every core busy during a burst
/// of logins, but no more hashes than cores run at once, so memory stays bounded (19 MiB each)
/// and page views are slowed rather than queued behind a backlog.
fn hashing_slots() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2)
}

fn prepare_demo_content(database_url: &str) -> Result<usize, StartupError> {
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(database_url)
        .map_err(|e| StartupError::DemoContent(format!("cannot connect: {e}")))?;
    demo::load_if_empty(&mut conn).map_err(StartupError::DemoContent)
}

/// Headers every response carries unless a handler set its own. Pages depend on the reader
/// (meter, login), so nothing dynamic may be stored by shared caches.
fn security_headers(https_only: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
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

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    settings: Settings,
) -> std::io::Result<Server> {
    let key = settings.session_key.clone();
    let cookie_name = settings.session_cookie_name().to_string();
    let cookie_secure = settings.cookie_secure;
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
            .wrap(sessions)
            .wrap(security_headers(cookie_secure))
            .wrap(TracingLogger::default())
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(crate::auth::csrf::FORM_LIMIT))
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                AppError::BadRequest(format!("unreadable query string: {error}")).into()
            }))
            .configure(routes::configure)
    })
    .listen(listener)?
    .run();
    Ok(server)
}
