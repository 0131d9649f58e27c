//! Subscribing through Stripe's hosted checkout page.

use std::time::Duration as StdDuration;

use time::Duration;

use super::*;

#[tokio::test]
async fn subscribing_sends_the_reader_to_stripes_checkout_and_the_webhook_records_the_subscription()
{
    let (fake, app) = shop().await;
    let article = app.premium_ids()[2];
    let reader = Reader::signed_up(&app, "stripe@example.com").await;
    assert_eq!(
        reader.read_article(article).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    let next = format!("/articles/{article}");
    let (_, session_id) = to_checkout(&reader, "monthly", &next).await;

    // Stripe was asked as Stripe expects: the secret key, a pinned version, idempotency keys.
    let requests = fake.requests();
    assert!(requests.iter().all(|r| r.authorized), "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.stripe_version.as_deref() == Some("2024-06-20"))
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.method == "POST")
            .all(|r| r.idempotency_key.is_some())
    );
    let customers = fake.customers_of("stripe@example.com");
    assert_eq!(customers.len(), 1);
    let reader_id = user_id(&app, "stripe@example.com").to_string();
    assert_eq!(customers[0]["metadata"]["gazette_user_id"], reader_id);
    let session = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session_id)
        .unwrap();
    assert_eq!(session["customer"], customers[0]["id"]);
    assert_eq!(session["line_items"][0]["price"], MONTHLY);
    assert_eq!(session["client_reference_id"], reader_id);
    let success = session["success_url"].as_str().unwrap();
    assert!(
        success.starts_with(&app.url("/subscribe/complete?checkout={CHECKOUT_SESSION_ID}")),
        "{success}"
    );
    assert!(
        success.ends_with(&format!("next=%2Farticles%2F{article}")),
        "{success}"
    );

    // Until Stripe says so, nothing is recorded, and the account page is honest about it.
    assert!(subscriptions_of(&app, "stripe@example.com").is_empty());
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("You started a checkout"),
        "{}",
        account.body
    );

    let back = fake.pay(&session_id);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let rows = current(&app, "stripe@example.com");
    assert_eq!(rows.len(), 1);
    let sub = fake.subscriptions_of(customers[0]["id"].as_str().unwrap());
    assert_eq!(
        (rows[0].gateway.as_str(), rows[0].gateway_reference.as_str()),
        ("stripe", sub[0]["id"].as_str().unwrap())
    );
    assert_eq!(rows[0].plan_code, "monthly");
    assert_eq!(rows[0].current_period_start, START);
    assert_eq!(rows[0].current_period_end, START + Duration::days(30));
    assert_eq!(hosted_checkouts(&app), 0, "the checkout is over");

    // Stripe's success address brings the reader back to the article, in full.
    let returned = reader.get(&local(&app, &back)).await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER);
    assert_eq!(returned.location(), Some(next.as_str()));
    let full = reader.read_article(article).await;
    assert_eq!(full.status, StatusCode::OK);
    assert!(
        full.body.contains("renews on 26 December 2026"),
        "flash: {}",
        full.body
    );

    let account = reader.get("/account").await;
    assert!(account.body.contains("Renews on</dt><dd>26 December 2026"));
    assert!(
        !account.body.contains("Paid until"),
        "a renewing subscription is not 'paid until'"
    );
    assert!(
        account.body.contains("action=\"/account/billing\""),
        "the billing portal is offered"
    );
    assert!(!account.body.contains("You started a checkout"));
}

#[tokio::test]
async fn coming_back_before_the_webhook_records_the_payment_from_stripe_at_once() {
    let (fake, app) = shop().await;
    let article = app.premium_ids()[0];
    let reader = Reader::signed_up(&app, "early@example.com").await;
    let next = format!("/articles/{article}");
    let (_, session) = to_checkout(&reader, "yearly", &next).await;
    let back = fake.pay(&session);

    // The events are still on their way when the reader lands.
    let returned = reader.get(&local(&app, &back)).await;
    assert_eq!(returned.location(), Some(next.as_str()));
    let full = reader.read_article(article).await;
    assert_eq!(full.status, StatusCode::OK);
    assert!(full.body.contains("Thank you for subscribing"));
    assert_eq!(current(&app, "early@example.com")[0].plan_code, "yearly");

    // Then they arrive: nothing changes, nothing doubles.
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(subscriptions_of(&app, "early@example.com").len(), 1);
    assert_eq!(
        current(&app, "early@example.com")[0].current_period_end,
        START + Duration::days(365)
    );
}

