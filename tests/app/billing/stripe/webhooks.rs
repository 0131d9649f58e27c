//! Stripe's webhooks: signatures, duplicates, order, and objects that are not Gazette's.

use super::*;
use crate::support::stripe::{WEBHOOK_SECRET, signature};

/// The id of the latest event of `kind`.
fn latest(fake: &FakeStripe, kind: &str) -> String {
    fake.events()
        .into_iter()
        .rev()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("an event {kind}"))
        .id
}

#[tokio::test]
async fn a_duplicated_event_is_applied_once() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "twice@example.com", "monthly").await;
    let applied = events_applied(&app);
    let paid = latest(&fake, "invoice.paid");
    let reads = requests_to(&fake, "GET", &format!("/v1/subscriptions/{sub}"));

    // Stripe sends it again, once and then many times at once.
    assert_eq!(fake.deliver(&paid).await, 200);
    let again = join_all((0..10).map(|_| fake.deliver(&paid))).await;
    assert!(again.iter().all(|s| *s == 200), "{again:?}");

    assert_eq!(events_applied(&app), applied, "recorded once");
    assert_eq!(
        requests_to(&fake, "GET", &format!("/v1/subscriptions/{sub}")),
        reads,
        "a known event is not even re-read"
    );
    assert_eq!(subscriptions_of(&app, "twice@example.com").len(), 1);
}

#[tokio::test]
async fn a_duplicate_racing_the_first_delivery_is_recorded_once() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "race@example.com").await;
    let (_, session) = to_checkout(&reader, "monthly", "").await;
    fake.pay(&session);
    let completed = latest(&fake, "checkout.session.completed");
    let statuses = join_all((0..12).map(|_| fake.deliver(&completed))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let rows: Vec<String> = gazette::schema::gateway_events::table
        .select(gazette::schema::gateway_events::event_id)
        .load(&mut app.connect())
        .unwrap();
    assert_eq!(rows, vec![completed]);
    assert_eq!(current(&app, "race@example.com").len(), 1);
    assert_eq!(hosted_checkouts(&app), 0);
}

#[tokio::test]
async fn a_subscription_update_before_checkout_completed_leaves_the_same_state() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "reordered@example.com").await;
    let (_, session) = to_checkout(&reader, "monthly", "").await;
    fake.pay(&session);
    // The reader at once cancels in the portal (Stripe makes a customer.subscription.updated).
    let sub = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session)
        .unwrap()["subscription"]
        .as_str()
        .unwrap()
        .to_string();
    let portal = reader
        .post(
            "/account/billing",
            &[("csrf_token", &reader.csrf_token().await)],
        )
        .await;
    assert_eq!(portal.status, StatusCode::SEE_OTHER);
    let cancel = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/cancel", portal.location().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::SEE_OTHER);

    // Newest first: the update arrives before the checkout completed, then the rest.
    let mut pending = fake.pending();
    pending.reverse();
    assert_eq!(
        fake.events()
            .iter()
            .find(|e| e.id == pending[0])
            .unwrap()
            .kind,
        "customer.subscription.updated"
    );
    for id in &pending {
        assert_eq!(fake.deliver(id).await, 200);
    }
    let rows = current(&app, "reordered@example.com");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].gateway_reference, sub);
    assert_eq!(
        rows[0].status, "canceled",
        "the latest state, whatever the order"
    );
    assert_eq!(hosted_checkouts(&app), 0);
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], true);
}

#[tokio::test]
async fn an_older_read_of_a_subscription_never_overwrites_a_newer_one() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "ordered@example.com", "monthly").await;
    // An event about the subscription whose re-read is slow: Stripe answers with the state
    // as it was when asked (active), but the answer arrives late...
    fake.touch(&sub);
    let slow = latest(&fake, "customer.subscription.updated");
    fake.slow_next_read(
        &format!("/v1/subscriptions/{sub}"),
        std::time::Duration::from_millis(1500),
    );
    let (slow_status, fast_status) = tokio::join!(fake.deliver(&slow), async {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        // ...overtaken by a later change, read later and applied first.
        app.clock.advance(time::Duration::seconds(1));
        fake.cancel_at_period_end(&sub);
        let fast = latest(&fake, "customer.subscription.updated");
        fake.deliver(&fast).await
    });
    assert_eq!((slow_status, fast_status), (200, 200));
    assert_eq!(
        current(&app, "ordered@example.com")[0].status,
        "canceled",
        "the later read stands"
    );
}

