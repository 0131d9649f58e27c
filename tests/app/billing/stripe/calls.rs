//! How many requests to Stripe a reader can cause. Every route that asks Stripe on a reader's
//! behalf (coming back from the checkout page, the billing portal, subscribing) spends from
//! one budget per reader, counted in PostgreSQL; past it the reader is told to wait, and
//! Stripe is not asked. A request Stripe's rate limiter refused is not tried again.

use super::*;

/// `MAX_PROCESSOR_CALLS_PER_ACCOUNT`'s default: requests to Stripe one reader's requests may
/// cause in a throttling window.
const BUDGET: usize = 30;
/// Requests sent at once, in each wave of an attack.
const WAVE: usize = 10;

/// Sends `count` requests made by `request(n)`, `WAVE` at a time; every answer.
async fn hammer<'r, F, Fut>(count: usize, request: F) -> Vec<Page>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Page> + 'r,
{
    let mut pages = Vec::with_capacity(count);
    for wave in (0..count).collect::<Vec<_>>().chunks(WAVE) {
        pages.extend(join_all(wave.iter().map(|&n| request(n))).await);
    }
    pages
}

/// The statuses seen, and how often.
fn statuses(pages: &[Page]) -> std::collections::BTreeMap<u16, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for page in pages {
        *seen.entry(page.status.as_u16()).or_insert(0) += 1;
    }
    seen
}

/// A free reader who opened a checkout (so Stripe holds a customer for them); its session.
async fn free_reader_with_checkout<'a>(app: &'a TestApp, email: &str) -> (Reader<'a>, String) {
    let reader = Reader::signed_up(app, email).await;
    let (_, session) = to_checkout(&reader, "monthly", "").await;
    (reader, session)
}

async fn return_from_checkout(reader: &Reader<'_>, session: &str) -> Page {
    reader
        .get(&format!("/subscribe/complete?checkout={session}"))
        .await
}

async fn open_portal(reader: &Reader<'_>, token: &str) -> Page {
    reader
        .post("/account/billing", &[("csrf_token", token)])
        .await
}

async fn choose_plan(reader: &Reader<'_>, token: &str, n: usize) -> Page {
    let plan = if n.is_multiple_of(2) {
        "yearly"
    } else {
        "monthly"
    };
    reader
        .post("/subscribe", &[("plan", plan), ("csrf_token", token)])
        .await
}

#[tokio::test]
async fn coming_back_from_checkout_a_hundred_times_asks_stripe_within_the_readers_budget() {
    let (fake, app) = shop().await;
    let (reader, session) = free_reader_with_checkout(&app, "returner@example.com").await;

    let pages = hammer(100, |_| return_from_checkout(&reader, &session)).await;
    assert_eq!(
        statuses(&pages),
        [(303, 100)].into(),
        "every return is sent on"
    );
    assert!(
        calls_for_readers(&fake) <= BUDGET,
        "{} calls to Stripe: {:?}",
        calls_for_readers(&fake),
        fake.calls()
    );
    let told = reader.follow(pages.last().unwrap()).await;
    assert!(
        told.body.contains("many times in the last few minutes"),
        "{}",
        told.body
    );

    // Stripe's own word still arrives and is applied: the budget is the reader's requests'.
    fake.pay(&session);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(current(&app, "returner@example.com").len(), 1);
}

#[tokio::test]
async fn opening_the_billing_portal_a_hundred_times_asks_stripe_within_the_readers_budget() {
    let (fake, app) = shop().await;
    let (reader, _) = free_reader_with_checkout(&app, "portal@example.com").await;
    let token = reader.csrf_token().await;

    let pages = hammer(100, |_| open_portal(&reader, &token)).await;
    assert_eq!(statuses(&pages), [(303, 100)].into());
    assert!(
        calls_for_readers(&fake) <= BUDGET,
        "{} calls to Stripe: {:?}",
        calls_for_readers(&fake),
        fake.calls()
    );
    let last = pages.last().unwrap();
    assert_eq!(
        last.location(),
        Some("/account"),
        "told to wait, not sent on"
    );
    let told = reader.follow(last).await;
    assert!(
        told.body.contains("many times in the last few minutes"),
        "{}",
        told.body
    );
}

