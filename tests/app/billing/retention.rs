//! Retention offers with a gateway that charges at once: pressing cancel offers the deal once,
//! then cancels; taking it keeps the subscription and discounts the periods charged after;
//! no offer for trials, discounted, cancelled or ended subscriptions; bursts of clicks redeem
//! once per reader and never past the limit; forged and replayed forms change nothing. Every
//! test counts what the processor took and the redemptions.

use std::time::Duration as StdDuration;

use diesel::prelude::*;
use gazette::billing::{OfferTerms, create_offer};
use gazette::clock::Clock;
use gazette::domain::offer::{Deal, Lasting, Off};
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use super::app_with;
use crate::helpers::*;

const READERS: usize = 12;
const CLICKS: usize = 8;

fn terms(code: &str, plan: &str, deal: Deal, limit: Option<i32>, retention: bool) -> OfferTerms {
    OfferTerms {
        code: code.to_string(),
        plan_code: plan.to_string(),
        deal,
        last_day: None,
        limit,
        retention,
    }
}

/// A retention offer on the monthly plan.
pub(crate) fn retention_offer(app: &TestApp, code: &str, deal: Deal, limit: Option<i32>) {
    let terms = terms(code, "monthly", deal, limit, true);
    create_offer(&mut app.connect(), &terms, app.clock.now()).expect("creating the offer");
}

/// An offer to follow as a link (not for retention).
pub(crate) fn plain_offer(app: &TestApp, code: &str, deal: Deal) {
    let terms = terms(code, "monthly", deal, None, false);
    create_offer(&mut app.connect(), &terms, app.clock.now()).expect("creating the offer");
}

pub(crate) fn fifth_off(lasting: Lasting) -> Deal {
    Deal::Discount {
        off: Off::Percent(20),
        lasting,
    }
}