/// Posts `body` with the header Stripe would send at `t` (signed with `secret`).
fn header(secret: &str, t: i64, body: &str) -> String {
    format!("t={t},v1={}", signature(secret, t, body))
}

#[tokio::test]
async fn forged_stale_unsigned_and_malformed_webhooks_are_refused_and_change_nothing() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "target@example.com", "monthly").await;
    // What an attacker would like Gazette to believe: the subscription is gone.
    fake.end_subscription(&sub);
    let deleted = latest(&fake, "customer.subscription.deleted");
    let body = fake.body_of(&deleted);
    let applied = events_applied(&app);
    let reads = fake.requests().len();
    let now = fake.now();
    let tampered = body.replace(
        "customer.subscription.deleted",
        "customer.subscription.updated",
    );
    let tail = body.len() / 2;
    let attempts: Vec<(String, String, Option<String>)> = vec![
        ("unsigned".into(), body.clone(), None),
        ("empty header".into(), body.clone(), Some(String::new())),
        (
            "another secret".into(),
            body.clone(),
            Some(header("whsec_not_the_endpoints", now, &body)),
        ),
        (
            "a changed body".into(),
            tampered.clone(),
            Some(header(WEBHOOK_SECRET, now, &body)),
        ),
        (
            "stale by six minutes".into(),
            body.clone(),
            Some(header(WEBHOOK_SECRET, now - 360, &body)),
        ),
        (
            "from six minutes ahead".into(),
            body.clone(),
            Some(header(WEBHOOK_SECRET, now + 360, &body)),
        ),
        (
            "a v0 signature only".into(),
            body.clone(),
            Some(format!(
                "t={now},v0={}",
                signature(WEBHOOK_SECRET, now, &body)
            )),
        ),
        ("garbage header".into(), body.clone(), Some("t=,v1=".into())),
        (
            "signed but not JSON".into(),
            body[..tail].to_string(),
            Some(header(WEBHOOK_SECRET, now, &body[..tail])),
        ),
        (
            "signed but not an event".into(),
            "{\"hello\":1}".into(),
            Some(header(WEBHOOK_SECRET, now, "{\"hello\":1}")),
        ),
    ];
    for (what, body, signature) in &attempts {
        let status = fake.post_raw(body, signature.as_deref()).await;
        assert_eq!(status, 400, "{what}");
    }
    // At scale, at once: still only 400s.
    let fake = &fake;
    let flood = join_all((0..100).map(|n| {
        let forged = header("whsec_guess", now, &format!("{body}{n}"));
        let body = body.clone();
        async move { fake.post_raw(&body, Some(&forged)).await }
    }))
    .await;
    assert!(flood.iter().all(|s| *s == 400), "{flood:?}");

    assert_eq!(events_applied(&app), applied, "nothing recorded");
    assert_eq!(
        fake.requests().len(),
        reads,
        "nothing was even asked of Stripe"
    );
    assert_eq!(current(&app, "target@example.com")[0].status, "active");

    // The genuine event, correctly signed, does what it says.
    assert_eq!(fake.deliver(&deleted).await, 200);
    assert!(current(&app, "target@example.com").is_empty());
}

#[tokio::test]
async fn a_signature_within_five_minutes_is_accepted_and_any_of_several_may_match() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "rotating@example.com", "monthly").await;
    fake.end_subscription(&sub);
    let body = fake.body_of(&latest(&fake, "customer.subscription.deleted"));
    let t = fake.now() - 290;
    // Stripe signs with several secrets while one is being rolled.
    let two = format!(
        "t={t},v1={},v1={}",
        signature("whsec_the_old_secret_00", t, &body),
        signature(WEBHOOK_SECRET, t, &body)
    );
    assert_eq!(fake.post_raw(&body, Some(&two)).await, 200);
    assert!(current(&app, "rotating@example.com").is_empty());
}

