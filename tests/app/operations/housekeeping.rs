//! Stale rows are deleted; live ones stay.

use diesel::prelude::*;
use time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn closed_throttle_windows_and_long_ended_sessions_are_swept() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "sweep@example.com").await;
    let mut conn = app.connect();
    let long_ago = START - Duration::days(60);
    diesel::sql_query(
        "INSERT INTO login_throttle (scope, key, failures, window_started_at) VALUES \
         ('address', 'old', 3, $1), ('address', 'fresh', 3, $2)",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(long_ago)
    .bind::<diesel::sql_types::Timestamptz, _>(START)
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO user_sessions (user_id, token_hash, created_at, last_seen_at, expires_at, revoked_at) \
         SELECT id, sha256('old'), $1, $1, $1 + interval '30 days', $1 FROM users",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(long_ago)
    .execute(&mut conn)
    .unwrap();

    let swept_counters =
        gazette::db::throttle::sweep(&mut conn, START - gazette::domain::throttle::WINDOW).unwrap();
    let swept_sessions =
        gazette::db::sessions::sweep(&mut conn, START - Duration::days(40)).unwrap();

    assert_eq!((swept_counters, swept_sessions), (1, 1));
    let sessions: i64 = gazette::schema::user_sessions::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(sessions, 1, "the live login stays");
}