/// The offer's count, and its rows of redemption.
pub(crate) fn redeemed(app: &TestApp, code: &str) -> (i32, i64) {
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

/// What the reader's current subscription holds of retention.
#[derive(Debug)]
pub(crate) struct Kept {
    pub status: String,
    pub period_end: OffsetDateTime,
    pub offer_code: Option<String>,
    pub discount_from: Option<OffsetDateTime>,
    pub offered_at: Option<OffsetDateTime>,
}

pub(crate) fn kept(app: &TestApp, email: &str) -> Kept {
    use gazette::schema::{subscriptions, users};
    let (status, period_end, offer_code, discount_from, offered_at) = subscriptions::table
        .inner_join(users::table)
        .filter(users::email.eq(email))
        .filter(subscriptions::status.ne("ended"))
        .select((
            subscriptions::status,
            subscriptions::current_period_end,
            subscriptions::offer_code,
            subscriptions::discount_from,
            subscriptions::retention_offered_at,
        ))
        .first(&mut app.connect())
        .unwrap();
    Kept {
        status,
        period_end,
        offer_code,
        discount_from,
        offered_at,
    }
}

/// Subscriptions shown an offer, and subscriptions that took one on the way.
pub(crate) fn shown_and_taken(app: &TestApp) -> (i64, i64) {
    use gazette::schema::subscriptions;
    let mut conn = app.connect();
    let shown = subscriptions::table
        .filter(subscriptions::retention_offered_at.is_not_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    let taken = subscriptions::table
        .filter(subscriptions::discount_from.is_not_null())
        .filter(subscriptions::status.ne("ended"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (shown, taken)
}

/// Takes an offer by its link, as any reader can.
pub(crate) async fn take(reader: &Reader<'_>, code: &str) -> Page {
    let token = reader.csrf_token().await;
    reader
        .post(&format!("/offer/{code}"), &[("csrf_token", &token)])
        .await
}

pub(crate) async fn keep(reader: &Reader<'_>, code: &str) -> Page {
    let token = reader.csrf_token().await;
    reader
        .post(
            "/account/subscription/retain",
            &[("offer", code), ("csrf_token", &token)],
        )
        .await
}

/// Readers who each subscribed to the monthly plan.
async fn subscribers<'a>(
    app: &'a TestApp,
    count: usize,
    name: &str,
    network: u8,
) -> Vec<(Reader<'a>, String)> {
    let readers = super::readers(app, count, name, network).await;
    for (reader, email) in &readers {
        let page = reader.subscribe("monthly").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{email}: {}", page.body);
    }
    readers
}

#[tokio::test]
async fn pressing_cancel_offers_the_deal_once_then_cancelling_works() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    let secret = "The retention page must never show this sentence";
    let id = app.premium_ids()[0];
    let html = gazette::markdown::to_safe_html(secret);
    diesel::sql_query("UPDATE articles SET body_markdown = $1, body_html = $2 WHERE id = $3")
        .bind::<diesel::sql_types::Text, _>(secret)
        .bind::<diesel::sql_types::Text, _>(html)
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut app.connect())
        .unwrap();
    // The newest retention offer that applies is made: not the older one, not the yearly.
    retention_offer(&app, "older", fifth_off(Lasting::Once), None);
    app.clock.advance(Duration::seconds(1));
    retention_offer(&app, "stay", fifth_off(Lasting::Months(3)), None);
    let yearly = terms(
        "stay-yearly",
        "yearly",
        fifth_off(Lasting::Once),
        None,
        true,
    );
    app.clock.advance(Duration::seconds(1));
    create_offer(&mut app.connect(), &yearly, app.clock.now()).unwrap();
    let reader = subscriber(&app, "leaving@example.com").await;
    let paid_until = kept(&app, "leaving@example.com").period_end;

    let page = reader.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Before you go"), "{}", page.body);
    assert!(
        page.body
            .contains("20 % off: $6.40 a month until March 2027, then $8.00 a month"),
        "{}",
        page.body
    );
    assert!(page.body.contains("name=\"offer\" value=\"stay\""));
    assert!(
        page.body
            .contains("action=\"/account/subscription/retain\"")
    );
    assert!(page.body.contains("Cancel anyway"));
    assert!(page.body.contains("rel=\"stylesheet\""), "a styled page");
    assert!(!page.body.contains(secret));
    let row = kept(&app, "leaving@example.com");
    assert_eq!(row.status, "active", "nothing is cancelled yet");
    assert!(row.offered_at.is_some());
    assert_eq!((row.offer_code, row.discount_from), (None, None));
    assert_eq!(redeemed(&app, "stay"), (0, 0));

    // Cancel anyway (the same form as the account page's): cancelled as before.
    let page = reader.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/account"));
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("Your subscription is cancelled"),
        "{}",
        account.body
    );
    let row = kept(&app, "leaving@example.com");
    assert_eq!(row.status, "canceled");
    assert_eq!(row.period_end, paid_until);

    // Resumed, the same subscription is not shown the offer again: cancel cancels.
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(kept(&app, "leaving@example.com").status, "active");
    let page = reader.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(kept(&app, "leaving@example.com").status, "canceled");
    // And taking the offer now changes nothing: the subscription is cancelled.
    let page = keep(&reader, "stay").await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(!page.body.contains(secret));
    assert_eq!(kept(&app, "leaving@example.com").status, "canceled");
    assert_eq!(redeemed(&app, "stay"), (0, 0));
    assert_eq!(redeemed(&app, "older"), (0, 0));
    assert_eq!(processor.amounts(), vec![800], "only the subscription");
}

