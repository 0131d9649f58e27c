//! Billing: subscribing and cancelling with a gateway that charges at once, offers and retention offers, races between a reader's requests, and Stripe.

mod comps;
pub(crate) mod gift_subscriptions;
mod offers;
mod payments;
mod races;
mod retention;
pub mod stripe;
mod subscriptions;

use std::sync::Arc;

use crate::helpers::{FakeProcessor, Page, Reader, TestApp, join_all};

/// An app charging through `processor` at once, taking many sign-ups from its own addresses,
/// with no free articles (so reading shows who may read).
async fn app_with(processor: Arc<FakeProcessor>) -> TestApp {
    TestApp::builder()
        .gateway(processor)
        .settings(|s| {
            s.trust_proxy_headers = true;
            s.database_pool_size = 10;
            s.free_articles_per_month = 0;
        })
        .start()
        .await
}

/// Billing as housekeeping reaches it, through the same processor.
fn billing_of(app: &TestApp, processor: Arc<FakeProcessor>) -> gazette::billing::Billing {
    gazette::billing::Billing::new(
        gazette::db::pool(&app.db.url, 2),
        app.clock.clone(),
        Some(gazette::payments::Gateway::ChargesNow(processor)),
    )
}

/// `count` readers signed up as `{name}{n}@example.com`, each from an address of its own in
/// `10.0.{network}.0/24` (so the limits on sign-ups per address leave them alone).
async fn readers<'a>(
    app: &'a TestApp,
    count: usize,
    name: &str,
    network: u8,
) -> Vec<(Reader<'a>, String)> {
    let mut readers = Vec::new();
    for n in 0..count {
        let email = format!("{name}{n}@example.com");
        let reader = Reader::signed_up_from(app, &email, &format!("10.0.{network}.{n}")).await;
        readers.push((reader, email));
    }
    readers
}

/// Every reader sends `clicks` forms at once, all readers together (`requests` gives each
/// click's address and fields; the reader's CSRF token is added); returns every answer. A
/// redirect to the log-in page would mean the test lost its readers' logins, so it fails the
/// test at once.
async fn burst<'p>(
    readers: &[(Reader<'_>, String)],
    clicks: usize,
    requests: impl Fn(usize) -> (&'p str, Vec<(&'p str, &'p str)>),
) -> Vec<Page> {
    let mut tokens = Vec::new();
    for (reader, _) in readers {
        tokens.push(reader.csrf_token().await);
    }
    let mut posts = Vec::new();
    for ((reader, _), token) in readers.iter().zip(&tokens) {
        for click in 0..clicks {
            let (path, mut form) = requests(click);
            form.push(("csrf_token", token.as_str()));
            posts.push(async move { reader.post(path, &form).await });
        }
    }
    let pages = join_all(posts).await;
    for page in &pages {
        assert!(
            !page.location().is_some_and(|l| l.starts_with("/login")),
            "still logged in"
        );
    }
    pages
}
