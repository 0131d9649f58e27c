//! Offers and free trials through Stripe: a discount is a coupon on the Checkout Session (the
//! invoices Stripe charges are discounted), a trial is `trial_period_days` with no card asked
//! for, never both on one checkout; trials end with a card (paid, access goes on) or without
//! (canceled, access ends), told by signed webhooks; the trial-ending mail once per trial; bursts
//! of identical clicks take one redemption per reader and never pass the limit; a checkout that
//! ends unpaid gives its redemption back.

use gazette::domain::offer::{Deal, Lasting, Off};
use serde_json::Value;
use time::Duration;

use super::*;
use crate::billing::offers::{offer, redeemed, take};

const READERS: usize = 10;
const CLICKS: usize = 4;

/// A fake Stripe and an app paying through it, taking many sign-ups from its own addresses.
async fn offer_shop() -> (FakeStripe, TestApp) {
    shop_with(|s| {
        s.trust_proxy_headers = true;
        s.limits.signups_per_address = 100;
        s.database_pool_size = 10;
    })
    .await
}

fn percent(percent: i32, lasting: Lasting) -> Deal {
    Deal::Discount {
        off: Off::Percent(percent),
        lasting,
    }
}

/// No checkout Gazette opened carries both a coupon and a trial.
fn never_both(fake: &FakeStripe) {
    for session in fake.sessions() {
        let coupon = session["discounts"]
            .as_array()
            .is_some_and(|d| !d.is_empty());
        let trial = !session["subscription_data"]["trial_period_days"].is_null();
        assert!(!(coupon && trial), "a coupon and a trial: {session}");
    }
}

