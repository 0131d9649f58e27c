//! Gift subscriptions with a gateway that charges at once: buying (once per form, under
//! bursts, within a day's limit), the recipient's mail, redeeming once (two tabs, many
//! readers), subscribers told to wait, forged links, lost and declined payments, the buyer's
//! account page and both readers' data exports. Every test counts what the processor took.

use std::time::Duration as StdDuration;

use diesel::prelude::*;
use gazette::clock::Clock;
use reqwest::StatusCode;
use time::Duration;

use super::{app_with, billing_of};
use crate::helpers::*;

/// A fresh buying form's key and CSRF token, as the buyer's browser gets them.
pub(crate) async fn form_of(buyer: &Reader<'_>) -> (String, String) {
    let page = buyer.get("/gift").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let key = hidden_value(&page.body, "form_key").expect("the form's key");
    (key, page.csrf_token())
}

pub(crate) async fn buy(buyer: &Reader<'_>, months: &str, recipient: &str, message: &str) -> Page {
    let (key, csrf) = form_of(buyer).await;
    buyer
        .post(
            "/gift",
            &[
                ("months", months),
                ("recipient", recipient),
                ("from", ""),
                ("message", message),
                ("form_key", &key),
                ("csrf_token", &csrf),
            ],
        )
        .await
}

/// The path of the redeem link in the recipient's mail (`/gift/<token>`).
pub(crate) async fn mailed_link(app: &TestApp, recipient: &str) -> String {
    let mails = app.mailbox.wait_for(recipient, 1).await;
    let mail = mails
        .iter()
        .find(|mail| mail.subject.starts_with("A gift for you"))
        .expect("the gift's mail");
    mail.link_path()
}

pub(crate) async fn redeem(reader: &Reader<'_>, path: &str) -> Page {
    let token = reader.csrf_token().await;
    reader.post(path, &[("csrf_token", token.as_str())]).await
}

