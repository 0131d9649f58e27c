//! Building the application: database ready, pool, password hasher, payment gateway, the
//! middleware stack and the routes, bound to a listener (port 0 picks a free port); and its
//! life until it stops.
//!
//! Stopping is graceful: on the first SIGTERM or SIGINT the health check answers 503 while
//! pages are still served for `SHUTDOWN_DRAIN_SECONDS`, so load balancers stop sending; then
//! no connection is accepted any more, requests in flight finish (cut after
//! `SHUTDOWN_TIMEOUT_SECONDS`), idle connections are closed, housekeeping stops between rounds,
//! and the listener closes. A second signal stops at once.
//!
//! Slow and idle clients are cut off: a request head must arrive within
//! `CLIENT_REQUEST_TIMEOUT_SECONDS`, an idle connection is closed after `KEEP_ALIVE_SECONDS`
//! (actix's own timers), and a later head on a kept-alive connection within both together
//! (`connections`, since actix times only the first).

mod connections;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};
use actix_session::storage::CookieSessionStore;
use actix_web::body::MessageBody;
use actix_web::cookie::SameSite;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::KeepAlive;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};
use tokio::task::JoinHandle;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder, TracingLogger};

use crate::accounts::Accounts;
use crate::auth::client::{self, ClientAddress};
use crate::auth::device::DeviceCookies;
use crate::auth::password::Passwords;
use crate::auth::session::COOKIE_MAX_AGE;
use crate::billing::{Billing, Budget};
use crate::cache::Caches;
use crate::clock::{Clock, SystemClock};
use crate::config::{AppEnv, GatewayChoice, MailTransport, Settings, redact_url};
use crate::db;
use crate::domain::money;
use crate::error::AppError;
use crate::housekeeping::Housekeeping;
use crate::lifecycle::{Lifecycle, Phase, StopSignals, Stopped};
use crate::mail::{Doorbell, FolderMailer, Mailer, SmtpMailer};
use crate::outbox::Outbox;
use crate::payments::hosted::HostedGateway;
use crate::payments::stripe::{PlanTerms, PriceCheckError, PriceMismatch, Stripe};
use crate::payments::{Gateway, PaymentGateway, TestGateway};
use crate::state::AppState;
use crate::{demo, routes};
use connections::OpenConnections;

/// Parts of the application given rather than made from the settings.
#[derive(Default)]
pub struct Overrides {
    /// The source of "now" (tests move it by hand); the system clock otherwise.
    pub clock: Option<Arc<dyn Clock>>,
    /// The payment gateway, instead of the one `PAYMENT_GATEWAY` names (a processor added in
    /// code, or a test's).
    pub gateway: Option<Arc<dyn PaymentGateway>>,
}

/// What the handlers reach through `web::Data`: the shared state, and the services with rules
/// of their own.
#[derive(Clone)]
struct Services {
    state: web::Data<AppState>,
    passwords: web::Data<Passwords>,
    billing: web::Data<Billing>,
    device_cookies: web::Data<DeviceCookies>,
    accounts: web::Data<Accounts>,
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
    /// A payment setting that does not work (the message names the variable).
    #[error("{0}")]
    Payments(String),
    #[error("start-up failed: {0}")]
    Other(String),
}

pub struct Application {
    address: std::net::SocketAddr,
    server: Server,
    lifecycle: Lifecycle,
    connections: OpenConnections,
    housekeeping: JoinHandle<()>,
    mail_sender: JoinHandle<()>,
    shutdown_drain: Duration,
    shutdown_timeout: Duration,
}