/// The reader pays (or starts the trial on) the session, and Stripe's events are delivered:
/// the subscription's id.
async fn pay(fake: &FakeStripe, session: &Value) -> String {
    let id = session["id"].as_str().unwrap();
    fake.pay(id);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    fake.sessions().into_iter().find(|s| s["id"] == id).unwrap()["subscription"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The offer, the trial's end and the discount's end noted on the reader's current row.
fn offer_noted(
    app: &TestApp,
    email: &str,
) -> (
    Option<String>,
    Option<time::OffsetDateTime>,
    bool,
    Option<time::OffsetDateTime>,
) {
    use gazette::schema::{subscriptions, users};
    subscriptions::table
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .filter(subscriptions::status.ne("ended"))
        .select((
            subscriptions::offer_code,
            subscriptions::trial_ends_at,
            subscriptions::trial_without_card,
            subscriptions::discount_ends_at,
        ))
        .first(&mut app.connect())
        .expect("a current subscription")
}

fn invoice_amounts(fake: &FakeStripe, sub: &str) -> Vec<i64> {
    fake.invoices_of(sub)
        .iter()
        .map(|i| i["amount_paid"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_discount_is_a_coupon_on_the_checkout_and_stripe_charges_the_discounted_invoices() {
    let (fake, app) = offer_shop().await;
    offer(&app, "half", percent(50, Lasting::Months(2)), None);
    offer(
        &app,
        "three-off",
        Deal::Discount {
            off: Off::Amount(300),
            lasting: Lasting::Once,
        },
        None,
    );
    let reader = Reader::signed_up(&app, "half@example.com").await;
    let session = session_of(&fake, &take(&reader, "half", &[]).await);
    assert_eq!(session["discounts"][0]["coupon"], "gazette-half");
    assert!(session["subscription_data"]["trial_period_days"].is_null());
    assert_eq!(session["payment_method_collection"], "always");
    assert_eq!(
        session["subscription_data"]["metadata"]["gazette_offer"],
        "half"
    );
    assert_eq!(session["line_items"][0]["price"], MONTHLY);
    let coupon = &fake.coupons()[0];
    assert_eq!(
        (
            coupon["percent_off"].as_f64(),
            coupon["duration"].as_str(),
            coupon["duration_in_months"].as_i64()
        ),
        (Some(50.0), Some("repeating"), Some(2))
    );
    assert_eq!(redeemed(&app, "half"), (1, 1));

    let sub = pay(&fake, &session).await;
    assert_eq!(
        invoice_amounts(&fake, &sub),
        vec![400],
        "the first invoice is discounted"
    );
    let (code, trial, _, discount_ends) = offer_noted(&app, "half@example.com");
    assert_eq!(code.as_deref(), Some("half"));
    assert_eq!(trial, None);
    assert_eq!(
        discount_ends,
        Some(START + Duration::days(61)),
        "two months on"
    );
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("50 % off until January 2027"),
        "{}",
        account.body
    );
    let plans = reader.get("/subscribe").await;
    assert!(
        plans.body.contains("50 % off until January 2027"),
        "{}",
        plans.body
    );
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK
    );

    // Stripe renews at the discounted price while the discount lasts, then at the full one.
    app.clock.set(MONTH_LATER);
    fake.renew(&sub, Renewal::Paid);
    app.clock.set(MONTH_LATER + Duration::days(31));
    fake.renew(&sub, Renewal::Paid);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(invoice_amounts(&fake, &sub), vec![400, 400, 800]);
    reader.log_in("half@example.com", PASSWORD).await;
    let account = reader.get("/account").await;
    assert!(
        !account.body.contains("% off"),
        "the discount is over: {}",
        account.body
    );
    let (_, _, _, discount_ends) = offer_noted(&app, "half@example.com");
    assert_eq!(
        discount_ends,
        Some(START + Duration::days(61)),
        "kept once Stripe drops the discount"
    );

    // An amount off, once: the coupon takes the amount in the plan's currency, and only the
    // first invoice is discounted. Its coupon is made once, however many take it.
    let mut subs = Vec::new();
    for n in 0..2 {
        let email = format!("three{n}@example.com");
        let reader = Reader::signed_up(&app, &email).await;
        let session = session_of(&fake, &take(&reader, "three-off", &[]).await);
        assert_eq!(session["discounts"][0]["coupon"], "gazette-three-off");
        subs.push(pay(&fake, &session).await);
    }
    let coupons = fake.coupons();
    assert_eq!(coupons.len(), 2);
    let amount = coupons
        .iter()
        .find(|c| c["id"] == "gazette-three-off")
        .unwrap();
    assert_eq!(
        (
            amount["amount_off"].as_i64(),
            amount["currency"].as_str(),
            amount["duration"].as_str()
        ),
        (Some(300), Some("usd"), Some("once"))
    );
    assert_eq!(
        requests_to(&fake, "POST", "/v1/coupons"),
        2,
        "one per offer"
    );
    app.clock.set(MONTH_LATER + Duration::days(62));
    fake.renew(&subs[0], Renewal::Paid);
    assert_eq!(invoice_amounts(&fake, &subs[0]), vec![500, 800]);
    assert_eq!(invoice_amounts(&fake, &subs[1]), vec![500]);
    assert_eq!(redeemed(&app, "three-off"), (2, 2));
    never_both(&fake);
}

#[tokio::test]
async fn a_coupon_stripe_holds_with_other_terms_is_never_used() {
    let (fake, app) = offer_shop().await;
    offer(&app, "spring", percent(20, Lasting::Forever), None);
    // Made at Stripe before, by hand, with other terms.
    let form = [
        ("id", "gazette-spring"),
        ("percent_off", "90"),
        ("duration", "forever"),
    ];
    let made = crate::support::http_client()
        .build()
        .unwrap()
        .post(format!("{}/v1/coupons", fake.url))
        .bearer_auth(crate::support::stripe::SECRET_KEY)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(made.status().is_success());
    let reader = Reader::signed_up(&app, "spring@example.com").await;
    let page = take(&reader, "spring", &[]).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(
        fake.sessions().is_empty(),
        "no checkout with the wrong discount"
    );
}

#[tokio::test]
async fn a_trial_checkout_carries_trial_days_and_no_coupon_and_asks_for_no_card() {
    let (fake, app) = offer_shop().await;
    offer(&app, "try", Deal::Trial { days: 14 }, None);
    let visitor = Reader::new(&app);
    let page = visitor.get("/offer/try").await;
    assert!(page.body.contains("14 days free, then $8.00 a month"));
    let reader = Reader::signed_up(&app, "try@example.com").await;
    let page = reader.get("/offer/try").await;
    assert!(
        page.body.contains("No card is asked for now"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("without_card"), "no test-gateway box");

    let session = session_of(&fake, &take(&reader, "try", &[]).await);
    assert_eq!(session["subscription_data"]["trial_period_days"], 14);
    assert_eq!(session["payment_method_collection"], "if_required");
    assert_eq!(
        session["subscription_data"]["trial_settings"]["end_behavior"]["missing_payment_method"],
        "cancel"
    );
    assert_eq!(session["discounts"], serde_json::json!([]), "no coupon");
    assert!(fake.coupons().is_empty());
    never_both(&fake);

    // Back from Stripe's page before its events: the trial is recorded from what Stripe holds.
    let back = fake.pay(session["id"].as_str().unwrap());
    let returned = reader.get(&local(&app, &back)).await;
    assert_eq!(returned.location(), Some("/account"));
    let account = reader.get("/account").await;
    assert!(
        account.body.contains(
            "Your free trial has started: you read everything until 10 December 2026. No card \
             was asked for"
        ),
        "{}",
        account.body
    );
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    let sub = fake.sessions()[0]["subscription"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(fake.subscription(&sub)["status"], "trialing");
    assert_eq!(invoice_amounts(&fake, &sub), vec![0], "nothing charged now");
    let trial_end = START + Duration::days(14);
    let row = &current(&app, "try@example.com")[0];
    assert_eq!(
        (row.status.as_str(), row.current_period_end),
        ("active", trial_end)
    );
    let (code, trial, without_card, _) = offer_noted(&app, "try@example.com");
    assert_eq!((code.as_deref(), trial), (Some("try"), Some(trial_end)));
    assert!(without_card, "no card was given");
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK,
        "a trial gives access"
    );
    let account = reader.get("/account").await;
    assert!(
        account.body.contains(
            "Free until 10 December 2026, then $8.00 a month if you add a payment method"
        ),
        "{}",
        account.body
    );
    // Taken: the offer page says so, and taking it again starts nothing more.
    assert_eq!(redeemed(&app, "try"), (1, 1));
    let again = take(&reader, "try", &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.location(), Some("/account"));
    assert_eq!(fake.sessions().len(), 1);
}

/// A reader in a 14-day trial started through Stripe: the reader, their subscription.
async fn in_trial<'a>(fake: &FakeStripe, app: &'a TestApp, email: &str) -> (Reader<'a>, String) {
    let reader = Reader::signed_up(app, email).await;
    let session = session_of(fake, &take(&reader, "trial", &[]).await);
    let sub = pay(fake, &session).await;
    (reader, sub)
}

/// Wakes the mail sender (a request that owes mail does), then waits for `address`'s mail.
async fn trial_mails(app: &TestApp, address: &str, count: usize) -> Vec<String> {
    Reader::new(app).forgot_password("nobody@example.com").await;
    app.mailbox
        .wait_for(address, count)
        .await
        .into_iter()
        .filter(|m| m.subject.contains("free trial"))
        .map(|m| m.text)
        .collect()
}

#[tokio::test]
async fn a_trial_with_a_card_is_charged_at_its_end_and_access_goes_on() {
    let (fake, app) = offer_shop().await;
    offer(&app, "trial", Deal::Trial { days: 14 }, None);
    let (reader, sub) = in_trial(&fake, &app, "card@example.com").await;
    // The reader adds a card in Stripe's portal.
    let customer = customer_of(&fake, &sub);
    fake.add_payment_method(&customer);

    app.clock
        .set(START + Duration::days(11) + Duration::hours(1));
    let notice = fake.trial_will_end(&sub);
    assert_eq!(fake.deliver(&notice).await, 200);
    let (_, _, without_card, _) = offer_noted(&app, "card@example.com");
    assert!(!without_card, "the card is on file");
    let mails = trial_mails(&app, "card@example.com", 1).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("$8.00 is charged"), "{}", mails[0]);

    let trial_end = START + Duration::days(14);
    app.clock.set(trial_end + Duration::minutes(5));
    assert!(fake.end_trial(&sub), "charged");
    let kinds: Vec<String> = fake.events().into_iter().map(|e| e.kind).collect();
    assert!(kinds.ends_with(&[
        "invoice.paid".into(),
        "customer.subscription.updated".into()
    ]));
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(invoice_amounts(&fake, &sub), vec![0, 800]);
    let row = &current(&app, "card@example.com")[0];
    assert_eq!(row.status, "active");
    assert_eq!(row.current_period_start, trial_end);
    assert_eq!(row.current_period_end, trial_end + Duration::days(31));
    reader.log_in("card@example.com", PASSWORD).await;
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK,
        "access goes on, paid"
    );
    let account = reader.get("/account").await;
    assert!(!account.body.contains("Free until"), "{}", account.body);
    assert!(account.body.contains("Renews on"), "{}", account.body);
}

#[tokio::test]
async fn a_trial_without_a_card_ends_with_access_and_its_notice_is_sent_once() {
    let (fake, app) = offer_shop().await;
    offer(&app, "trial", Deal::Trial { days: 14 }, None);
    let (reader, sub) = in_trial(&fake, &app, "nocard@example.com").await;
    app.clock
        .set(START + Duration::days(11) + Duration::hours(1));
    let notice = fake.trial_will_end(&sub);
    // Delivered twice at once, then again: one mail.
    let (first, second) = tokio::join!(fake.deliver(&notice), fake.deliver(&notice));
    assert_eq!((first, second), (200, 200));
    assert_eq!(fake.deliver(&notice).await, 200);
    let mails = trial_mails(&app, "nocard@example.com", 1).await;
    assert!(
        mails[0].contains("without a payment method"),
        "{}",
        mails[0]
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    trial_mails(&app, "nocard@example.com", 1).await;
    assert_eq!(
        app.mailbox
            .delivered_to("nocard@example.com")
            .iter()
            .filter(|m| m.subject.contains("free trial"))
            .count(),
        1,
        "one notice for one trial"
    );
    // A forged notice changes nothing.
    let body = fake.body_of(&notice).replace(&notice, "evt_forged");
    let t = fake.now();
    let forged = format!("t={t},v1={}", "0".repeat(64));
    assert_eq!(fake.post_raw(&body, Some(&forged)).await, 400);

    let trial_end = START + Duration::days(14);
    app.clock.set(trial_end + Duration::minutes(5));
    assert!(!fake.end_trial(&sub), "nothing charged");
    let kinds: Vec<String> = fake.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("customer.subscription.deleted")
    );
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(invoice_amounts(&fake, &sub), vec![0]);
    assert!(current(&app, "nocard@example.com").is_empty());
    let rows = subscriptions_of(&app, "nocard@example.com");
    assert_eq!(rows[0].status, "ended");
    assert_eq!(
        rows[0].current_period_end, trial_end,
        "access ended with the trial"
    );
    reader.log_in("nocard@example.com", PASSWORD).await;
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

#[tokio::test]
async fn bursts_of_identical_offer_clicks_open_one_checkout_and_take_one_redemption_per_reader() {
    let (fake, app) = offer_shop().await;
    fake.set_latency(std::time::Duration::from_millis(100));
    offer(&app, "half", percent(50, Lasting::Once), None);
    offer(&app, "trial", Deal::Trial { days: 7 }, None);
    let readers = crate::billing::readers(&app, READERS, "stripe-offer", 7).await;
    let (halves, trials) = readers.split_at(READERS / 2);
    let (paying, trying) = tokio::join!(
        crate::billing::burst(halves, CLICKS, |_| ("/offer/half", vec![])),
        crate::billing::burst(trials, CLICKS, |_| ("/offer/trial", vec![])),
    );
    for (group, pages) in [(halves, &paying), (trials, &trying)] {
        for ((_, email), clicks) in group.iter().zip(pages.chunks(CLICKS)) {
            let customers = fake.customers_of(email);
            assert_eq!(customers.len(), 1, "{email}");
            let sessions = fake.sessions_of(customers[0]["id"].as_str().unwrap());
            assert_eq!(sessions.len(), 1, "{email}: one checkout");
            for click in clicks {
                assert_eq!(
                    click.status,
                    StatusCode::SEE_OTHER,
                    "{email}: {}",
                    click.body
                );
                assert_eq!(click.location(), sessions[0]["url"].as_str(), "{email}");
            }
        }
    }
    let half = (READERS / 2) as i32;
    assert_eq!(redeemed(&app, "half"), (half, i64::from(half)));
    assert_eq!(redeemed(&app, "trial"), (half, i64::from(half)));
    assert_eq!(hosted_checkouts(&app), READERS as i64);
    assert_eq!(fake.coupons().len(), 1, "one coupon for the offer");
    never_both(&fake);

    // Everyone pays: each discounted once, each trial charges nothing.
    for session in fake.sessions() {
        fake.pay(session["id"].as_str().unwrap());
    }
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    let mut amounts: Vec<i64> = fake
        .invoices()
        .iter()
        .map(|i| i["amount_paid"].as_i64().unwrap())
        .collect();
    amounts.sort_unstable();
    let mut expected = vec![0; READERS / 2];
    expected.extend(vec![400; READERS / 2]);
    assert_eq!(amounts, expected);
    for (_, email) in &readers {
        assert_eq!(current(&app, email).len(), 1, "{email}");
    }
    assert_eq!(hosted_checkouts(&app), 0);
    println!(
        "stripe offer burst: {READERS} readers x {CLICKS} clicks -> {} checkouts, {} redemptions",
        fake.sessions().len(),
        redeemed(&app, "half").0 + redeemed(&app, "trial").0
    );
}

#[tokio::test]
async fn an_offer_past_its_limit_under_a_burst_never_opens_more_checkouts_than_its_limit() {
    const LIMIT: usize = 3;
    let (fake, app) = offer_shop().await;
    fake.set_latency(std::time::Duration::from_millis(50));
    offer(
        &app,
        "few",
        percent(25, Lasting::Forever),
        Some(LIMIT as i32),
    );
    offer(
        &app,
        "few-trials",
        Deal::Trial { days: 10 },
        Some(LIMIT as i32),
    );
    let readers = crate::billing::readers(&app, READERS, "limited", 8).await;
    let (paying, trying) = readers.split_at(READERS / 2);
    let (answers, trials) = tokio::join!(
        crate::billing::burst(paying, CLICKS, |_| ("/offer/few", vec![])),
        crate::billing::burst(trying, CLICKS, |_| ("/offer/few-trials", vec![])),
    );
    for page in answers.iter().chain(&trials) {
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::GONE].contains(&page.status),
            "{} {}",
            page.status,
            page.body
        );
    }
    assert_eq!(redeemed(&app, "few"), (LIMIT as i32, LIMIT as i64));
    assert_eq!(redeemed(&app, "few-trials"), (LIMIT as i32, LIMIT as i64));
    assert_eq!(
        fake.sessions().len(),
        2 * LIMIT,
        "one checkout per redemption"
    );
    assert_eq!(hosted_checkouts(&app), 2 * LIMIT as i64);
    let refused = answers
        .iter()
        .chain(&trials)
        .filter(|p| p.status == StatusCode::GONE)
        .count();
    assert!(refused >= (READERS - 2 * LIMIT) * CLICKS, "{refused}");
    never_both(&fake);
    println!(
        "stripe limit burst: limit {LIMIT} each, {READERS} readers x {CLICKS} clicks -> {} checkouts",
        fake.sessions().len()
    );
}