#[tokio::test]
async fn taking_the_offer_keeps_the_subscription_and_discounts_the_charges_while_it_lasts() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    retention_offer(&app, "stay", fifth_off(Lasting::Months(2)), Some(10));
    let email = "staying@example.com";
    let reader = subscriber(&app, email).await;
    let user = user_id(&app, email);
    let paid_until = kept(&app, email).period_end;

    assert_eq!(reader.cancel_subscription().await.status, StatusCode::OK);
    let page = keep(&reader, "stay").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/account"));
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("Thank you for staying"),
        "{}",
        account.body
    );
    let from = gazette::views::long_date(paid_until);
    assert!(
        account
            .body
            .contains(&format!("20 % off from {from} until February 2027.")),
        "{}",
        account.body
    );
    let row = kept(&app, email);
    assert_eq!(row.status, "active");
    assert_eq!(row.offer_code.as_deref(), Some("stay"));
    assert_eq!(row.discount_from, Some(paid_until));
    assert_eq!(redeemed(&app, "stay"), (1, 1));
    assert_eq!(
        processor.amounts(),
        vec![800],
        "nothing charged on taking it"
    );

    // The test gateway charges one period at a time: each period paid on the plan while the
    // discount lasts is at the discounted price, then the full price again.
    for (round, expected) in [640, 640, 800].into_iter().enumerate() {
        let end = kept(&app, email).period_end;
        let now = app.clock.now();
        app.clock.advance(end - now + Duration::days(1));
        // A month on, the login has lapsed: the reader logs in again.
        reader.log_in(email, PASSWORD).await;
        let page = reader.subscribe("monthly").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let taken = processor.charges_of(user);
        assert_eq!(taken.len(), round + 2, "{taken:?}");
        assert_eq!(taken[round + 1].amount_cents, expected, "round {round}");
        let row = kept(&app, email);
        let account = reader.get("/account").await;
        if expected == 640 {
            assert_eq!(row.offer_code.as_deref(), Some("stay"), "carried on");
            assert_eq!(row.discount_from, Some(paid_until));
            assert!(
                account.body.contains("20 % off until February 2027."),
                "{}",
                account.body
            );
        } else {
            assert_eq!(row.offer_code, None, "the discount is over");
            assert!(!account.body.contains("20 % off"), "{}", account.body);
        }
    }
    assert_eq!(
        redeemed(&app, "stay"),
        (1, 1),
        "one redemption for them all"
    );
    assert_eq!(open_checkouts(&app), 0);
}

#[tokio::test]
async fn a_declined_discounted_charge_keeps_the_redemption_taken_with_the_offer() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    retention_offer(&app, "stay", fifth_off(Lasting::Once), Some(1));
    let email = "declined-later@example.com";
    let reader = subscriber(&app, email).await;
    assert_eq!(reader.cancel_subscription().await.status, StatusCode::OK);
    assert_eq!(keep(&reader, "stay").await.status, StatusCode::SEE_OTHER);
    let end = kept(&app, email).period_end;
    app.clock
        .advance(end - app.clock.now() + Duration::hours(1));
    reader.log_in(email, PASSWORD).await;
    processor.will_answer(&[Answer::Decline]);
    let page = reader.subscribe("monthly").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(redeemed(&app, "stay"), (1, 1), "the redemption stays");
    let page = reader.subscribe("monthly").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(processor.amounts(), vec![800, 640]);
    assert_eq!(open_checkouts(&app), 0);
}

#[tokio::test]
async fn no_offer_for_a_trial_a_discounted_a_cancelled_or_an_ended_subscription() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    plain_offer(&app, "try", Deal::Trial { days: 14 });
    plain_offer(&app, "half", fifth_off(Lasting::Months(3)));
    // Cancelled before any retention offer existed.
    let cancelled = subscriber(&app, "cancelled@example.com").await;
    assert_eq!(
        cancelled.cancel_subscription().await.status,
        StatusCode::SEE_OTHER
    );
    retention_offer(&app, "stay", fifth_off(Lasting::Forever), None);

    let trial = Reader::signed_up(&app, "trial@example.com").await;
    assert_eq!(take(&trial, "try").await.status, StatusCode::SEE_OTHER);
    let discounted = Reader::signed_up(&app, "discounted@example.com").await;
    assert_eq!(
        take(&discounted, "half").await.status,
        StatusCode::SEE_OTHER
    );
    let before = processor.amounts();

    for (reader, email) in [
        (&cancelled, "cancelled@example.com"),
        (&trial, "trial@example.com"),
        (&discounted, "discounted@example.com"),
    ] {
        // Taking it first (forged: nothing was shown) is refused.
        let page = keep(reader, "stay").await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{email}");
        assert!(page.body.contains("not for your subscription"), "{email}");
        let page = reader.cancel_subscription().await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{email}: no offer page");
        let row = kept(&app, email);
        assert_eq!(row.status, "canceled", "{email}");
        assert_eq!(row.offered_at, None, "{email}");
        assert_eq!(keep(reader, "stay").await.status, StatusCode::CONFLICT);
    }

    // Ended: the period is over.
    let ended = subscriber(&app, "ended@example.com").await;
    app.clock.advance(Duration::days(40));
    ended.log_in("ended@example.com", PASSWORD).await;
    let page = ended.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let account = ended.get("/account").await;
    assert!(account.body.contains("no subscription to cancel"));
    assert_eq!(keep(&ended, "stay").await.status, StatusCode::CONFLICT);
    assert_eq!(kept(&app, "ended@example.com").offered_at, None);

    assert_eq!(redeemed(&app, "stay"), (0, 0));
    assert_eq!(shown_and_taken(&app), (0, 0));
    assert_eq!(processor.amounts().len(), before.len() + 1, "ended's own");
}

