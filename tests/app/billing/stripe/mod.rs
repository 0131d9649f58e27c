//! Payments through Stripe, against the fake Stripe of `tests/support/stripe`: the hosted
//! checkout, webhooks and their signatures, renewals and failures, the billing portal,
//! reconciliation, and bursts.

mod bursts;
mod calls;
mod checkout;
mod customers;
mod deletion;
mod gifts;
mod offers;
mod prices;
mod reconcile;
mod renewals;
mod retention;
mod webhooks;

use diesel::prelude::*;
use reqwest::StatusCode;

pub use crate::helpers::*;
pub use crate::support::stripe::{FakeStripe, MONTHLY, Renewal, YEARLY};

/// A month after [`START`]: the end of a monthly subscription's first period.
pub const MONTH_LATER: time::OffsetDateTime = time::macros::datetime!(2026-12-26 12:00 UTC);

/// A fake Stripe and an app paying through it, on one clock, one free premium article a month.
pub async fn shop() -> (FakeStripe, TestApp) {
    shop_with(|_| {}).await
}

pub async fn shop_with(
    customise: impl FnOnce(&mut gazette::config::Settings),
) -> (FakeStripe, TestApp) {
    let clock = std::sync::Arc::new(gazette::clock::ManualClock::new(START));
    let fake = FakeStripe::start(clock).await;
    let app = TestApp::builder()
        .stripe(&fake)
        .settings(|settings| {
            settings.free_articles_per_month = 0;
            customise(settings);
        })
        .start()
        .await;
    (fake, app)
}

/// Asks to subscribe to `plan` (coming from `next`, when not empty); the answer must send the
/// reader to Stripe's checkout page, whose session id is returned with the answer.
pub async fn to_checkout(reader: &Reader<'_>, plan: &str, next: &str) -> (Page, String) {
    let page = subscribe_from(reader, plan, next).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location().expect("a redirect").to_string();
    assert!(
        location.starts_with("http://127.0.0.1:") && location.contains("/pay/cs_test_"),
        "sent to the checkout page: {location}"
    );
    let session = FakeStripe::session_of_page(&location);
    (page, session)
}

pub async fn subscribe_from(reader: &Reader<'_>, plan: &str, next: &str) -> Page {
    let token = reader.csrf_token().await;
    let mut form = vec![("plan", plan), ("csrf_token", token.as_str())];
    if !next.is_empty() {
        form.push(("next", next));
    }
    reader.post("/subscribe", &form).await
}

/// A reader who signed up, paid for `plan` at Stripe, and whose events were all delivered:
/// the reader and their Stripe subscription id.
pub async fn subscriber<'a>(
    fake: &FakeStripe,
    app: &'a TestApp,
    email: &str,
    plan: &str,
) -> (Reader<'a>, String) {
    let reader = Reader::signed_up(app, email).await;
    let (_, session) = to_checkout(&reader, plan, "").await;
    fake.pay(&session);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let sub = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session)
        .unwrap()["subscription"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(current(app, email).len(), 1, "recorded");
    (reader, sub)
}

/// Events recorded as applied.
pub fn events_applied(app: &TestApp) -> i64 {
    gazette::schema::gateway_events::table
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

/// Hosted checkouts still open, for every reader together.
pub fn hosted_checkouts(app: &TestApp) -> i64 {
    gazette::schema::hosted_checkouts::table
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

/// How many API requests the fake had for paths starting with `prefix`, by `method`.
pub fn requests_to(fake: &FakeStripe, method: &str, prefix: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .count()
}

/// API requests made on readers' behalf: all but start-up's check of the prices and
/// housekeeping's listing of undelivered events.
pub fn calls_for_readers(fake: &FakeStripe) -> usize {
    fake.requests()
        .iter()
        .filter(|r| !r.path.starts_with("/v1/prices/") && r.path != "/v1/events")
        .count()
}

/// The path and query of an address on the app (what the browser would ask the app for).
pub fn local(app: &TestApp, url: &str) -> String {
    url.strip_prefix(&app.address)
        .unwrap_or_else(|| panic!("{url} is on the app"))
        .to_string()
}

/// Billing as account deletion and housekeeping reach it: on the app's database, through the
/// same Stripe.
pub fn billing_of(app: &TestApp, fake: &FakeStripe) -> gazette::billing::Billing {
    let pool = gazette::db::pool(&app.db.url, 2);
    let stripe = gazette::payments::stripe::Stripe::new(fake.config()).unwrap();
    gazette::billing::Billing::new(
        pool,
        app.clock.clone(),
        Some(gazette::payments::Gateway::Hosted(std::sync::Arc::new(
            stripe,
        ))),
    )
}

/// The Stripe customer a subscription belongs to.
pub fn customer_of(fake: &FakeStripe, sub: &str) -> String {
    fake.subscription(sub)["customer"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The Checkout Session behind the redirect to Stripe's page.
pub fn session_of(fake: &FakeStripe, page: &Page) -> serde_json::Value {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let url = page.location().expect("a redirect");
    assert!(
        url.contains("/pay/cs_test_"),
        "sent to Stripe's page: {url}"
    );
    let id = FakeStripe::session_of_page(url);
    fake.sessions()
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .expect("the session exists")
}