#[tokio::test]
async fn coming_back_while_stripe_is_still_confirming_says_so_honestly() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "slow@example.com").await;
    let (_, session) = to_checkout(&reader, "monthly", "").await;
    // The reader comes back from the page before paying went through (Stripe is still at it).
    let early = reader
        .get(&format!("/subscribe/complete?checkout={session}"))
        .await;
    assert_eq!(early.location(), Some("/account"));
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("still confirming your payment"),
        "{}",
        account.body
    );
    assert!(subscriptions_of(&app, "slow@example.com").is_empty());
    // Another reader's checkout id confirms nothing for this one.
    let other = Reader::signed_up(&app, "other@example.com").await;
    fake.pay(&session);
    other
        .get(&format!("/subscribe/complete?checkout={session}"))
        .await;
    assert!(subscriptions_of(&app, "other@example.com").is_empty());
}

#[tokio::test]
async fn leaving_the_checkout_page_changes_nothing_and_says_so() {
    let (fake, app) = shop().await;
    let article = app.premium_ids()[1];
    let reader = Reader::signed_up(&app, "leaver@example.com").await;
    let next = format!("/articles/{article}");
    let (_, session) = to_checkout(&reader, "monthly", &next).await;
    let cancel = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session)
        .unwrap()["cancel_url"]
        .as_str()
        .unwrap()
        .to_string();
    let back = reader.get(&local(&app, &cancel)).await;
    assert_eq!(back.location(), Some(next.as_str()));
    let paywall = reader.read_article(article).await;
    assert_eq!(paywall.status, StatusCode::PAYMENT_REQUIRED);
    assert!(paywall.body.contains("nothing was charged"));
    assert!(subscriptions_of(&app, "leaver@example.com").is_empty());
}

#[tokio::test]
async fn double_clicks_on_subscribe_create_one_customer_and_one_checkout_session() {
    let (fake, app) = shop().await;
    // Stripe takes a while, so the clicks overlap at Stripe too (a key still in use is a 409).
    fake.set_latency(StdDuration::from_millis(300));
    let reader = Reader::signed_up(&app, "clicker@example.com").await;
    let token = reader.csrf_token().await;
    let clicks = (0..8).map(|_| {
        reader.post(
            "/subscribe",
            &[("plan", "monthly"), ("csrf_token", token.as_str())],
        )
    });
    let pages = join_all(clicks).await;
    let locations: Vec<_> = pages
        .iter()
        .map(|p| p.location().map(str::to_string))
        .collect();
    assert!(
        pages.iter().all(|p| p.status == StatusCode::SEE_OTHER),
        "{:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    assert!(
        locations.iter().all(|l| l == &locations[0]),
        "every click goes to the same page: {locations:?}"
    );
    let customers = fake.customers_of("clicker@example.com");
    assert_eq!(customers.len(), 1, "one customer");
    assert_eq!(
        fake.sessions_of(customers[0]["id"].as_str().unwrap()).len(),
        1,
        "one checkout session"
    );
    assert_eq!(hosted_checkouts(&app), 1);

    // Clicking again later, and from another tab, still goes to the same page.
    let again = subscribe_from(&reader, "monthly", "").await;
    assert_eq!(again.location(), locations[0].as_deref());
    assert_eq!(fake.sessions().len(), 1);
}

#[tokio::test]
async fn choosing_another_plan_before_paying_expires_the_first_checkout() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "undecided@example.com").await;
    let (_, monthly) = to_checkout(&reader, "monthly", "").await;
    let (_, yearly) = to_checkout(&reader, "yearly", "").await;
    assert_ne!(monthly, yearly);
    let first = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == monthly)
        .unwrap();
    assert_eq!(
        first["status"], "expired",
        "the first page can no longer be paid"
    );
    assert_eq!(fake.customers_of("undecided@example.com").len(), 1);

    let back = fake.pay(&yearly);
    reader.get(&local(&app, &back)).await;
    assert_eq!(
        current(&app, "undecided@example.com")[0].plan_code,
        "yearly"
    );
    assert_eq!(hosted_checkouts(&app), 0);
}