impl Application {
    /// Builds the application from its settings; `overrides` replace parts that tests and
    /// embedders supply themselves (`Overrides::default()` replaces nothing).
    pub async fn build(settings: Settings, overrides: Overrides) -> Result<Self, StartupError> {
        let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let mut stripe = None;
        let gateway = match overrides.gateway {
            Some(gateway) => Some(Gateway::ChargesNow(gateway)),
            None => match &settings.payment_gateway {
                GatewayChoice::Test => Some(Gateway::ChargesNow(Arc::new(TestGateway::default()))),
                GatewayChoice::Disabled => None,
                GatewayChoice::Stripe(config) => {
                    let client =
                        Arc::new(Stripe::new(config.clone()).map_err(|e| {
                            StartupError::Payments(format!("STRIPE_API_BASE: {e}"))
                        })?);
                    stripe = Some(client.clone());
                    Some(Gateway::Hosted(client))
                }
            },
        };
        crate::allocator::return_large_blocks_to_the_system();
        if settings.session_key_is_ephemeral {
            tracing::warn!(
                "SESSION_KEY is not set: using a throw-away key, so sessions end when the app restarts"
            );
        }
        let database_url = settings.database_url.clone();
        let load_demo = settings.demo_content;
        let hashing = settings.password_hashing_slots;
        let passwords = tokio::task::spawn_blocking(move || -> Result<Passwords, StartupError> {
            db::prepare(&database_url)?;
            if load_demo {
                let loaded = prepare_demo_content(&database_url)?;
                if loaded > 0 {
                    tracing::info!(loaded, "loaded the demo articles");
                }
            }
            Passwords::new(hashing_slots(hashing))
                .map_err(|e: AppError| StartupError::Other(e.to_string()))
        })
        .await
        .map_err(|e| StartupError::Other(e.to_string()))??;

        let pool = db::pool(&settings.database_url, settings.database_pool_size);
        tracing::info!(database = %redact_url(&settings.database_url), "database ready");
        if let Some(stripe) = &stripe {
            check_stripe_prices(&pool, stripe).await?;
        }

        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|reason| StartupError::Bind {
            address: address.clone(),
            reason,
        })?;
        let bound = listener
            .local_addr()
            .map_err(|reason| StartupError::Bind { address, reason })?;
        // Canonical links, the feed, the sitemap and the links in mail lead to the public
        // address; in development, to where this instance listens.
        let public_url = match &settings.public_url {
            Some(url) => url.clone(),
            None => {
                if settings.app_env == AppEnv::Production {
                    tracing::warn!(
                        "PUBLIC_URL is not set: links name the address this instance listens on"
                    );
                }
                format!("http://{bound}")
            }
        };
        let mailer = mailer(&settings, &public_url)?;

        let lifecycle = Lifecycle::default();
        let caches = Arc::new(Caches::new());
        pool.tell_changes_to({
            let caches = caches.clone();
            Arc::new(move |changes| changes.iter().for_each(|change| caches.apply(*change)))
        });
        // Stops with the instance; until it connects, the caches are bypassed.
        crate::cache::listener::spawn(
            &settings.database_url,
            caches.clone(),
            lifecycle.reached(Phase::Stopping),
        );
        let billing = Billing::new(pool.clone(), clock.clone(), gateway)
            .with_budget(Budget::of(&settings.limits));
        let form_targets = billing.page_origins();
        let housekeeping = Housekeeping {
            pool: pool.clone(),
            clock: clock.clone(),
            billing: billing.clone(),
            throttle_window: settings.limits.window,
        }
        .spawn(
            settings.housekeeping_interval,
            lifecycle.reached(Phase::Stopping),
        );
        let doorbell = Doorbell::default();
        let mail_sender = Outbox {
            pool: pool.clone(),
            clock: clock.clone(),
            mailer,
            doorbell: doorbell.clone(),
            site_url: public_url.clone(),
        }
        .spawn(lifecycle.clone());
        let state = web::Data::new(AppState {
            pool,
            caches,
            clock,
            lifecycle: lifecycle.clone(),
            free_articles_per_month: settings.free_articles_per_month,
            session_cookie_name: settings.session_cookie_name().to_string(),
            device_cookie_name: settings.device_cookie_name().to_string(),
            trust_proxy_headers: settings.trust_proxy_headers,
            limits: settings.limits,
            form_body_timeout: settings.form_body_timeout,
            public_url,
        });
        let passwords = web::Data::new(passwords);
        let billing = web::Data::new(billing);
        let services = Services {
            accounts: web::Data::new(Accounts::new(
                state.clone(),
                passwords.clone(),
                billing.clone(),
                doorbell,
            )),
            state,
            passwords,
            billing,
            device_cookies: web::Data::new(DeviceCookies::new(
                settings.session_key.clone(),
                settings.device_cookie_name(),
                settings.cookie_secure,
            )),
        };