#[tokio::test]
async fn an_offer_that_does_not_apply_is_not_made_and_cancel_cancels() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    // On another plan; used up; taken before by this reader; ended.
    let yearly = terms(
        "yearly-only",
        "yearly",
        fifth_off(Lasting::Once),
        None,
        true,
    );
    create_offer(&mut app.connect(), &yearly, app.clock.now()).unwrap();
    retention_offer(&app, "gone", fifth_off(Lasting::Once), Some(1));
    let first = subscriber(&app, "first@example.com").await;
    assert_eq!(first.cancel_subscription().await.status, StatusCode::OK);
    assert_eq!(keep(&first, "gone").await.status, StatusCode::SEE_OTHER);
    let mut soon = terms("soon", "monthly", fifth_off(Lasting::Once), None, true);
    soon.last_day = Some(app.clock.now().date());
    create_offer(&mut app.connect(), &soon, app.clock.now()).unwrap();
    app.clock.advance(Duration::days(1));

    let reader = subscriber(&app, "other@example.com").await;
    let page = reader.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(kept(&app, "other@example.com").status, "canceled");
    assert_eq!(kept(&app, "other@example.com").offered_at, None);
    for code in ["yearly-only", "gone", "soon"] {
        let page = keep(&reader, code).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{code}");
    }
    assert_eq!(redeemed(&app, "gone"), (1, 1));
    assert_eq!(redeemed(&app, "yearly-only"), (0, 0));
    assert_eq!(redeemed(&app, "soon"), (0, 0));
}

#[tokio::test]
async fn bursts_of_identical_accepts_redeem_once_per_reader() {
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    retention_offer(&app, "stay", fifth_off(Lasting::Months(3)), None);
    let readers = subscribers(&app, READERS, "keep", 2).await;
    for (reader, email) in &readers {
        let page = reader.cancel_subscription().await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
    }

    let answers = super::burst(&readers, CLICKS, |_| {
        ("/account/subscription/retain", vec![("offer", "stay")])
    })
    .await;
    for page in &answers {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), Some("/account"));
    }
    for (reader, email) in &readers {
        let row = kept(&app, email);
        assert_eq!(row.status, "active", "{email}");
        assert_eq!(row.offer_code.as_deref(), Some("stay"), "{email}");
        assert_eq!(row.discount_from, Some(row.period_end), "{email}");
        let account = reader.get("/account").await;
        assert!(account.body.contains("20 % off from"), "{email}");
    }
    assert_eq!(redeemed(&app, "stay"), (READERS as i32, READERS as i64));
    assert_eq!(shown_and_taken(&app), (READERS as i64, READERS as i64));
    assert_eq!(processor.amounts(), vec![800; READERS], "nothing charged");
    println!(
        "retention burst: {READERS} readers x {CLICKS} clicks -> {} redemptions",
        redeemed(&app, "stay").0
    );

    // A burst of cancels now: discounted subscriptions are cancelled, no offer again.
    let answers = super::burst(&readers, CLICKS, |_| {
        ("/account/subscription/cancel", vec![])
    })
    .await;
    assert!(
        answers
            .iter()
            .all(|page| page.status == StatusCode::SEE_OTHER)
    );
    for (_, email) in &readers {
        assert_eq!(kept(&app, email).status, "canceled");
    }
    assert_eq!(redeemed(&app, "stay").0, READERS as i32);
}

