//! Sending an article to the list, through a real SMTP server: both letters and their headers,
//! the free letter's leak test, the size, once per article whatever starts it, bounces,
//! deferrals, uncertain deliveries, two instances sharing a send and its pace, and the
//! account mail's own queue.

use std::time::Duration;

use diesel::prelude::*;
use gazette::clock::Clock;
use gazette::db::newsletter_sends::Counts;
use gazette::domain::ids::ArticleId;
use gazette::domain::newsletter::{Member, NewsletterLinks};
use gazette::newsletter::sending::{self, Audience, Started};

use crate::helpers::*;
use crate::support::mailbox::{Mail, Mailbox};

/// Words only the premium article's body holds.
pub const SECRET: &str = "Quillfeather harbour ledger";

/// Signs up `emails` as confirmed, opted-in addresses without accounts.
pub fn join(conn: &mut PgConnection, emails: &[String]) {
    for email in emails {
        diesel::sql_query(
            "INSERT INTO newsletter_signups (email, created_at, confirmed_at, opted_in_at)
             VALUES ($1, now(), now(), now())",
        )
        .bind::<diesel::sql_types::Text, _>(email)
        .execute(conn)
        .expect("a sign-up");
    }
}

/// `count` confirmed readers `prefix-N@example.com`, in one statement.
pub fn join_many(conn: &mut PgConnection, prefix: &str, count: i64) {
    diesel::sql_query(
        "INSERT INTO newsletter_signups (email, created_at, confirmed_at, opted_in_at)
         SELECT $1 || '-' || n || '@example.com', now(), now(), now()
         FROM generate_series(1, $2) AS n",
    )
    .bind::<diesel::sql_types::Text, _>(prefix)
    .bind::<diesel::sql_types::BigInt, _>(count)
    .execute(conn)
    .expect("many sign-ups");
}

/// The account with `email` confirmed and opted in.
pub fn opt_in_account(app: &TestApp, email: &str) {
    let changed = diesel::sql_query(
        "UPDATE users SET email_confirmed_at = now(), newsletter_opted_in_at = now()
         WHERE email = $1",
    )
    .bind::<diesel::sql_types::Text, _>(email)
    .execute(&mut app.connect())
    .expect("opting in");
    assert_eq!(changed, 1, "{email} has an account");
}

/// A premium article whose body holds [`SECRET`] (a demo article, rewritten).
pub fn secret_premium_article(app: &TestApp) -> i64 {
    let id = app.premium_ids()[0];
    set_body(
        app,
        id,
        &format!("{SECRET}, in the first paragraph.\n\nAnd more."),
    );
    id
}

pub fn set_body(app: &TestApp, id: i64, markdown: &str) {
    let html = gazette::markdown::to_safe_html(markdown);
    diesel::sql_query("UPDATE articles SET body_markdown = $1, body_html = $2 WHERE id = $3")
        .bind::<diesel::sql_types::Text, _>(markdown)
        .bind::<diesel::sql_types::Text, _>(html)
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut app.connect())
        .expect("rewriting an article");
}

/// Starts the send of `article` as the command line does.
pub fn start(app: &TestApp, article: i64, audience: Audience) -> Started {
    sending::start(
        &mut app.connect(),
        ArticleId::new(article),
        audience,
        None,
        app.clock.now(),
    )
    .expect("starting a send")
}

pub fn counts(app: &TestApp, article: i64) -> Counts {
    sending::status(&mut app.connect(), ArticleId::new(article))
        .expect("reading a send")
        .map(|(_, counts)| counts)
        .unwrap_or_default()
}

/// Newsletters among the mail a mailbox got (account mail has no `List-Id`).
pub fn letters(mailbox: &Mailbox) -> Vec<Mail> {
    mailbox
        .delivered()
        .into_iter()
        .filter(|mail| mail.header("List-Id").is_some())
        .collect()
}

