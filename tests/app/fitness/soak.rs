//! The soak: many simulated readers at once (reading, signing up, logging in and out,
//! subscribing, switching, cancelling, double submitting) from many addresses, then an audit
//! of the database against what every acknowledged response promised.
//!
//! `cargo test` runs a short version. `bench/soak.sh` runs the long one (60 s at 64
//! connections) by setting `GAZETTE_SOAK_SECONDS` and `GAZETTE_SOAK_CONNECTIONS`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;

/// A small deterministic generator, so a failing run can be repeated.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

/// What the responses acknowledged about one account.
struct Account<'a> {
    email: String,
    reader: Reader<'a>,
    logged_in: bool,
    /// The subscription the last acknowledged change promised: plan and status.
    promised: Option<(&'static str, &'static str)>,
}

#[derive(Default)]
struct Tally {
    /// Responses by action and status.
    answers: BTreeMap<(&'static str, u16), usize>,
    /// E-mails whose sign-up was acknowledged, and those refused.
    signed_up: HashSet<String>,
    refused_sign_ups: HashSet<String>,
    /// The final promise for each account.
    promised: HashMap<String, Option<(&'static str, &'static str)>>,
}

impl Tally {
    fn count(&mut self, action: &'static str, status: StatusCode) {
        *self.answers.entry((action, status.as_u16())).or_default() += 1;
    }

