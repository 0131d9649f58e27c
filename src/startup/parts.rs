//! The parts the application is built from, each chosen or checked from the settings: the
//! payment gateway (and Stripe's prices), the database made ready with the password hasher, the
//! listener, the mailer.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use super::StartupError;
use crate::auth::password::Passwords;
use crate::config::{GatewayChoice, MailTransport, Settings};
use crate::db;
use crate::demo;
use crate::domain::money;
use crate::error::AppError;
use crate::lifecycle::Lifecycle;
use crate::mail::bulk::BulkTarget;
use crate::mail::{FolderMailer, Mailer, SmtpMailer};
use crate::media::MediaLibrary;
use crate::newsletter::letters::Envelope;
use crate::newsletter::sender::{SendWakeup, Sender};
use crate::newsletter::sending::Newsletter;
use crate::payments::hosted::HostedGateway;
use crate::payments::stripe::{PlanTerms, PriceCheckError, PriceMismatch, Stripe};
use crate::payments::{Gateway, PaymentGateway, TestGateway};
use crate::state::AppState;
use actix_web::web;
use lettre::message::Mailbox;
use tokio::task::JoinHandle;

/// The gateway `PAYMENT_GATEWAY` names (or the one given in code), and the Stripe client when
/// it is Stripe, whose prices are checked once the database is ready.
pub(super) fn gateway(
    settings: &Settings,
    given: Option<Arc<dyn PaymentGateway>>,
) -> Result<(Option<Gateway>, Option<Arc<Stripe>>), StartupError> {
    if let Some(given) = given {
        return Ok((Some(Gateway::ChargesNow(given)), None));
    }
    Ok(match &settings.payment_gateway {
        GatewayChoice::Test => (
            Some(Gateway::ChargesNow(Arc::new(TestGateway::default()))),
            None,
        ),
        GatewayChoice::Disabled => (None, None),
        GatewayChoice::Stripe(config) => {
            let client = Arc::new(
                Stripe::new(config.clone())
                    .map_err(|e| StartupError::Payments(format!("STRIPE_API_BASE: {e}")))?,
            );
            (Some(Gateway::Hosted(client.clone())), Some(client))
        }
    })
}

/// Off the async workers: the database created and migrated, and the password hasher with
/// its threads.
pub(super) async fn database_and_hasher(settings: &Settings) -> Result<Passwords, StartupError> {
    let database_url = settings.database_url.clone();
    let hashing = settings.password_hashing_slots;
    tokio::task::spawn_blocking(move || -> Result<Passwords, StartupError> {
        db::prepare(&database_url)?;
        Passwords::new(hashing_slots(hashing))
            .map_err(|e: AppError| StartupError::Other(e.to_string()))
    })
    .await
    .map_err(|e| StartupError::Other(e.to_string()))?
}

/// Says in the log what development settings cost: a throw-away session key ends sessions,
/// and the newsletter's links, when the app restarts.
pub(super) fn warn_of_development_settings(settings: &Settings) {
    if settings.session_key_is_ephemeral {
        tracing::warn!(
            "SESSION_KEY is not set: using a throw-away key, so sessions and the newsletter's \
             links end when the app restarts"
        );
    }
}

/// The listener on `HOST:PORT`, and the address it got (port 0 picks a free one).
pub(super) fn listen(settings: &Settings) -> Result<(TcpListener, SocketAddr), StartupError> {
    let address = format!("{}:{}", settings.host, settings.port);
    let listener = TcpListener::bind(&address).map_err(|reason| StartupError::Bind {
        address: address.clone(),
        reason,
    })?;
    let bound = listener
        .local_addr()
        .map_err(|reason| StartupError::Bind { address, reason })?;
    Ok((listener, bound))
}

