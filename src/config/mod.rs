//! Settings, read from the environment in one place with one clear error per bad variable.
//!
//! Rules:
//! - Every variable is declared once in [`variables`] (name, default, accepted values, one line
//!   of doc) and read only through its declaration, so the error for a bad value, the docs and
//!   `.env.example` all follow from it (the tests check the last two).
//! - Nothing else reads the environment: tests build `Settings` directly (see
//!   [`Settings::for_database`]) so several apps can run side by side in one process.

use std::fmt;
use std::time::Duration;

use actix_web::cookie::Key;

use crate::domain::throttle::{LONGEST_WINDOW, Limits};
use crate::payments::stripe::{DEFAULT_API_BASE, StripeConfig};

pub mod variables;

use variables::{self as v, Env, Variable};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/gazette";
pub use crate::domain::meter::MAX_FREE_ARTICLES_PER_MONTH;
const MIN_SESSION_KEY_BYTES: usize = 64;
/// How long a form's body may take to arrive, unless configured otherwise.
pub const DEFAULT_FORM_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// Where the mail Gazette sends goes.
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// An SMTP server, from `SMTP_URL` (`smtps://user:password@host:465`, or `smtp://` with
    /// `?tls=required` for STARTTLS).
    Smtp { url: String },
    /// Development without `SMTP_URL`: each message is written to this folder.
    Folder { dir: std::path::PathBuf },
}

impl fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Smtp { url } => write!(f, "Smtp({})", redact_url(url)),
            Self::Folder { dir } => write!(f, "Folder({})", dir.display()),
        }
    }
}

/// Where development writes mail when no `SMTP_URL` is set.
pub const DEFAULT_MAIL_DIR: &str = "target/mail";

/// Which payment gateway takes subscription payments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayChoice {
    /// The built-in gateway that charges nothing; never on in production unless asked for.
    Test,
    /// Payments are not set up: the subscribe page says so.
    Disabled,
    /// Stripe, with the account's keys and one price per plan.
    Stripe(StripeConfig),
}

#[derive(Clone)]
pub struct Settings {
    pub app_env: AppEnv,
    pub host: String,
    pub port: u16,
    pub database_url: String,
    pub database_pool_size: u32,
    pub session_key: Key,
    /// True when no `SESSION_KEY` was given and a throw-away key was generated.
    pub session_key_is_ephemeral: bool,
    pub free_articles_per_month: u32,
    /// Articles a subscriber may gift per calendar month.
    pub gift_articles_per_month: u32,
    pub cookie_secure: bool,
    pub demo_content: bool,
    pub payment_gateway: GatewayChoice,
    /// Take the client address from `X-Forwarded-For`/`Forwarded` (only behind a proxy that
    /// sets them); used for login throttling.
    pub trust_proxy_headers: bool,
    /// How often each instance runs housekeeping (settling payments, deleting stale rows).
    pub housekeeping_interval: std::time::Duration,
    /// Password hashes one instance runs at once; `None`: half its cores (at least one).
    pub password_hashing_slots: Option<usize>,
    /// Login and sign-up limits per throttling window.
    pub limits: Limits,
    /// How long a form's body may take to arrive once its request began.
    pub form_body_timeout: std::time::Duration,
    /// After a stop signal, how long the health check answers 503 while pages are still
    /// served, so load balancers stop sending before the listener closes.
    pub shutdown_drain: Duration,
    /// After the drain, how long requests in flight may take before they are cut.
    pub shutdown_timeout: Duration,
    /// How long a client may take to send a request's head.
    pub client_request_timeout: Duration,
    /// How long an idle connection is kept open for the next request; zero turns keep-alive off.
    pub keep_alive: Duration,
    /// Where mail goes.
    pub mail: MailTransport,
    /// Who the mail is from (`Name <address>`); by default `Gazette <gazette@HOST>` for the
    /// public address's host.
    pub mail_from: Option<String>,
    /// The address readers reach the site at (`https://gazette.example`, no trailing slash),
    /// for canonical links, the feed, the sitemap and the links in mail; `None` (development
    /// only) uses the address it listens on.
    pub public_url: Option<String>,
    /// Which log lines are written (`RUST_LOG`, tracing's filter syntax).
    pub log_filter: String,
    /// How newsletters are sent.
    pub newsletter: NewsletterSettings,
    /// The media library's limits.
    pub media: MediaSettings,
}

