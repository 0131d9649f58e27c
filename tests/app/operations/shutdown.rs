//! Stopping as an orchestrator sees it: the real binary, SIGTERM or Ctrl-C, a request in
//! flight, a load balancer polling the health check.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::operations::running::RunningBinary;
use crate::support::{START, TestDatabase};

/// A client that opens a new connection for every request, as a load balancer's checks do.
fn fresh_connections() -> reqwest::Client {
    crate::support::http_client()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn status(client: &reqwest::Client, method: reqwest::Method, url: &str) -> StatusCode {
    client.request(method, url).send().await.unwrap().status()
}

/// Holds `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in an open transaction until the
/// returned sender is used (or dropped): every query on the table waits meanwhile.
fn lock_table(db: &TestDatabase, table: &'static str) -> mpsc::Sender<()> {
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let mut conn = db.connect();
    std::thread::spawn(move || {
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query(format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
                .execute(conn)?;
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv();
            Ok(())
        })
        .unwrap();
    });
    locked_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the table is locked");
    release_tx
}

/// Waits until some query of `db` is waiting for a lock.
async fn a_query_waits_for_a_lock(db: &Arc<TestDatabase>) {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        #[derive(QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            waiting: i64,
        }
        let mut conn = db.connect();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let Waiting { waiting } = diesel::sql_query(
                "SELECT count(*) AS waiting FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result(&mut conn)
            .unwrap();
            if waiting > 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no query is waiting for the lock"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
}

