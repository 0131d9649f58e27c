//! Leaving Gazette: every account as Ghost's members CSV, from the command line
//! (`gazette members export`) and the desk (`/editor/members.csv`, admins only), in Ghost's
//! columns, with consent, complimentary access, the Stripe customer and the plan, read page
//! by page.

use diesel::prelude::*;
use gazette::domain::role::Role;
use reqwest::StatusCode;

use crate::helpers::*;

const GHOST_COLUMNS: [&str; 11] = [
    "id",
    "email",
    "name",
    "note",
    "subscribed_to_emails",
    "complimentary_plan",
    "stripe_customer_id",
    "created_at",
    "deleted_at",
    "labels",
    "tiers",
];

/// The CSV's header and its rows by e-mail.
fn read_csv(text: &str) -> (Vec<String>, std::collections::HashMap<String, Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            let record: Vec<String> = record
                .expect("a well-formed row")
                .iter()
                .map(str::to_string)
                .collect();
            (record[1].clone(), record)
        })
        .collect();
    (header, rows)
}

fn sql(app: &TestApp, statement: &str) {
    diesel::sql_query(statement)
        .execute(&mut app.connect())
        .expect(statement);
}

#[tokio::test]
async fn every_account_leaves_as_a_row_of_ghosts_members_csv_from_the_command_line_and_the_desk() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "plain@example.com").await;
    Reader::signed_up(&app, "letters@example.com").await;
    Reader::signed_up(&app, "bounced@example.com").await;
    Reader::signed_up(&app, "comped@example.com").await;
    Reader::signed_up(&app, "stripe@example.com").await;
    subscriber(&app, "paying@example.com").await;
    sql(
        &app,
        "UPDATE users SET email_confirmed_at = now(), newsletter_opted_in_at = now() \
         WHERE email IN ('letters@example.com', 'bounced@example.com')",
    );
    sql(
        &app,
        "INSERT INTO newsletter_suppressions (email, reason, suppressed_at) \
         VALUES ('bounced@example.com', 'bounce', now())",
    );
    let (code, _, stderr) = gazette(
        &app.db.url,
        &[
            "user",
            "comp",
            "comped@example.com",
            "--until",
            "2099-01-01",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    sql(
        &app,
        "INSERT INTO gateway_customers (user_id, gateway, request_key, reference, created_at) \
         SELECT id, 'stripe', 'customer-key-of-the-moving-test', 'cus_Moving123', now() FROM users \
         WHERE email = 'stripe@example.com'",
    );
    // Enough accounts to take several pages, and a name with a comma and quotes.
    sql(
        &app,
        "INSERT INTO users (email, password_hash, created_at) \
         SELECT 'bulk' || n || '@example.com', u.password_hash, now() \
         FROM generate_series(1, 2500) AS n, users u WHERE u.email = 'plain@example.com'",
    );
    sql(
        &app,
        "UPDATE plans SET name = 'Monthly, \"the\" plan' WHERE code = 'monthly'",
    );

    let (code, stdout, stderr) = gazette(&app.db.url, &["members", "export"]);
    assert_eq!(code, 0, "{stderr}");
    let accounts = rows_in(&app, "users");
    assert_eq!(stderr.trim(), format!("{accounts} members written."));
    let (header, rows) = read_csv(&stdout);
    assert_eq!(header, GHOST_COLUMNS);
    assert_eq!(
        rows.len() as i64,
        accounts,
        "one row per account, none twice"
    );
    let row = |email: &str| rows.get(email).unwrap_or_else(|| panic!("{email}")).clone();
    let flags = |email: &str| {
        let row = row(email);
        (
            row[4].clone(),
            row[5].clone(),
            row[6].clone(),
            row[10].clone(),
        )
    };
    let none = (
        "false".to_string(),
        "false".to_string(),
        String::new(),
        String::new(),
    );
    assert_eq!(flags("plain@example.com"), none);
    assert_eq!(flags("letters@example.com").0, "true");
    assert_eq!(flags("bounced@example.com").0, "false", "suppressed");
    assert_eq!(flags("comped@example.com").1, "true");
    assert_eq!(flags("stripe@example.com").2, "cus_Moving123");
    assert_eq!(flags("paying@example.com").3, "Monthly, \"the\" plan");
    let plain = row("plain@example.com");
    assert_eq!(plain[0], user_id(&app, "plain@example.com").to_string());
    assert!(plain[2].is_empty() && plain[3].is_empty() && plain[8].is_empty());
    assert_eq!(
        plain[7].len(),
        "2026-11-26T12:00:00.000Z".len(),
        "{}",
        plain[7]
    );
    assert!(
        plain[7].ends_with('Z') && plain[7].contains('T'),
        "{}",
        plain[7]
    );

    // To a file.
    let path = std::env::temp_dir().join(format!(
        "members-{}.csv",
        app.db.url.len() + app.port as usize
    ));
    let file = path.to_str().unwrap();
    let (code, stdout, stderr) = gazette(&app.db.url, &["members", "export", "--output", file]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(
        stderr.trim(),
        format!("{accounts} members written to {file}.")
    );
    let written = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(read_csv(&written).1.len() as i64, accounts);
    // A file that cannot be made is one line, not a crash.
    let (code, _, stderr) = gazette(
        &app.db.url,
        &[
            "members",
            "export",
            "--output",
            "/nonexistent/dir/members.csv",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("gazette: creating /nonexistent/dir/members.csv"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);

    // The desk: admins download the same file; nobody else does.
    let admin = Reader::signed_up(&app, "admin@example.com").await;
    give_role(&app, "admin@example.com", Role::Admin);
    let editor = Reader::signed_up(&app, "editor@example.com").await;
    give_role(&app, "editor@example.com", Role::Editor);
    assert!(answers_within_a_second(&admin, "/editor/members.csv", StatusCode::OK).await);
    let page = admin.get("/editor/members.csv").await;
    assert_eq!(page.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"gazette-members-")),
    );
    let (header, rows) = read_csv(&page.body);
    assert_eq!(header, GHOST_COLUMNS);
    assert_eq!(rows.len() as i64, rows_in(&app, "users"));
    // (The app's clock is the tests' fixed one, before the comp the command line gave today.)
    assert_eq!(rows["stripe@example.com"][6], "cus_Moving123");
    assert_eq!(rows["letters@example.com"][4], "true");
    assert!(answers_within_a_second(&editor, "/editor/members.csv", StatusCode::FORBIDDEN).await);
    let reader = Reader::signed_up(&app, "reader@example.com").await;
    assert_eq!(
        reader.get("/editor/members.csv").await.status,
        StatusCode::FORBIDDEN
    );
    let visitor = Reader::new(&app);
    let page = visitor.get("/editor/members.csv").await;
    assert!(
        page.location().is_some_and(|l| l.starts_with("/login")),
        "{:?}",
        page.status
    );
}
