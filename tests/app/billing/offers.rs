//! Offers and free trials with a gateway that charges at once: the offer page, the redemption
//! limit and one charge per reader under bursts, trials ending with and without a payment
//! method, and the command line. Every test counts what the processor took. (With Stripe:
//! `stripe/offers.rs`.)

use std::time::Duration as StdDuration;

use diesel::prelude::*;
use gazette::billing::{OfferTerms, create_offer};
use gazette::clock::Clock;
use gazette::domain::offer::{Deal, Lasting, Off};
use reqwest::StatusCode;
use time::Duration;

use super::{app_with, billing_of};
use crate::helpers::*;

const READERS: usize = 12;
const CLICKS: usize = 8;

pub(super) fn offer(app: &TestApp, code: &str, deal: Deal, limit: Option<i32>) {
    let terms = OfferTerms {
        code: code.to_string(),
        plan_code: "monthly".to_string(),
        deal,
        last_day: None,
        limit,
        retention: false,
    };
    create_offer(&mut app.connect(), &terms, app.clock.now()).expect("creating the offer");
}

fn half_off() -> Deal {
    Deal::Discount {
        off: Off::Percent(50),
        lasting: Lasting::Months(3),
    }
}

pub(super) fn redeemed(app: &TestApp, code: &str) -> (i32, i64) {
    use gazette::schema::{offer_redemptions, offers};
    let mut conn = app.connect();
    let count: i32 = offers::table
        .find(code)
        .select(offers::redeemed)
        .get_result(&mut conn)
        .unwrap();
    let rows: i64 = offer_redemptions::table
        .filter(offer_redemptions::offer_code.eq(code))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (count, rows)
}

/// Trials whose reader was owed the notice of their end.
fn trial_notices(app: &TestApp) -> i64 {
    use gazette::schema::subscriptions;
    subscriptions::table
        .filter(subscriptions::trial_notice_at.is_not_null())
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

async fn readers<'a>(app: &'a TestApp, count: usize) -> Vec<(Reader<'a>, String)> {
    super::readers(app, count, "offer", 1).await
}

/// Every reader posts `clicks` times at once to `path`, all readers together.
async fn burst(
    readers: &[(Reader<'_>, String)],
    clicks: usize,
    path: &str,
    extra: &[(&str, &str)],
) -> Vec<(StatusCode, Option<String>)> {
    super::burst(readers, clicks, |_| (path, extra.to_vec()))
        .await
        .into_iter()
        .map(|page| (page.status, page.location().map(str::to_string)))
        .collect()
}

pub(super) async fn take(reader: &Reader<'_>, code: &str, extra: &[(&str, &str)]) -> Page {
    let token = reader.csrf_token().await;
    let mut form = extra.to_vec();
    form.push(("csrf_token", token.as_str()));
    reader.post(&format!("/offer/{code}"), &form).await
}

#[tokio::test]
async fn an_offer_page_shows_the_deal_and_dead_codes_are_clear_pages_never_a_checkout() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    offer(&app, "Spring-Half", half_off(), Some(1));
    let terms = OfferTerms {
        code: "soon-over".into(),
        plan_code: "monthly".into(),
        deal: Deal::Trial { days: 14 },
        last_day: Some((app.clock.now() + Duration::days(2)).date()),
        limit: None,
        retention: false,
    };
    create_offer(&mut app.connect(), &terms, app.clock.now()).unwrap();

    let visitor = Reader::new(&app);
    let page = visitor.get("/offer/SPRING-half").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("50 % off"), "{}", page.body);
    assert!(page.body.contains("$4.00 a month until"), "{}", page.body);
    assert!(page.body.contains("then $8.00 a month"), "{}", page.body);
    assert!(
        page.body.contains("/signup?next=%2Foffer%2Fspring-half"),
        "a visitor is sent to sign up and back"
    );
    assert!(page.body.contains("/login?next=%2Foffer%2Fspring-half"));
    let trial = visitor.get("/offer/soon-over").await;
    assert!(trial.body.contains("14 days free, then $8.00 a month"));

    // A visitor's click goes to log in and back, never to a charge.
    let token = visitor.csrf_token().await;
    let posted = visitor
        .post("/offer/spring-half", &[("csrf_token", &token)])
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        posted.location(),
        Some("/login?next=%2Foffer%2Fspring-half")
    );

    for unknown in ["nope", "has%20space", "..%2Fx", &"a".repeat(41)] {
        let page = visitor.get(&format!("/offer/{unknown}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{unknown}");
        assert!(page.body.contains("No offer has this code"));
    }

    // Used up: the one redemption is taken; the next reader gets a clear 410, no charge.
    let first = Reader::signed_up(&app, "first@example.com").await;
    assert_eq!(
        take(&first, "spring-half", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let second = Reader::signed_up(&app, "second@example.com").await;
    let page = second.get("/offer/spring-half").await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.body.contains("fully claimed"));
    let refused = take(&second, "spring-half", &[]).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(current(&app, "second@example.com").is_empty());

    // Ended: after its last day.
    app.clock.advance(Duration::days(3));
    let page = second.get("/offer/soon-over").await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.body.contains("has ended"));
    let refused = take(&second, "soon-over", &[]).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert!(current(&app, "second@example.com").is_empty());
    assert_eq!(
        processor.charges().len(),
        1,
        "only the one reader who took an open offer paid"
    );
}