pub fn letters_to(mailbox: &Mailbox, address: &str) -> Vec<Mail> {
    letters(mailbox)
        .into_iter()
        .filter(|mail| mail.to.iter().any(|to| to == address))
        .collect()
}

/// Waits until `article`'s send has nothing left to send (at most `seconds`).
pub async fn until_done(app: &TestApp, article: i64, seconds: u64) -> Counts {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let now = counts(app, article);
        if now.audience() > 0 && now.waiting() == 0 {
            return now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the send did not finish: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn is_subscriber_letter(mail: &Mail) -> bool {
    mail.text.contains("And more.")
}

/// An app sending fast (tests are about what is sent, not the pace, unless they say).
pub async fn fast_app() -> TestApp {
    TestApp::builder()
        .settings(|s| s.newsletter.rate = 500)
        .start()
        .await
}

#[tokio::test]
async fn every_reader_gets_one_letter_with_the_lists_headers_and_their_own_links() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    let emails: Vec<String> = (1..=5).map(|n| format!("list-{n}@example.com")).collect();
    join(&mut app.connect(), &emails);
    let links = NewsletterLinks::new(app.settings.session_key.master());

    assert!(matches!(
        start(&app, article, Audience::All),
        Started::Queued { .. }
    ));
    let done = until_done(&app, article, 20).await;
    assert_eq!((done.sent, done.audience()), (5, 5), "{done:?}");

    let mut tokens = std::collections::HashSet::new();
    for email in &emails {
        let got = letters_to(&app.mailbox, email);
        assert_eq!(got.len(), 1, "{email} gets one letter");
        let mail = &got[0];
        let unsubscribe = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
        let url = unsubscribe
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string();
        assert!(
            url.starts_with(&format!("{}/newsletter/unsubscribe?token=", app.address)),
            "{url}"
        );
        let token = url.split_once("token=").unwrap().1.to_string();
        assert!(matches!(links.member_of(&token), Some(Member::Signup(_))));
        assert!(
            tokens.insert(token.clone()),
            "each reader has their own link"
        );
        assert_eq!(
            mail.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        let list_id = mail.header("List-Id").unwrap();
        assert!(list_id.contains("<newsletter.127.0.0.1>"), "{list_id}");
        assert_eq!(mail.header("Precedence").as_deref(), Some("bulk"));
        // The visible links at the foot, in both parts.
        assert!(mail.html.contains(&format!("href=\"{url}\"")));
        assert!(mail.text.contains(&url));
        assert!(mail.html.contains("/newsletter/preferences?token="));
        // No tracking: every link leads to the site itself, and there is no image.
        for link in mail.html.split("href=\"").skip(1) {
            assert!(link.starts_with(&app.address), "a link elsewhere: {link}");
        }
        assert!(!mail.html.contains("<img"));
        // A 600-pixel column in a table, its styles inline.
        assert!(mail.html.contains("max-width:600px") && mail.html.contains("<table"));
        assert!(!mail.html.contains("<style") && !mail.html.contains("<link"));
    }
}

#[tokio::test]
async fn subscribers_get_the_whole_article_and_free_readers_its_opening() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    subscriber(&app, "paying@example.com").await;
    opt_in_account(&app, "paying@example.com");
    Reader::signed_up(&app, "account@example.com").await;
    opt_in_account(&app, "account@example.com");
    join(&mut app.connect(), &["signup@example.com".to_string()]);
    let teaser: String = gazette::schema::articles::table
        .find(article)
        .select(gazette::schema::articles::teaser)
        .first(&mut app.connect())
        .unwrap();

    start(&app, article, Audience::All);
    until_done(&app, article, 20).await;

    let paying = &letters_to(&app.mailbox, "paying@example.com")[0];
    assert!(paying.text.contains(SECRET) && paying.html.contains(SECRET));
    assert!(!paying.text.contains("/subscribe?next="));
    for free in ["account@example.com", "signup@example.com"] {
        let mail = &letters_to(&app.mailbox, free)[0];
        assert!(
            mail.text.contains(&teaser) && mail.html.contains(&unescape_teaser(&teaser)),
            "the opening: {}",
            mail.text
        );
        assert!(mail.text.contains(&format!(
            "{}/subscribe?next=/articles/{article}/",
            app.address
        )));
        assert!(mail.html.contains("Subscribe to read it"));
        assert!(!is_subscriber_letter(mail));
    }
}

fn unescape_teaser(teaser: &str) -> String {
    teaser.replace('\'', "&#39;").replace('"', "&#34;")
}

#[tokio::test]
async fn the_free_letter_never_carries_the_premium_body() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    subscriber(&app, "paying@example.com").await;
    opt_in_account(&app, "paying@example.com");
    let free: Vec<String> = (1..=3).map(|n| format!("free-{n}@example.com")).collect();
    join(&mut app.connect(), &free);

    start(&app, article, Audience::All);
    until_done(&app, article, 20).await;

    // The check can fail: the subscriber's letter carries the words.
    let paying = &letters_to(&app.mailbox, "paying@example.com")[0];
    assert!(paying.raw.contains("Quillfeather") || paying.text.contains(SECRET));
    for email in &free {
        let mail = &letters_to(&app.mailbox, email)[0];
        for word in ["Quillfeather", "And more"] {
            assert!(!mail.raw.contains(word), "{word} in the wire form");
            assert!(!mail.text.contains(word), "{word} in the text part");
            assert!(!mail.html.contains(word), "{word} in the HTML part");
        }
    }
}