#[tokio::test]
async fn a_retention_offer_past_its_limit_under_a_burst_never_redeems_more_than_its_limit() {
    const LIMIT: usize = 5;
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    retention_offer(&app, "few", fifth_off(Lasting::Once), Some(LIMIT as i32));
    let readers = subscribers(&app, READERS, "few", 3).await;
    // Shown to each while it is open.
    for (reader, email) in &readers {
        assert_eq!(
            reader.cancel_subscription().await.status,
            StatusCode::OK,
            "{email}"
        );
    }
    let answers = super::burst(&readers, CLICKS, |_| {
        ("/account/subscription/retain", vec![("offer", "few")])
    })
    .await;
    for page in &answers {
        assert!(
            [StatusCode::SEE_OTHER, StatusCode::GONE].contains(&page.status),
            "{}",
            page.status
        );
    }
    let gone = answers
        .iter()
        .filter(|page| page.status == StatusCode::GONE)
        .count();
    assert_eq!(gone, (READERS - LIMIT) * CLICKS);
    assert_eq!(redeemed(&app, "few"), (LIMIT as i32, LIMIT as i64));
    assert_eq!(shown_and_taken(&app), (READERS as i64, LIMIT as i64));
    let with_offer = readers
        .iter()
        .filter(|(_, email)| kept(&app, email).offer_code.is_some())
        .count();
    assert_eq!(with_offer, LIMIT);
    // Those left without it cancel with the next press.
    for (reader, email) in &readers {
        if kept(&app, email).offer_code.is_none() {
            let page = reader.cancel_subscription().await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{email}");
            assert_eq!(kept(&app, email).status, "canceled");
        }
    }
    assert_eq!(processor.amounts(), vec![800; READERS]);
    println!(
        "retention limit burst: limit {LIMIT}, {READERS} readers x {CLICKS} clicks -> {} redemptions",
        redeemed(&app, "few").0
    );
}

