//! Database fixtures for tests that need a state no request can make, or another session
//! holding locks while requests run: raw SQL belongs here, not in the tests.

use std::time::Duration;

use diesel::prelude::*;

use super::{START, TestApp};

/// A payment the processor took and whose proof was saved, but whose request stopped before
/// recording the subscription.
pub fn leave_charged_checkout(app: &TestApp, address: &str) {
    use diesel::prelude::*;
    diesel::sql_query(
        "INSERT INTO checkouts (user_id, plan_code, amount_cents, period_value_cents, period_months, \
           period_end_at_least, payment_key, gateway, gateway_reference, started_at, charged_at) \
         SELECT id, 'monthly', 800, 800, 1, $1 + interval '1 month', 'checkout-left-behind-0001', \
           'fake', 'ref-left-behind', $1, $1 FROM users WHERE email = $2",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(START)
    .bind::<diesel::sql_types::Text, _>(address)
    .execute(&mut app.connect())
    .unwrap();
}

/// Locks the checkouts table from another connection for `hold`, returning once it is held.
pub fn hold_lock_on_checkouts(url: &str, hold: Duration) {
    use diesel::prelude::*;
    let (locked, is_locked) = std::sync::mpsc::channel();
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).expect("connecting");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query("LOCK TABLE checkouts IN ACCESS EXCLUSIVE MODE").execute(conn)?;
            let _ = locked.send(());
            std::thread::sleep(hold);
            Ok(())
        })
        .expect("holding the lock");
    });
    is_locked.recv().expect("the lock was taken");
}

/// Counts the app's sessions waiting for a lock in the test database.
pub fn waiting_on_locks(conn: &mut PgConnection) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        waiting: i64,
    }
    diesel::sql_query(
        "SELECT count(*) AS waiting FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .get_result::<Count>(conn)
    .map(|c| c.waiting)
    .unwrap_or(0)
}

/// Holds a transaction open in another session while `requests` run, until `waiters` of
/// them are blocked on it; `inside` runs in that transaction first.
pub async fn while_held<T>(
    app: &TestApp,
    waiters: i64,
    inside: impl FnOnce(&mut PgConnection) + Send + 'static,
    requests: impl std::future::Future<Output = T>,
) -> T {
    let url = app.db.url.clone();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (ready, is_ready) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).expect("connecting");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            inside(conn);
            let _ = ready.send(());
            let _ = released.recv_timeout(std::time::Duration::from_secs(20));
            Ok(())
        })
        .expect("the competing transaction commits");
    });
    is_ready.recv().expect("the competing transaction started");
    let mut watcher = app.connect();
    let watch = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while waiting_on_locks(&mut watcher) < waiters {
            assert!(
                std::time::Instant::now() < deadline,
                "the requests never waited on the competing transaction"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let _ = release.send(());
    };
    let (output, ()) = tokio::join!(requests, watch);
    holder.join().expect("the competing transaction finished");
    output
}

/// What recording another tab's yearly payment does: with the reader and the current
/// subscription held, the month ends and the year starts.
pub fn record_a_year_paid_in_another_tab(
    conn: &mut PgConnection,
    id: i64,
    at: time::OffsetDateTime,
) {
    use diesel::sql_types::{BigInt, Timestamptz};
    diesel::sql_query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind::<BigInt, _>(id)
        .execute(conn)
        .unwrap();
    diesel::sql_query(
        "SELECT 1 FROM subscriptions WHERE user_id = $1 AND status <> 'ended' FOR UPDATE",
    )
    .bind::<BigInt, _>(id)
    .execute(conn)
    .unwrap();
    diesel::sql_query(
        "UPDATE subscriptions SET status = 'ended', ended_at = $2 \
         WHERE user_id = $1 AND status <> 'ended'",
    )
    .bind::<BigInt, _>(id)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO subscriptions (user_id, plan_code, status, current_period_start, \
           current_period_end, gateway, gateway_reference, period_value_cents) \
         VALUES ($1, 'yearly', 'active', $2, $2 + interval '1 year', 'fake', 'ref-other-tab', 7467)",
    )
    .bind::<BigInt, _>(id)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .unwrap();
}