#[tokio::test]
async fn a_free_article_is_whole_for_everyone() {
    let app = fast_app().await;
    let article = app.free_ids()[0];
    set_body(
        &app,
        article,
        "Open to all readers, every word.\n\nAnd more.",
    );
    subscriber(&app, "paying@example.com").await;
    opt_in_account(&app, "paying@example.com");
    join(&mut app.connect(), &["signup@example.com".to_string()]);

    start(&app, article, Audience::All);
    until_done(&app, article, 20).await;
    for email in ["paying@example.com", "signup@example.com"] {
        let mail = &letters_to(&app.mailbox, email)[0];
        assert!(mail.text.contains("Open to all readers, every word."));
        assert!(mail.html.contains("Open to all readers, every word."));
        assert!(!mail.text.contains("/subscribe?next="));
    }
}

#[tokio::test]
async fn subscribers_only_reaches_the_subscribers_alone() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    subscriber(&app, "paying@example.com").await;
    opt_in_account(&app, "paying@example.com");
    join(&mut app.connect(), &["signup@example.com".to_string()]);

    start(&app, article, Audience::Subscribers);
    let done = until_done(&app, article, 20).await;
    assert_eq!((done.sent, done.audience()), (1, 1));
    assert_eq!(letters_to(&app.mailbox, "paying@example.com").len(), 1);
    assert!(letters_to(&app.mailbox, "signup@example.com").is_empty());
}