/// The media library's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaSettings {
    /// The largest upload, in bytes (`MEDIA_MAX_BYTES`).
    pub max_bytes: u64,
    /// Uploads decoded and resized at once on each instance (`MEDIA_PROCESSING_SLOTS`).
    pub processing_slots: usize,
    /// Bytes of hot variants kept in memory (`MEDIA_CACHE_MB`).
    pub cache_bytes: u64,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            max_bytes: 15_000_000,
            processing_slots: 1,
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How newsletters are sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsletterSettings {
    /// Their own mail server (`NEWSLETTER_SMTP_URL`); `None`: the account mail's transport.
    pub smtp_url: Option<String>,
    /// Messages a second, every instance together (`NEWSLETTER_RATE`).
    pub rate: u32,
    /// SMTP exchanges each instance keeps in flight (`NEWSLETTER_CONNECTIONS`).
    pub connections: u32,
    /// The sender's threads yield the cores to the pages' (a lower scheduling priority). On
    /// for an instance of its own; off where many apps share one process (the tests), whose
    /// senders would otherwise starve behind each other's pages.
    pub yields_to_pages: bool,
}

impl Default for NewsletterSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            rate: 20,
            connections: 4,
            yields_to_pages: false,
        }
    }
}

/// One bad variable: which one, and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("app_env", &self.app_env)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database_url", &redact_url(&self.database_url))
            .field("session_key", &"[redacted]")
            .field("free_articles_per_month", &self.free_articles_per_month)
            .field("gift_articles_per_month", &self.gift_articles_per_month)
            .field("cookie_secure", &self.cookie_secure)
            .field("demo_content", &self.demo_content)
            .field("payment_gateway", &self.payment_gateway)
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("housekeeping_interval", &self.housekeeping_interval)
            .field("password_hashing_slots", &self.password_hashing_slots)
            .field("limits", &self.limits)
            .field("form_body_timeout", &self.form_body_timeout)
            .field("shutdown_drain", &self.shutdown_drain)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("client_request_timeout", &self.client_request_timeout)
            .field("keep_alive", &self.keep_alive)
            .field("mail", &self.mail)
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field("log_filter", &self.log_filter)
            .finish()
    }
}