/// Adds `count` published articles by "Archive Writer" (every third one free), one an hour
/// going back from just before the demo articles' newest, so the archive grows behind them.
pub fn add_archive(app: &TestApp, count: i64) {
    diesel::sql_query(
        "INSERT INTO articles (title, slug, author, author_slug, teaser, body_markdown, body_html, \
           is_premium, published_at, first_published_at, updated_at) \
         SELECT 'Archive article number ' || g, 'archive-article-' || g, 'Archive Writer', \
           'archive-writer', 'The teaser of archive article ' || g || '.', \
           'The body of archive article ' || g || '.', \
           '<p>The body of archive article ' || g || '.</p>', g % 3 <> 0, \
           $1 - g * interval '1 hour', $1 - g * interval '1 hour', $1 - g * interval '1 hour' \
         FROM generate_series(1, $2) g",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(START - time::Duration::days(100))
    .bind::<diesel::sql_types::BigInt, _>(count)
    .execute(&mut app.connect())
    .expect("adding archive articles");
}

/// Makes `next` the id of the next article written, as years of drafts never published would.
pub fn skip_article_ids_to(app: &TestApp, next: i64) {
    diesel::sql_query("SELECT setval(pg_get_serial_sequence('articles', 'id'), $1, false)")
        .bind::<diesel::sql_types::BigInt, _>(next)
        .execute(&mut app.connect())
        .expect("moving the articles' ids on");
}

/// Holds an exclusive lock on the accounts table from another connection until the guard is
/// dropped: any request that reads or writes an account waits meanwhile.
pub struct UsersLocked(
    Option<std::sync::mpsc::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

pub fn lock_users_table(app: &TestApp) -> UsersLocked {
    let (locked, is_locked) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let url = app.db.url.clone();
    let holder = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).expect("connecting");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            diesel::sql_query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE").execute(conn)?;
            let _ = locked.send(());
            let _ = released.recv_timeout(Duration::from_secs(20));
            Ok(())
        })
        .expect("holding the lock");
    });
    is_locked.recv().expect("the lock was taken");
    UsersLocked(Some(release), Some(holder))
}

impl Drop for UsersLocked {
    fn drop(&mut self) {
        drop(self.0.take());
        if let Some(holder) = self.1.take() {
            let _ = holder.join();
        }
    }
}

/// The kind, recipient and account of every mail waiting in the outbox, oldest first.
pub fn outbox(app: &TestApp) -> Vec<(String, String, Option<i64>)> {
    use gazette::schema::mail_outbox;
    mail_outbox::table
        .order(mail_outbox::id)
        .select((
            mail_outbox::kind,
            mail_outbox::recipient,
            mail_outbox::user_id,
        ))
        .load(&mut app.connect())
        .expect("reading the outbox")
}

/// The last error of every mail waiting in the outbox that failed before.
pub fn outbox_errors(app: &TestApp) -> Vec<String> {
    use gazette::schema::mail_outbox;
    mail_outbox::table
        .order(mail_outbox::id)
        .select(mail_outbox::last_error)
        .load::<Option<String>>(&mut app.connect())
        .expect("reading the outbox")
        .into_iter()
        .flatten()
        .collect()
}

/// A picture in the media library, as an upload leaves it: its row, its variants and their
/// bytes in the store. No image is decoded: the bytes only start like a JPEG.
pub struct LibraryPicture {
    pub id: i64,
    pub hash: String,
    pub width: u32,
    pub height: u32,
}

impl LibraryPicture {
    /// The address of its variant `width` pixels wide.
    pub fn variant(&self, width: u32) -> String {
        format!("/media/{}-{width}.jpg", self.hash)
    }

    /// The widths it has, narrowest first.
    pub fn widths(&self) -> Vec<u32> {
        gazette::domain::media::variant_widths(self.width)
    }
}

