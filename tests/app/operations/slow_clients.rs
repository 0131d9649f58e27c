//! Slow and idle clients cannot hold the server: request heads that crawl in are cut off,
//! idle connections are closed, and ordinary readers are served all the while.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

use crate::helpers::*;

const TIMEOUT: Duration = Duration::from_secs(1);
const DRIBBLE_EVERY: Duration = Duration::from_millis(300);
/// "Within a few timeouts": a head timer of one second plus the time to close.
const CUT_OFF_WITHIN: Duration = Duration::from_millis(2500);
/// How long a test goes on dribbling before it gives up on the server cutting it off.
const GIVE_UP_AFTER: Duration = Duration::from_secs(8);

async fn app_with_short_timeouts() -> TestApp {
    TestApp::builder()
        .settings(|settings| {
            settings.client_request_timeout = TIMEOUT;
            settings.keep_alive = TIMEOUT;
        })
        .start()
        .await
}

/// Reads until the server closes the connection, keeping what it sent in `received`.
async fn until_closed(mut read: OwnedReadHalf, received: Arc<Mutex<Vec<u8>>>) {
    let mut buffer = [0u8; 4096];
    loop {
        match read.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => received.lock().unwrap().extend_from_slice(&buffer[..n]),
        }
    }
}

/// Sends `first` at once, then a request head one byte every 300 ms that never ends; returns
/// how long the server let the dribbling go on, and what it answered.
async fn dribble_a_head(port: u16, first: &[u8]) -> (Duration, String) {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (read, mut write) = stream.into_split();
    let received = Arc::new(Mutex::new(Vec::new()));
    let closed = tokio::spawn(until_closed(read, received.clone()));
    write.write_all(first).await.unwrap();
    let started = Instant::now();
    let head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'));
    for byte in head {
        if closed.is_finished() || started.elapsed() > GIVE_UP_AFTER {
            break;
        }
        // Writing to a connection the server has closed fails; the reader says when.
        let _ = write.write_all(&[byte]).await;
        tokio::time::sleep(DRIBBLE_EVERY).await;
    }
    let cut_off = started.elapsed();
    closed.abort();
    let answered = String::from_utf8_lossy(&received.lock().unwrap()).into_owned();
    (cut_off, answered)
}

/// Ordinary readers, each reading the front page and an article over and over until `until`;
/// returns how many pages they read, every one of which must be a 200.
async fn ordinary_readers(app: &TestApp, until: Instant) -> usize {
    let article = app.free_ids()[0];
    let readers: Vec<_> = (0..4).map(|_| Reader::new(app)).collect();
    let pages = join_all(readers.iter().map(|reader| async move {
        let mut read = 0;
        while Instant::now() < until {
            for path in ["/".to_string(), format!("/articles/{article}")] {
                let page = reader.get(&path).await;
                assert_eq!(
                    page.status,
                    StatusCode::OK,
                    "{path} while slow clients wait"
                );
                read += 1;
                // A reader's pace, not a load test: other tests share the machine.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        read
    }))
    .await;
    pages.into_iter().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_heads_sent_a_byte_at_a_time_are_cut_off_while_readers_are_served() {
    let app = app_with_short_timeouts().await;
    let started = Instant::now();
    let slow = tokio::spawn({
        let port = app.port;
        async move {
            let clients: Vec<_> = (0..50)
                .map(|_| tokio::spawn(dribble_a_head(port, b"")))
                .collect();
            let mut outcomes = Vec::new();
            for client in clients {
                outcomes.push(client.await.unwrap());
            }
            outcomes
        }
    });
    let pages = ordinary_readers(&app, started + CUT_OFF_WITHIN).await;
    let outcomes = slow.await.unwrap();

    let slowest = outcomes.iter().map(|(cut, _)| *cut).max().unwrap();
    for (cut_off, answered) in &outcomes {
        assert!(
            *cut_off < CUT_OFF_WITHIN,
            "a slow head was allowed to go on for {cut_off:?}"
        );
        // 408 is actix's head timeout speaking (the connection watch would close in silence,
        // and later).
        assert!(
            answered.starts_with("HTTP/1.1 408"),
            "answered {answered:?} after {cut_off:?}"
        );
    }
    eprintln!(
        "50 slow heads (a byte every 300 ms, timeout {TIMEOUT:?}) cut off after at most {:.3}s; \
         {pages} pages served to ordinary readers meanwhile",
        slowest.as_secs_f64()
    );
}

#[tokio::test]
async fn a_slow_head_after_a_quick_request_on_the_same_connection_is_cut_off_too() {
    let app = app_with_short_timeouts().await;
    let (cut_off, answered) = dribble_a_head(
        app.port,
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    )
    .await;
    assert!(answered.contains("200 OK"), "the first request is served");
    assert!(
        cut_off < CUT_OFF_WITHIN + TIMEOUT,
        "the second head was allowed to crawl in for {cut_off:?}"
    );
    eprintln!(
        "slow second head on a kept-alive connection cut off after {:.3}s",
        cut_off.as_secs_f64()
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_keep_alive_limit() {
    let app = app_with_short_timeouts().await;
    let stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let (read, mut write) = stream.into_split();
    write
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let sent = Instant::now();
    let received = Arc::new(Mutex::new(Vec::new()));
    tokio::time::timeout(GIVE_UP_AFTER, until_closed(read, received.clone()))
        .await
        .expect("the idle connection is closed");
    let idle_for = sent.elapsed();
    assert!(
        String::from_utf8_lossy(&received.lock().unwrap()).contains("200 OK"),
        "served first"
    );
    // actix's keep-alive timer (its clock is cached, so it may fire a little early); the
    // connection watch would close it later, at twice the limit.
    assert!(
        idle_for >= TIMEOUT / 2 && idle_for < TIMEOUT * 3 / 2,
        "closed after {idle_for:?}"
    );
}