#[tokio::test]
async fn a_checkout_paid_just_before_choosing_another_plan_is_recorded_not_paid_twice() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "quick@example.com").await;
    let (_, monthly) = to_checkout(&reader, "monthly", "").await;
    fake.pay(&monthly);
    // The reader asks for yearly before Stripe's events arrive: the monthly payment is found
    // and recorded, and the switch goes to Stripe's portal instead of a second checkout.
    let page = subscribe_from(&reader, "yearly", "").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        page.location().unwrap().contains("/portal/bps_"),
        "{:?}",
        page.location()
    );
    assert_eq!(current(&app, "quick@example.com")[0].plan_code, "monthly");
    let customer = fake.customers_of("quick@example.com")[0]["id"].clone();
    assert_eq!(fake.sessions_of(customer.as_str().unwrap()).len(), 1);
    assert_eq!(fake.subscriptions_of(customer.as_str().unwrap()).len(), 1);
}

#[tokio::test]
async fn a_subscriber_switches_plans_in_stripes_portal_and_the_webhook_records_it() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "switch@example.com", "monthly").await;
    let page = subscribe_from(&reader, "yearly", "").await;
    let portal = page.location().unwrap().to_string();
    assert!(portal.contains("/portal/bps_"), "{portal}");
    let portal_session = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/billing_portal/sessions")
        .count();
    assert_eq!(portal_session, 1);

    // The reader confirms on Stripe's page; Stripe tells Gazette.
    let confirm = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{portal}/switch"))
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), StatusCode::SEE_OTHER);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(
        fake.subscription(&sub)["items"]["data"][0]["price"]["id"],
        YEARLY
    );
    let rows = current(&app, "switch@example.com");
    assert_eq!(
        (
            rows[0].plan_code.as_str(),
            rows[0].gateway_reference.as_str()
        ),
        ("yearly", sub.as_str())
    );
}

#[tokio::test]
async fn subscribing_again_to_the_plan_one_has_changes_nothing_at_stripe() {
    let (fake, app) = shop().await;
    let (reader, _) = subscriber(&fake, &app, "again@example.com", "monthly").await;
    let sessions = fake.sessions().len();
    let page = subscribe_from(&reader, "monthly", "").await;
    assert_eq!(page.location(), Some("/account"));
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("You already subscribe")
    );
    assert_eq!(fake.sessions().len(), sessions);
}

#[tokio::test]
async fn stripe_test_keys_make_the_plans_page_say_test_mode() {
    let (_fake, app) = shop().await;
    let page = Reader::new(&app).get("/subscribe").await;
    assert!(page.body.contains("Test mode."));
    assert!(page.body.contains("4242 4242 4242 4242"));
    assert!(!page.body.contains("no card is asked for"));
    // The forms may be redirected to Stripe's pages (here the fake's), and nowhere else.
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {};", _fake.url)),
        "{csp}"
    );
}

#[tokio::test]
async fn the_test_gateway_still_works_when_chosen_and_takes_no_webhooks() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "test-gateway@example.com").await;
    let page = reader.subscribe("monthly").await;
    assert_eq!(page.location(), Some("/account"));
    assert_eq!(current(&app, "test-gateway@example.com")[0].gateway, "test");
    let account = reader.get("/account").await;
    assert!(account.body.contains("Paid until</dt><dd>26 December 2026"));
    assert!(!account.body.contains("/account/billing"));
    let webhook = Reader::new(&app)
        .post_raw("/webhooks/stripe", Some("application/json"), b"{}".to_vec())
        .await;
    assert_eq!(webhook.status, StatusCode::NOT_FOUND);
    let csp = page
        .header("content-security-policy")
        .unwrap_or_default()
        .to_string();
    let csp = if csp.is_empty() {
        reader
            .get("/")
            .await
            .header("content-security-policy")
            .unwrap()
            .to_string()
    } else {
        csp
    };
    assert!(csp.contains("form-action 'self';"), "{csp}");
}

#[tokio::test]
async fn stripe_sends_the_reader_back_to_the_sites_own_address_whatever_host_the_request_named() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "host@example.com").await;
    let token = reader.csrf_token().await;
    let forged = [
        ("Host", "evil.example"),
        ("X-Forwarded-Host", "evil-forwarded.example"),
        ("X-Forwarded-Proto", "gopher"),
    ];
    let page = reader
        .post_with_headers(
            "/subscribe",
            &[("plan", "monthly"), ("csrf_token", token.as_str())],
            &forged,
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let session = fake.sessions().pop().expect("a checkout session");
    for url in [&session["success_url"], &session["cancel_url"]] {
        let url = url.as_str().unwrap();
        assert!(url.starts_with(&app.url("/subscribe/")), "{url}");
        assert!(!url.contains("evil") && !url.contains("gopher"), "{url}");
    }
}