#[tokio::test]
async fn a_checkout_that_ends_unpaid_gives_its_redemption_back() {
    let (fake, app) = offer_shop().await;
    offer(&app, "one", percent(50, Lasting::Once), Some(1));
    let first = Reader::signed_up(&app, "first@example.com").await;
    let second = Reader::signed_up(&app, "second@example.com").await;
    let opened = session_of(&fake, &take(&first, "one", &[]).await);
    assert_eq!(redeemed(&app, "one"), (1, 1));
    // Back on the offer's page before paying, the button leads to the same checkout.
    let page = first.get("/offer/one").await;
    assert!(
        page.body.contains("Subscribe with this offer"),
        "{}",
        page.body
    );
    assert_eq!(
        session_of(&fake, &take(&first, "one", &[]).await)["id"],
        opened["id"]
    );
    assert_eq!(take(&second, "one", &[]).await.status, StatusCode::GONE);

    // The first reader never pays: Stripe expires the page a day later, and housekeeping
    // finds it expired.
    app.clock.set(START + Duration::hours(25));
    let billing = billing_of(&app, &fake);
    let done = billing.reconcile().await.unwrap();
    assert_eq!(done.checkouts, 1);
    assert_eq!(redeemed(&app, "one"), (0, 0), "given back");
    assert_eq!(hosted_checkouts(&app), 0);

    // So the second reader can take it; then abandons it for a plain subscription, which
    // expires the offer's checkout first: given back again.
    second.log_in("second@example.com", PASSWORD).await;
    let session = session_of(&fake, &take(&second, "one", &[]).await);
    assert_eq!(redeemed(&app, "one"), (1, 1));
    let (_, plain) = to_checkout(&second, "yearly", "").await;
    assert_ne!(plain, session["id"].as_str().unwrap());
    let expired = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session["id"])
        .unwrap();
    assert_eq!(expired["status"], "expired");
    assert_eq!(redeemed(&app, "one"), (0, 0));
    // Its expiry event, arriving late, gives nothing back twice.
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(redeemed(&app, "one"), (0, 0));

    // Taken again and left unpaid: Stripe expires the page by itself a day later, and its
    // signed event gives the redemption back (once, however often it is delivered).
    let session = session_of(&fake, &take(&second, "one", &[]).await);
    assert_eq!(redeemed(&app, "one"), (1, 1));
    app.clock.set(START + Duration::hours(50));
    assert_eq!(fake.expire_due_sessions(), 1);
    let expiry = fake.pending().pop().unwrap();
    assert_eq!(
        fake.events().last().unwrap().kind,
        "checkout.session.expired"
    );
    let (once, twice) = tokio::join!(fake.deliver(&expiry), fake.deliver(&expiry));
    assert_eq!((once, twice), (200, 200));
    assert_eq!(redeemed(&app, "one"), (0, 0), "given back by the event");
    assert_eq!(hosted_checkouts(&app), 0);
    let at_stripe = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session["id"]);
    assert_eq!(at_stripe.unwrap()["status"], "expired");

    // A checkout paid keeps its redemption, whichever way its end is learnt.
    let third = Reader::signed_up(&app, "third@example.com").await;
    let session = session_of(&fake, &take(&third, "one", &[]).await);
    let sub = pay(&fake, &session).await;
    assert_eq!(redeemed(&app, "one"), (1, 1));
    assert_eq!(
        fake.subscription(&sub)["discount"]["coupon"]["id"],
        "gazette-one"
    );
    let done = billing.reconcile().await.unwrap();
    assert_eq!(done.unanswered, 0);
    assert_eq!(redeemed(&app, "one"), (1, 1));
}