#[tokio::test]
async fn the_offer_page_never_carries_a_premium_body() {
    let app = TestApp::spawn().await;
    let id = app.premium_ids()[0];
    let secret = "The offer page must never show this sentence";
    let html = gazette::markdown::to_safe_html(secret);
    diesel::sql_query("UPDATE articles SET body_markdown = $1, body_html = $2 WHERE id = $3")
        .bind::<diesel::sql_types::Text, _>(secret)
        .bind::<diesel::sql_types::Text, _>(html)
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut app.connect())
        .unwrap();
    offer(&app, "leak", Deal::Trial { days: 7 }, None);
    let visitor = Reader::new(&app);
    let reader = Reader::signed_up(&app, "leak@example.com").await;
    for who in [&visitor, &reader] {
        for path in ["/offer/leak", "/offer/unknown"] {
            let page = who.get(path).await;
            assert!(!page.body.contains(secret), "{path}");
        }
    }
    // A premium body was there to leak: the article page of a subscriber shows it.
    take(&reader, "leak", &[]).await;
    assert!(reader.read_article(id).await.body.contains(secret));
}

#[tokio::test]
async fn bursts_of_identical_offer_clicks_charge_each_reader_once_at_the_discounted_price() {
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    offer(&app, "half", half_off(), None);
    let readers = readers(&app, READERS).await;

    let answers = burst(&readers, CLICKS, "/offer/half", &[]).await;
    assert!(
        answers
            .iter()
            .all(|(status, to)| *status == StatusCode::SEE_OTHER
                && to.as_deref() == Some("/account")),
        "{answers:?}"
    );
    for (reader, email) in &readers {
        let taken = processor.charges_of(user_id(&app, email));
        assert_eq!(taken.len(), 1, "{email}: {taken:?}");
        assert_eq!(
            (taken[0].plan_code.as_str(), taken[0].amount_cents),
            ("monthly", 400)
        );
        let rows = current(&app, email);
        assert_eq!(rows.len(), 1, "{email}");
        assert_eq!(rows[0].status, "active");
        let account = reader.get("/account").await;
        assert!(account.body.contains("50 % off until"), "{}", account.body);
        let plans = reader.get("/subscribe").await;
        assert!(plans.body.contains("50 % off until"));
    }
    assert_eq!(redeemed(&app, "half"), (READERS as i32, READERS as i64));
    assert_eq!(open_checkouts(&app), 0);
    println!(
        "offer burst: {} readers x {CLICKS} clicks -> {} charges, {} redemptions",
        READERS,
        processor.charges().len(),
        redeemed(&app, "half").0
    );

    // Taking it again (after the subscription ends) is refused: once per reader.
    let (reader, email) = &readers[0];
    app.clock.advance(Duration::days(40));
    let again = take(reader, "half", &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(processor.charges_of(user_id(&app, email)).len(), 1);
    assert_eq!(redeemed(&app, "half").0, READERS as i32);
}

#[tokio::test]
async fn an_offer_past_its_limit_under_a_burst_never_redeems_more_than_its_limit() {
    const LIMIT: usize = 5;
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    offer(
        &app,
        "few",
        Deal::Discount {
            off: Off::Amount(300),
            lasting: Lasting::Once,
        },
        Some(LIMIT as i32),
    );
    offer(
        &app,
        "few-trials",
        Deal::Trial { days: 10 },
        Some(LIMIT as i32),
    );
    let readers = readers(&app, READERS).await;
    let (paying, trying) = readers.split_at(READERS / 2);

    let answers = burst(paying, CLICKS, "/offer/few", &[]).await;
    let trials = burst(trying, CLICKS, "/offer/few-trials", &[]).await;
    for (status, _) in answers.iter().chain(&trials) {
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::GONE].contains(status),
            "{answers:?} {trials:?}"
        );
    }
    assert_eq!(redeemed(&app, "few"), (LIMIT as i32, LIMIT as i64));
    assert_eq!(redeemed(&app, "few-trials"), (LIMIT as i32, LIMIT as i64));
    let charged: Vec<i32> = processor.amounts();
    assert_eq!(charged, vec![500; LIMIT], "{charged:?}");
    let with_trial = trying
        .iter()
        .filter(|(_, email)| !current(&app, email).is_empty())
        .count();
    assert_eq!(with_trial, LIMIT);
    println!(
        "limit burst: limit {LIMIT}, {} readers x {CLICKS} clicks -> {} charges, {} trials",
        READERS / 2,
        charged.len(),
        with_trial
    );
}