    fn server_errors(&self) -> usize {
        self.answers
            .iter()
            .filter(|((_, status), _)| *status >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    fn requests(&self) -> usize {
        self.answers.values().sum()
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of this process (the app and the simulated readers), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

const PLANS: [&str; 2] = ["monthly", "yearly"];

/// How many accounts each simulated connection keeps acting for at once.
const ACCOUNTS_PER_CONNECTION: usize = 8;

async fn simulate<'a>(
    app: &'a TestApp,
    worker: u64,
    deadline: Instant,
    tally: &Mutex<Tally>,
    articles: &[i64],
) {
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (worker + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut accounts: Vec<Account<'a>> = Vec::new();
    let mut made = 0;
    let address = |dice: &mut Dice| {
        format!(
            "10.{}.{}.{}",
            dice.roll(250),
            dice.roll(250),
            1 + dice.roll(250)
        )
    };
    while Instant::now() < deadline {
        let roll = dice.roll(100);
        if accounts.is_empty() || (55..61).contains(&roll) {
            made += 1;
            let email = format!("soak-{worker}-{made}@example.com");
            let reader = Reader::new(app);
            let token = reader.csrf_token().await;
            let page = reader
                .post_with_headers(
                    "/signup",
                    &[
                        ("email", email.as_str()),
                        ("password", PASSWORD),
                        ("csrf_token", &token),
                    ],
                    &[("X-Forwarded-For", &address(&mut dice))],
                )
                .await;
            let mut tally = tally.lock().unwrap();
            tally.count("sign-up", page.status);
            if page.status == StatusCode::SEE_OTHER {
                tally.signed_up.insert(email.clone());
                accounts.push(Account {
                    email,
                    reader,
                    logged_in: true,
                    promised: None,
                });
                // The simulated readers keep a bounded set of browsers, so the memory measured
                // is the app's to explain; an account let go keeps its last promise for the audit.
                if accounts.len() > ACCOUNTS_PER_CONNECTION {
                    let retired = accounts.remove(0);
                    tally.promised.insert(retired.email, retired.promised);
                }
            } else {
                tally.refused_sign_ups.insert(email);
            }
            continue;
        }
        let pick = dice.roll(accounts.len() as u64) as usize;
        let account = &mut accounts[pick];
        let plan = PLANS[dice.roll(2) as usize];
        match roll {
            0..55 => {
                let path = match dice.roll(5) {
                    0 => "/".to_string(),
                    _ => format!(
                        "/articles/{}",
                        articles[dice.roll(articles.len() as u64) as usize]
                    ),
                };
                let page = account.reader.get(&path).await;
                tally.lock().unwrap().count("read", page.status);
            }
            61..67 => {
                if account.logged_in {
                    let page = account.reader.log_out().await;
                    tally.lock().unwrap().count("log-out", page.status);
                    account.logged_in = false;
                } else {
                    let page = account
                        .reader
                        .log_in_via_proxy(&account.email, PASSWORD, &[&address(&mut dice)])
                        .await;
                    tally.lock().unwrap().count("log-in", page.status);
                    account.logged_in = page.status == StatusCode::SEE_OTHER;
                }
            }
            67..78 if account.logged_in => {
                let page = account.reader.subscribe(plan).await;
                tally.lock().unwrap().count("subscribe", page.status);
                if page.status == StatusCode::SEE_OTHER {
                    account.promised = Some((plan, "active"));
                }
            }
            78..84 if account.logged_in => {
                let token = account.reader.csrf_token().await;
                let tab = account.reader.copy();
                let clicks = 2 + dice.roll(2) as usize;
                let pages = join_all((0..clicks).map(|n| {
                    let who = if n % 2 == 0 { &account.reader } else { &tab };
                    who.post("/subscribe", &[("plan", plan), ("csrf_token", &token)])
                }))
                .await;
                let mut tally = tally.lock().unwrap();
                for page in &pages {
                    tally.count("double-submit", page.status);
                }
                if pages.iter().all(|p| p.status == StatusCode::SEE_OTHER) {
                    account.promised = Some((plan, "active"));
                }
            }
            84..91 if account.logged_in => {
                let page = account.reader.cancel_subscription().await;
                tally.lock().unwrap().count("cancel", page.status);
                if page.status == StatusCode::SEE_OTHER
                    && let Some((plan, _)) = account.promised
                {
                    account.promised = Some((plan, "canceled"));
                }
            }
            91..96 => {
                // A guesser at a decoy account, from anywhere.
                let page = Reader::new(app)
                    .log_in_via_proxy(
                        "decoy@example.com",
                        "not the password at all",
                        &[&address(&mut dice)],
                    )
                    .await;
                tally.lock().unwrap().count("wrong-password", page.status);
            }
            _ => {
                let page = account.reader.get("/account").await;
                tally.lock().unwrap().count("account", page.status);
            }
        }
    }
    let mut tally = tally.lock().unwrap();
    for account in accounts {
        tally.promised.insert(account.email, account.promised);
    }
}

#[derive(QueryableByName)]
struct Recorded {
    #[diesel(sql_type = diesel::sql_types::Text)]
    email: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    plan_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
}

#[tokio::test]
async fn a_soak_of_many_readers_keeps_every_acknowledged_promise() {
    let seconds = setting("GAZETTE_SOAK_SECONDS", 6);
    let connections = setting("GAZETTE_SOAK_CONNECTIONS", 24);
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = TestApp::builder()
        .gateway(processor.clone())
        .settings(|s| {
            s.trust_proxy_headers = true;
            s.database_pool_size = 10;
        })
        .start()
        .await;
    Reader::signed_up(&app, "decoy@example.com").await;
    let articles: Vec<i64> = app
        .premium_ids()
        .into_iter()
        .chain(app.free_ids())
        .collect();

    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    let deadline = started + StdDuration::from_secs(seconds);
    let memory = Mutex::new(Vec::new());
    let sample = async {
        while Instant::now() < deadline {
            memory.lock().unwrap().push(resident_kib());
            tokio::time::sleep(StdDuration::from_millis(500)).await;
        }
    };
    let readers =
        join_all((0..connections).map(|w| simulate(&app, w, deadline, &tally, &articles)));
    tokio::join!(readers, sample);
    let elapsed = started.elapsed();
    let tally = tally.into_inner().unwrap();
    let memory = memory.into_inner().unwrap();

    // The audit: what the database holds against what the responses acknowledged.
    let mut conn = app.connect();
    let emails: HashSet<String> = gazette::schema::users::table
        .select(gazette::schema::users::email)
        .load::<String>(&mut conn)
        .unwrap()
        .into_iter()
        .filter(|e| e.starts_with("soak-"))
        .collect();
    let lost: Vec<_> = tally.signed_up.difference(&emails).collect();
    let unacknowledged: Vec<_> = emails.difference(&tally.signed_up).collect();

    let recorded: Vec<Recorded> = diesel::sql_query(
        "SELECT u.email, s.plan_code, s.status FROM subscriptions s JOIN users u ON u.id = s.user_id \
         WHERE s.status <> 'ended'",
    )
    .load(&mut conn)
    .unwrap();
    let current: HashMap<String, (String, String)> = recorded
        .into_iter()
        .map(|r| (r.email, (r.plan_code, r.status)))
        .collect();
    let mut broken_promises = Vec::new();
    for (email, promised) in &tally.promised {
        let held = current
            .get(email)
            .map(|(plan, status)| (plan.as_str(), status.as_str()));
        if held != *promised {
            broken_promises.push(format!("{email}: promised {promised:?}, holds {held:?}"));
        }
    }

    let charges = processor.charges();
    let charged: HashMap<&str, usize> = charges.iter().fold(HashMap::new(), |mut seen, taken| {
        *seen.entry(taken.reference.as_str()).or_default() += 1;
        seen
    });
    let paid_rows: Vec<String> = gazette::schema::subscriptions::table
        .filter(gazette::schema::subscriptions::gateway.ne("credit"))
        .select(gazette::schema::subscriptions::gateway_reference)
        .load(&mut conn)
        .unwrap();
    let paid: HashSet<&str> = paid_rows.iter().map(String::as_str).collect();
    let unmatched_charges = charged.keys().filter(|r| !paid.contains(*r)).count();
    let unpaid_rows = paid.iter().filter(|r| !charged.contains_key(*r)).count();
    let charged_twice = charged.values().filter(|n| **n > 1).count();
    let checkouts_left = open_checkouts(&app);

    let half = memory.len() / 2;
    let first_half = memory[..half.max(1)].iter().max().copied().unwrap_or(0);
    let second_half = memory[half..].iter().max().copied().unwrap_or(0);

    eprintln!(
        "soak: {connections} connections for {:.1} s, {} requests ({:.0}/s)",
        elapsed.as_secs_f64(),
        tally.requests(),
        tally.requests() as f64 / elapsed.as_secs_f64()
    );
    for ((action, status), n) in &tally.answers {
        eprintln!("  {action:<15} {status}  {n}");
    }
    eprintln!(
        "audit: {} accounts acknowledged, {} lost, {} unacknowledged; {} sign-ups refused",
        tally.signed_up.len(),
        lost.len(),
        unacknowledged.len(),
        tally.refused_sign_ups.len()
    );
    eprintln!(
        "audit: {} charges, {} unmatched by a subscription, {} charged twice, {} paid rows without a charge, {} checkouts left, {} broken promises",
        charges.len(),
        unmatched_charges,
        charged_twice,
        unpaid_rows,
        checkouts_left,
        broken_promises.len()
    );
    eprintln!(
        "audit: {} server errors; resident memory (test process) {} KiB at the start, peak {} KiB in the first half, {} KiB in the second",
        tally.server_errors(),
        memory.first().copied().unwrap_or(0),
        first_half,
        second_half
    );

    assert_eq!(tally.server_errors(), 0, "{:?}", tally.answers);
    assert!(lost.is_empty(), "acknowledged but missing: {lost:?}");
    assert!(
        unacknowledged.is_empty(),
        "created without an acknowledgement: {unacknowledged:?}"
    );
    assert!(
        tally.refused_sign_ups.iter().all(|e| !emails.contains(e)),
        "a refused sign-up left an account"
    );
    assert_eq!(unmatched_charges, 0);
    assert_eq!(charged_twice, 0);
    assert_eq!(unpaid_rows, 0);
    assert_eq!(checkouts_left, 0);
    assert!(broken_promises.is_empty(), "{broken_promises:#?}");
    assert!(
        tally
            .answers
            .keys()
            .any(|(action, _)| *action == "double-submit"),
        "the mix ran"
    );
    // Flat: the second half of the run needs no more than a little over the first.
    assert!(
        second_half <= first_half + first_half / 4,
        "memory grew: {memory:?}"
    );
}
