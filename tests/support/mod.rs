//! Starting a real Gazette for a test: its own PostgreSQL database (cloned from a template
//! migrated once per test process), on a free port, with a clock the test controls.

#![allow(dead_code)]

pub mod balancer;
pub mod fixtures;
pub mod logs;
pub mod mailbox;
pub mod pictures;
pub mod processor;
pub mod queries;
pub mod stripe;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use diesel::prelude::*;
use gazette::clock::ManualClock;
use gazette::config::Settings;
use gazette::payments::PaymentGateway;
use gazette::startup::{Application, Overrides};
use time::OffsetDateTime;
use time::macros::datetime;

/// Where the test databases live; `TEST_DATABASE_SERVER` points elsewhere.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_SERVER")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// An HTTP client builder for the tests' browsers, sharing one TLS set-up. Building a client
/// otherwise reads the system's certificate authorities again (about 0.1 s and 0.9 MiB each),
/// and the tests make hundreds of clients though they speak plain HTTP to their apps.
pub fn http_client() -> reqwest::ClientBuilder {
    static TLS: OnceLock<native_tls::TlsConnector> = OnceLock::new();
    let tls = TLS.get_or_init(|| {
        native_tls::TlsConnector::new().expect("the system's TLS set-up for test clients")
    });
    reqwest::Client::builder().use_preconfigured_tls(tls.clone())
}

/// A moment after every demo article was published; tests move the clock from here.
pub const START: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);

const PREFIX: &str = "gazette_t";

fn admin() -> PgConnection {
    // Every test reaches PostgreSQL through here first. As the binary does: OpenSSL without a
    // clean-up at exit, before libpq initialises it with one (apps and clients are still
    // running when a test binary exits).
    openssl::init();
    PgConnection::establish(&format!("{}/postgres", server_url()))
        .unwrap_or_else(|e| panic!("tests need PostgreSQL at {}: {e}", server_url()))
}

/// The template database of this process, migrated and loaded with the demo articles once.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        // What the binary does once at start, for the apps this process runs.
        gazette::allocator::return_large_blocks_to_the_system();
        sweep_leftovers();
        let name = format!("{PREFIX}pl_{}", std::process::id());
        let url = format!("{}/{name}", server_url());
        gazette::db::prepare(&url).expect("migrating the template database");
        let mut conn = PgConnection::establish(&url).expect("connecting to the template");
        gazette::demo::load_if_empty(&mut conn).expect("loading demo articles");
        name
    })
}

/// Drops databases left by test processes that are no longer running (crashed or killed).
fn sweep_leftovers() {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let mut conn = admin();
    let names: Vec<Name> = diesel::sql_query(format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"
    ))
    .load(&mut conn)
    .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname
            .trim_start_matches(PREFIX)
            .split('_')
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)"
            ))
            .execute(&mut conn);
        }
    }
}

/// A fresh database for one test, cloned from the template; dropped when the guard is.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn create() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let template = template();
        let name = format!(
            "{PREFIX}est_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        diesel::sql_query(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .execute(&mut admin())
        .expect("cloning the template database");
        let url = format!("{}/{name}", server_url());
        Self { name, url }
    }

    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connecting to the test database")
    }

    /// Simulates losing the database: drops it while the app is connected.
    pub fn destroy(&self) {
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin())
        .expect("dropping the test database");
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin());
    }
}

pub struct TestApp {
    /// Where the app delivers its mail, unless the test chose another transport.
    pub mailbox: mailbox::Mailbox,
    pub address: String,
    pub port: u16,
    pub clock: Arc<ManualClock>,
    pub db: Arc<TestDatabase>,
    pub settings: Settings,
}

impl TestApp {
    /// An app on a database of its own, with the test defaults.
    pub async fn spawn() -> Self {
        Self::builder().start().await
    }

    /// An app made to measure: `TestApp::builder().stripe(&fake).settings(|s| ...).start()`.
    pub fn builder<'a>() -> TestAppBuilder<'a> {
        TestAppBuilder::default()
    }

    /// This app seen through another address (a load balancer in front of it), same database
    /// and clock.
    pub fn behind(&self, address: String, port: u16) -> Self {
        Self {
            mailbox: self.mailbox.clone(),
            address,
            port,
            clock: self.clock.clone(),
            db: self.db.clone(),
            settings: self.settings.clone(),
        }
    }

