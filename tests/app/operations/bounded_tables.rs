//! No table grows without bound, and nothing a client does that is refused is stored: sessions
//! per reader, successful logins per address, an IPv6 client counted by its /64, refused
//! attempts that leave no counter, mail that free accounts cannot multiply, one processor
//! customer and checkout per account, the meter of old months, and sweeps that go in batches
//! through indexes until a backlog is gone.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text, Timestamptz};
use gazette::domain::meter::Month;
use reqwest::StatusCode;
use time::Duration;
use time::macros::date;

use crate::helpers::*;

fn user_id(app: &TestApp, address: &str) -> i64 {
    use gazette::schema::users::dsl::*;
    users
        .filter(email.eq(address))
        .select(id)
        .first(&mut app.connect())
        .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(app: &TestApp, sql: &str, user: i64) -> i64 {
    diesel::sql_query(sql)
        .bind::<BigInt, _>(user)
        .get_result::<Count>(&mut app.connect())
        .unwrap()
        .n
}

fn live_sessions(app: &TestApp, user: i64) -> i64 {
    count(
        app,
        "SELECT count(*) AS n FROM user_sessions WHERE user_id = $1 AND revoked_at IS NULL",
        user,
    )
}

fn devices_listed(page: &Page) -> usize {
    page.body.matches("action=\"/account/sessions/").count()
        - page
            .body
            .matches("action=\"/account/sessions/logout-all\"")
            .count()
}

#[tokio::test]
async fn a_reader_keeps_twenty_live_sessions_and_the_least_recently_used_end_first() {
    let app = TestApp::spawn().await;
    let first = Reader::signed_up(&app, "many@example.com").await;
    let user = user_id(&app, "many@example.com");
    let mut others = Vec::new();
    for n in 2..=25 {
        app.clock.advance(Duration::minutes(1));
        if n == 12 {
            // The first browser is used again: it is no longer the least recently used.
            assert_eq!(first.get("/account").await.status, StatusCode::OK);
        }
        let reader = Reader::new(&app);
        let page = reader.log_in("many@example.com", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "login {n}");
        others.push(reader);
    }

    assert_eq!(live_sessions(&app, user), 20);
    assert_eq!(first.get("/account").await.status, StatusCode::OK);
    for (n, reader) in (2..).zip(&others) {
        let page = reader.get("/account").await;
        let expected = if n <= 6 {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::OK
        };
        assert_eq!(page.status, expected, "browser {n}");
        if n == 25 {
            assert_eq!(devices_listed(&page), 20);
        }
    }
}

#[tokio::test]
async fn the_device_list_shows_at_most_twenty_sessions() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "legacy@example.com").await;
    let user = user_id(&app, "legacy@example.com");
    // Live logins left from before there was a cap.
    diesel::sql_query(
        "INSERT INTO user_sessions (user_id, token_hash, created_at, last_seen_at, expires_at) \
         SELECT $1, sha256(n::text::bytea), $2, $2, $2 + interval '30 days' \
         FROM generate_series(1, 200) AS n",
    )
    .bind::<BigInt, _>(user)
    .bind::<Timestamptz, _>(START - Duration::hours(1))
    .execute(&mut app.connect())
    .unwrap();
    let page = reader.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(devices_listed(&page), 20);
    assert!(
        page.body.contains("This device"),
        "the most recently used is listed"
    );
}

