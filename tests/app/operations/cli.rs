//! The operator's commands, through the real binary: migrate, set a role, import articles.
//! Whatever goes wrong is one plain line and a non-zero exit code.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::support::server_url;

fn assert_one_line_failure((code, _, stderr): (i32, String, String), naming: &str) {
    assert_ne!(code, 0);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("gazette: "), "{stderr}");
    assert!(stderr.contains(naming), "names {naming}: {stderr}");
    assert!(!stderr.contains("panicked"));
}

#[tokio::test]
async fn set_role_makes_an_account_an_editor_within_a_second() {
    let app = TestApp::spawn().await;
    let writer = Reader::signed_up(&app, "writer@example.com").await;
    assert_eq!(writer.get("/editor").await.status, StatusCode::FORBIDDEN);

    let url = app.db.url.clone();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        gazette(&url, &["user", "set-role", "Writer@Example.com", "editor"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "writer@example.com is now an editor.");
    assert!(answers_within_a_second(&writer, "/editor", StatusCode::OK).await);

    let url = app.db.url.clone();
    let (code, _, _) = tokio::task::spawn_blocking(move || {
        gazette(&url, &["user", "set-role", "writer@example.com", "reader"])
    })
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert!(answers_within_a_second(&writer, "/editor", StatusCode::FORBIDDEN).await);
}

#[tokio::test]
async fn a_wrong_command_line_is_one_plain_line() {
    let app = TestApp::spawn().await;
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        assert_one_line_failure(
            gazette(&url, &["user", "set-role", "nobody@example.com", "editor"]),
            "nobody@example.com",
        );
        assert_one_line_failure(
            gazette(&url, &["user", "set-role", "a@example.com", "boss"]),
            "boss",
        );
        assert_one_line_failure(gazette(&url, &["publish-everything"]), "publish-everything");
        assert_one_line_failure(gazette(&url, &["import"]), "FILE.md");
        assert_one_line_failure(
            gazette(&url, &["import", "/no/such/file.md"]),
            "/no/such/file.md",
        );
        assert_one_line_failure(
            gazette("postgres://postgres@127.0.0.1:1/gazette", &["migrate"]),
            "DATABASE_URL",
        );
        let (code, stdout, _) = gazette(&url, &["--help"]);
        assert_eq!(code, 0);
        assert!(
            stdout.contains("set-role") || stdout.contains("user"),
            "{stdout}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn migrate_creates_and_migrates_a_missing_database() {
    let name = format!("gazette_cli_{}", std::process::id());
    let url = format!("{}/{name}", server_url());
    let (code, stdout, stderr) = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || gazette(&url, &["migrate"]))
            .await
            .unwrap()
    };
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ready"), "{stdout}");
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let mut conn = PgConnection::establish(&url).expect("the database exists");
        let articles: i64 = gazette::schema::articles::table
            .count()
            .get_result(&mut conn)
            .expect("the tables exist");
        assert_eq!(articles, 0, "no demo articles: migrating only migrates");
        drop(conn);
        let mut admin = PgConnection::establish(&format!("{}/postgres", server_url())).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
    })
    .await
    .unwrap();
}

fn write_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn import_publishes_article_files_all_or_none() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("gazette-import-{}", app.port));
    std::fs::create_dir_all(&dir).unwrap();
    let past = write_file(
        &dir,
        "past.md",
        "title: Letters From the Harbour\nauthor: Ines Vidal\npublished: 2026-11-20T08:00:00Z\n\
         premium: false\nteaser: What the harbour master wrote home.\n---\n\n## Dear all\n\nThe boats are in.\n",
    );
    let ahead = write_file(
        &dir,
        "ahead.md",
        "title: The Winter Timetable\nauthor: Ines Vidal\npublished: 2099-01-01T08:00:00Z\n\
         premium: true\nteaser: Ferries in the dark months.\n---\n\nFewer sailings.\n",
    );
    // The same title as a demo article: the slug gets a number.
    let twin = write_file(
        &dir,
        "twin.md",
        "title: In Praise of Boring Technology\nauthor: Ines Vidal\npublished: 2026-11-21T08:00:00Z\n\
         premium: true\nteaser: Again.\n---\n\nStill boring.\n",
    );
    let broken = write_file(&dir, "broken.md", "title: No Separator\nauthor: X\n");
    let before = app.article_ids(true).len() + app.article_ids(false).len();

    let import = |files: Vec<String>| {
        let url = app.db.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut args = vec!["import".to_string()];
            args.extend(files);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            gazette(&url, &args)
        })
    };
    let refused = import(vec![past.clone(), broken]).await.unwrap();
    assert_one_line_failure(refused, "broken.md");
    assert_eq!(
        app.article_ids(true).len() + app.article_ids(false).len(),
        before,
        "a file that fails leaves nothing imported"
    );

    let (code, stdout, stderr) = import(vec![past, ahead, twin]).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.contains("scheduled for 1 January 2099"), "{stdout}");
    assert!(
        stdout.contains("/in-praise-of-boring-technology-2 (published)"),
        "{stdout}"
    );

    let visitor = Reader::new(&app);
    let front = visitor.get("/").await;
    assert!(front.body.contains("Letters From the Harbour"));
    assert!(
        !front.body.contains("The Winter Timetable"),
        "scheduled for later"
    );
    let path = stdout
        .lines()
        .find(|l| l.contains("past.md"))
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_string();
    let page = visitor.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h2>Dear all</h2>"));
    assert!(
        visitor
            .get("/authors/ines-vidal")
            .await
            .body
            .contains("Letters From the Harbour")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