/// Adds a `width` × `height` JPEG called `name` with alt text `alt` to the library.
pub fn add_picture(
    app: &TestApp,
    name: &str,
    alt: &str,
    width: u32,
    height: u32,
) -> LibraryPicture {
    use gazette::domain::media::{Format, scaled_height, variant_widths};
    use std::sync::atomic::{AtomicU64, Ordering};
    static MADE: AtomicU64 = AtomicU64::new(1);
    let hash = format!(
        "{:032x}{:032x}",
        u128::from(std::process::id()),
        MADE.fetch_add(1, Ordering::SeqCst)
    );
    let widths = variant_widths(width);
    let mut conn = app.connect();
    let as_i32 = |n: u32| i32::try_from(n).unwrap();
    let variants: Vec<(i32, i32, Format, i32)> = widths
        .iter()
        .map(|&w| {
            (
                as_i32(w),
                as_i32(scaled_height(w, width, height)),
                Format::Jpeg,
                2_000,
            )
        })
        .collect();
    let row = gazette::db::media::insert(
        &mut conn,
        &gazette::models::NewMedia {
            hash: &hash,
            format: "jpeg",
            width: as_i32(width),
            height: as_i32(height),
            alt,
            original_name: name,
            original_bytes: 250_000,
            uploaded_by: None,
        },
        &variants,
    )
    .expect("adding a picture");
    for w in widths {
        let bytes = [
            &[0xFF, 0xD8, 0xFF, 0xE0][..],
            hash.as_bytes(),
            &w.to_be_bytes(),
        ]
        .concat();
        gazette::db::media::put_blob(&mut conn, &format!("{hash}-{w}.jpg"), &bytes)
            .expect("storing a variant");
    }
    LibraryPicture {
        id: row.id.get(),
        hash,
        width,
        height,
    }
}

/// Makes `picture` the feature image of `article`, with the article's own alt text and
/// credit, as a save from the desk would.
pub fn set_feature(app: &TestApp, article: i64, picture: Option<i64>, alt: &str, credit: &str) {
    use diesel::sql_types::{BigInt, Nullable, Text};
    diesel::sql_query(
        "UPDATE articles SET feature_media_id = $1, feature_alt = $2, feature_credit = $3 \
         WHERE id = $4",
    )
    .bind::<Nullable<BigInt>, _>(picture)
    .bind::<Text, _>(alt)
    .bind::<Text, _>(credit)
    .bind::<BigInt, _>(article)
    .execute(&mut app.connect())
    .expect("setting a feature image");
}

/// Rewrites `article`'s body as the desk stores it: `markdown` rendered with the library's
/// pictures, and the pictures it places noted.
pub fn set_body_with_pictures(app: &TestApp, article: i64, markdown: &str) {
    use diesel::sql_types::{BigInt, Text};
    use gazette::domain::ids::{ArticleId, MediaId};
    let mut conn = app.connect();
    let ids: Vec<MediaId> = gazette::markdown::placed_ids(markdown)
        .into_iter()
        .map(MediaId::new)
        .collect();
    let pictures = gazette::db::media::pictures(&mut conn, &ids).expect("reading pictures");
    let rendered = gazette::markdown::render(markdown, |id| {
        pictures
            .get(&MediaId::new(id))
            .map(gazette::desk::placed_of)
    })
    .expect("library pictures only");
    diesel::sql_query("UPDATE articles SET body_markdown = $1, body_html = $2 WHERE id = $3")
        .bind::<Text, _>(markdown)
        .bind::<Text, _>(&rendered.html)
        .bind::<BigInt, _>(article)
        .execute(&mut conn)
        .expect("rewriting an article");
    let placed: Vec<MediaId> = rendered.placed.into_iter().map(MediaId::new).collect();
    gazette::db::media::set_article_media(&mut conn, ArticleId::new(article), &placed)
        .expect("noting the pictures placed");
}