#[tokio::test]
async fn ended_sessions_kept_per_reader_are_bounded() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "ended@example.com").await;
    let user = user_id(&app, "ended@example.com");
    // A hundred logins that ended: revoked, expired, or idle for too long.
    diesel::sql_query(
        "INSERT INTO user_sessions (user_id, token_hash, created_at, last_seen_at, expires_at, revoked_at) \
         SELECT $1, sha256(n::text::bytea), $2 - n * interval '1 hour', $2 - n * interval '1 hour', \
                $2 + interval '1 day', CASE WHEN n % 3 = 0 THEN $2 END \
         FROM generate_series(1, 100) AS n \
         UNION ALL \
         SELECT $1, sha256(('x' || n)::bytea), $2 - interval '40 days', $2 - interval '40 days', \
                $2 - interval '10 days', NULL \
         FROM generate_series(1, 10) AS n",
    )
    .bind::<BigInt, _>(user)
    .bind::<Timestamptz, _>(START - Duration::days(15))
    .execute(&mut app.connect())
    .unwrap();

    let reader = Reader::new(&app);
    assert_eq!(
        reader.log_in("ended@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let all = count(
        &app,
        "SELECT count(*) AS n FROM user_sessions WHERE user_id = $1",
        user,
    );
    assert_eq!(
        all,
        2 + 20,
        "two live logins and the twenty most recently used ended ones"
    );
    assert_eq!(reader.get("/account").await.status, StatusCode::OK);
}

#[tokio::test]
async fn successful_logins_from_one_address_are_limited() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    Reader::signed_up(&app, "busy@example.com").await;
    for n in 0..60 {
        let page = Reader::new(&app)
            .log_in_from("busy@example.com", PASSWORD, "203.0.113.8")
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "login {n}");
    }
    let page = Reader::new(&app)
        .log_in_from("busy@example.com", PASSWORD, "203.0.113.8")
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = page.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    let elsewhere = Reader::new(&app)
        .log_in_from("busy@example.com", PASSWORD, "203.0.113.9")
        .await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
    app.clock.advance(Duration::minutes(16));
    let later = Reader::new(&app)
        .log_in_from("busy@example.com", PASSWORD, "203.0.113.8")
        .await;
    assert_eq!(later.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_success_limit_is_configurable() {
    let app = TestApp::builder()
        .settings(|s| s.limits.logins_per_address = 3)
        .start()
        .await;
    Reader::signed_up(&app, "few@example.com").await;
    for _ in 0..3 {
        let page = Reader::new(&app).log_in("few@example.com", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    let page = Reader::new(&app).log_in("few@example.com", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

fn months_kept(app: &TestApp, user: i64) -> Vec<time::Date> {
    use gazette::schema::meter_reads::dsl::*;
    meter_reads
        .filter(user_id.eq(user))
        .select(month)
        .distinct()
        .order(month)
        .load(&mut app.connect())
        .unwrap()
}

fn read_in(app: &TestApp, user: i64, months: &[time::Date]) {
    for first_day in months {
        diesel::sql_query(
            "INSERT INTO meter_reads (user_id, month, article_id, opened_at) \
             SELECT $1, $2, id, $2::timestamptz FROM articles",
        )
        .bind::<BigInt, _>(user)
        .bind::<Date, _>(*first_day)
        .execute(&mut app.connect())
        .unwrap();
    }
}

#[tokio::test]
async fn the_meter_keeps_the_current_and_previous_month_only() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "meter@example.com").await;
    let user = user_id(&app, "meter@example.com");
    read_in(
        &app,
        user,
        &[
            date!(2025 - 11 - 01),
            date!(2026 - 09 - 01),
            date!(2026 - 10 - 01),
            date!(2026 - 11 - 01),
        ],
    );
    let this_month = Month::of(START).first_day();
    let pruned = gazette::db::meter::prune(&mut app.connect(), this_month).unwrap();
    assert_eq!(
        pruned,
        2 * app.article_ids(true).len() + 2 * app.article_ids(false).len()
    );
    assert_eq!(
        months_kept(&app, user),
        [date!(2026 - 10 - 01), date!(2026 - 11 - 01)]
    );

    // Across a new year, December stays for January.
    read_in(&app, user, &[date!(2026 - 12 - 01), date!(2027 - 01 - 01)]);
    gazette::db::meter::prune(&mut app.connect(), date!(2027 - 01 - 01)).unwrap();
    assert_eq!(
        months_kept(&app, user),
        [date!(2026 - 12 - 01), date!(2027 - 01 - 01)]
    );
}

#[tokio::test]
async fn sweeps_go_through_backlogs_larger_than_a_batch() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "backlog@example.com").await;
    let user = user_id(&app, "backlog@example.com");
    let mut conn = app.connect();
    let long_ago = START - Duration::days(60);
    diesel::sql_query(
        "INSERT INTO login_throttle (scope, key, failures, window_started_at) \
         SELECT 'address', 'stale ' || n, 3, $1 FROM generate_series(1, 2500) AS n",
    )
    .bind::<Timestamptz, _>(long_ago)
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO user_sessions (user_id, token_hash, created_at, last_seen_at, expires_at, revoked_at) \
         SELECT $1, sha256(n::text::bytea), $2, $2, $2 + interval '30 days', \
                CASE WHEN n % 2 = 0 THEN $2 END \
         FROM generate_series(1, 2500) AS n",
    )
    .bind::<BigInt, _>(user)
    .bind::<Timestamptz, _>(long_ago - Duration::days(30))
    .execute(&mut conn)
    .unwrap();
    let months: Vec<time::Date> = (0..250)
        .map(|n| {
            date!(2000 - 01 - 01)
                .checked_add(Duration::days(31 * n))
                .unwrap()
                .replace_day(1)
                .unwrap()
        })
        .collect();
    read_in(&app, user, &months);

    let counters = gazette::db::throttle::sweep(&mut conn, START - Duration::hours(1)).unwrap();
    let sessions = gazette::db::sessions::sweep(&mut conn, START - Duration::days(40)).unwrap();
    let reads = gazette::db::meter::prune(&mut conn, Month::of(START).first_day()).unwrap();
    assert_eq!((counters, sessions), (2500, 2500));
    assert_eq!(
        reads,
        250 * (app.article_ids(true).len() + app.article_ids(false).len())
    );
    assert!(reads > 2 * gazette::db::SWEEP_BATCH as usize);
    assert_eq!(
        live_sessions(&app, user),
        1,
        "the live login of the sign-up stays"
    );
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    indexdef: String,
}