#[tokio::test]
async fn a_declined_discount_gives_its_redemption_back() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    offer(&app, "one", half_off(), Some(1));
    let reader = Reader::signed_up(&app, "declined@example.com").await;
    processor.will_answer(&[Answer::Decline]);
    let page = take(&reader, "one", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("declined"));
    assert_eq!(redeemed(&app, "one"), (0, 0));
    let page = take(&reader, "one", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(processor.amounts(), vec![400]);
    assert_eq!(redeemed(&app, "one"), (1, 1));
}

#[tokio::test]
async fn a_trial_charges_nothing_then_the_plan_price_once_when_it_ends() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    offer(&app, "try", Deal::Trial { days: 14 }, None);
    let readers = readers(&app, 4).await;
    let answers = burst(&readers, CLICKS, "/offer/try", &[]).await;
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::SEE_OTHER));
    assert!(processor.charges().is_empty(), "a trial charges nothing");
    let (reader, _) = &readers[0];
    let premium = app.premium_ids()[0];
    assert_eq!(reader.read_article(premium).await.status, StatusCode::OK);
    let account = reader.get("/account").await;
    assert!(account.body.contains("Free until"), "{}", account.body);
    assert!(account.body.contains("then $8.00 a month"));

    // Housekeeping before the end charges nothing; three days before, each reader is owed
    // one notice, however often it runs.
    let billing = billing_of(&app, processor.clone());
    app.clock.advance(Duration::days(10));
    assert_eq!(billing.end_trials().await.unwrap(), Default::default());
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    let (first, second) = tokio::join!(billing.end_trials(), billing.end_trials());
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.notified + second.notified, readers.len());
    assert_eq!(first.charged + second.charged, 0);
    assert_eq!(trial_notices(&app), readers.len() as i64);
    // The sender looks at the outbox at least every 30 seconds; a request that owes mail
    // wakes it at once.
    Reader::new(&app)
        .forgot_password("nobody@example.com")
        .await;
    let notice = app.mailbox.wait_for("offer0@example.com", 1).await;
    let text = &notice[0].text;
    assert!(text.contains("ends on"), "{text}");
    assert!(text.contains("$8.00 is charged"), "{text}");
    app.clock.advance(Duration::days(2));
    assert_eq!(billing.end_trials().await.unwrap(), Default::default());
    assert_eq!(trial_notices(&app), readers.len() as i64);
    Reader::new(&app)
        .forgot_password("nobody@example.com")
        .await;
    for (_, email) in &readers {
        assert_eq!(app.mailbox.wait_for(email, 1).await.len(), 1, "{email}");
    }

    app.clock.advance(Duration::days(2));
    let (first, second) = tokio::join!(billing.end_trials(), billing.end_trials());
    let charged = first.unwrap().charged + second.unwrap().charged;
    assert_eq!(charged, readers.len(), "each trial became paid once");
    assert_eq!(billing.end_trials().await.unwrap().charged, 0);
    for (_, email) in &readers {
        let taken = processor.charges_of(user_id(&app, email));
        assert_eq!(taken.len(), 1, "{email}");
        assert_eq!(taken[0].amount_cents, 800);
        let rows = current(&app, email);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].current_period_end > app.clock.now() + Duration::days(25));
    }
}

