//! Building the application: the parts chosen from the settings (`parts`), the database ready,
//! the caches, the background tasks (housekeeping, the mail sender), the state the handlers
//! share, and the server (`server`, with its `middleware`), bound to a listener (port 0 picks a
//! free port); and its life until it stops (`stopping`).
//!
//! Slow and idle clients are cut off: a request head must arrive within
//! `CLIENT_REQUEST_TIMEOUT_SECONDS`, an idle connection is closed after `KEEP_ALIVE_SECONDS`
//! (actix's own timers), and a later head on a kept-alive connection within both together
//! (`connections`, since actix times only the first).

mod connections;
mod middleware;
mod parts;
mod server;
mod stopping;

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::web;
use tokio::task::JoinHandle;

use crate::accounts::Accounts;
use crate::auth::device::DeviceCookies;
use crate::auth::password::Passwords;
use crate::billing::{Billing, Budget};
use crate::cache::Caches;
use crate::clock::{Clock, SystemClock};
use crate::config::{Settings, redact_url};
use crate::db;
use crate::housekeeping::Housekeeping;
use crate::lifecycle::{Lifecycle, Phase};
use crate::mail::MailWakeup;
use crate::media::MediaLibrary;
use crate::media::store::PostgresStore;
use crate::newsletter::members::Members;
use crate::newsletter::sending::Newsletter;
use crate::outbox::Outbox;
use crate::payments::PaymentGateway;
use crate::state::AppState;
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
    members: web::Data<Members>,
    newsletter: web::Data<Newsletter>,
    media: web::Data<MediaLibrary>,
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
    newsletter_sender: JoinHandle<()>,
    shutdown_drain: Duration,
    shutdown_timeout: Duration,
}

impl Application {
    /// Builds the application from its settings; `overrides` replace parts that tests and
    /// embedders supply themselves (`Overrides::default()` replaces nothing).
    pub async fn build(settings: Settings, overrides: Overrides) -> Result<Self, StartupError> {
        let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let (gateway, stripe) = parts::gateway(&settings, overrides.gateway)?;
        parts::warn_of_development_settings(&settings);
        let passwords = parts::database_and_hasher(&settings).await?;
        let pool = db::pool(&settings.database_url, settings.database_pool_size);
        tracing::info!(database = %redact_url(&settings.database_url), "database ready");
        if let Some(stripe) = &stripe {
            parts::check_stripe_prices(&pool, stripe).await?;
        }
        let (listener, bound) = parts::listen(&settings)?;
        // Canonical links, the feed, the sitemap and the links in mail lead to the public
        // address (required in production); in development, to where this instance listens.
        let public_url = (settings.public_url.clone()).unwrap_or_else(|| format!("http://{bound}"));
        let mailer = parts::mailer(&settings, &public_url)?;

        let lifecycle = Lifecycle::default();
        let stopping = || lifecycle.reached(Phase::Stopping);
        let caches = Arc::new(Caches::new(settings.media.cache_bytes));
        pool.tell_changes_to({
            let caches = caches.clone();
            Arc::new(move |changes| changes.iter().for_each(|change| caches.apply(*change)))
        });
        // Stops with the instance; until it connects, the caches are bypassed.
        crate::cache::listener::spawn(&settings.database_url, caches.clone(), stopping());
        let wakeup = MailWakeup::default();
        let billing = Billing::new(pool.clone(), clock.clone(), gateway)
            .with_budget(Budget::of(&settings.limits))
            .with_mail_wakeup(wakeup.clone());
        let form_targets = billing.page_origins();
        let media = Arc::new(MediaLibrary::new(
            pool.clone(),
            Arc::new(PostgresStore::new(pool.clone())),
            &settings.media,
        ));
        let housekeeping = Housekeeping {
            pool: pool.clone(),
            clock: clock.clone(),
            billing: billing.clone(),
            throttle_window: settings.limits.window,
            media: media.clone(),
        }
        .spawn(settings.housekeeping_interval, stopping());
        let state = AppState::new(
            &settings,
            pool.clone(),
            caches,
            clock.clone(),
            lifecycle.clone(),
            public_url.clone(),
        );
        let mail_sender = Outbox {
            pool: pool.clone(),
            clock: clock.clone(),
            mailer,
            wakeup: wakeup.clone(),
            site_url: public_url.clone(),
            newsletter_links: state.newsletter_links.clone(),
            gift_links: state.gift_subscription_links.clone(),
        }
        .spawn(lifecycle.clone());
        let (newsletter, newsletter_sender) = parts::newsletter(&settings, &state, &lifecycle)?;
        let services = Services::new(
            &settings,
            state,
            passwords,
            billing,
            wakeup,
            (newsletter, media),
        );
        parts::demo_content(&settings, services.media.clone()).await?;
        let connections = OpenConnections::default();
        let server = server::serve(
            listener,
            services,
            &settings,
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
            newsletter_sender,
            shutdown_drain: settings.shutdown_drain,
            shutdown_timeout: settings.shutdown_timeout,
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
}

impl Services {
    fn new(
        settings: &Settings,
        state: AppState,
        passwords: Passwords,
        billing: Billing,
        wakeup: MailWakeup,
        (newsletter, media): (Newsletter, Arc<MediaLibrary>),
    ) -> Self {
        let (state, passwords, billing) = (
            web::Data::new(state),
            web::Data::new(passwords),
            web::Data::new(billing),
        );
        Self {
            media: web::Data::from(media),
            members: web::Data::new(Members::new(state.clone(), wakeup.clone())),
            accounts: web::Data::new(Accounts::new(
                state.clone(),
                passwords.clone(),
                billing.clone(),
                wakeup,
            )),
            device_cookies: web::Data::new(DeviceCookies::new(
                settings.session_key.clone(),
                settings.device_cookie_name(),
                settings.cookie_secure,
            )),
            newsletter: web::Data::new(newsletter),
            state,
            passwords,
            billing,
        }
    }
}