#[tokio::test]
async fn every_sweep_finds_its_rows_through_an_index() {
    let app = TestApp::spawn().await;
    let definitions: Vec<String> =
        diesel::sql_query("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")
            .load::<Index>(&mut app.connect())
            .unwrap()
            .into_iter()
            .map(|i| i.indexdef)
            .collect();
    for (table, columns) in [
        ("login_throttle", "(window_started_at)"),
        ("user_sessions", "(expires_at)"),
        ("user_sessions", "(revoked_at)"),
        ("user_sessions", "(user_id, last_seen_at DESC)"),
        ("meter_reads", "(month)"),
    ] {
        assert!(
            definitions
                .iter()
                .any(|d| d.contains(&format!("ON public.{table} USING btree {columns}"))),
            "an index on {table} {columns}: {definitions:#?}"
        );
    }
}

const ATTACKER: &str = "198.51.100.66";

/// Logs in as each of `emails` with a wrong password from `address`, one after another.
async fn log_in_as_each(app: &TestApp, emails: &[String], address: &str) -> Vec<Page> {
    let guesser = Reader::new(app);
    let mut pages = Vec::new();
    for email in emails {
        pages.push(
            guesser
                .log_in_from(email, "not the password at all", address)
                .await,
        );
    }
    pages
}

/// Asks for a reset link for each of `emails` from `address`, one after another.
async fn forget_each(app: &TestApp, emails: &[String], address: &str) -> Vec<Page> {
    let asker = Reader::new(app);
    let mut pages = Vec::new();
    for email in emails {
        pages.push(asker.forgot_password_from(email, address).await);
    }
    pages
}

fn made_up(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix}{i}@made-up.example"))
        .collect()
}

fn statuses(pages: &[Page]) -> Vec<StatusCode> {
    pages.iter().map(|p| p.status).collect()
}