        let (shutdown_drain, shutdown_timeout) =
            (settings.shutdown_drain, settings.shutdown_timeout);
        let connections = OpenConnections::default();
        let server = serve(
            listener,
            services,
            settings,
            form_targets,
            connections.clone(),
        )
        .map_err(|e| StartupError::Other(e.to_string()))?;
        Ok(Self {
            address: bound,
            server,
            lifecycle,
            connections,
            housekeeping,
            mail_sender,
            shutdown_drain,
            shutdown_timeout,
        })
    }

    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until the server fails; signals are left to whoever runs it (tests run many).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until SIGTERM or SIGINT, then stops gracefully (see the module's doc); a second
    /// signal stops at once.
    pub async fn run_until_signalled(self) -> std::io::Result<Stopped> {
        // Listening before announcing the address: a signal sent as soon as the address is
        // known must not find the default handler, which would end the process on the spot.
        let mut signals = StopSignals::listen()?;
        tracing::info!("Gazette is serving on http://{}", self.address);
        let Self {
            server,
            lifecycle,
            connections,
            housekeeping,
            mail_sender,
            shutdown_drain,
            shutdown_timeout,
            ..
        } = self;
        let handle = server.handle();
        // Its own task: the server must keep running (and take commands) while this one waits.
        let mut server = tokio::spawn(server);

        let first = tokio::select! {
            served = &mut server => {
                served.map_err(std::io::Error::other)??;
                return Ok(Stopped::Gracefully);
            }
            signal = signals.next() => signal,
        };
        tracing::info!(
            signal = first,
            drain_seconds = shutdown_drain.as_secs(),
            "stopping: the health check answers 503 while load balancers stop sending"
        );
        lifecycle.advance(Phase::Draining);

        let graceful = async {
            tokio::time::sleep(shutdown_drain).await;
            // Paused, not stopped: actix's stop lets a worker end as soon as its listener is
            // gone, dropping the requests it was still answering. So the stop waits for the
            // connections (and housekeeping) itself, and only then closes the listener.
            handle.pause().await;
            tracing::info!(
                open_connections = connections.count(),
                timeout_seconds = shutdown_timeout.as_secs(),
                "no longer accepting connections; finishing the requests in flight"
            );
            lifecycle.advance(Phase::Stopping);
            let deadline = tokio::time::Instant::now() + shutdown_timeout;
            let housekeeping_stopped = async {
                if tokio::time::timeout_at(deadline, housekeeping)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "housekeeping was still in a round at the deadline; what it had not \
                         committed is rolled back"
                    );
                }
                // The sender stops between messages; one cut short stays in the outbox and is
                // sent by another instance, or this one when it is back.
                if tokio::time::timeout_at(deadline, mail_sender)
                    .await
                    .is_err()
                {
                    tracing::warn!("the mail sender was still sending at the deadline");
                }
            };
            let connections_closed = async {
                let closed = tokio::time::timeout_at(deadline, connections.all_closed()).await;
                if closed.is_err() {
                    tracing::warn!(
                        open_connections = connections.count(),
                        "connections still open at the deadline are cut"
                    );
                }
                closed.is_ok()
            };
            let ((), all_closed) = tokio::join!(housekeeping_stopped, connections_closed);
            let (served, ()) = tokio::join!(&mut server, handle.stop(all_closed));
            served.map_err(std::io::Error::other)?
        };
        tokio::select! {
            served = graceful => {
                served?;
                tracing::info!("stopped");
                Ok(Stopped::Gracefully)
            }
            signal = signals.next() => {
                tracing::warn!(signal, "second stop signal: stopping at once");
                Ok(Stopped::AtOnce)
            }
        }
    }
}

