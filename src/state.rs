//! What every request handler can reach: the pool, the clock, the instance's phase and the
//! settings that pages and extractors apply. Everything here is immutable or shared through
//! PostgreSQL, so any number of instances can serve the same readers.
//!
//! Services with rules of their own (password hashing, billing, device cookies) are
//! registered beside it as their own `web::Data`, so this module depends on nothing above
//! the database.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Caches;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::article_gift::GiftLinks;
use crate::domain::gift_subscription::GiftSubscriptionLinks;
use crate::domain::newsletter::NewsletterLinks;
use crate::domain::throttle::Limits;
use crate::lifecycle::Lifecycle;

pub struct AppState {
    pub pool: DbPool,
    /// What the reading path keeps in memory (invalidated by every instance's writes).
    pub caches: Arc<Caches>,
    pub clock: Arc<dyn Clock>,
    pub lifecycle: Lifecycle,
    pub free_articles_per_month: u32,
    /// Articles a subscriber may gift per calendar month.
    pub gift_articles_per_month: u32,
    pub session_cookie_name: String,
    pub device_cookie_name: String,
    /// Take the client address from the proxy's `X-Forwarded-For` line.
    pub trust_proxy_headers: bool,
    pub limits: Limits,
    pub form_body_timeout: Duration,
    /// Where readers reach the site (`PUBLIC_URL`, else the address listened on), without a
    /// trailing slash: canonical links, the feed and the sitemap start with it.
    pub public_url: String,
    /// Signs and reads the newsletter's links (unsubscribe, preferences, confirmation) with
    /// the session key, so every instance reads what another signed.
    pub newsletter_links: NewsletterLinks,
    /// Signs and reads gift links' tokens with the session key, for the same reason.
    pub gift_links: GiftLinks,
    /// Signs and reads gift subscriptions' links, likewise.
    pub gift_subscription_links: GiftSubscriptionLinks,
}

impl AppState {
    /// The state for an instance with these settings, serving at `public_url`.
    pub fn new(
        settings: &Settings,
        pool: DbPool,
        caches: Arc<Caches>,
        clock: Arc<dyn Clock>,
        lifecycle: Lifecycle,
        public_url: String,
    ) -> Self {
        Self {
            pool,
            caches,
            clock,
            lifecycle,
            free_articles_per_month: settings.free_articles_per_month,
            gift_articles_per_month: settings.gift_articles_per_month,
            session_cookie_name: settings.session_cookie_name().to_string(),
            device_cookie_name: settings.device_cookie_name().to_string(),
            trust_proxy_headers: settings.trust_proxy_headers,
            limits: settings.limits,
            form_body_timeout: settings.form_body_timeout,
            public_url,
            newsletter_links: NewsletterLinks::new(settings.session_key.master()),
            gift_links: GiftLinks::new(settings.session_key.master()),
            gift_subscription_links: GiftSubscriptionLinks::new(settings.session_key.master()),
        }
    }

    /// The host (and port) of [`AppState::public_url`]: the site's own name for itself, which
    /// the logs give rather than the `Host` a client wrote.
    pub fn public_host(&self) -> &str {
        self.public_url
            .split_once("://")
            .map_or(self.public_url.as_str(), |(_, authority)| authority)
    }
}