#[tokio::test]
async fn refused_attempts_with_new_made_up_addresses_store_nothing() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    // The attacker uses up the address's allowances: twenty failed logins and ten reset
    // requests, each for another made-up account.
    let counted = log_in_as_each(&app, &made_up("first", 20), ATTACKER).await;
    assert!(
        statuses(&counted)
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED)
    );
    let counted = forget_each(&app, &made_up("asked", 10), ATTACKER).await;
    assert!(statuses(&counted).iter().all(|s| *s == StatusCode::OK));
    let counters = rows_in(&app, "login_throttle");
    let mail = rows_in(&app, "mail_outbox");

    let refused = log_in_as_each(&app, &made_up("more", 60), ATTACKER).await;
    assert!(
        statuses(&refused)
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{:?}",
        statuses(&refused)
    );
    assert_eq!(
        rows_in(&app, "login_throttle"),
        counters,
        "sixty refused logins stored no counter"
    );
    let refused = forget_each(&app, &made_up("again", 60), ATTACKER).await;
    assert!(
        statuses(&refused)
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{:?}",
        statuses(&refused)
    );
    assert_eq!(
        rows_in(&app, "login_throttle"),
        counters,
        "sixty refused reset requests stored no counter"
    );
    assert!(rows_in(&app, "mail_outbox") <= mail, "nor any mail");
}

#[tokio::test]
async fn a_burst_from_a_new_address_stores_counters_for_the_counted_attempts_only() {
    let app = TestApp::builder()
        .settings(|s| {
            s.trust_proxy_headers = true;
            s.database_pool_size = 16;
            s.limits.address = 5;
        })
        .start()
        .await;
    // Every attempt of the burst finds no counter for the address yet, nor for its made-up
    // account: all of them are decided under lock, at once.
    let attacker = Reader::new(&app);
    let token = attacker.csrf_token().await;
    let emails = made_up("burst", 40);
    let pages = join_all(emails.iter().map(|email| {
        attacker.post_with_headers(
            "/login",
            &[
                ("email", email),
                ("password", "not the password at all"),
                ("csrf_token", &token),
            ],
            &[("X-Forwarded-For", ATTACKER)],
        )
    }))
    .await;
    let refused = statuses(&pages)
        .into_iter()
        .filter(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(refused, 35, "{:?}", statuses(&pages));
    assert_eq!(
        rows_in(&app, "login_throttle"),
        5 * 2 + 1,
        "per counted attempt its account and account-and-address counters, and the address's"
    );

    let pages = join_all(made_up("reset", 40).iter().map(|email| {
        attacker.post_with_headers(
            "/password/forgot",
            &[("email", email), ("csrf_token", &token)],
            &[("X-Forwarded-For", "203.0.113.66")],
        )
    }))
    .await;
    let asked = statuses(&pages)
        .into_iter()
        .filter(|s| *s == StatusCode::OK)
        .count();
    assert_eq!(asked, 10, "{:?}", statuses(&pages));
    assert_eq!(rows_in(&app, "login_throttle"), 11 + 10 + 1);
}

/// An address in the IPv6 network 2001:db8:5:7::/64, different for each `n`.
fn in_one_network(n: usize) -> String {
    format!(
        "2001:db8:5:7:{:x}:{:x}:{:x}:1",
        (n * 7919) % 65536,
        n,
        n % 3
    )
}

async fn sign_up_from(app: &TestApp, email: &str, address: &str) -> Page {
    let reader = Reader::new(app);
    let token = reader.csrf_token().await;
    reader
        .post_with_headers(
            "/signup",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
            &[("X-Forwarded-For", address)],
        )
        .await
}

fn tally(pages: &[Page]) -> Vec<(StatusCode, usize)> {
    let mut tally: Vec<(StatusCode, usize)> = Vec::new();
    for page in pages {
        match tally.iter_mut().find(|(status, _)| *status == page.status) {
            Some((_, n)) => *n += 1,
            None => tally.push((page.status, 1)),
        }
    }
    tally
}

#[tokio::test]
async fn addresses_in_one_ipv6_network_count_as_one_client() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;

    let mut pages = Vec::new();
    for n in 0..30 {
        pages.push(sign_up_from(&app, &format!("many{n}@example.com"), &in_one_network(n)).await);
    }
    assert_eq!(
        tally(&pages),
        [
            (StatusCode::SEE_OTHER, 10),
            (StatusCode::TOO_MANY_REQUESTS, 20)
        ],
        "sign-ups"
    );
    assert_eq!(rows_in(&app, "users"), 10);

    let mut pages = Vec::new();
    for (n, email) in made_up("v6", 60).iter().enumerate() {
        pages.push(
            Reader::new(&app)
                .log_in_from(email, "not the password at all", &in_one_network(100 + n))
                .await,
        );
    }
    assert_eq!(
        tally(&pages),
        [
            (StatusCode::UNAUTHORIZED, 20),
            (StatusCode::TOO_MANY_REQUESTS, 40)
        ],
        "failed logins"
    );

    let mut pages = Vec::new();
    for (n, email) in made_up("forgot", 60).iter().enumerate() {
        pages.push(
            Reader::new(&app)
                .forgot_password_from(email, &in_one_network(200 + n))
                .await,
        );
    }
    assert_eq!(
        tally(&pages),
        [(StatusCode::OK, 10), (StatusCode::TOO_MANY_REQUESTS, 50)],
        "reset requests"
    );
    let asked = outbox(&app).len();
    assert!(asked <= 10, "{asked} mails waiting");

    // The next network is another client.
    let page = sign_up_from(&app, "neighbour@example.com", "2001:db8:5:8::1").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn one_housekeeping_round_deletes_a_backlog_larger_than_one_sweep() {
    let app = TestApp::spawn().await;
    let backlog = 100_000 + 20_000;
    diesel::sql_query(
        "INSERT INTO login_throttle (scope, key, failures, window_started_at) \
         SELECT 'address', 'closed ' || n, 3, $1 FROM generate_series(1, $2) AS n",
    )
    .bind::<Timestamptz, _>(START - Duration::hours(2))
    .bind::<BigInt, _>(backlog)
    .execute(&mut app.connect())
    .unwrap();

    let pool = gazette::db::pool(&app.db.url, 2);
    let clock: std::sync::Arc<dyn gazette::clock::Clock> = app.clock.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // Rounds ten minutes apart: the first one starts at once, and must do it all.
    let housekeeping = crate::helpers::housekeeping(pool, clock, gazette::domain::throttle::WINDOW)
        .spawn(std::time::Duration::from_secs(600), async move {
            let _ = stopped.await;
        });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut left = rows_in(&app, "login_throttle");
    while left > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        left = rows_in(&app, "login_throttle");
    }
    let _ = stop.send(());
    housekeeping.await.unwrap();
    assert_eq!(
        left, 0,
        "counters of closed windows left after the first round"
    );
}