#[tokio::test]
async fn an_oversized_webhook_is_refused_without_reading_it_all() {
    let (fake, _app) = shop().await;
    let huge = "x".repeat(600 * 1024);
    let status = fake.post_raw(&huge, Some("t=1,v1=00")).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn the_webhook_takes_no_csrf_token_and_sets_no_cookie() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "cookieless@example.com", "monthly").await;
    fake.end_subscription(&sub);
    let body = fake.body_of(&latest(&fake, "customer.subscription.deleted"));
    let response = crate::support::http_client()
        .build()
        .expect("an HTTP client")
        .post(app.url("/webhooks/stripe"))
        .header("Content-Type", "application/json")
        .header("Stripe-Signature", fake.sign(&body, fake.now()))
        // A browser's cross-site marks do not matter here: it is not a form.
        .header("Sec-Fetch-Site", "cross-site")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn events_about_another_product_on_the_account_are_ignored() {
    let (fake, app) = shop().await;
    // A reader of Gazette who also buys the other product, under another customer.
    Reader::signed_up(&app, "both@example.com").await;
    fake.sell_another_product("both@example.com");
    fake.sell_another_product("stranger@example.com");
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(subscriptions_of(&app, "both@example.com").is_empty());
    assert_eq!(events_applied(&app), 0, "none of them recorded");
    let subscription_reads = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/subscriptions/"))
        .count();
    assert_eq!(
        subscription_reads, 0,
        "a customer Gazette never made is not even looked up"
    );
}

#[tokio::test]
async fn a_gazette_customers_subscription_to_another_product_is_ignored() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "mixed@example.com", "monthly").await;
    // The publisher sells the same customer another product.
    let customer = fake.subscription(&sub)["customer"]
        .as_str()
        .unwrap()
        .to_string();
    let applied = events_applied(&app);
    fake.sell_another_product_to(&customer);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let rows = subscriptions_of(&app, "mixed@example.com");
    assert_eq!(rows.len(), 1, "only Gazette's subscription");
    assert_eq!(rows[0].gateway_reference, sub);
    assert_eq!(
        events_applied(&app),
        applied,
        "its events are not Gazette's"
    );
}

#[tokio::test]
async fn a_second_live_subscription_of_one_customer_is_recorded_and_flagged() {
    crate::support::logs::capture();
    let (fake, app) = shop().await;
    let email = "charged-twice@example.com";
    let (reader, first) = subscriber(&fake, &app, email, "monthly").await;
    // The publisher subscribes the same customer again in Stripe's dashboard: Stripe now
    // charges the reader for two subscriptions.
    let second = fake.sell_to(&customer_of(&fake, &first), YEARLY);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let rows = subscriptions_of(&app, email);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let live = current(&app, email);
    assert_eq!(
        (
            live[0].gateway_reference.as_str(),
            live[0].plan_code.as_str()
        ),
        (second.as_str(), "yearly"),
        "the newer is recorded"
    );
    let user = user_id(&app, email);
    let flagged = crate::support::logs::lines_with(&[
        "two live subscriptions",
        &first,
        &second,
        &format!("user_id={user}"),
    ]);
    assert_eq!(flagged.len(), 1, "the double charge is flagged once");
    // Stripe delivers everything again: known, and nothing more is flagged.
    for event in fake.events() {
        assert_eq!(fake.deliver(&event.id).await, 200);
    }
    assert_eq!(
        crate::support::logs::lines_with(&["two live subscriptions", &first, &second]).len(),
        1
    );

    // Leaving ends both at Stripe: the one Gazette replaced is still charging there.
    let page = reader.delete_account("delete my account", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(fake.subscription(&first)["status"], "canceled");
    assert_eq!(fake.subscription(&second)["status"], "canceled");
}

#[tokio::test]
async fn a_customer_deleted_at_stripe_ends_its_subscription_whichever_event_arrives_first() {
    let (fake, app) = shop().await;
    let article = app.premium_ids()[0];
    for (email, reversed) in [
        ("in-order@example.com", false),
        ("reversed@example.com", true),
    ] {
        let (reader, sub) = subscriber(&fake, &app, email, "yearly").await;
        app.clock.advance(time::Duration::days(3));
        // The publisher deletes the customer: Stripe cancels the subscription at once.
        fake.delete_customer(&customer_of(&fake, &sub));
        let mut pending = fake.pending();
        if reversed {
            pending.reverse();
        }
        for id in &pending {
            assert_eq!(fake.deliver(id).await, 200);
        }
        assert!(current(&app, email).is_empty(), "{email}: ended here too");
        assert_eq!(
            reader.read_article(article).await.status,
            StatusCode::PAYMENT_REQUIRED,
            "{email}: nothing is paid for any more"
        );
    }
}