    async fn start_on(
        db: Arc<TestDatabase>,
        customise: impl FnOnce(&mut Settings),
        gateway: Option<Arc<dyn PaymentGateway>>,
        clock: Option<Arc<ManualClock>>,
    ) -> Self {
        queries::install();
        let mut settings = Settings::for_database(&db.url);
        settings.database_pool_size = 4;
        // Dozens of test clients share two loaded cores, and one may open a connection a few
        // seconds before its request goes out; the server would answer 408 on it. Slow
        // clients are tested on their own with a short limit (`slow_clients.rs`).
        settings.client_request_timeout = std::time::Duration::from_secs(60);
        let mailbox = mailbox::Mailbox::start().await;
        settings.mail = gazette::config::MailTransport::Smtp { url: mailbox.url() };
        customise(&mut settings);
        let clock = clock.unwrap_or_else(|| Arc::new(ManualClock::new(START)));
        let overrides = Overrides {
            clock: Some(clock.clone()),
            gateway,
        };
        let app = Application::build(settings.clone(), overrides)
            .await
            .expect("the app starts");
        let port = app.port();
        tokio::spawn(app.run_until_stopped());
        Self {
            mailbox,
            address: format!("http://127.0.0.1:{port}"),
            port,
            clock,
            db,
            settings,
        }
    }

    /// Waits until `instances` apps on this database listen for changes (their caches are on).
    pub async fn wait_until_listening(&self, instances: i64) {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            listening: i64,
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let listening = diesel::sql_query(
                "SELECT count(*) AS listening FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'gazette-changes'",
            )
            .get_result::<Count>(&mut self.connect())
            .map_or(0, |c| c.listening);
            if listening >= instances {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the app never listened for changes"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // It says LISTEN right after connecting.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn connect(&self) -> PgConnection {
        self.db.connect()
    }

    /// Ids of published premium and free articles, oldest first.
    pub fn article_ids(&self, premium: bool) -> Vec<i64> {
        use gazette::schema::articles::dsl::*;
        articles
            .filter(is_premium.eq(premium))
            .order(published_at.asc())
            .select(id)
            .load(&mut self.connect())
            .expect("listing articles")
    }

    pub fn premium_ids(&self) -> Vec<i64> {
        self.article_ids(true)
    }

    pub fn free_ids(&self) -> Vec<i64> {
        self.article_ids(false)
    }

    pub fn cookie_name(&self) -> &'static str {
        self.settings.session_cookie_name()
    }
}

/// A change to a test app's settings.
type SettingsChange<'a> = Box<dyn FnOnce(&mut Settings) + 'a>;
/// Work on a test app's database before the app starts.
type Preparation = Box<dyn FnOnce(&mut PgConnection) + Send>;

/// What a test app is made of, chosen one part at a time, then [`TestAppBuilder::start`].
#[derive(Default)]
pub struct TestAppBuilder<'a> {
    settings: Vec<SettingsChange<'a>>,
    prepare: Option<Preparation>,
    gateway: Option<Arc<dyn PaymentGateway>>,
    stripe: Option<&'a stripe::FakeStripe>,
    sharing: Option<&'a TestApp>,
}

impl<'a> TestAppBuilder<'a> {
    /// Changes the settings (after the test defaults, and after `sharing`'s).
    pub fn settings(mut self, change: impl FnOnce(&mut Settings) + 'a) -> Self {
        self.settings.push(Box::new(change));
        self
    }

    /// Runs `prepare` on the new database before the app starts (the plans an operator set,
    /// say).
    pub fn prepared(mut self, prepare: impl FnOnce(&mut PgConnection) + Send + 'static) -> Self {
        self.prepare = Some(Box::new(prepare));
        self
    }

    /// Payments through `gateway`, a processor that charges at once.
    pub fn gateway(mut self, gateway: Arc<dyn PaymentGateway>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Payments through the Stripe stand-in, on its clock; its events go to this app's webhook
    /// endpoint (unless the app is a second instance, `sharing`).
    pub fn stripe(mut self, fake: &'a stripe::FakeStripe) -> Self {
        self.stripe = Some(fake);
        self
    }

    /// A second instance of `other`, as behind a load balancer: the same database and
    /// settings (session key included).
    pub fn sharing(mut self, other: &'a TestApp) -> Self {
        self.sharing = Some(other);
        self
    }

    pub async fn start(self) -> TestApp {
        let Self {
            settings: changes,
            prepare,
            gateway,
            stripe,
            sharing,
        } = self;
        let db = match sharing {
            Some(other) => other.db.clone(),
            None => Arc::new(
                tokio::task::spawn_blocking(move || {
                    let db = TestDatabase::create();
                    if let Some(prepare) = prepare {
                        prepare(&mut db.connect());
                    }
                    db
                })
                .await
                .expect("creating a database"),
            ),
        };
        let shared = sharing.map(|other| other.settings.clone());
        let stripe_config = stripe.map(stripe::FakeStripe::config);
        let app = TestApp::start_on(
            db,
            move |settings| {
                if let Some(shared) = shared {
                    *settings = shared;
                }
                if let Some(config) = stripe_config {
                    settings.payment_gateway = gazette::config::GatewayChoice::Stripe(config);
                }
                changes.into_iter().for_each(|change| change(settings));
            },
            gateway,
            stripe.map(stripe::FakeStripe::clock),
        )
        .await;
        if let Some(fake) = stripe
            && sharing.is_none()
        {
            fake.send_webhooks_to(&app.url("/webhooks/stripe"));
        }
        app
    }
}