#[tokio::test]
async fn a_long_article_stays_under_100_kb_and_links_to_the_rest() {
    let app = fast_app().await;
    let article = app.premium_ids()[0];
    let paragraph = "A sentence of a very long article, with some words of its own. ".repeat(8);
    // Long paragraphs and many short ones (whose inline styles weigh most).
    let body = (1..=3000)
        .map(|n| {
            if n % 2 == 0 {
                format!("Paragraph {n}. Short.")
            } else {
                format!("Paragraph {n}. {paragraph}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    assert!(body.len() > 200_000);
    set_body(&app, article, &body);
    subscriber(&app, "paying@example.com").await;
    opt_in_account(&app, "paying@example.com");

    start(&app, article, Audience::All);
    until_done(&app, article, 20).await;
    let mail = &letters_to(&app.mailbox, "paying@example.com")[0];
    assert!(mail.raw.len() < 100 * 1024, "{} bytes", mail.raw.len());
    assert!(mail.text.contains("Paragraph 1. "));
    assert!(!mail.text.contains("Paragraph 3000. "));
    assert!(mail.text.contains("Read the rest on the site"));
    assert!(mail.html.contains("Read the rest on the site"));
    // The foot is still there, after the cut.
    assert!(mail.html.contains("Unsubscribe</a>"));
    assert!(mail.html.trim_end().ends_with("</html>"));
}

#[tokio::test]
async fn a_burst_of_starts_sends_the_article_once() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    join_many(&mut app.connect(), "burst", 20);

    let starts = (0..16).map(|_| {
        let url = app.db.url.clone();
        let now = app.clock.now();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            sending::start(&mut conn, ArticleId::new(article), Audience::All, None, now).unwrap()
        })
    });
    let outcomes: Vec<Started> = join_all(starts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let queued = outcomes
        .iter()
        .filter(|o| matches!(o, Started::Queued { .. }))
        .count();
    let already = outcomes
        .iter()
        .filter(|o| matches!(o, Started::AlreadySent { .. }))
        .count();
    assert_eq!((queued, already), (1, 15));
    assert_eq!(rows_in(&app, "newsletter_sends"), 1);

    let done = until_done(&app, article, 20).await;
    assert_eq!(done.sent, 20);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = letters(&app.mailbox);
    assert_eq!(got.len(), 20, "one letter per reader");
    let distinct: std::collections::HashSet<_> = got.iter().map(|m| m.to.clone()).collect();
    assert_eq!(distinct.len(), 20);
    // Connections are kept and reused: one per connection slot, not one per letter.
    assert!(
        app.mailbox.connections() <= 4,
        "{} connections",
        app.mailbox.connections()
    );
}

#[tokio::test]
async fn the_same_address_twice_on_the_list_gets_one_letter() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    Reader::signed_up(&app, "both@example.com").await;
    opt_in_account(&app, "both@example.com");
    // An address both an account's and a sign-up's (left from before the account).
    join(&mut app.connect(), &["both@example.com".to_string()]);

    start(&app, article, Audience::All);
    let done = until_done(&app, article, 20).await;
    assert_eq!(done.audience(), 1);
    assert_eq!(letters_to(&app.mailbox, "both@example.com").len(), 1);
}

#[tokio::test]
async fn drafts_unpublished_and_unknown_articles_are_not_sent() {
    let app = fast_app().await;
    join(&mut app.connect(), &["reader@example.com".to_string()]);
    let draft = app.premium_ids()[0];
    diesel::sql_query("UPDATE articles SET published_at = NULL WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(draft)
        .execute(&mut app.connect())
        .unwrap();
    assert_eq!(start(&app, draft, Audience::All), Started::NotPublished);
    assert_eq!(start(&app, 999_999, Audience::All), Started::Unknown);
    assert_eq!(rows_in(&app, "newsletter_sends"), 0);
}

#[tokio::test]
async fn a_permanent_refusal_suppresses_the_address_and_later_sends_skip_it() {
    let app = fast_app().await;
    let first = secret_premium_article(&app);
    let second = app.premium_ids()[1];
    join(
        &mut app.connect(),
        &[
            "gone@example.com".to_string(),
            "here@example.com".to_string(),
        ],
    );
    app.mailbox.refuse("gone@example.com");

    start(&app, first, Audience::All);
    let done = until_done(&app, first, 20).await;
    assert_eq!((done.sent, done.failed), (1, 1), "{done:?}");
    assert_eq!(
        app.mailbox.refusals_of("gone@example.com"),
        1,
        "not retried"
    );
    let reason: String = gazette::schema::newsletter_suppressions::table
        .find("gone@example.com")
        .select(gazette::schema::newsletter_suppressions::reason)
        .first(&mut app.connect())
        .expect("the address is suppressed");
    assert!(reason.contains("550"), "{reason}");

    app.mailbox.accept("gone@example.com");
    start(&app, second, Audience::All);
    let done = until_done(&app, second, 20).await;
    assert_eq!((done.sent, done.suppressed), (1, 1), "{done:?}");
    assert_eq!(
        done.audience(),
        done.sent + done.failed + done.suppressed + done.uncertain
    );
    assert!(letters_to(&app.mailbox, "gone@example.com").is_empty());
    assert_eq!(app.mailbox.refusals_of("gone@example.com"), 1);
}

#[tokio::test]
async fn a_deferral_is_tried_again_later_and_given_up_after_a_few_attempts() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    join(
        &mut app.connect(),
        &["busy@example.com".to_string(), "ok@example.com".to_string()],
    );
    app.mailbox.defer("busy@example.com");

    start(&app, article, Audience::All);
    app.mailbox.wait_refusals("busy@example.com", 1).await;
    app.mailbox.wait_for("ok@example.com", 1).await;
    // Not again before its time.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        app.mailbox.refusals_of("busy@example.com"),
        1,
        "no busy loop"
    );
    assert_eq!(counts(&app, article).queued, 1);

    for attempt in 2..=gazette::newsletter::sender::MOST_ATTEMPTS {
        app.clock.advance(time::Duration::minutes(31));
        app.mailbox
            .wait_refusals("busy@example.com", attempt as usize)
            .await;
    }
    let done = until_done(&app, article, 20).await;
    assert_eq!((done.sent, done.failed, done.queued), (1, 1, 0), "{done:?}");
    // Given up, not suppressed: it was refused for now only.
    assert_eq!(rows_in(&app, "newsletter_suppressions"), 0);
    app.clock.advance(time::Duration::hours(2));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        app.mailbox.refusals_of("busy@example.com"),
        gazette::newsletter::sender::MOST_ATTEMPTS as usize
    );
}