/// The mailer the settings ask for: SMTP, or a folder in development.
pub(super) fn mailer(settings: &Settings, site_url: &str) -> Result<Arc<dyn Mailer>, StartupError> {
    let from = mail_from(settings, site_url)?;
    let mailer: Arc<dyn Mailer> = match &settings.mail {
        MailTransport::Smtp { url } => {
            Arc::new(SmtpMailer::new(url, from).map_err(StartupError::Other)?)
        }
        MailTransport::Folder { dir } => Arc::new(FolderMailer::new(dir.clone(), from)),
    };
    Ok(mailer)
}

/// Where newsletters go: `NEWSLETTER_SMTP_URL`, else the account mail's server, else (in
/// development) the account mail's folder.
pub(super) fn newsletter_target(settings: &Settings) -> Result<BulkTarget, StartupError> {
    let url = settings
        .newsletter
        .smtp_url
        .as_ref()
        .or(match &settings.mail {
            MailTransport::Smtp { url } => Some(url),
            MailTransport::Folder { .. } => None,
        });
    match (url, &settings.mail) {
        (Some(url), _) => BulkTarget::smtp(url)
            .map_err(|e| StartupError::Other(format!("NEWSLETTER_SMTP_URL: {e}"))),
        (None, MailTransport::Folder { dir }) => Ok(BulkTarget::folder(dir.clone())),
        (None, MailTransport::Smtp { .. }) => Err(StartupError::Other(
            "NEWSLETTER_SMTP_URL: no mail server for newsletters".to_string(),
        )),
    }
}

/// The newsletter's service for the desk, and its sender spawned: its own few database
/// connections, so a large send never takes the pages' pool.
pub(super) fn newsletter(
    settings: &Settings,
    state: &AppState,
    lifecycle: &Lifecycle,
) -> Result<(Newsletter, JoinHandle<()>), StartupError> {
    let newsletter = Newsletter {
        pool: state.pool.clone(),
        target: newsletter_target(settings)?,
        envelope: Envelope::new(
            mail_from(settings, &state.public_url)?,
            &state.public_url,
            state.newsletter_links.clone(),
        ),
        wakeup: SendWakeup::default(),
    };
    let sender = Sender {
        pool: db::pool(
            &settings.database_url,
            settings.newsletter.connections.saturating_add(1),
        ),
        clock: state.clock.clone(),
        target: newsletter.target.clone(),
        envelope: newsletter.envelope.clone(),
        rate: settings.newsletter.rate,
        connections: settings.newsletter.connections,
        wakeup: newsletter.wakeup.clone(),
        yields_to_pages: settings.newsletter.yields_to_pages,
    }
    .spawn(lifecycle.clone());
    Ok((newsletter, sender))
}

/// Who mail is from: `MAIL_FROM`, else `Gazette <gazette@HOST>` for the public address's host.
pub(super) fn mail_from(settings: &Settings, site_url: &str) -> Result<Mailbox, StartupError> {
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
    from.parse()
        .map_err(|e| StartupError::Other(format!("MAIL_FROM: {e}")))
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
pub(super) async fn check_stripe_prices(
    pool: &db::DbPool,
    stripe: &Stripe,
) -> Result<(), StartupError> {
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

/// Off the async workers: the demo articles and their pictures loaded into an empty articles
/// table, when `DEMO_CONTENT` asks for them, before the server answers.
pub(super) async fn demo_content(
    settings: &Settings,
    media: web::Data<MediaLibrary>,
) -> Result<(), StartupError> {
    if !settings.demo_content {
        return Ok(());
    }
    let database_url = settings.database_url.clone();
    let runtime = tokio::runtime::Handle::current();
    let loaded = tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&database_url)
            .map_err(|e| StartupError::DemoContent(format!("cannot connect: {e}")))?;
        demo::load_with_pictures(&mut conn, &media, &runtime).map_err(StartupError::DemoContent)
    })
    .await
    .map_err(|e| StartupError::Other(e.to_string()))??;
    if loaded.articles > 0 {
        tracing::info!(
            loaded = loaded.articles,
            pictures = loaded.pictures,
            "loaded the demo articles"
        );
    }
    Ok(())
}