#[tokio::test]
async fn a_trial_without_a_payment_method_ends_access_and_charges_nothing() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    offer(&app, "nocard", Deal::Trial { days: 7 }, None);
    let reader = Reader::signed_up(&app, "nocard@example.com").await;
    let page = take(&reader, "nocard", &[("without_card", "1")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("without a payment method"),
        "{}",
        account.body
    );
    assert_eq!(current(&app, "nocard@example.com").len(), 1);
    // The reader's data export names the offer, on its own and on the trial it began.
    let export = reader.get("/account/export").await;
    let data: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(data["offers_taken"][0]["code"], "nocard", "{}", export.body);
    assert_eq!(data["subscriptions"][0]["offer"], "nocard");
    assert!(data["subscriptions"][0]["trial_ends_at"].is_string());
    let premium = app.premium_ids()[0];
    assert_eq!(reader.read_article(premium).await.status, StatusCode::OK);

    let billing = billing_of(&app, processor.clone());
    app.clock.advance(Duration::days(5));
    assert_eq!(billing.end_trials().await.unwrap().notified, 1);
    Reader::new(&app)
        .forgot_password("nobody@example.com")
        .await;
    let notice = app.mailbox.wait_for("nocard@example.com", 1).await;
    assert!(
        notice[0].text.contains("without a payment method"),
        "{}",
        notice[0].text
    );
    app.clock.advance(Duration::days(3));
    let ended = billing.end_trials().await.unwrap();
    assert_eq!((ended.charged, ended.ended), (0, 1));
    assert!(processor.charges().is_empty());
    assert!(current(&app, "nocard@example.com").is_empty());
    let rows = subscriptions_of(&app, "nocard@example.com");
    assert_eq!(rows[0].status, "ended");
    let premium = app.premium_ids()[0];
    assert_eq!(
        reader.read_article(premium).await.status,
        StatusCode::PAYMENT_REQUIRED,
        "access ended with the trial"
    );

    // A canceled trial just ends: nothing is charged at its end.
    offer(&app, "again", Deal::Trial { days: 7 }, None);
    let other = Reader::signed_up(&app, "canceled@example.com").await;
    take(&other, "again", &[]).await;
    assert_eq!(
        other.cancel_subscription().await.status,
        StatusCode::SEE_OTHER
    );
    app.clock.advance(Duration::days(8));
    assert_eq!(billing.end_trials().await.unwrap().charged, 0);
    assert!(processor.charges().is_empty());
}

#[tokio::test]
async fn a_subscriber_cannot_stack_an_offer_on_a_live_subscription() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    offer(&app, "later", Deal::Trial { days: 30 }, None);
    let reader = subscriber(&app, "paying@example.com").await;
    let page = reader.get("/offer/later").await;
    assert!(page.body.contains("already have a subscription"));
    let posted = take(&reader, "later", &[]).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(redeemed(&app, "later"), (0, 0));
    assert_eq!(processor.charges().len(), 1, "only the subscription itself");
}

#[tokio::test]
async fn the_command_line_creates_offers_and_refuses_bad_terms_in_one_line() {
    let app = TestApp::spawn().await;
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let (code, stdout, stderr) = gazette(
            &url,
            &[
                "offer",
                "create",
                "--code",
                "SPRING",
                "--plan",
                "monthly",
                "--percent-off",
                "20",
                "--duration",
                "months:3",
                "--ends",
                "2099-06-30",
                "--limit",
                "100",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("/offer/spring"), "{stdout}");
        let (code, _, stderr) = gazette(
            &url,
            &[
                "offer",
                "create",
                "--code",
                "trial",
                "--plan",
                "yearly",
                "--trial-days",
                "14",
            ],
        );
        assert_eq!(code, 0, "{stderr}");
        for (args, words) in [
            (
                vec![
                    "--code",
                    "spring",
                    "--plan",
                    "monthly",
                    "--percent-off",
                    "5",
                ],
                "exists",
            ),
            (
                vec!["--code", "x y", "--plan", "monthly", "--percent-off", "5"],
                "code",
            ),
            (
                vec!["--code", "p", "--plan", "weekly", "--percent-off", "5"],
                "plan",
            ),
            (
                vec!["--code", "p", "--plan", "monthly", "--percent-off", "0"],
                "percentage",
            ),
            (
                vec!["--code", "p", "--plan", "monthly", "--amount-off", "800"],
                "amount",
            ),
            (
                vec!["--code", "p", "--plan", "monthly", "--trial-days", "0"],
                "trial",
            ),
            (vec!["--code", "p", "--plan", "monthly"], "--percent-off"),
            (
                vec![
                    "--code",
                    "p",
                    "--plan",
                    "monthly",
                    "--percent-off",
                    "5",
                    "--trial-days",
                    "3",
                ],
                "trial-days",
            ),
            (
                vec![
                    "--code",
                    "p",
                    "--plan",
                    "monthly",
                    "--percent-off",
                    "5",
                    "--duration",
                    "weeks",
                ],
                "duration",
            ),
            (
                vec![
                    "--code",
                    "p",
                    "--plan",
                    "monthly",
                    "--trial-days",
                    "3",
                    "--ends",
                    "2001-01-01",
                ],
                "end date",
            ),
            (
                vec![
                    "--code",
                    "p",
                    "--plan",
                    "monthly",
                    "--trial-days",
                    "3",
                    "--ends",
                    "soon",
                ],
                "--ends",
            ),
        ] {
            let mut all = vec!["offer", "create"];
            all.extend(args.iter().copied());
            let (code, _, stderr) = gazette(&url, &all);
            assert_ne!(code, 0, "{args:?}");
            assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
            assert!(stderr.contains(words), "{args:?}: {stderr}");
        }
    })
    .await
    .unwrap();
    let (count, _) = redeemed(&app, "spring");
    assert_eq!(count, 0);
    let page = Reader::new(&app).get("/offer/Trial").await;
    assert!(page.body.contains("14 days free, then $"), "{}", page.body);
}