/// Asks, as `reader`, for the account's address to become `new_email`, from client `address`.
async fn change_email_from(reader: &Reader<'_>, new_email: &str, address: &str) -> Page {
    let token = reader.csrf_token().await;
    reader
        .post_with_headers(
            "/account/email",
            &[
                ("new_email", new_email),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
            &[("X-Forwarded-For", address)],
        )
        .await
}

#[tokio::test]
async fn free_accounts_do_not_multiply_the_mail_one_client_can_have_sent() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    let spammer = "198.51.100.77";
    let mut accounts = Vec::new();
    for n in 0..10 {
        accounts.push(Reader::signed_up_from(&app, &format!("free{n}@example.com"), spammer).await);
    }
    // Each account asks for three new addresses: each asks with its right password, well
    // within its own password checks.
    let mut pages = Vec::new();
    for (n, account) in accounts.iter().enumerate() {
        for m in 0..3 {
            let target = format!("target{n}x{m}@made-up.example");
            pages.push(change_email_from(account, &target, spammer).await);
        }
    }
    assert_eq!(
        tally(&pages),
        [
            (StatusCode::SEE_OTHER, 10),
            (StatusCode::TOO_MANY_REQUESTS, 20)
        ],
        "one client asks for ten mails a window, however many accounts it has"
    );

    // One inbox, asked for by every account from addresses of their own.
    let mut pages = Vec::new();
    for (n, account) in accounts.iter().enumerate() {
        pages.push(
            change_email_from(account, "victim@example.com", &format!("203.0.113.{n}")).await,
        );
    }
    assert_eq!(
        tally(&pages),
        [
            (StatusCode::SEE_OTHER, 3),
            (StatusCode::TOO_MANY_REQUESTS, 7)
        ],
        "one inbox is sent three links a window, however many ask"
    );
    eventually("the outbox is sent", || rows_in(&app, "mail_outbox") == 0).await;
    let sent = app.mailbox.delivered();
    assert_eq!(
        sent.iter()
            .filter(|m| m.to.iter().any(|to| to.ends_with("@made-up.example")))
            .count(),
        10
    );
    assert_eq!(app.mailbox.delivered_to("victim@example.com").len(), 3);
    assert_eq!(rows_in(&app, "account_tokens"), 13);
}