impl Settings {
    /// Reads the process environment (after `main` has loaded `.env`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any source of variables; empty values count as unset. Each
    /// variable is read through its declaration in [`variables`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup)?;
        let production = env.production();
        let (session_key, session_key_is_ephemeral) = session_key(&env)?;
        let database_url = env.text(&v::DATABASE_URL).unwrap_or_default();
        check_database_url(&database_url)?;
        let public_url = env
            .raw(&v::PUBLIC_URL)
            .map(|raw| parse_public_url(&raw))
            .transpose()?;
        if production && public_url.is_none() {
            return Err(required_in_production(
                &v::PUBLIC_URL,
                "the address readers reach the site at, for the links in mail (e.g. \
                 `https://gazette.example`)",
            ));
        }
        Ok(Self {
            app_env: if production {
                AppEnv::Production
            } else {
                AppEnv::Development
            },
            host: env.text(&v::HOST).unwrap_or_default(),
            port: env.number(&v::PORT)?,
            database_url,
            database_pool_size: env.number(&v::DATABASE_POOL_SIZE)?,
            session_key,
            session_key_is_ephemeral,
            free_articles_per_month: env.number(&v::FREE_ARTICLES_PER_MONTH)?,
            gift_articles_per_month: env.number(&v::GIFT_ARTICLES_PER_MONTH)?,
            cookie_secure: env.flag(&v::COOKIE_SECURE)?,
            demo_content: env.flag(&v::DEMO_CONTENT)?,
            payment_gateway: payment_gateway(&env)?,
            trust_proxy_headers: env.flag(&v::TRUST_PROXY_HEADERS)?,
            housekeeping_interval: env.duration(&v::HOUSEKEEPING_INTERVAL_SECONDS)?,
            password_hashing_slots: env
                .whole(&v::PASSWORD_HASHING_SLOTS)?
                .and_then(|n| usize::try_from(n).ok()),
            limits: limits(&env)?,
            form_body_timeout: env.duration(&v::FORM_BODY_TIMEOUT_SECONDS)?,
            shutdown_drain: env.duration(&v::SHUTDOWN_DRAIN_SECONDS)?,
            shutdown_timeout: env.duration(&v::SHUTDOWN_TIMEOUT_SECONDS)?,
            client_request_timeout: env.duration(&v::CLIENT_REQUEST_TIMEOUT_SECONDS)?,
            keep_alive: env.duration(&v::KEEP_ALIVE_SECONDS)?,
            mail: mail_transport(&env)?,
            mail_from: mail_from(&env)?,
            newsletter: newsletter(&env)?,
            media: MediaSettings {
                max_bytes: env.number(&v::MEDIA_MAX_BYTES)?,
                processing_slots: env.number(&v::MEDIA_PROCESSING_SLOTS)?,
                cache_bytes: env.number::<u64>(&v::MEDIA_CACHE_MB)? * 1024 * 1024,
            },
            public_url,
            log_filter: env.text(&v::RUST_LOG).unwrap_or_default(),
        })
    }

    /// Development settings for a given database, listening on a free port: the starting
    /// point for tests and tools that run the app in-process.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            app_env: AppEnv::Development,
            host: "127.0.0.1".to_string(),
            port: 0,
            database_url: database_url.to_string(),
            database_pool_size: 5,
            session_key: Key::generate(),
            session_key_is_ephemeral: true,
            free_articles_per_month: 5,
            gift_articles_per_month: 10,
            cookie_secure: false,
            demo_content: true,
            payment_gateway: GatewayChoice::Test,
            trust_proxy_headers: false,
            housekeeping_interval: Duration::from_secs(600),
            password_hashing_slots: None,
            limits: Limits::default(),
            form_body_timeout: DEFAULT_FORM_BODY_TIMEOUT,
            shutdown_drain: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(30),
            client_request_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(15),
            mail: MailTransport::Folder {
                dir: std::env::temp_dir().join("gazette-mail"),
            },
            mail_from: None,
            public_url: None,
            log_filter: "info".to_string(),
            newsletter: NewsletterSettings::default(),
            media: MediaSettings::default(),
        }
    }

    /// The session cookie's name; `__Host-` makes browsers insist on Secure, Path=/ and no
    /// Domain, so a sibling subdomain cannot plant a cookie of the same name.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.cookie_secure {
            "__Host-gazette_session"
        } else {
            "gazette_session"
        }
    }

    /// The device cookie's name, prefixed like the session cookie's.
    pub fn device_cookie_name(&self) -> &'static str {
        if self.cookie_secure {
            "__Host-gazette_device"
        } else {
            "gazette_device"
        }
    }
}

fn problem(variable: &'static str, problem: String) -> ConfigError {
    ConfigError { variable, problem }
}

fn required_in_production(variable: &Variable, what: &str) -> ConfigError {
    problem(variable.name, format!("must be set in production: {what}"))
}

/// `SESSION_KEY`, or a throw-away key in development (`true`: it was generated).
fn session_key(env: &Env<'_>) -> Result<(Key, bool), ConfigError> {
    let Some(raw) = env.raw(&v::SESSION_KEY) else {
        if env.production() {
            return Err(required_in_production(
                &v::SESSION_KEY,
                "at least 64 random bytes, e.g. `openssl rand -base64 64`",
            ));
        }
        return Ok((Key::generate(), true));
    };
    let bytes = raw.as_bytes();
    if bytes.len() < MIN_SESSION_KEY_BYTES {
        return Err(problem(
            v::SESSION_KEY.name,
            format!(
                "must be at least {MIN_SESSION_KEY_BYTES} bytes long, got {} (generate one with `openssl rand -base64 64`)",
                bytes.len()
            ),
        ));
    }
    Key::try_from(bytes).map(|key| (key, false)).map_err(|_| {
        problem(
            v::SESSION_KEY.name,
            "could not be used as a key".to_string(),
        )
    })
}

fn payment_gateway(env: &Env<'_>) -> Result<GatewayChoice, ConfigError> {
    Ok(match env.one_of(&v::PAYMENT_GATEWAY)? {
        "stripe" => GatewayChoice::Stripe(stripe_config(env)?),
        "test" => GatewayChoice::Test,
        _ => GatewayChoice::Disabled,
    })
}