#[tokio::test]
async fn a_deferred_address_that_recovers_gets_its_letter_on_a_later_attempt() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    join(&mut app.connect(), &["slow@example.com".to_string()]);
    app.mailbox.defer("slow@example.com");
    start(&app, article, Audience::All);
    app.mailbox.wait_refusals("slow@example.com", 1).await;
    app.mailbox.accept("slow@example.com");
    app.clock.advance(time::Duration::minutes(2));
    app.mailbox.wait_for("slow@example.com", 1).await;
    let done = until_done(&app, article, 20).await;
    assert_eq!(done.sent, 1);
}

#[tokio::test]
async fn a_cut_after_the_data_is_uncertain_and_never_sent_again() {
    let app = fast_app().await;
    let article = secret_premium_article(&app);
    join(&mut app.connect(), &["cut@example.com".to_string()]);
    app.mailbox.cut_after_data(1);

    start(&app, article, Audience::All);
    let done = until_done(&app, article, 20).await;
    assert_eq!((done.uncertain, done.sent), (1, 0), "{done:?}");
    // The message did arrive: sending it again would be a second copy.
    app.clock.advance(time::Duration::hours(3));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(letters_to(&app.mailbox, "cut@example.com").len(), 1);
}

/// An app whose one delivery, to `email`, an instance that died left `state` ('queued': taken
/// but not begun; 'sending': mid-exchange) with its lease still running; and the article.
async fn leased_by_a_dead_instance(state: &'static str, email: &'static str) -> (TestApp, i64) {
    let app = TestApp::builder()
        .settings(|s| s.newsletter.rate = 500)
        .prepared(move |conn| {
            diesel::sql_query(
                "INSERT INTO newsletter_sends (article_id, audience, started_at)
                 SELECT id, 'all', now() FROM articles WHERE is_premium ORDER BY id LIMIT 1",
            )
            .execute(conn)
            .unwrap();
            diesel::sql_query(
                "INSERT INTO newsletter_signups (email, created_at, confirmed_at, opted_in_at)
                 VALUES ($1, now(), now(), now())",
            )
            .bind::<diesel::sql_types::Text, _>(email)
            .execute(conn)
            .unwrap();
            diesel::sql_query(
                "INSERT INTO newsletter_deliveries
                     (send_id, email, signup_id, whole, state, attempts, next_attempt_at,
                      lease_until)
                 SELECT s.id, g.email, g.id, false, $3, 1, $1, $2
                 FROM newsletter_sends s, newsletter_signups g",
            )
            .bind::<diesel::sql_types::Timestamptz, _>(START)
            .bind::<diesel::sql_types::Timestamptz, _>(START + time::Duration::minutes(5))
            .bind::<diesel::sql_types::Text, _>(state)
            .execute(conn)
            .unwrap();
        })
        .start()
        .await;
    let article: i64 = gazette::schema::newsletter_sends::table
        .select(gazette::schema::newsletter_sends::article_id)
        .first(&mut app.connect())
        .unwrap();
    (app, article)
}