/// The request's span, like tracing-actix-web's own, except that the values of `token`
/// parameters in the query are left out (links from mail carry their single-use tokens there,
/// and the logs never hold a secret), and that nothing in it comes from a header a client can
/// write unless the settings trust the proxy that wrote it: the host is the site's own
/// (`PUBLIC_URL`, else the address listened on), the scheme and client address are the
/// connection's or the trusted proxy's (`auth::client`).
struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let user_agent = request
            .headers()
            .get("User-Agent")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        let host = request
            .app_data::<web::Data<AppState>>()
            .map(|state| state.public_host().to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.flavor = ?request.version(),
            http.scheme = %client::scheme(request.request()),
            http.host = %host,
            http.client_ip = %ClientAddress::of(request.request()).0,
            http.user_agent = %user_agent,
            http.target = %redacted_target(request.uri()),
            http.status_code = tracing::field::Empty,
            otel.name = %format!("{} {route}", request.method()),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: tracing::Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The path and query, with the value of every `token` parameter replaced.
fn redacted_target(uri: &actix_web::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name == "token" => format!("{name}=[redacted]"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

/// The mailer the settings ask for: SMTP, or a folder in development.
fn mailer(settings: &Settings, site_url: &str) -> Result<Arc<dyn Mailer>, StartupError> {
    let from = match &settings.mail_from {
        Some(from) => from.clone(),
        None => {
            let host = url::Url::parse(site_url)
                .ok()
                .and_then(|url| url.host_str().map(str::to_string))
                .filter(|host| host.contains('.') && host.parse::<std::net::IpAddr>().is_err())
                .unwrap_or_else(|| "localhost".to_string());
            format!("Gazette <gazette@{host}>")
        }
    };
    let from = from
        .parse()
        .map_err(|e| StartupError::Other(format!("MAIL_FROM: {e}")))?;
    let mailer: Arc<dyn Mailer> = match &settings.mail {
        MailTransport::Smtp { url } => {
            Arc::new(SmtpMailer::new(url, from).map_err(StartupError::Other)?)
        }
        MailTransport::Folder { dir } => Arc::new(FolderMailer::new(dir.clone(), from)),
    };
    Ok(mailer)
}

/// Once the server has decided to close a connection (keep-alive over, 408 sent), how long the
/// client gets to take the last bytes: one that stops reading cannot hold a closing connection.
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Gives every response the id its request's log lines carry, logs one line per request
/// (health checks only at debug level: load balancers ask every few seconds), and while the
/// instance drains, closes each connection after its response, so that keep-alive connections
/// are gone by the time the listener closes instead of holding the stop until they idle out.
async fn request_outcome(
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

/// Hashes that may run at once, unless `PASSWORD_HASHING_SLOTS` says: half the cores (at
/// least one). Each hash holds 19 MiB and a core for a moment, so a burst of logins queues
/// (each waits at most a few seconds, then is told to retry) instead of taking every core from
/// page views and pushing the instance's memory up by 19 MiB a core.
fn hashing_slots(configured: Option<usize>) -> usize {
    configured.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get() / 2)
            .max(1)
    })
}

/// Every plan must have a Stripe price of the same amount, currency and period. Stripe
/// refusing the key or the prices stops start-up; Stripe out of reach only warns (the prices
/// were checked at an earlier start, and payments wait for Stripe anyway).
async fn check_stripe_prices(pool: &db::DbPool, stripe: &Stripe) -> Result<(), StartupError> {
    let plans = db::run(pool, "listing the plans for Stripe", db::plans::list)
        .await
        .map_err(|e| StartupError::Other(e.to_string()))?;
    let terms: Vec<PlanTerms> = plans
        .iter()
        .map(|plan| PlanTerms {
            code: plan.code.clone(),
            price_minor_units: i64::from(plan.price_cents),
            currency: plan.currency.clone(),
            period_months: i64::from(plan.period_months),
        })
        .collect();
    match stripe.check_prices(&terms).await {
        Ok(()) => {
            tracing::info!(
                test_mode = stripe.is_test(),
                "payments through Stripe; every plan has its price"
            );
            Ok(())
        }
        Err(PriceCheckError::Unreachable(reason)) => {
            tracing::warn!("Stripe could not be reached to check the prices: {reason}");
            Ok(())
        }
        Err(PriceCheckError::Mismatch(mismatch)) => {
            Err(StartupError::Payments(price_mismatch(&mismatch)))
        }
        Err(error) => Err(StartupError::Payments(error.to_string())),
    }
}

/// `STRIPE_PRICES: price `price_...` is ¥800 every 1 month(s), but plan `monthly` is ¥80,000
/// every 1 month(s)`: both amounts in their currency's own units.
fn price_mismatch(mismatch: &PriceMismatch) -> String {
    let plan = &mismatch.plan;
    format!(
        "STRIPE_PRICES: price `{}` is {} every {} month(s){}, but plan `{}` is {} every {} month(s)",
        mismatch.price,
        mismatch.amount.map_or_else(
            || format!("no fixed amount in {}", mismatch.currency),
            |amount| money::format(amount, &mismatch.currency)
        ),
        mismatch
            .months
            .map_or_else(|| "?".to_string(), |m| m.to_string()),
        if mismatch.archived {
            " and archived"
        } else {
            ""
        },
        plan.code,
        money::format(plan.price_minor_units, &plan.currency),
        plan.period_months,
    )
}

fn prepare_demo_content(database_url: &str) -> Result<usize, StartupError> {
    use diesel::Connection;
    let mut conn = diesel::PgConnection::establish(database_url)
        .map_err(|e| StartupError::DemoContent(format!("cannot connect: {e}")))?;
    demo::load_if_empty(&mut conn).map_err(StartupError::DemoContent)
}

/// Headers every response carries unless a handler set its own. Pages depend on the reader
/// (meter, login), so nothing dynamic may be stored by shared caches. Forms post to the site
/// itself; `form_targets` are the payment processor's pages that a form's answer redirects to
/// (browsers apply `form-action` to that redirect too).
fn security_headers(https_only: bool, form_targets: &[String]) -> DefaultHeaders {
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

fn serve(
    listener: TcpListener,
    services: Services,
    settings: Settings,
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
            .wrap(sessions)
            .wrap(security_headers(cookie_secure, &form_targets))
            // Inside the logger: its request id is in the extensions, its span around the line.
            .wrap(from_fn(request_outcome))
            .wrap(TracingLogger::<RedactedRootSpan>::new())
            .app_data(services.state.clone())
            .app_data(services.passwords.clone())
            .app_data(services.billing.clone())
            .app_data(services.device_cookies.clone())
            .app_data(services.accounts.clone())
            .app_data(web::PayloadConfig::new(crate::auth::csrf::FORM_LIMIT))
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                AppError::BadRequest(format!("unreadable query string: {error}")).into()
            }))
            .configure(routes::configure)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_the_query_are_left_out_of_the_logged_target() {
        let target = |uri: &str| redacted_target(&uri.parse().unwrap());
        assert_eq!(
            target("/password/reset?token=s3cr3t-t0ken"),
            "/password/reset?token=[redacted]"
        );
        assert_eq!(
            target("/account/email/confirm?x=1&token=abc&next=/"),
            "/account/email/confirm?x=1&token=[redacted]&next=/"
        );
        assert_eq!(target("/login?next=/account"), "/login?next=/account");
        assert_eq!(target("/articles/3"), "/articles/3");
    }
}