fn limits(env: &Env<'_>) -> Result<Limits, ConfigError> {
    let window = env.duration(&v::THROTTLE_WINDOW_MINUTES)?;
    Ok(Limits {
        window: time::Duration::try_from(window).unwrap_or(LONGEST_WINDOW),
        account_address: env.number(&v::MAX_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS)?,
        account: env.number(&v::MAX_LOGIN_FAILURES_PER_ACCOUNT)?,
        address: env.number(&v::MAX_LOGIN_FAILURES_PER_ADDRESS)?,
        device: env.number(&v::MAX_LOGIN_FAILURES_PER_DEVICE)?,
        logins_per_address: env.number(&v::MAX_LOGINS_PER_ADDRESS)?,
        signups_per_address: env.number(&v::MAX_SIGNUPS_PER_ADDRESS)?,
        resets_per_address: env.number(&v::MAX_PASSWORD_RESETS_PER_ADDRESS)?,
        resets_per_account: env.number(&v::MAX_PASSWORD_RESETS_PER_ACCOUNT)?,
        password_checks_per_account: env.number(&v::MAX_PASSWORD_CHECKS_PER_ACCOUNT)?,
        processor_calls_per_account: env.number(&v::MAX_PROCESSOR_CALLS_PER_ACCOUNT)?,
    })
}

/// `SMTP_URL`, required in production; development without it writes mail to `MAIL_DIR`.
fn mail_transport(env: &Env<'_>) -> Result<MailTransport, ConfigError> {
    match env.raw(&v::SMTP_URL) {
        Some(raw) => Ok(MailTransport::Smtp {
            url: parse_smtp_url(&raw, env.production())?,
        }),
        None if env.production() => Err(required_in_production(
            &v::SMTP_URL,
            "e.g. `smtps://user:password@smtp.example:465`, or password resets could not be \
             mailed",
        )),
        None => Ok(MailTransport::Folder {
            dir: env.text(&v::MAIL_DIR).unwrap_or_default().into(),
        }),
    }
}

/// `NEWSLETTER_SMTP_URL` (checked as `SMTP_URL` is), `NEWSLETTER_RATE` and
/// `NEWSLETTER_CONNECTIONS`.
fn newsletter(env: &Env<'_>) -> Result<NewsletterSettings, ConfigError> {
    let smtp_url = env
        .raw(&v::NEWSLETTER_SMTP_URL)
        .map(|raw| {
            parse_smtp_url(&raw, env.production()).map_err(|error| ConfigError {
                variable: v::NEWSLETTER_SMTP_URL.name,
                ..error
            })
        })
        .transpose()?;
    Ok(NewsletterSettings {
        smtp_url,
        rate: env.number(&v::NEWSLETTER_RATE)?,
        connections: env.number(&v::NEWSLETTER_CONNECTIONS)?,
        yields_to_pages: true,
    })
}

fn mail_from(env: &Env<'_>) -> Result<Option<String>, ConfigError> {
    let from = env.raw(&v::MAIL_FROM);
    if let Some(from) = &from
        && from.parse::<lettre::message::Mailbox>().is_err()
    {
        return Err(problem(
            v::MAIL_FROM.name,
            format!("`{from}` is not an address like `Gazette <gazette@gazette.example>`"),
        ));
    }
    Ok(from)
}