fn first_article_id(db: &TestDatabase) -> i64 {
    use gazette::schema::articles::dsl::*;
    articles
        .order(id.asc())
        .select(id)
        .first(&mut db.connect())
        .unwrap()
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_finishes_the_request_in_flight_and_exits_0() {
    const DRAIN: Duration = Duration::from_secs(2);
    const TIMEOUT: Duration = Duration::from_secs(10);
    let mut app = RunningBinary::start(&[
        ("RUST_LOG", "info"),
        ("SHUTDOWN_DRAIN_SECONDS", "2"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "10"),
    ])
    .await;
    let checks = fresh_connections();
    let health = app.url("/healthz");
    assert_eq!(
        status(&checks, reqwest::Method::GET, &health).await,
        StatusCode::OK
    );
    // A browser that keeps an idle connection open and sends nothing more.
    let idle_browser = crate::support::http_client()
        .build()
        .expect("an HTTP client");
    assert_eq!(
        status(&idle_browser, reqwest::Method::GET, &app.url("/cookies")).await,
        StatusCode::OK
    );

    // A reader whose article is stuck behind a lock; its client keeps connections open
    // (keep-alive), as browsers do.
    let article = first_article_id(&app.db);
    let release = lock_table(&app.db, "articles");
    let in_flight = tokio::spawn({
        let url = app.url(&format!("/articles/{article}"));
        async move {
            let reader = crate::support::http_client()
                .build()
                .expect("an HTTP client");
            let response = reader
                .get(url)
                .send()
                .await
                .expect("the request is answered");
            let status = response.status();
            let body = response.text().await.expect("the page is read whole");
            (status, body, Instant::now(), reader)
        }
    });
    a_query_waits_for_a_lock(&app.db).await;

    let signalled = Instant::now();
    app.send(libc::SIGTERM);
    let unhealthy = loop {
        if status(&checks, reqwest::Method::GET, &health).await == StatusCode::SERVICE_UNAVAILABLE {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < DRAIN,
            "the health check never said 503"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(unhealthy < Duration::from_millis(500), "503 at once");
    assert_eq!(
        status(&checks, reqwest::Method::HEAD, &health).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // (Not the front page: it lists the articles, which are locked.)
    assert_eq!(
        status(&checks, reqwest::Method::GET, &app.url("/login")).await,
        StatusCode::OK,
        "pages are still served while draining"
    );

    // At the end of the drain no connection is accepted any more; the request still waits.
    let stopped_accepting = loop {
        let said = app
            .lines()
            .iter()
            .any(|line| line.contains("no longer accepting"));
        if said {
            break signalled.elapsed();
        }
        assert!(
            signalled.elapsed() < DRAIN + Duration::from_secs(2),
            "the drain did not end"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(stopped_accepting >= DRAIN, "ended at {stopped_accepting:?}");
    // (The accepting thread takes the news a moment after the log line.)
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late_reader = tokio::spawn({
        let (client, url) = (fresh_connections(), app.url("/login"));
        async move {
            client
                .get(url)
                .send()
                .await
                .map(|response| response.status())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !late_reader.is_finished(),
        "a reader arriving now is not served"
    );
    assert!(!in_flight.is_finished(), "the request waits for its lock");

    release.send(()).unwrap();
    let (status, body, answered, _reader) = in_flight.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("</html>"), "a whole page");

    let exit = app
        .exited_by(signalled + DRAIN + TIMEOUT + Duration::from_secs(1))
        .await
        .expect("the process exits within drain + timeout");
    let exited = signalled.elapsed();
    assert_eq!(exit.code(), Some(0), "{exit}");
    // Both browsers' clients still hold their connections: the server closed the idle one and
    // the other after its answer, so nothing was left to wait for.
    drop(idle_browser);
    let after_answer = exited.saturating_sub(answered.duration_since(signalled));
    assert!(
        after_answer < Duration::from_secs(2),
        "exited {after_answer:?} after the last answer"
    );
    let late = late_reader.await.unwrap();
    assert!(
        late.is_err(),
        "the late reader is refused, not served: {late:?}"
    );
    let lines = app.lines().join("\n");
    assert!(lines.contains("housekeeping stopped"), "{lines}");
    assert!(lines.contains("mail sender stopped"), "{lines}");
    eprintln!(
        "shutdown timings after SIGTERM (drain {}s): 503 at {:.3}s, no longer accepting at \
         {:.3}s, request in flight answered at {:.3}s, exit 0 at {:.3}s",
        DRAIN.as_secs(),
        seconds(unhealthy),
        seconds(stopped_accepting),
        seconds(answered.duration_since(signalled)),
        seconds(exited)
    );
}

#[tokio::test]
async fn ctrl_c_drains_and_a_second_ctrl_c_stops_at_once() {
    let mut app =
        RunningBinary::start(&[("RUST_LOG", "info"), ("SHUTDOWN_DRAIN_SECONDS", "60")]).await;
    let checks = fresh_connections();
    let health = app.url("/healthz");

    let signalled = Instant::now();
    app.send(libc::SIGINT);
    loop {
        let answer = status(&checks, reqwest::Method::GET, &health).await;
        if answer == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(2),
            "still {answer}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        status(&checks, reqwest::Method::GET, &app.url("/")).await,
        StatusCode::OK,
        "Ctrl-C drains like SIGTERM"
    );

    let again = Instant::now();
    app.send(libc::SIGINT);
    let exit = app
        .exited_by(again + Duration::from_secs(2))
        .await
        .expect("a second signal stops at once, not after the 60 s drain");
    assert_ne!(
        exit.code(),
        Some(0),
        "an abrupt stop is not reported as clean"
    );
    eprintln!(
        "second Ctrl-C: exited {:.3}s after it",
        seconds(again.elapsed())
    );
}

#[tokio::test]
async fn housekeeping_stops_between_steps_never_in_the_middle_of_one() {
    let db = Arc::new(
        tokio::task::spawn_blocking(TestDatabase::create)
            .await
            .unwrap(),
    );
    diesel::sql_query(
        "INSERT INTO login_throttle (scope, key, failures, window_started_at) \
         VALUES ('address', 'closed long ago', 3, $1)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(START - time::Duration::days(60))
    .execute(&mut db.connect())
    .unwrap();
    // An old meter read, which the step after the throttle sweep would prune.
    diesel::sql_query(
        "INSERT INTO users (email, password_hash) VALUES ('old@example.com', '$argon2id$x')",
    )
    .execute(&mut db.connect())
    .unwrap();
    diesel::sql_query(
        "INSERT INTO meter_reads (user_id, month, article_id, opened_at) \
         SELECT u.id, '2026-01-01', a.id, '2026-01-02' FROM users u, articles a LIMIT 1",
    )
    .execute(&mut db.connect())
    .unwrap();
    // The first round starts at once and waits on the lock half-way through.
    let release = lock_table(&db, "login_throttle");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let pool = gazette::db::pool(&db.url, 2);
    let clock: Arc<dyn gazette::clock::Clock> = Arc::new(gazette::clock::ManualClock::new(START));
    let housekeeping = crate::helpers::housekeeping(pool, clock, time::Duration::minutes(15))
        .spawn(Duration::from_secs(600), async move {
            let _ = stop_rx.await;
        });
    a_query_waits_for_a_lock(&db).await;

    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !housekeeping.is_finished(),
        "a round that has begun is not abandoned"
    );

    release.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), housekeeping)
        .await
        .expect("housekeeping stops once its round is done")
        .unwrap();
    let left: i64 = gazette::schema::login_throttle::table
        .count()
        .get_result(&mut db.connect())
        .unwrap();
    assert_eq!(left, 0, "the step that had begun ran to its end");
    let meter_reads: i64 = gazette::schema::meter_reads::table
        .count()
        .get_result(&mut db.connect())
        .unwrap();
    assert_eq!(meter_reads, 1, "no step began after the stop");
}