pub(crate) fn gifts_in(app: &TestApp, status: &str) -> i64 {
    use gazette::schema::gift_subscriptions;
    gift_subscriptions::table
        .filter(gift_subscriptions::status.eq(status))
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

pub(crate) fn gift_grants(app: &TestApp) -> Vec<(i64, time::OffsetDateTime, time::OffsetDateTime)> {
    use gazette::schema::access_grants;
    access_grants::table
        .filter(access_grants::kind.eq("gift"))
        .select((
            access_grants::user_id,
            access_grants::starts_at,
            access_grants::ends_at,
        ))
        .load(&mut app.connect())
        .unwrap()
}

#[tokio::test]
async fn a_gift_is_paid_once_mailed_with_its_link_and_gives_its_months_to_whoever_redeems_it() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    let article = app.premium_ids()[0];
    let buyer = Reader::signed_up(&app, "giver@example.com").await;

    let (key, csrf) = form_of(&buyer).await;
    let form = [
        ("months", "3"),
        ("recipient", " Friend@Example.com "),
        ("from", "Ann"),
        ("message", "Happy birthday!\n--\nSee you soon"),
        ("form_key", key.as_str()),
        ("csrf_token", csrf.as_str()),
    ];
    let bought = buyer.post("/gift", &form).await;
    assert_eq!(bought.status, StatusCode::SEE_OTHER, "{}", bought.body);
    assert_eq!(bought.location(), Some("/account#gifts-title"));
    let charges = processor.charges_of(user_id(&app, "giver@example.com"));
    assert_eq!(charges.len(), 1);
    assert_eq!(
        charges[0].amount_cents, 2400,
        "three months of the monthly plan"
    );
    assert_eq!(charges[0].plan_code, "gift-3-months");
    // The same form again (the back button, a resend) buys nothing more.
    let again = buyer.post("/gift", &form).await;
    assert_eq!(again.location(), Some("/account#gifts-title"));
    assert_eq!(processor.charges().len(), 1);

    let mails = app.mailbox.wait_for("friend@example.com", 1).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.subject, "A gift for you: 3 months of Gazette");
    assert!(
        mail.text.contains("Ann has given you 3 months"),
        "{}",
        mail.text
    );
    let quoted: Vec<&str> = mail.text.lines().filter(|l| l.starts_with("> ")).collect();
    assert_eq!(
        quoted,
        ["> Happy birthday!", "> --", "> See you soon"],
        "{}",
        mail.text
    );
    let link = mail.link_path();
    assert!(link.starts_with("/gift/"), "{link}");

    let account = buyer.get("/account").await;
    assert!(
        account.body.contains("3 months for friend@example.com"),
        "{}",
        account.body
    );
    assert!(account.body.contains("Paid, waiting to be redeemed"));
    assert!(
        account.body.contains(&link),
        "the buyer may pass the link on"
    );

    // A visitor sees the gift, and is asked to sign up or log in and come back.
    let visitor = Reader::new(&app);
    let page = visitor.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-robots-tag"), Some("noindex"));
    assert!(
        page.body.contains("3 months of Gazette, from Ann"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Happy birthday!"));
    assert!(
        page.body
            .contains(&format!("/signup?next={}", encode(&link)))
    );
    // A POST without a login leads to logging in, and back.
    let token = visitor.csrf_token().await;
    let anonymous = visitor.post(&link, &[("csrf_token", token.as_str())]).await;
    assert_eq!(
        anonymous.location(),
        Some(format!("/login?next={}", encode(&link)).as_str())
    );
    assert_eq!(gifts_in(&app, "paid"), 1);

    let friend = Reader::signed_up(&app, "friend@example.com").await;
    assert_eq!(
        friend.read_article(article).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
    let redeemed = redeem(&friend, &link).await;
    assert_eq!(redeemed.status, StatusCode::SEE_OTHER, "{}", redeemed.body);
    assert_eq!(redeemed.location(), Some("/account"));
    let now = app.clock.now();
    let grants = gift_grants(&app);
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].0, user_id(&app, "friend@example.com"));
    assert_eq!(grants[0].1, now);
    assert_eq!(
        grants[0].2,
        gazette::domain::subscription::add_months(now, 3)
    );
    let account = friend.get("/account").await;
    assert!(
        account.body.contains("Gift subscription until"),
        "{}",
        account.body
    );
    assert!(
        account.body.contains("Your gift is redeemed"),
        "the flash says so"
    );
    assert_eq!(
        friend.read_article(article).await.status,
        StatusCode::OK,
        "the whole article"
    );

    // Again, in another tab: nothing more is given.
    let twice = redeem(&friend, &link).await;
    assert_eq!(twice.location(), Some("/account"));
    assert_eq!(gift_grants(&app).len(), 1);
    let yours = friend.get(&link).await;
    assert!(
        yours.body.contains("You have redeemed this gift"),
        "{}",
        yours.body
    );
    // Nobody else can take it now.
    let other = Reader::signed_up(&app, "other@example.com").await;
    assert_eq!(other.get(&link).await.status, StatusCode::GONE);
    assert_eq!(redeem(&other, &link).await.status, StatusCode::GONE);
    assert_eq!(gift_grants(&app).len(), 1);
    assert!(buyer.get("/account").await.body.contains("Redeemed on"));

    // Both exports say what happened, with the payment.
    let given: serde_json::Value =
        serde_json::from_str(&buyer.get("/account/export").await.body).unwrap();
    let gift = &given["gifts_given"][0];
    assert_eq!(gift["recipient_email"], "friend@example.com");
    assert_eq!(gift["amount_cents"], 2400);
    assert_eq!(gift["status"], "redeemed");
    assert_eq!(gift["payment_reference"], charges[0].reference.as_str());
    let received: serde_json::Value =
        serde_json::from_str(&friend.get("/account/export").await.body).unwrap();
    assert_eq!(received["gifts_redeemed"][0]["months"], 3);
    assert_eq!(received["access_grants"][0]["kind"], "gift");

    // A week before the end the reader is invited to subscribe; after it, the paywall.
    let ends = grants[0].2;
    app.clock.set(ends - Duration::days(6));
    let queued = gazette::billing::grants::queue_reminders(&mut app.connect(), app.clock.now())
        .expect("queuing invitations");
    assert_eq!(queued, 1);
    app.clock.set(ends + Duration::seconds(1));
    assert_eq!(
        friend.read_article(article).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

/// `/gift/x` with its path percent-encoded, as pages write `next`.
fn encode(path: &str) -> String {
    gazette::views::encode_next(path)
}

#[tokio::test]
async fn bursts_of_identical_buy_clicks_charge_each_form_once_and_two_forms_are_two_gifts() {
    const BUYERS: usize = 10;
    const CLICKS: usize = 6;
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    let buyers = super::readers(&app, BUYERS, "buyer", 7).await;
    let mut forms = Vec::new();
    for (buyer, _) in &buyers {
        forms.push(form_of(buyer).await);
    }
    let recipients: Vec<String> = (0..BUYERS)
        .map(|n| format!("recipient{n}@example.com"))
        .collect();
    let mut posts = Vec::new();
    for (n, (buyer, _)) in buyers.iter().enumerate() {
        for _ in 0..CLICKS {
            let (key, csrf) = &forms[n];
            let recipient = &recipients[n];
            posts.push(async move {
                buyer
                    .post(
                        "/gift",
                        &[
                            ("months", "1"),
                            ("recipient", recipient.as_str()),
                            ("message", ""),
                            ("form_key", key.as_str()),
                            ("csrf_token", csrf.as_str()),
                        ],
                    )
                    .await
            });
        }
    }
    let pages = join_all(posts).await;
    assert!(
        pages.iter().all(|page| page.status == StatusCode::SEE_OTHER
            && page.location() == Some("/account#gifts-title")),
        "{:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    for (buyer, email) in &buyers {
        let taken = processor.charges_of(user_id(&app, email));
        assert_eq!(taken.len(), 1, "{email}: one charge for one form");
        assert_eq!(taken[0].amount_cents, 800);
        let _ = buyer;
    }
    assert_eq!(processor.charges().len(), BUYERS);
    assert_eq!(gifts_in(&app, "paid"), BUYERS as i64);
    for recipient in &recipients {
        let mails = app.mailbox.wait_for(recipient, 1).await;
        assert_eq!(mails.len(), 1, "{recipient}: one mail");
    }
    // Let any duplicate arrive before counting again.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    for recipient in &recipients {
        assert_eq!(app.mailbox.delivered_to(recipient).len(), 1, "{recipient}");
    }

    // A second form is a second gift.
    let (first, email) = &buyers[0];
    assert_eq!(
        buy(first, "12", "another@example.com", "").await.status,
        StatusCode::SEE_OTHER
    );
    let taken = processor.charges_of(user_id(&app, email));
    assert_eq!(taken.len(), 2);
    assert_eq!(taken[1].amount_cents, 8000, "a year costs the yearly plan");
}

#[tokio::test]
async fn a_gift_opened_in_two_tabs_and_by_many_readers_at_once_is_redeemed_once() {
    const READERS: usize = 8;
    const CLICKS: usize = 4;
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    let buyer = Reader::signed_up(&app, "giver@example.com").await;
    buy(&buyer, "1", "shared@example.com", "").await;
    let shared = mailed_link(&app, "shared@example.com").await;
    // And a gift of its own for each reader, each redeemed by a burst of its reader's clicks.
    let readers = super::readers(&app, READERS, "tabs", 8).await;
    let mut own = Vec::new();
    for (_, email) in &readers {
        assert_eq!(
            buy(&buyer, "1", email, "").await.status,
            StatusCode::SEE_OTHER
        );
        own.push(mailed_link(&app, email).await);
    }

    let mut tokens = Vec::new();
    for (reader, _) in &readers {
        tokens.push(reader.csrf_token().await);
    }
    let mut posts = Vec::new();
    for ((reader, _), (token, link)) in readers.iter().zip(tokens.iter().zip(&own)) {
        for _ in 0..CLICKS {
            for path in [shared.as_str(), link.as_str()] {
                posts.push(
                    async move { reader.post(path, &[("csrf_token", token.as_str())]).await },
                );
            }
        }
    }
    let pages = join_all(posts).await;
    assert!(
        pages
            .iter()
            .all(|page| page.status.is_redirection() || page.status == StatusCode::GONE),
        "{:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    let grants = gift_grants(&app);
    assert_eq!(
        grants.len(),
        READERS + 1,
        "each gift once, the shared one too"
    );
    for (_, email) in &readers {
        let id = user_id(&app, email);
        let theirs: Vec<_> = grants.iter().filter(|grant| grant.0 == id).collect();
        assert!(
            (1..=2).contains(&theirs.len()),
            "{email}: its own gift, perhaps the shared one"
        );
    }
    assert_eq!(gifts_in(&app, "redeemed"), READERS as i64 + 1);
    // The reader who got both has them one after the other: two months.
    let twice = grants
        .iter()
        .map(|grant| grant.0)
        .find(|id| grants.iter().filter(|g| g.0 == *id).count() == 2)
        .expect("one reader redeemed the shared gift too");
    let last_end = grants
        .iter()
        .filter(|grant| grant.0 == twice)
        .map(|grant| grant.2)
        .max()
        .unwrap();
    let now = app.clock.now();
    assert_eq!(
        last_end,
        gazette::domain::subscription::add_months(
            gazette::domain::subscription::add_months(now, 1),
            1
        )
    );
}

#[tokio::test]
async fn subscribers_keep_the_link_for_later_and_forged_or_unpaid_links_open_nothing() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    let buyer = Reader::signed_up(&app, "giver@example.com").await;
    buy(&buyer, "6", "sub@example.com", "").await;
    let link = mailed_link(&app, "sub@example.com").await;

    let subscribed = subscriber(&app, "sub@example.com").await;
    let page = subscribed.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("You already subscribe"), "{}", page.body);
    assert!(!page.body.contains("Redeem my gift"));
    let refused = redeem(&subscribed, &link).await;
    assert_eq!(
        refused.location(),
        Some(link.as_str()),
        "back to the page saying why"
    );
    assert!(gift_grants(&app).is_empty());
    assert_eq!(gifts_in(&app, "paid"), 1, "still there to pass on");
    // Passed on, it works for someone else.
    let friend = Reader::signed_up(&app, "passed@example.com").await;
    assert_eq!(redeem(&friend, &link).await.location(), Some("/account"));
    assert_eq!(gift_grants(&app).len(), 1);

    // Forged links: changed, made up, signed for another purpose, for another gift; never a
    // gift and never a server error.
    let token = link.trim_start_matches("/gift/").to_string();
    let (payload, tag) = token.split_once('.').expect("payload.tag");
    let article_gift = gazette::domain::signed_link::LinkSigner::new(
        app.settings.session_key.master(),
        gazette::domain::article_gift::PURPOSE,
    );
    let mut forged = vec![
        String::new(),
        "x".repeat(600),
        format!("{payload}."),
        format!(".{tag}"),
        format!("{payload}.{}", tag.chars().rev().collect::<String>()),
        article_gift.sign("1"),
    ];
    for n in 0..54 {
        // Other ids, with the tag of this one.
        let other = base64_of(&format!("{}", n + 2));
        forged.push(format!("{other}.{tag}"));
    }
    assert_eq!(forged.len(), 60);
    let attacker = Reader::signed_up(&app, "attacker@example.com").await;
    for token in &forged {
        let path = format!("/gift/{}", token);
        let page = attacker.get(&path).await;
        assert!(
            page.status == StatusCode::NOT_FOUND || page.status == StatusCode::GONE,
            "{path}: {}",
            page.status
        );
        let page = redeem(&attacker, &path).await;
        assert!(
            page.status == StatusCode::NOT_FOUND || page.status == StatusCode::GONE,
            "{path}: {}",
            page.status
        );
    }
    assert_eq!(gift_grants(&app).len(), 1);

    // A gift whose payment was declined has a valid signature, and still opens nothing.
    processor.will_answer(&[Answer::Decline]);
    let declined = buy(&buyer, "1", "nobody@example.com", "").await;
    assert_eq!(
        declined.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        declined.body
    );
    assert!(declined.body.contains("Nothing was charged"));
    let id: i64 = {
        use gazette::schema::gift_subscriptions;
        gift_subscriptions::table
            .filter(gift_subscriptions::status.eq("unpaid"))
            .select(gift_subscriptions::id)
            .first(&mut app.connect())
            .unwrap()
    };
    let links = gazette::domain::gift_subscription::GiftSubscriptionLinks::new(
        app.settings.session_key.master(),
    );
    let unpaid = format!(
        "/gift/{}",
        links.token(gazette::domain::ids::GiftId::new(id))
    );
    assert_eq!(attacker.get(&unpaid).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        redeem(&attacker, &unpaid).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(app.mailbox.delivered_to("nobody@example.com").is_empty());
    assert!(
        buyer
            .get("/account")
            .await
            .body
            .contains("Payment declined")
    );
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_asking_the_processor_and_never_charged_twice() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    let buyer = Reader::signed_up(&app, "giver@example.com").await;
    processor.will_answer(&[Answer::TakeButLoseTheReply, Answer::Unreachable]);

    let lost = buy(&buyer, "1", "lost@example.com", "").await;
    assert_eq!(lost.location(), Some("/account#gifts-title"));
    let never = buy(&buyer, "1", "never@example.com", "").await;
    assert_eq!(never.location(), Some("/account#gifts-title"));
    assert_eq!(gifts_in(&app, "pending"), 2);
    assert!(
        buyer
            .get("/account")
            .await
            .body
            .contains("Payment being confirmed")
    );

    // While the request may still be paying, housekeeping leaves them alone.
    let billing = billing_of(&app, processor.clone());
    assert_eq!(billing.settle_gifts().await.unwrap(), 0);
    app.clock.advance(Duration::minutes(3));
    let runs = join_all((0..3).map(|_| billing.settle_gifts())).await;
    let settled: usize = runs.into_iter().map(Result::unwrap).sum();
    assert!(settled >= 2, "both settled ({settled})");
    assert_eq!(gifts_in(&app, "paid"), 1);
    assert_eq!(gifts_in(&app, "unpaid"), 1);
    assert_eq!(processor.charges().len(), 1, "the lost one was taken once");
    // This housekeeping's billing cannot wake the app's mail sender: a reset request does.
    Reader::new(&app).forgot_password("giver@example.com").await;
    let mails = app.mailbox.wait_for("lost@example.com", 1).await;
    assert_eq!(mails.len(), 1);
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(app.mailbox.delivered_to("lost@example.com").len(), 1);
    assert!(app.mailbox.delivered_to("never@example.com").is_empty());
}

#[tokio::test]
async fn orders_are_checked_and_a_buyer_begins_at_most_ten_gifts_a_day() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    let visitor = Reader::new(&app);
    let page = visitor.get("/gift").await;
    assert!(page.body.contains("Log in to give a subscription"));
    let token = visitor.csrf_token().await;
    let anonymous = visitor
        .post("/gift", &[("csrf_token", token.as_str())])
        .await;
    assert_eq!(anonymous.location(), Some("/login?next=%2Fgift"));

    let buyer = Reader::signed_up(&app, "giver@example.com").await;
    let long = "x".repeat(501);
    for (months, recipient, message) in [
        ("2", "a@example.com", ""),
        ("", "a@example.com", ""),
        ("1", "not an address", ""),
        ("1", "", ""),
        ("1", "a@example.com", long.as_str()),
    ] {
        let page = buy(&buyer, months, recipient, message).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{months} {recipient}"
        );
        assert!(page.body.contains("form-error"));
    }
    // A form this site did not make.
    let csrf = buyer.csrf_token().await;
    let page = buyer
        .post(
            "/gift",
            &[
                ("months", "1"),
                ("recipient", "a@example.com"),
                ("form_key", "short"),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(processor.charges().is_empty());

    let limit = gazette::billing::GIFTS_PER_DAY as usize;
    for n in 0..limit {
        let page = buy(&buyer, "1", &format!("r{n}@example.com"), "").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "gift {n}");
    }
    let refused = buy(&buyer, "1", "one-more@example.com", "").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(processor.charges().len(), limit);
    app.clock.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(
        buy(&buyer, "1", "one-more@example.com", "").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_gift_pages_never_show_a_premium_body() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor).await;
    let id = app.premium_ids()[0];
    let secret = "The gift pages must never show this sentence";
    let html = gazette::markdown::to_safe_html(secret);
    diesel::sql_query("UPDATE articles SET body_markdown = $1, body_html = $2 WHERE id = $3")
        .bind::<diesel::sql_types::Text, _>(secret)
        .bind::<diesel::sql_types::Text, _>(html)
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut app.connect())
        .unwrap();
    let buyer = Reader::signed_up(&app, "giver@example.com").await;
    buy(&buyer, "1", "leak@example.com", "").await;
    let link = mailed_link(&app, "leak@example.com").await;
    let visitor = Reader::new(&app);
    let reader = Reader::signed_up(&app, "leak@example.com").await;
    for who in [&visitor, &reader, &buyer] {
        for path in ["/gift", link.as_str(), "/gift/unknown"] {
            let page = who.get(path).await;
            assert!(!page.body.contains(secret), "{path}");
        }
    }
    // A premium body was there to leak: once redeemed, the article shows it.
    redeem(&reader, &link).await;
    assert!(reader.read_article(id).await.body.contains(secret));
}