#[tokio::test]
async fn a_free_account_choosing_plans_sixty_times_keeps_one_customer_and_one_checkout() {
    let (fake, app) = crate::billing::stripe::shop().await;
    let reader = Reader::signed_up(&app, "indecisive@example.com").await;
    let mut statuses = Vec::new();
    for n in 0..60 {
        let plan = if n % 2 == 0 { "monthly" } else { "yearly" };
        statuses.push(
            crate::billing::stripe::subscribe_from(&reader, plan, "")
                .await
                .status,
        );
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(statuses[0], StatusCode::SEE_OTHER);
    assert_eq!(fake.customers_of("indecisive@example.com").len(), 1);
    assert_eq!(rows_in(&app, "gateway_customers"), 1);
    assert_eq!(rows_in(&app, "hosted_checkouts"), 1);
    assert_eq!(rows_in(&app, "checkouts"), 0);
}

#[tokio::test]
async fn sixty_fresh_browsers_logging_in_add_each_premium_article_to_the_meter_once() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "reader@example.com").await;
    let user = user_id(&app, "reader@example.com");
    let premium = app.premium_ids();
    for n in 0..59 {
        // A new browser opens its free articles, then logs in: they join the account's meter.
        let browser = Reader::new(&app);
        for k in 0..5 {
            browser
                .read_article(premium[(n * 5 + k) % premium.len()])
                .await;
        }
        let page = browser.log_in("reader@example.com", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "login {n}");
    }
    let kept = count(
        &app,
        "SELECT count(*) AS n FROM meter_reads WHERE user_id = $1",
        user,
    );
    assert_eq!(
        kept,
        i64::try_from(premium.len()).unwrap(),
        "one row per premium article and month, however many browsers"
    );
}

#[tokio::test]
async fn free_accounts_do_not_multiply_the_password_notices_one_client_can_have_sent() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    let spammer = "198.51.100.78";
    let mut accounts = Vec::new();
    for n in 0..10 {
        accounts
            .push(Reader::signed_up_from(&app, &format!("notice{n}@example.com"), spammer).await);
    }
    // Each account changes its password twice with the right one: each change mails a notice.
    let mut pages = Vec::new();
    for account in &accounts {
        let mut current = PASSWORD.to_string();
        for m in 0..2 {
            let new = format!("copper kettle meadow {m}7");
            let token = account.csrf_token().await;
            let page = account
                .post_with_headers(
                    "/account/password",
                    &[
                        ("current_password", &current),
                        ("new_password", &new),
                        ("csrf_token", &token),
                    ],
                    &[("X-Forwarded-For", spammer)],
                )
                .await;
            if page.status == StatusCode::SEE_OTHER {
                current = new;
            }
            pages.push(page);
        }
    }
    assert_eq!(
        tally(&pages),
        [
            (StatusCode::SEE_OTHER, 10),
            (StatusCode::TOO_MANY_REQUESTS, 10)
        ],
        "one client has ten notices mailed a window, however many accounts it has"
    );
    eventually("the outbox is sent", || rows_in(&app, "mail_outbox") == 0).await;
    assert_eq!(app.mailbox.delivered().len(), 10);
}
