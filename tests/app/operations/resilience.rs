use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn losing_the_database_gives_quick_503_pages_not_hangs() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    assert_eq!(reader.get("/").await.status, StatusCode::OK);

    app.db.destroy();

    let outage = Instant::now();
    for path in ["/", "/articles/1", "/healthz"] {
        loop {
            let started = Instant::now();
            let page = reader.get(path).await;
            // Generous: the point is that it does not hang on a dead database.
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{path} took {:?}",
                started.elapsed()
            );
            if page.status == StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            // What memory holds may be served until the instance hears its change listener
            // drop (moments after the outage); from then on the caches are off.
            assert!(
                outage.elapsed() < Duration::from_secs(2),
                "{path} still answers {} two seconds into the outage",
                page.status
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let page = reader.get("/").await;
    assert!(page.body.contains("We will be right back"), "a styled page");
    assert!(page.header("retry-after").is_some());
}

#[tokio::test]
async fn the_app_heals_when_the_database_comes_back() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    app.db.destroy();
    assert_eq!(
        reader.get("/healthz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // The database returns (empty this time, as after a restore): the app reconnects by itself.
    gazette::db::prepare(&app.db.url).unwrap();
    assert_eq!(reader.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(reader.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_huge_form_gets_a_quick_4xx() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let token = reader.csrf_token().await;
    let huge = "p".repeat(1024 * 1024);
    let started = Instant::now();
    let page = reader
        .post(
            "/login",
            &[
                ("email", "a@example.com"),
                ("password", &huge),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_stuck_database_gives_a_503_instead_of_a_hang() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::spawn().await;
    app.wait_until_listening(1).await;
    let reader = Reader::new(&app);
    assert_eq!(reader.get("/").await.status, StatusCode::OK);

    let unread = format!("/articles/{}", app.free_ids()[1]);
    // Another client holds a lock every article read needs, and does not let go.
    let mut blocker = app.connect();
    blocker
        .batch_execute("BEGIN; LOCK TABLE articles IN ACCESS EXCLUSIVE MODE;")
        .unwrap();
    let started = Instant::now();
    let page = reader.get(&unread).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        reader.get("/").await.status,
        StatusCode::OK,
        "what is already in memory is still served"
    );

    blocker.batch_execute("ROLLBACK;").unwrap();
    assert_eq!(
        reader.get(&unread).await.status,
        StatusCode::OK,
        "fine again once the lock is gone"
    );
}