#[tokio::test]
async fn forged_or_replayed_accepts_change_nothing() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    retention_offer(&app, "stay", fifth_off(Lasting::Once), None);
    plain_offer(&app, "half", fifth_off(Lasting::Once));
    let yearly = terms(
        "stay-yearly",
        "yearly",
        fifth_off(Lasting::Once),
        None,
        true,
    );
    create_offer(&mut app.connect(), &yearly, app.clock.now()).unwrap();

    let shown = subscriber(&app, "shown@example.com").await;
    assert_eq!(shown.cancel_subscription().await.status, StatusCode::OK);
    let other = subscriber(&app, "other@example.com").await;

    // Another reader's form: their CSRF token is refused.
    let their_token = shown.csrf_token().await;
    let page = other
        .post(
            "/account/subscription/retain",
            &[("offer", "stay"), ("csrf_token", &their_token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // No token at all.
    let page = other
        .post("/account/subscription/retain", &[("offer", "stay")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // Their own token, but never shown the offer.
    assert_eq!(keep(&other, "stay").await.status, StatusCode::CONFLICT);
    // Logged out.
    let visitor = Reader::new(&app);
    let token = visitor.csrf_token().await;
    let page = visitor
        .post(
            "/account/subscription/retain",
            &[("offer", "stay"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().is_some_and(|to| to.starts_with("/login")));

    // Offers not made to this subscription.
    for code in ["half", "stay-yearly", "nope", "../x", ""] {
        let page = keep(&shown, code).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{code}");
    }
    for email in ["shown@example.com", "other@example.com"] {
        let row = kept(&app, email);
        assert_eq!((row.status.as_str(), row.offer_code), ("active", None));
    }
    assert_eq!(redeemed(&app, "stay"), (0, 0));
    assert_eq!(redeemed(&app, "half"), (0, 0));

    // Taken, then replayed: the same answer, nothing more taken.
    assert_eq!(keep(&shown, "stay").await.status, StatusCode::SEE_OTHER);
    for _ in 0..3 {
        let page = keep(&shown, "stay").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(redeemed(&app, "stay"), (1, 1));
    // A newer offer cannot be stacked on the discounted subscription.
    retention_offer(&app, "stay-more", fifth_off(Lasting::Forever), None);
    assert_eq!(keep(&shown, "stay-more").await.status, StatusCode::CONFLICT);
    assert_eq!(
        kept(&app, "shown@example.com").offer_code.as_deref(),
        Some("stay")
    );
    assert_eq!(redeemed(&app, "stay-more"), (0, 0));

    // At scale: readers never shown the offer send bursts of accepts; nothing is taken.
    let readers = subscribers(&app, READERS, "forger", 4).await;
    let answers = super::burst(&readers, CLICKS, |_| {
        ("/account/subscription/retain", vec![("offer", "stay")])
    })
    .await;
    assert!(
        answers
            .iter()
            .all(|page| page.status == StatusCode::CONFLICT),
        "{:?}",
        answers.iter().map(|page| page.status).collect::<Vec<_>>()
    );
    assert_eq!(redeemed(&app, "stay"), (1, 1));
    assert_eq!(shown_and_taken(&app), (1, 1));
    assert_eq!(processor.amounts().len(), 2 + READERS, "subscriptions only");
}

#[tokio::test]
async fn a_trial_cannot_be_a_retention_offer() {
    let app = TestApp::spawn().await;
    let refused = create_offer(
        &mut app.connect(),
        &terms("stay-free", "monthly", Deal::Trial { days: 30 }, None, true),
        app.clock.now(),
    )
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("a retention offer must be a discount, not a free trial"),
        "{refused}"
    );
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let (code, _, stderr) = gazette(
            &url,
            &[
                "offer",
                "create",
                "--code",
                "stay-free",
                "--plan",
                "monthly",
                "--trial-days",
                "30",
                "--retention",
            ],
        );
        assert_ne!(code, 0);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("retention offer must be a discount"),
            "{stderr}"
        );
    })
    .await
    .unwrap();
    // The desk's form says so too, and creates nothing.
    Reader::signed_up(&app, "admin@example.com").await;
    give_role(
        &app,
        "admin@example.com",
        gazette::domain::role::Role::Admin,
    );
    let admin = Reader::new(&app);
    admin.log_in("admin@example.com", PASSWORD).await;
    let token = admin.csrf_token().await;
    let page = admin
        .post(
            "/editor/offers",
            &[
                ("csrf_token", token.as_str()),
                ("code", "stay-free"),
                ("plan", "monthly"),
                ("kind", "trial"),
                ("value", "30"),
                ("retention", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("a retention offer must be a discount, not a free trial"),
        "{}",
        page.body
    );
    use gazette::schema::offers;
    let count: i64 = offers::table
        .filter(offers::code.eq("stay-free"))
        .count()
        .get_result(&mut app.connect())
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn a_retention_offer_has_no_page_and_cannot_be_taken_by_its_code() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    retention_offer(&app, "stay", fifth_off(Lasting::Months(3)), Some(3));
    let visitor = Reader::new(&app);
    assert_eq!(
        visitor.get("/offer/stay").await.status,
        StatusCode::NOT_FOUND
    );
    let readers = super::readers(&app, 6, "bycode", 9).await;
    for (reader, _) in &readers {
        assert_eq!(
            reader.get("/offer/STAY").await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(take(reader, "stay").await.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        redeemed(&app, "stay"),
        (0, 0),
        "its limit is kept for subscribers"
    );
    assert!(processor.charges().is_empty());
    assert!(
        readers
            .iter()
            .all(|(_, email)| current(&app, email).is_empty())
    );
}