#[tokio::test]
async fn a_delivery_left_sending_by_a_dead_instance_becomes_uncertain_not_resent() {
    // The row an instance that died mid-exchange leaves: 'sending', its lease running.
    let (app, article) = leased_by_a_dead_instance("sending", "dead@example.com").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(counts(&app, article).sending, 1, "its lease still runs");

    app.clock.advance(time::Duration::minutes(6));
    let done = until_done(&app, article, 20).await;
    assert_eq!((done.uncertain, done.sent), (1, 0), "{done:?}");
    assert!(letters(&app.mailbox).is_empty(), "never sent again");
}

#[tokio::test]
async fn two_instances_share_a_send_and_every_reader_gets_exactly_one() {
    let first = fast_app().await;
    let other_mailbox = Mailbox::start().await;
    let url = other_mailbox.url();
    let second = TestApp::builder()
        .sharing(&first)
        .settings(move |s| s.newsletter.smtp_url = Some(url))
        .start()
        .await;
    let article = secret_premium_article(&first);
    join_many(&mut first.connect(), "shared", 200);

    start(&first, article, Audience::All);
    let done = until_done(&first, article, 60).await;
    assert_eq!((done.sent, done.audience()), (200, 200), "{done:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (a, b) = (letters(&first.mailbox), letters(&other_mailbox));
    assert!(
        !a.is_empty() && !b.is_empty(),
        "each sent a share: {} and {}",
        a.len(),
        b.len()
    );
    let mut everyone: Vec<_> = a.iter().chain(&b).map(|m| m.to.clone()).collect();
    assert_eq!(everyone.len(), 200);
    everyone.sort();
    everyone.dedup();
    assert_eq!(everyone.len(), 200, "nobody twice");
    drop(second);
}

#[tokio::test]
async fn the_rate_is_shared_by_every_instance() {
    const RATE: u32 = 10;
    let first = TestApp::builder()
        .settings(|s| s.newsletter.rate = RATE)
        .start()
        .await;
    let other_mailbox = Mailbox::start().await;
    let url = other_mailbox.url();
    let _second = TestApp::builder()
        .sharing(&first)
        .settings(move |s| s.newsletter.smtp_url = Some(url))
        .start()
        .await;
    let article = secret_premium_article(&first);
    join_many(&mut first.connect(), "paced", 60);

    start(&first, article, Audience::All);
    until_done(&first, article, 60).await;
    let mut arrivals: Vec<_> = letters(&first.mailbox)
        .into_iter()
        .chain(letters(&other_mailbox))
        .map(|m| m.arrived_at)
        .collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), 60);
    assert!(
        letters(&other_mailbox).len() > 5 && letters(&first.mailbox).len() > 5,
        "both sent"
    );
    // In any one-second window, no more than the rate (and a margin for scheduling).
    for (i, start) in arrivals.iter().enumerate() {
        let within = arrivals[i..]
            .iter()
            .take_while(|at| at.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(within <= RATE as usize + 3, "{within} in one second");
    }
    let span = arrivals[59].duration_since(arrivals[0]);
    assert!(
        span >= Duration::from_secs(4),
        "60 at 10 a second took {span:?}"
    );
}