/// `PUBLIC_URL`: an http(s) origin without path, query or fragment; kept without a trailing
/// slash so paths can be appended.
fn parse_public_url(raw: &str) -> Result<String, ConfigError> {
    let wrong = |why: &str| problem("PUBLIC_URL", format!("`{}` {why}", raw.trim()));
    let parsed = url::Url::parse(raw.trim())
        .map_err(|_| wrong("is not a URL (e.g. https://gazette.example)"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(wrong("must be an http:// or https:// address"));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(wrong(
            "must be the site's origin alone, without a path, query or fragment",
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// Stripe's settings, each checked for its shape (the prices are compared with the plans at
/// start-up, once the database is ready). Secrets are never echoed in an error.
fn stripe_config(env: &Env<'_>) -> Result<StripeConfig, ConfigError> {
    let required = |variable: &Variable, what: &str| {
        env.raw(variable).ok_or_else(|| {
            problem(
                variable.name,
                format!("is required with PAYMENT_GATEWAY=stripe ({what})"),
            )
        })
    };
    let secret_key = required(
        &v::STRIPE_SECRET_KEY,
        "the secret key from Stripe's dashboard, sk_live_... or sk_test_...",
    )?;
    let key_shape = ["sk_live_", "sk_test_", "rk_live_", "rk_test_"]
        .iter()
        .any(|prefix| secret_key.len() > prefix.len() + 8 && secret_key.starts_with(prefix));
    if !key_shape
        || !secret_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(problem(
            "STRIPE_SECRET_KEY",
            "does not look like a Stripe secret key (sk_live_... or sk_test_...)".to_string(),
        ));
    }
    let webhook_secret = required(
        &v::STRIPE_WEBHOOK_SECRET,
        "the signing secret of the webhook endpoint, whsec_...",
    )?;
    if !webhook_secret.starts_with("whsec_") || webhook_secret.len() < 16 {
        return Err(problem(
            "STRIPE_WEBHOOK_SECRET",
            "does not look like a webhook signing secret (whsec_...)".to_string(),
        ));
    }
    let prices = parse_prices(&required(
        &v::STRIPE_PRICES,
        "one price per plan, e.g. `monthly=price_123,yearly=price_456`",
    )?)?;
    let raw_base = env.text(&v::STRIPE_API_BASE).unwrap_or_default();
    let api_base = url::Url::parse(&raw_base)
        .ok()
        .filter(|url| url.host_str().is_some() && url.path() == "/" && url.query().is_none())
        .ok_or_else(|| {
            problem(
                "STRIPE_API_BASE",
                format!("`{raw_base}` is not a base URL like {DEFAULT_API_BASE}"),
            )
        })?;
    let loopback = matches!(
        api_base.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]")
    );
    if api_base.scheme() != "https" && !(api_base.scheme() == "http" && loopback) {
        return Err(problem(
            "STRIPE_API_BASE",
            format!("`{raw_base}` must use https (plain http only on this machine)"),
        ));
    }
    Ok(StripeConfig {
        secret_key,
        webhook_secret,
        api_base,
        prices,
    })
}

/// `monthly=price_123,yearly=price_456`: one Stripe price per plan code.
fn parse_prices(raw: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut prices: Vec<(String, String)> = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = |why: &str| problem("STRIPE_PRICES", format!("`{entry}` {why}"));
        let (plan, price) = entry
            .split_once('=')
            .map(|(plan, price)| (plan.trim(), price.trim()))
            .ok_or_else(|| bad("is not `plan=price_id`"))?;
        if plan.is_empty() || plan.len() > 32 || !plan.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(bad("does not start with a plan code (lower-case letters)"));
        }
        if !price.starts_with("price_")
            || price.len() > 255
            || !price
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad("does not name a Stripe price id (price_...)"));
        }
        if prices.iter().any(|(p, id)| p == plan || id == price) {
            return Err(bad("repeats a plan or a price"));
        }
        prices.push((plan.to_string(), price.to_string()));
    }
    if prices.is_empty() {
        return Err(problem(
            "STRIPE_PRICES",
            "names no price (e.g. `monthly=price_123,yearly=price_456`)".to_string(),
        ));
    }
    Ok(prices)
}

fn check_database_url(raw: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(raw)
        .map_err(|_| problem("DATABASE_URL", "is not a valid URL".to_string()))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(problem(
            "DATABASE_URL",
            format!("must start with postgres://, got `{}://`", parsed.scheme()),
        ));
    }
    if parsed.path().trim_start_matches('/').is_empty() {
        return Err(problem(
            "DATABASE_URL",
            "must name a database, e.g. `/gazette`".to_string(),
        ));
    }
    Ok(())
}