#[tokio::test]
async fn a_gift_outlives_its_buyers_account_without_the_words_they_wrote() {
    let processor = FakeProcessor::new(StdDuration::ZERO);
    let app = app_with(processor.clone()).await;
    let buyer = Reader::signed_up(&app, "giver@example.com").await;
    let (key, csrf) = form_of(&buyer).await;
    let bought = buyer
        .post(
            "/gift",
            &[
                ("months", "1"),
                ("recipient", "kept@example.com"),
                ("from", "Ann Example"),
                ("message", "From Ann, who is leaving"),
                ("form_key", key.as_str()),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(bought.status, StatusCode::SEE_OTHER);
    let link = mailed_link(&app, "kept@example.com").await;

    let deleted = buyer.delete_account("Delete my account", PASSWORD).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    let (buyer_id, from, message, amount): (Option<i64>, String, String, i32) = {
        use gazette::schema::gift_subscriptions;
        gift_subscriptions::table
            .select((
                gift_subscriptions::buyer_id,
                gift_subscriptions::from_name,
                gift_subscriptions::message,
                gift_subscriptions::amount_cents,
            ))
            .first(&mut app.connect())
            .unwrap()
    };
    assert_eq!(buyer_id, None);
    assert_eq!((from.as_str(), message.as_str()), ("", ""));
    assert_eq!(amount, 800, "the payment's record stays");

    // The recipient still redeems it; the page no longer names the buyer.
    let friend = Reader::signed_up(&app, "kept@example.com").await;
    let page = friend.get(&link).await;
    assert!(
        page.body.contains("1 month of Gazette, from a reader"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Ann"));
    assert_eq!(redeem(&friend, &link).await.location(), Some("/account"));
    assert_eq!(gift_grants(&app).len(), 1);
}