#[tokio::test]
async fn a_password_reset_arrives_promptly_during_a_large_send() {
    let app = TestApp::builder()
        .settings(|s| s.newsletter.rate = 20)
        .start()
        .await;
    let reader = Reader::signed_up(&app, "forgetful@example.com").await;
    let article = secret_premium_article(&app);
    join_many(&mut app.connect(), "large", 2000);
    start(&app, article, Audience::All);
    app.mailbox.wait_for_count(10, 20).await;

    let before = app.mailbox.delivered_to("forgetful@example.com").len();
    let asked = std::time::Instant::now();
    reader.forgot_password("forgetful@example.com").await;
    let reset = app.mailbox.next_for("forgetful@example.com", before).await;
    assert!(reset.text.contains("/password/reset?token="));
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert!(
        counts(&app, article).queued > 1000,
        "the send was still going"
    );
}

#[tokio::test]
async fn a_mail_server_that_is_down_means_waiting_not_crashing_nor_spinning() {
    // A server that hangs up on every connection at once, counting them.
    let down = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://127.0.0.1:{}", down.local_addr().unwrap().port());
    let tried = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counting = tried.clone();
    tokio::spawn(async move {
        while let Ok((connection, _)) = down.accept().await {
            counting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(connection);
        }
    });
    let app = TestApp::builder()
        .settings(move |s| {
            s.newsletter.rate = 500;
            s.newsletter.smtp_url = Some(url);
        })
        .start()
        .await;
    let article = secret_premium_article(&app);
    join_many(&mut app.connect(), "waiting", 30);
    start(&app, article, Audience::All);
    eventually("the sender tried the server", || {
        tried.load(std::sync::atomic::Ordering::SeqCst) > 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;

    // A few tries in four seconds (each connection pauses, 2 s then longer), not one per
    // reader nor a loop; every reader still to be sent.
    let tries = tried.load(std::sync::atomic::Ordering::SeqCst);
    assert!(tries <= 16, "{tries} connections in four seconds");
    let refused_rows: i64 = gazette::schema::newsletter_deliveries::table
        .filter(gazette::schema::newsletter_deliveries::last_error.is_not_null())
        .count()
        .get_result(&mut app.connect())
        .unwrap();
    assert!(
        refused_rows <= tries as i64,
        "{refused_rows} readers put off"
    );
    let now = counts(&app, article);
    assert_eq!((now.queued, now.failed, now.sent), (30, 0, 0), "{now:?}");
    // The site still serves.
    assert_eq!(
        Reader::new(&app).get("/").await.status,
        reqwest::StatusCode::OK
    );
}

#[tokio::test]
async fn the_sender_waits_out_a_lost_database_and_resumes_by_itself() {
    let app = fast_app().await;
    app.db.destroy();
    // Several of the sender's looks fail meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The database returns (empty, as after a restore): the sender carries on by itself.
    gazette::db::prepare(&app.db.url).unwrap();
    gazette::demo::load_if_empty(&mut app.connect()).unwrap();
    let article = secret_premium_article(&app);
    join(&mut app.connect(), &["back@example.com".to_string()]);
    start(&app, article, Audience::All);
    let done = until_done(&app, article, 30).await;
    assert_eq!(done.sent, 1);
    assert_eq!(letters_to(&app.mailbox, "back@example.com").len(), 1);
}

#[tokio::test]
async fn a_delivery_taken_by_a_dead_instance_before_its_exchange_is_taken_again_once() {
    // Taken (leased) but never begun: the instance died before its exchange.
    let (app, article) = leased_by_a_dead_instance("queued", "taken@example.com").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(letters(&app.mailbox).is_empty(), "its lease still runs");

    app.clock.advance(time::Duration::minutes(6));
    let done = until_done(&app, article, 20).await;
    assert_eq!((done.sent, done.uncertain), (1, 0), "{done:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(letters_to(&app.mailbox, "taken@example.com").len(), 1);
}