/// `SMTP_URL`: `smtp://` or `smtps://` with a host. In production the connection must be
/// encrypted (`smtps://`, or STARTTLS with `?tls=required`), except to a relay on this
/// machine.
fn parse_smtp_url(raw: &str, production: bool) -> Result<String, ConfigError> {
    let bad = |why: String| problem("SMTP_URL", why);
    let parsed =
        url::Url::parse(raw).map_err(|_| bad(format!("`{}` is not a URL", redact_url(raw))))?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err(bad(format!(
            "must start with smtps:// or smtp://, got `{}://`",
            parsed.scheme()
        )));
    }
    let Some(host) = parsed.host() else {
        return Err(bad("must name the mail server's host".to_string()));
    };
    let loopback = match host {
        // smtp:// is not a scheme the URL standard knows, so its IPv4 hosts come as names.
        url::Host::Domain(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    let tls = parsed.scheme() == "smtps"
        || parsed
            .query_pairs()
            .any(|(name, value)| name == "tls" && value == "required");
    if production && !tls && !loopback {
        return Err(bad(
            "must be encrypted in production: use smtps://, or smtp:// with ?tls=required"
                .to_string(),
        ));
    }
    Ok(raw.to_string())
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "[unparseable url]".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.app_env, AppEnv::Development);
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8080));
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.free_articles_per_month, 5);
        assert_eq!(s.gift_articles_per_month, 10);
        assert!(!s.cookie_secure);
        assert!(s.session_key_is_ephemeral);
        assert_eq!(s.payment_gateway, GatewayChoice::Test);
        assert_eq!(s.shutdown_drain, Duration::ZERO);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(s.client_request_timeout, Duration::from_secs(5));
        assert_eq!(s.keep_alive, Duration::from_secs(15));
    }

    /// The names `from_lookup` asks for with these variables set.
    fn names_read(vars: &[(&str, &str)]) -> std::collections::BTreeSet<String> {
        let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        let _ = Settings::from_lookup(|name| {
            asked.borrow_mut().insert(name.to_string());
            vars.get(name).map(|value| value.to_string())
        });
        asked.into_inner()
    }

    #[test]
    fn every_variable_read_is_declared_and_every_declared_one_is_read() {
        let mut read = names_read(&[]);
        read.extend(names_read(STRIPE));
        let declared: std::collections::BTreeSet<String> =
            variables::ALL.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(read, declared);
    }

    #[test]
    fn test_settings_differ_from_the_defaults_only_where_tests_need_it() {
        let defaults = settings(&[]).unwrap();
        let mut test = Settings::for_database(DEFAULT_DATABASE_URL);
        test.port = defaults.port;
        test.database_pool_size = defaults.database_pool_size;
        test.mail = defaults.mail.clone();
        test.session_key = defaults.session_key.clone();
        assert_eq!(format!("{test:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn a_port_that_is_not_a_number_names_the_variable() {
        let err = settings(&[("PORT", "eighty")]).unwrap_err();
        assert_eq!(err.variable, "PORT");
        assert!(err.to_string().starts_with("PORT: "));
    }

    #[test]
    fn a_short_session_key_is_refused() {
        let err = settings(&[("SESSION_KEY", &"k".repeat(63))]).unwrap_err();
        assert_eq!(err.variable, "SESSION_KEY");
        assert!(settings(&[("SESSION_KEY", &"k".repeat(64))]).is_ok());
    }

    /// What production needs at least, with `extra` added.
    fn production<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        const KEY: &str = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";
        let mut vars = vec![
            ("APP_ENV", "production"),
            ("SESSION_KEY", KEY),
            ("PUBLIC_URL", "https://gazette.example/"),
            ("SMTP_URL", "smtps://mailer:secret@smtp.example:465"),
        ];
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn production_requires_a_session_key_and_turns_secure_cookies_on() {
        let err = settings(&[("APP_ENV", "production")]).unwrap_err();
        assert_eq!(err.variable, "SESSION_KEY");
        let s = settings(&production(&[])).unwrap();
        assert!(s.cookie_secure);
        assert!(!s.demo_content);
        assert_eq!(s.payment_gateway, GatewayChoice::Disabled);
        assert_eq!(s.session_cookie_name(), "__Host-gazette_session");
        assert_eq!(s.device_cookie_name(), "__Host-gazette_device");
        assert_eq!(s.shutdown_drain, Duration::from_secs(5));
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("APP_ENV", "staging"),
            ("FREE_ARTICLES_PER_MONTH", "-1"),
            ("FREE_ARTICLES_PER_MONTH", "51"),
            ("GIFT_ARTICLES_PER_MONTH", "-1"),
            ("GIFT_ARTICLES_PER_MONTH", "101"),
            ("COOKIE_SECURE", "maybe"),
            ("DATABASE_URL", "mysql://localhost/gazette"),
            ("DATABASE_URL", "not a url"),
            ("PAYMENT_GATEWAY", "paypal"),
            ("DATABASE_POOL_SIZE", "0"),
            ("HOUSEKEEPING_INTERVAL_SECONDS", "0"),
            ("PASSWORD_HASHING_SLOTS", "0"),
            ("PASSWORD_HASHING_SLOTS", "many"),
            ("THROTTLE_WINDOW_MINUTES", "0"),
            ("THROTTLE_WINDOW_MINUTES", "61"),
            ("MAX_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", "five"),
            ("MAX_LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("MAX_LOGIN_FAILURES_PER_ADDRESS", "-3"),
            ("MAX_LOGIN_FAILURES_PER_DEVICE", "100001"),
            ("MAX_LOGINS_PER_ADDRESS", "1.5"),
            ("MAX_SIGNUPS_PER_ADDRESS", "lots"),
            ("FORM_BODY_TIMEOUT_SECONDS", "0"),
            ("FORM_BODY_TIMEOUT_SECONDS", "301"),
            ("SHUTDOWN_DRAIN_SECONDS", "soon"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "601"),
            ("CLIENT_REQUEST_TIMEOUT_SECONDS", "0"),
            ("KEEP_ALIVE_SECONDS", "-1"),
            ("MAX_PASSWORD_RESETS_PER_ADDRESS", "0"),
            ("MAX_PASSWORD_RESETS_PER_ACCOUNT", "none"),
            ("MAX_PASSWORD_CHECKS_PER_ACCOUNT", "-1"),
            ("MAX_PROCESSOR_CALLS_PER_ACCOUNT", "2"),
            ("SMTP_URL", "http://smtp.example"),
            ("SMTP_URL", "smtp://"),
            ("PUBLIC_URL", "gazette.example"),
            ("PUBLIC_URL", "ftp://gazette.example"),
            ("PUBLIC_URL", "https://gazette.example/news"),
            ("PUBLIC_URL", "https://gazette.example/?a=b"),
            ("MAIL_FROM", "not an address"),
        ] {
            let err = settings(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, name, "{name}={value}");
        }
    }

    #[test]
    fn limits_default_to_the_documented_values_and_can_be_raised() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.limits, Limits::default());
        assert_eq!(s.form_body_timeout, std::time::Duration::from_secs(10));
        let campus = settings(&[
            ("MAX_SIGNUPS_PER_ADDRESS", "500"),
            ("MAX_LOGINS_PER_ADDRESS", " 2000 "),
            ("THROTTLE_WINDOW_MINUTES", "5"),
            ("FORM_BODY_TIMEOUT_SECONDS", "3"),
        ])
        .unwrap();
        assert_eq!(campus.limits.signups_per_address, 500);
        assert_eq!(campus.limits.logins_per_address, 2000);
        assert_eq!(campus.limits.window, time::Duration::minutes(5));
        assert_eq!(campus.limits.account, 50, "the others keep their defaults");
        assert_eq!(campus.form_body_timeout, std::time::Duration::from_secs(3));
    }

    #[test]
    fn a_bad_limit_is_one_line_naming_the_variable() {
        let err = settings(&[("MAX_LOGIN_FAILURES_PER_ACCOUNT", "many")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MAX_LOGIN_FAILURES_PER_ACCOUNT: `many` is not a whole number from 1 to 100000"
        );
    }

    const STRIPE: &[(&str, &str)] = &[
        ("PAYMENT_GATEWAY", "stripe"),
        ("STRIPE_SECRET_KEY", "sk_test_51AbCdEfGhIjKlMn"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_0123456789abcdef"),
        ("STRIPE_PRICES", "monthly=price_1Mo, yearly=price_1Yr"),
    ];

    fn stripe_with(changes: &[(&'static str, &'static str)]) -> Result<Settings, ConfigError> {
        let mut vars: Vec<(&str, &str)> = STRIPE
            .iter()
            .filter(|(name, _)| !changes.iter().any(|(changed, _)| changed == name))
            .copied()
            .collect();
        vars.extend(changes.iter().filter(|(_, value)| !value.is_empty()));
        settings(&vars)
    }

    #[test]
    fn stripe_is_configured_by_its_keys_and_one_price_per_plan() {
        let GatewayChoice::Stripe(stripe) = stripe_with(&[]).unwrap().payment_gateway else {
            panic!("stripe is chosen");
        };
        assert!(stripe.is_test_mode());
        assert_eq!(stripe.api_base.as_str(), "https://api.stripe.com/");
        assert_eq!(
            stripe.prices,
            vec![
                ("monthly".to_string(), "price_1Mo".to_string()),
                ("yearly".to_string(), "price_1Yr".to_string())
            ]
        );
        let debug = format!("{:?}", stripe_with(&[]).unwrap());
        assert!(!debug.contains("sk_test_51") && !debug.contains("whsec_0123"));
    }

    #[test]
    fn each_missing_or_malformed_stripe_setting_names_its_variable_without_echoing_secrets() {
        for (name, value) in [
            ("STRIPE_SECRET_KEY", ""),
            ("STRIPE_SECRET_KEY", "pk_test_51AbCdEfGhIjKlMn"),
            ("STRIPE_SECRET_KEY", "sk_test_"),
            ("STRIPE_WEBHOOK_SECRET", ""),
            ("STRIPE_WEBHOOK_SECRET", "secret-but-not-stripes"),
            ("STRIPE_PRICES", ""),
            ("STRIPE_PRICES", "monthly"),
            ("STRIPE_PRICES", "monthly=prod_123"),
            ("STRIPE_PRICES", "Monthly=price_123"),
            ("STRIPE_PRICES", "monthly=price_1,monthly=price_2"),
            ("STRIPE_API_BASE", "not a url"),
            ("STRIPE_API_BASE", "http://api.stripe.com"),
            ("STRIPE_API_BASE", "https://api.stripe.com/v1"),
        ] {
            let err = stripe_with(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, name, "{name}={value}");
            let line = err.to_string();
            assert!(!line.contains('\n'), "{line}");
            if name != "STRIPE_PRICES" && name != "STRIPE_API_BASE" && value.len() > 10 {
                assert!(!line.contains(value), "a secret is not echoed: {line}");
            }
        }
        let local = stripe_with(&[("STRIPE_API_BASE", "http://127.0.0.1:12111")]).unwrap();
        assert!(matches!(local.payment_gateway, GatewayChoice::Stripe(_)));
        let live = stripe_with(&[("STRIPE_SECRET_KEY", "sk_live_51AbCdEfGhIjKlMn")]).unwrap();
        let GatewayChoice::Stripe(live) = live.payment_gateway else {
            panic!("stripe is chosen");
        };
        assert!(!live.is_test_mode());
    }

    #[test]
    fn the_public_url_is_an_origin_kept_without_its_slash() {
        assert_eq!(settings(&[]).unwrap().public_url, None);
        let s = settings(&[("PUBLIC_URL", " https://Gazette.example/ ")]).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://gazette.example"));
        let s = settings(&[("PUBLIC_URL", "http://127.0.0.1:8080")]).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("http://127.0.0.1:8080"));
    }

    #[test]
    fn production_mails_over_an_encrypted_connection_to_a_known_public_address() {
        let s = settings(&production(&[])).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://gazette.example"));
        assert!(matches!(s.mail, MailTransport::Smtp { .. }));
        assert!(
            !format!("{s:?}").contains("secret"),
            "the SMTP password is redacted"
        );
        for missing in ["PUBLIC_URL", "SMTP_URL"] {
            let vars: Vec<_> = production(&[])
                .into_iter()
                .filter(|(name, _)| *name != missing)
                .collect();
            assert_eq!(settings(&vars).unwrap_err().variable, missing);
        }
        let plain = production(&[("SMTP_URL", "smtp://smtp.example:587")]);
        assert_eq!(settings(&plain).unwrap_err().variable, "SMTP_URL");
        for fine in [
            "smtp://smtp.example:587?tls=required",
            "smtp://127.0.0.1:25",
            "smtp://localhost:25",
        ] {
            assert!(
                settings(&production(&[("SMTP_URL", fine)])).is_ok(),
                "{fine}"
            );
        }
    }

    #[test]
    fn development_writes_mail_to_a_folder_unless_smtp_is_set() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            s.mail,
            MailTransport::Folder {
                dir: DEFAULT_MAIL_DIR.into()
            }
        );
        assert_eq!(s.public_url, None);
        let s = settings(&[("MAIL_DIR", "/tmp/outbox")]).unwrap();
        assert_eq!(
            s.mail,
            MailTransport::Folder {
                dir: "/tmp/outbox".into()
            }
        );
        let s = settings(&[("SMTP_URL", "smtp://127.0.0.1:2525")]).unwrap();
        assert!(matches!(s.mail, MailTransport::Smtp { .. }));
    }

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/gazette"),
            "postgres://app:***@db.example:5432/gazette"
        );
    }
}
