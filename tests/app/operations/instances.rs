//! Two instances on one database behind a real load balancer (HAProxy, round robin): whatever
//! one instance keeps in memory follows a change made through the other within a second,
//! even after the connection that hears of changes was killed.

use std::time::{Duration as StdDuration, Instant};

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::support::balancer::Balancer;

/// How soon a change must show on every instance.
const WITHIN: StdDuration = StdDuration::from_secs(1);

struct Pair {
    one: TestApp,
    two: TestApp,
    /// Kept for as long as the pair: dropping it stops HAProxy.
    _balancer: Balancer,
    through: TestApp,
}

async fn pair(customise: impl FnOnce(&mut gazette::config::Settings)) -> Pair {
    let one = TestApp::builder().settings(customise).start().await;
    let two = TestApp::builder().sharing(&one).start().await;
    one.wait_until_listening(2).await;
    let balancer = Balancer::start(&[one.port, two.port]);
    let through = one.behind(balancer.address(), balancer.port);
    Pair {
        one,
        two,
        _balancer: balancer,
        through,
    }
}

/// Asks `page` of both instances until `shows` holds on both, for at most [`WITHIN`]; returns
/// how long it took.
async fn on_both(
    readers: [&Reader<'_>; 2],
    page: &str,
    shows: impl Fn(&Page) -> bool,
) -> Option<StdDuration> {
    let started = Instant::now();
    loop {
        let mut seen = true;
        for reader in readers {
            seen &= shows(&reader.get(page).await);
        }
        if seen {
            return Some(started.elapsed());
        }
        if started.elapsed() > WITHIN {
            return None;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

/// As [`on_both`], for a cookie replayed as it was captured: each request is a new browser
/// holding exactly that cookie (so no answer can replace it).
async fn replayed_on_both(
    apps: [&TestApp; 2],
    cookie: &str,
    page: &str,
    shows: impl Fn(&Page) -> bool,
) -> Option<StdDuration> {
    let started = Instant::now();
    loop {
        let mut seen = true;
        for app in apps {
            let replay = Reader::new(app);
            replay.set_session_cookie(cookie);
            seen &= shows(&replay.get(page).await);
        }
        if seen {
            return Some(started.elapsed());
        }
        if started.elapsed() > WITHIN {
            return None;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn logging_out_through_one_instance_ends_the_session_on_both() {
    let pair = pair(|_| {}).await;
    let reader = Reader::new(&pair.through);
    assert_eq!(
        reader.sign_up("both@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // A copy of the cookie, taken while logged in and replayed to each instance (so each
    // keeps the session in memory).
    let stolen = reader.session_cookie().expect("a session cookie");
    let still_logged_in = replayed_on_both([&pair.one, &pair.two], &stolen, "/account", |page| {
        page.status == StatusCode::OK
    });
    assert!(still_logged_in.await.is_some());

    assert_eq!(reader.log_out().await.status, StatusCode::SEE_OTHER);
    let took = replayed_on_both([&pair.one, &pair.two], &stolen, "/account", |page| {
        page.status == StatusCode::SEE_OTHER
    })
    .await;
    assert!(
        took.is_some(),
        "the copied cookie still works on an instance"
    );
    eprintln!("log-out seen by both instances after {took:?}");
}

#[tokio::test]
async fn cancelling_through_one_instance_shows_on_both() {
    let pair = pair(|_| {}).await;
    let reader = Reader::new(&pair.through);
    reader.sign_up("cancel-both@example.com", PASSWORD).await;
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    let (on_one, on_two) = (reader.via(&pair.one), reader.via(&pair.two));
    let subscribed = on_both([&on_one, &on_two], "/account", |page| {
        page.body.contains("Paid until")
    })
    .await;
    assert!(
        subscribed.is_some(),
        "an instance does not show the new subscription"
    );

    assert_eq!(
        reader.cancel_subscription().await.status,
        StatusCode::SEE_OTHER
    );
    let took = on_both([&on_one, &on_two], "/account", |page| {
        page.body.contains("Access until")
    })
    .await;
    assert!(
        took.is_some(),
        "an instance still shows the subscription as active"
    );
    eprintln!("cancellation seen by both instances after {took:?}");
}

#[tokio::test]
async fn a_counted_article_is_never_counted_twice_by_alternating_instances() {
    let pair = pair(|s| s.free_articles_per_month = 2).await;
    let premium = pair.one.premium_ids();
    let reader = Reader::new(&pair.through);
    reader.sign_up("alternating@example.com", PASSWORD).await;
    let (on_one, on_two) = (reader.via(&pair.one), reader.via(&pair.two));

    assert_eq!(on_one.read_article(premium[0]).await.status, StatusCode::OK);
    for _ in 0..3 {
        // Opened again on either instance, it costs nothing.
        assert_eq!(on_two.read_article(premium[0]).await.status, StatusCode::OK);
        assert_eq!(on_one.read_article(premium[0]).await.status, StatusCode::OK);
    }
    let note = on_two.read_article(premium[0]).await.body;
    assert!(note.contains("1 of 2 free articles left"), "counted once");
    assert_eq!(on_two.read_article(premium[1]).await.status, StatusCode::OK);
    let took = on_both(
        [&on_one, &on_two],
        &format!("/articles/{}", premium[2]),
        |page| page.status == StatusCode::PAYMENT_REQUIRED,
    )
    .await;
    assert!(
        took.is_some(),
        "the second article counted on one instance is known to the other"
    );
    let counted: i64 = gazette::schema::meter_reads::table
        .count()
        .get_result(&mut pair.one.connect())
        .unwrap();
    assert_eq!(counted, 2);
}

#[tokio::test]
async fn an_article_edited_in_the_database_shows_on_both() {
    let pair = pair(|_| {}).await;
    let article = pair.one.free_ids()[0];
    let reader = Reader::new(&pair.through);
    let (on_one, on_two) = (reader.via(&pair.one), reader.via(&pair.two));
    let path = format!("/articles/{article}");
    for instance in [&on_one, &on_two] {
        assert_eq!(instance.get(&path).await.status, StatusCode::OK);
    }

    // An editor fixes the title with psql.
    diesel::sql_query("UPDATE articles SET title = 'A title fixed by hand' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(article)
        .execute(&mut pair.one.connect())
        .unwrap();
    let took = on_both([&on_one, &on_two], &path, |page| {
        page.body.contains("A title fixed by hand")
    })
    .await;
    assert!(took.is_some(), "an instance still shows the old title");
    let front = on_both([&on_one, &on_two], "/", |page| {
        page.body.contains("A title fixed by hand")
    })
    .await;
    assert!(front.is_some(), "a front page still shows the old title");
}

#[tokio::test]
async fn changes_are_still_heard_after_the_listening_connection_is_killed() {
    let pair = pair(|_| {}).await;
    let reader = Reader::new(&pair.through);
    reader.sign_up("killed@example.com", PASSWORD).await;
    let stolen = reader.session_cookie().expect("a session cookie");
    let apps = [&pair.one, &pair.two];
    let logged_in = |page: &Page| page.status == StatusCode::OK;
    assert!(
        replayed_on_both(apps, &stolen, "/account", logged_in)
            .await
            .is_some()
    );

    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'gazette-changes'",
    )
    .execute(&mut pair.one.connect())
    .unwrap();
    pair.one.wait_until_listening(2).await;
    // Cached again after the reconnection emptied the caches.
    assert!(
        replayed_on_both(apps, &stolen, "/account", logged_in)
            .await
            .is_some()
    );

    reader.log_out().await;
    let took = replayed_on_both(apps, &stolen, "/account", |page| {
        page.status == StatusCode::SEE_OTHER
    })
    .await;
    assert!(
        took.is_some(),
        "a change after the reconnection was not heard"
    );
}

#[tokio::test]
async fn a_warm_member_page_is_served_without_asking_for_the_session() {
    let pair = pair(|_| {}).await;
    let reader = Reader::new(&pair.one);
    reader.sign_up("warm@example.com", PASSWORD).await;
    let free = pair.one.free_ids()[0];
    assert_eq!(reader.read_article(free).await.status, StatusCode::OK);

    // Another session holds the login tables: a page that asked for the session, the
    // subscription or the meter would wait (and fail after the statement timeout).
    let url = pair.one.db.url.clone();
    let (locked, is_locked) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query(
                "LOCK TABLE user_sessions, subscriptions, meter_reads IN ACCESS EXCLUSIVE MODE",
            )
            .execute(conn)?;
            let _ = locked.send(());
            let _ = released.recv_timeout(StdDuration::from_secs(20));
            Ok(())
        })
        .unwrap();
    });
    is_locked.recv().unwrap();
    // Had it asked, the statement timeout would have turned the wait into a 503.
    let page = reader.read_article(free).await;
    release.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Log out"), "served as the member");
}