#[tokio::test]
async fn switching_plans_back_and_forth_a_hundred_times_asks_stripe_within_the_readers_budget() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "fickle@example.com").await;
    let token = reader.csrf_token().await;

    let pages = hammer(100, |n| choose_plan(&reader, &token, n)).await;
    let seen = statuses(&pages);
    assert!(
        seen.keys().all(|status| [303, 429].contains(status)),
        "{seen:?}"
    );
    assert!(
        calls_for_readers(&fake) <= BUDGET,
        "{} calls to Stripe: {:?}",
        calls_for_readers(&fake),
        fake.calls()
    );
    // Asking again for the plan of the checkout still open needs no request to Stripe, so
    // some late requests are still sent to it; the others are told to wait.
    let refused = pages
        .iter()
        .find(|p| p.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("some requests are refused");
    assert!(refused.header("retry-after").is_some());
    assert!(
        refused.body.contains("Nothing was charged"),
        "{}",
        refused.body
    );
    // At most one checkout stays open at Stripe, whatever the order the requests ran in.
    let customer = fake.customers_of("fickle@example.com")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let open = fake
        .sessions_of(&customer)
        .into_iter()
        .filter(|s| s["status"] == "open")
        .count();
    assert!(open <= 1, "{open} open checkouts");
}

#[tokio::test]
async fn a_burst_of_readers_each_hammering_every_route_stays_within_each_ones_budget() {
    let (fake, app) = shop_with(|s| {
        s.limits.signups_per_address = 100;
        s.database_pool_size = 10;
    })
    .await;
    const READERS: usize = 6;
    let mut readers = Vec::new();
    for n in 0..READERS {
        readers.push(free_reader_with_checkout(&app, &format!("horde{n}@example.com")).await);
    }
    let tokens = join_all(readers.iter().map(|(reader, _)| reader.csrf_token())).await;

    let attacks = readers
        .iter()
        .zip(&tokens)
        .map(|((reader, session), token)| async move {
            let mut pages = hammer(100, |_| return_from_checkout(reader, session)).await;
            pages.extend(hammer(100, |_| open_portal(reader, token)).await);
            pages.extend(hammer(100, |n| choose_plan(reader, token, n)).await);
            pages
        });
    let pages: Vec<Page> = join_all(attacks).await.into_iter().flatten().collect();
    let seen = statuses(&pages);
    assert!(
        seen.keys().all(|status| [303, 429].contains(status)),
        "{seen:?}"
    );
    assert!(
        calls_for_readers(&fake) <= READERS * BUDGET,
        "{} calls to Stripe for {READERS} readers: {:?}",
        calls_for_readers(&fake),
        fake.calls()
    );
    // A reader's reads of their own checkout name it, so each one's share can be told apart.
    for (_, session) in &readers {
        let reads = fake
            .requests()
            .iter()
            .filter(|r| r.path == format!("/v1/checkout/sessions/{session}"))
            .count();
        assert!(reads <= BUDGET, "{reads} reads of {session}");
    }
}

#[tokio::test]
async fn a_request_stripes_rate_limiter_refused_is_not_tried_again_but_a_lock_timeout_is() {
    let (fake, app) = shop().await;
    let (reader, _) = free_reader_with_checkout(&app, "limited@example.com").await;
    let token = reader.csrf_token().await;
    let portals = || requests_to(&fake, "POST", "/v1/billing_portal/sessions");

    fake.rate_limit_next(100);
    let page = open_portal(&reader, &token).await;
    assert_eq!(page.location(), Some("/account"));
    assert!(
        reader
            .follow(&page)
            .await
            .body
            .contains("could not reach the payment processor")
    );
    assert_eq!(portals(), 1, "one request, one call: {:?}", fake.calls());

    fake.rate_limit_next(0);
    fake.lock_timeout_next(1);
    let page = open_portal(&reader, &token).await;
    assert!(
        page.location().is_some_and(|l| l.contains("/portal/bps_")),
        "{:?}",
        page.location()
    );
    assert_eq!(portals(), 3, "a lock timeout is tried again at once");
}

#[tokio::test]
async fn the_budget_is_the_same_on_every_instance() {
    let (fake, app) = shop().await;
    let other = TestApp::builder()
        .sharing(&app)
        .stripe(&fake)
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let (reader, session) = free_reader_with_checkout(&app, "roamer@example.com").await;
    let elsewhere = reader.via(&other);
    let token = reader.csrf_token().await;

    // Behind a load balancer, the reader's requests land on both instances in turn.
    let pages = hammer(100, |n| {
        let reader = if n.is_multiple_of(2) {
            &reader
        } else {
            &elsewhere
        };
        let (token, session) = (token.clone(), session.clone());
        async move {
            if n % 4 < 2 {
                open_portal(reader, &token).await
            } else {
                return_from_checkout(reader, &session).await
            }
        }
    })
    .await;
    assert_eq!(statuses(&pages), [(303, 100)].into());
    assert!(
        calls_for_readers(&fake) <= BUDGET,
        "{} calls to Stripe from two instances: {:?}",
        calls_for_readers(&fake),
        fake.calls()
    );
}