#[tokio::test]
async fn admins_create_offers_on_the_desk_and_others_cannot() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    assert_eq!(
        newsroom.get("/editor/offers").await.status,
        StatusCode::FORBIDDEN
    );
    let token = newsroom.csrf_token().await;
    let refused = newsroom
        .post(
            "/editor/offers",
            &[
                ("csrf_token", &token),
                ("code", "sneaky"),
                ("plan", "monthly"),
                ("kind", "trial"),
                ("value", "30"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    Reader::signed_up(&app, "admin@example.com").await;
    give_role(
        &app,
        "admin@example.com",
        gazette::domain::role::Role::Admin,
    );
    let admin = Reader::new(&app);
    admin.log_in("admin@example.com", PASSWORD).await;
    assert!(answers_within_a_second(&admin, "/editor/offers", StatusCode::OK).await);
    let token = admin.csrf_token().await;
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let mut form = fields;
        form.push(("csrf_token", token.as_str()));
        let admin = &admin;
        async move { admin.post("/editor/offers", &form).await }
    };
    let made = post(vec![
        ("code", "Desk-20"),
        ("plan", "yearly"),
        ("kind", "percent"),
        ("value", "20"),
        ("duration", "forever"),
        ("limit", "50"),
    ])
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    for (fields, words) in [
        (
            vec![
                ("code", "desk-20"),
                ("plan", "monthly"),
                ("kind", "trial"),
                ("value", "7"),
            ],
            "exists",
        ),
        (
            vec![
                ("code", "a b"),
                ("plan", "monthly"),
                ("kind", "trial"),
                ("value", "7"),
            ],
            "code",
        ),
        (
            vec![
                ("code", "x"),
                ("plan", "monthly"),
                ("kind", "trial"),
                ("value", "seven"),
            ],
            "whole number",
        ),
        (
            vec![
                ("code", "x"),
                ("plan", "monthly"),
                ("kind", "amount"),
                ("value", "900"),
            ],
            "amount",
        ),
        (
            vec![
                ("code", "x"),
                ("plan", "monthly"),
                ("kind", "percent"),
                ("value", "5"),
                ("duration", "weekly"),
            ],
            "once, forever",
        ),
        (
            vec![
                ("code", "x"),
                ("plan", "monthly"),
                ("kind", "both"),
                ("value", "5"),
            ],
            "Choose",
        ),
        (
            vec![
                ("code", "x"),
                ("plan", "monthly"),
                ("kind", "trial"),
                ("value", "5"),
                ("ends", "2001-02-03"),
            ],
            "end date",
        ),
    ] {
        let page = post(fields.clone()).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.body.contains(words), "{fields:?}: {}", page.body);
    }
    let list = admin.get("/editor/offers").await;
    assert!(list.body.contains("desk-20"));
    assert!(list.body.contains("20 % off"));
    assert!(list.body.contains("taken 0 of 50"));
    assert_eq!(redeemed(&app, "desk-20"), (0, 0));
    let page = Reader::new(&app).get("/offer/DESK-20").await;
    assert!(
        page.body.contains("for as long as you subscribe"),
        "{}",
        page.body
    );
}
