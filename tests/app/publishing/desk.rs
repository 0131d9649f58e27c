//! The newsroom: roles checked on every request, the desk's form and its steps (draft,
//! preview, schedule, publish, unpublish), and what readers see of each, at once and on every
//! instance.

use gazette::domain::role::Role;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

const BODY: &str =
    "## A heading\n\nFirst paragraph.\n\n- one\n- two\n\nA [link](https://example.com/).";

/// Every page and form of the desk, for article `id`.
fn desk_gets(id: i64) -> Vec<String> {
    vec![
        "/editor".to_string(),
        "/editor?page=2".to_string(),
        "/editor/articles/new".to_string(),
        format!("/editor/articles/{id}"),
        format!("/editor/articles/{id}/preview"),
        format!("/editor/articles/{id}/preview/paywall"),
        "/editor/people".to_string(),
        "/editor/offers".to_string(),
    ]
}

fn desk_posts(id: i64) -> Vec<String> {
    vec![
        "/editor/articles".to_string(),
        format!("/editor/articles/{id}"),
        "/editor/people".to_string(),
        "/editor/offers".to_string(),
    ]
}

fn article_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    gazette::schema::articles::table
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

fn role_of(app: &TestApp, address: &str) -> String {
    use diesel::prelude::*;
    use gazette::schema::users;
    users::table
        .filter(users::email.eq(address))
        .select(users::role)
        .first(&mut app.connect())
        .unwrap()
}

#[tokio::test]
async fn the_desk_refuses_visitors_readers_and_subscribers_on_every_page_and_form() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let draft = newsroom
        .write_article(&ArticleFields::premium("Kept Safe", BODY), "save")
        .await;
    let before = article_count(&app);

    let visitor = Reader::new(&app);
    let reader = Reader::signed_up(&app, "reader@example.com").await;
    let paying = subscriber(&app, "paying@example.com").await;
    // Every article id there is, and some there are not.
    let ids: Vec<i64> = (1..=before + 3).collect();
    for id in &ids {
        for path in desk_gets(*id) {
            let page = visitor.get(&path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "visitor {path}");
            assert!(
                page.location().unwrap().starts_with("/login?next="),
                "{path}"
            );
            for member in [&reader, &paying] {
                let page = member.get(&path).await;
                assert_eq!(page.status, StatusCode::FORBIDDEN, "member {path}");
                assert!(page.body.contains("This page is not for you"));
            }
        }
        for path in desk_posts(*id) {
            // A genuine token: the role is what refuses them.
            for member in [&visitor, &reader, &paying] {
                let token = member.csrf_token().await;
                let page = member
                    .post(
                        &path,
                        &[
                            ("csrf_token", token.as_str()),
                            ("title", "Defaced"),
                            ("byline", "Vandal"),
                            ("teaser", "Defaced"),
                            ("body", "Defaced"),
                            ("action", "publish"),
                            ("email", "reader@example.com"),
                            ("role", "editor"),
                        ],
                    )
                    .await;
                assert!(
                    matches!(page.status, StatusCode::FORBIDDEN | StatusCode::SEE_OTHER),
                    "{path}: {}",
                    page.status
                );
                if page.status == StatusCode::SEE_OTHER {
                    assert!(page.location().unwrap().starts_with("/login"), "{path}");
                }
            }
        }
    }

    assert_eq!(article_count(&app), before, "nothing was written");
    let form = newsroom.get(&format!("/editor/articles/{draft}")).await;
    assert!(form.body.contains("Kept Safe") && !form.body.contains("Defaced"));
    assert_eq!(role_of(&app, "reader@example.com"), "reader");
    assert!(!Reader::new(&app).get("/").await.body.contains("Defaced"));
}

#[tokio::test]
async fn editors_use_the_desk_and_only_admins_change_roles() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let id = newsroom
        .write_article(&ArticleFields::premium("On the Desk", BODY), "save")
        .await;
    for path in desk_gets(id) {
        let page = newsroom.get(&path).await;
        let expected = if path == "/editor/people" || path == "/editor/offers" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        assert_eq!(page.status, expected, "{path}");
        if page.status == StatusCode::OK {
            assert!(
                page.body
                    .contains("<meta name=\"robots\" content=\"noindex\">")
            );
            assert_eq!(page.header("cache-control"), Some("no-store"));
        }
    }
    assert!(newsroom.get("/").await.body.contains("href=\"/editor\""));

    Reader::signed_up(&app, "admin@example.com").await;
    give_role(&app, "admin@example.com", Role::Admin);
    let admin = Reader::new(&app);
    admin.log_in("admin@example.com", PASSWORD).await;
    for path in desk_gets(id) {
        assert_eq!(admin.get(&path).await.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn admins_grant_and_remove_the_editor_role_in_the_browser_and_it_takes_effect_at_once() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "admin@example.com").await;
    give_role(&app, "admin@example.com", Role::Admin);
    let admin = Reader::new(&app);
    admin.log_in("admin@example.com", PASSWORD).await;
    let writer = Reader::signed_up(&app, "writer@example.com").await;
    assert_eq!(writer.get("/editor").await.status, StatusCode::FORBIDDEN);

    let set = |address: &'static str, role: &'static str| {
        let admin = &admin;
        async move {
            let token = admin.csrf_token().await;
            admin
                .post(
                    "/editor/people",
                    &[("csrf_token", &token), ("email", address), ("role", role)],
                )
                .await
        }
    };
    let granted = set(" Writer@Example.com ", "editor").await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER);
    assert_eq!(role_of(&app, "writer@example.com"), "editor");
    // The writer's existing login sees the new role on its next request.
    assert_eq!(writer.get("/editor").await.status, StatusCode::OK);
    let people = admin.get("/editor/people").await;
    assert!(people.body.contains("writer@example.com is now an editor."));
    assert!(people.body.contains("writer@example.com"));

    let removed = set("writer@example.com", "reader").await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(writer.get("/editor").await.status, StatusCode::FORBIDDEN);

    let unknown = set("nobody@example.com", "editor").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("No account has this e-mail"));
    let admin_demoted = set("admin@example.com", "reader").await;
    assert_eq!(admin_demoted.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(role_of(&app, "admin@example.com"), "admin");
    let made_admin = set("writer@example.com", "admin").await;
    assert_eq!(made_admin.status, StatusCode::BAD_REQUEST);
    assert_eq!(role_of(&app, "writer@example.com"), "reader");

    // Editors cannot change roles.
    give_role(&app, "writer@example.com", Role::Editor);
    assert!(answers_within_a_second(&writer, "/editor", StatusCode::OK).await);
    let token = writer.csrf_token().await;
    let page = writer
        .post(
            "/editor/people",
            &[
                ("csrf_token", &token),
                ("email", "admin@example.com"),
                ("role", "reader"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(role_of(&app, "admin@example.com"), "admin");
}

#[tokio::test]
async fn a_draft_is_on_the_desk_and_nowhere_a_reader_can_look() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let id = newsroom
        .write_article(&ArticleFields::free("A Quiet Draft", BODY), "save")
        .await;

    let desk = newsroom.get("/editor").await;
    let drafts = &desk.body[desk.body.find("id=\"drafts-title\"").unwrap()
        ..desk.body.find("id=\"scheduled-title\"").unwrap()];
    assert!(drafts.contains("A Quiet Draft"));
    assert!(drafts.contains("By Ada Editor") && drafts.contains("badge-free"));

    let visitor = Reader::new(&app);
    assert_eq!(visitor.read_article(id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        visitor
            .get(&format!("/articles/{id}/a-quiet-draft"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for path in ["/", "/feed.xml", "/sitemap/1.xml", "/authors/ada-editor"] {
        assert!(
            !visitor.get(path).await.body.contains("A Quiet Draft"),
            "{path}"
        );
    }
    // Not even its editor sees it outside the desk.
    assert_eq!(
        newsroom.read_article(id).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn publishing_now_puts_the_article_everywhere_readers_look_under_its_canonical_address() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let id = newsroom
        .write_article(
            &ArticleFields::free("Night Ferries Return", BODY),
            "publish",
        )
        .await;
    let path = format!("/articles/{id}/night-ferries-return");
    let canonical = app.url(&path);

    let visitor = Reader::new(&app);
    let front = visitor.get("/").await;
    let lead = front.body.find("lead-story").unwrap();
    assert!(
        front.body[lead..].find("Night Ferries Return").unwrap() < 400,
        "the lead story"
    );
    assert!(front.body.contains(&format!("href=\"{path}\"")));

    let page = visitor.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<h2>A heading</h2>"));
    assert!(page.body.contains("<li>one</li>"));
    assert!(page.body.contains("href=\"https://example.com/\""));
    assert_eq!(
        canonical_of(&page.body).as_deref(),
        Some(canonical.as_str())
    );
    // The short address answers the same, naming the canonical one.
    let short = visitor.read_article(id).await;
    assert_eq!(short.status, StatusCode::OK);
    assert_eq!(
        canonical_of(&short.body).as_deref(),
        Some(canonical.as_str())
    );
    // A wrong slug is a permanent redirect to the right one.
    let wrong = visitor.get(&format!("/articles/{id}/an-old-title")).await;
    assert_eq!(wrong.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(wrong.location(), Some(path.as_str()));

    assert!(visitor.get("/feed.xml").await.body.contains(&canonical));
    assert!(
        visitor
            .get("/sitemap/1.xml")
            .await
            .body
            .contains(&canonical)
    );
    let author = visitor.get("/authors/ada-editor").await;
    assert_eq!(author.status, StatusCode::OK);
    assert!(author.body.contains("Night Ferries Return"));

    let desk = newsroom.get("/editor").await;
    let published = &desk.body[desk.body.find("id=\"published-title\"").unwrap()..];
    assert!(published.contains("Night Ferries Return"));
}

#[tokio::test]
async fn a_scheduled_article_appears_by_itself_at_its_time_and_nowhere_before() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let fields = ArticleFields {
        publish_at: "2026-11-26T14:30".to_string(),
        ..ArticleFields::free("Tomorrow's Tides", BODY)
    };
    let id = newsroom.write_article(&fields, "schedule").await;
    let path = format!("/articles/{id}/tomorrow-s-tides");
    let visitor = Reader::new(&app);

    let desk = newsroom.get("/editor").await;
    assert!(
        desk.body
            .contains("Scheduled for 26 November 2026, 14:30 UTC")
    );
    for (minutes, visible) in [(0, false), (149, false), (150, true)] {
        app.clock.set(START + Duration::minutes(minutes));
        let status = if visible {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(visitor.get(&path).await.status, status, "+{minutes} min");
        assert_eq!(
            visitor.read_article(id).await.status,
            status,
            "+{minutes} min"
        );
        for listing in ["/", "/feed.xml", "/sitemap/1.xml", "/authors/ada-editor"] {
            assert_eq!(
                visitor.get(listing).await.body.contains("tomorrow-s-tides"),
                visible,
                "{listing} at +{minutes} min"
            );
        }
    }
    // Its time came without anyone doing anything: it is published, and keeps its address.
    let form = newsroom.get(&format!("/editor/articles/{id}")).await;
    assert!(form.body.contains("Published 26 November 2026, 14:30 UTC"));
    assert!(form.body.contains("readonly"));
}

#[tokio::test]
async fn scheduling_needs_a_time_ahead_and_moving_it_back_to_draft_takes_it_off_the_schedule() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let past = ArticleFields {
        publish_at: "2026-11-26T11:59".to_string(),
        ..ArticleFields::premium("Too Late", BODY)
    };
    let page = newsroom
        .send_article("/editor/articles", &past, "schedule")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"publish-at-error\""));
    assert!(page.body.contains("Choose a time in the future"));
    let no_time = newsroom
        .send_article(
            "/editor/articles",
            &ArticleFields::premium("No Time", BODY),
            "schedule",
        )
        .await;
    assert_eq!(no_time.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_time.body.contains("Choose when to publish it"));

    let later = ArticleFields {
        publish_at: "2026-11-27T08:00".to_string(),
        ..ArticleFields::premium("Later On", BODY)
    };
    let id = newsroom.write_article(&later, "schedule").await;
    newsroom.edit_article(id, &later, "unpublish").await;
    app.clock.set(START + Duration::days(2));
    assert_eq!(
        Reader::new(&app).read_article(id).await.status,
        StatusCode::NOT_FOUND
    );
    let desk = newsroom.get("/editor").await;
    let drafts = &desk.body[..desk.body.find("id=\"scheduled-title\"").unwrap()];
    assert!(drafts.contains("Later On"), "back among the drafts");
}

#[tokio::test]
async fn edits_publications_and_unpublications_reach_readers_on_every_instance_within_a_second() {
    let app = TestApp::spawn().await;
    let other = TestApp::builder().sharing(&app).start().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let visitor = Reader::new(&other);

    let mut fields = ArticleFields::free("First Words", BODY);
    let id = newsroom.write_article(&fields, "publish").await;
    let page = visitor.read_article(id).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("First Words"));

    fields.title = "Second Thoughts".to_string();
    fields.body = "A corrected paragraph.".to_string();
    newsroom.edit_article(id, &fields, "save").await;
    // The other instance keeps articles in memory: it hears of the edit within a second.
    let edited = within_a_second(|| async {
        let page = visitor.read_article(id).await;
        page.body.contains("Second Thoughts") && page.body.contains("A corrected paragraph.")
    });
    assert!(edited.await, "the edit did not reach the other instance");
    let page = visitor.read_article(id).await;
    assert!(!page.body.contains("First paragraph."));
    // Published, so the address it was given stays.
    assert!(
        canonical_of(&page.body)
            .unwrap()
            .ends_with(&format!("/articles/{id}/first-words"))
    );

    newsroom.edit_article(id, &fields, "unpublish").await;
    let gone = within_a_second(|| async {
        visitor.read_article(id).await.status == StatusCode::NOT_FOUND
            && !visitor.get("/").await.body.contains("Second Thoughts")
    });
    assert!(
        gone.await,
        "the unpublication did not reach the other instance"
    );
    assert!(
        !visitor
            .get("/feed.xml")
            .await
            .body
            .contains("Second Thoughts")
    );
}

/// Whether `check` holds within a second (asked every 20 ms).
async fn within_a_second<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_article_edited_after_publication_says_updated_and_a_save_without_changes_does_not() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let mut fields = ArticleFields::free("Steady Words", BODY);
    let id = newsroom.write_article(&fields, "publish").await;
    let visitor = Reader::new(&app);
    assert!(!visitor.read_article(id).await.body.contains("Updated"));

    app.clock.advance(Duration::days(1));
    newsroom.edit_article(id, &fields, "save").await;
    assert!(
        !visitor.read_article(id).await.body.contains("Updated"),
        "nothing changed"
    );

    fields.body.push_str("\n\nA late addition.");
    newsroom.edit_article(id, &fields, "save").await;
    let page = visitor.read_article(id).await;
    assert!(
        page.body
            .contains("Updated <time datetime=\"2026-11-27T12:00:00Z\">27 November 2026</time>")
    );
    assert!(
        page.body
            .contains("\"dateModified\":\"2026-11-27T12:00:00Z\"")
    );
    assert!(
        page.body
            .contains("\"datePublished\":\"2026-11-26T12:00:00Z\"")
    );
    let desk = newsroom.get("/editor").await;
    assert!(desk.body.contains("Last edit 27 November 2026, 12:00 UTC"));
}

#[tokio::test]
async fn the_form_shows_each_problem_beside_its_field_with_a_422_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let before = article_count(&app);
    let fields = ArticleFields {
        title: "   ".to_string(),
        slug: "!!!".to_string(),
        byline: "B".repeat(201),
        teaser: String::new(),
        body: String::new(),
        premium: true,
        publish_at: "next tuesday".to_string(),
        ..ArticleFields::premium("", "")
    };
    let page = newsroom
        .send_article("/editor/articles", &fields, "schedule")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["title", "slug", "byline", "teaser", "body", "publish-at"] {
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{field}"
        );
    }
    assert!(
        page.body
            .contains("Please fix the marked fields below. Nothing was saved.")
    );
    assert!(
        page.body.contains(&"B".repeat(201)),
        "what was typed comes back"
    );
    assert!(page.body.contains("value=\"next tuesday\""));
    assert_eq!(article_count(&app), before);

    // An existing article's form comes back the same way, and the article is unchanged.
    let id = newsroom
        .write_article(&ArticleFields::premium("Intact", BODY), "save")
        .await;
    let page = newsroom
        .send_article(
            &format!("/editor/articles/{id}"),
            &ArticleFields {
                body: "  ".to_string(),
                ..ArticleFields::premium("Changed", BODY)
            },
            "save",
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"body-error\""));
    let form = newsroom.get(&format!("/editor/articles/{id}")).await;
    assert!(form.body.contains("value=\"Intact\""));
}

#[tokio::test]
async fn slugs_are_made_from_titles_kept_unique_and_kept_once_published() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let first = newsroom
        .write_article(
            &ArticleFields::premium("Café Society: A History", BODY),
            "save",
        )
        .await;
    let form = newsroom.get(&format!("/editor/articles/{first}")).await;
    assert!(form.body.contains("value=\"cafe-society-a-history\""));

    // The same title again: the address is taken, and the form says so beside it.
    let twin = newsroom
        .send_article(
            "/editor/articles",
            &ArticleFields::premium("Café Society: A History", BODY),
            "save",
        )
        .await;
    assert_eq!(twin.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twin.body.contains("id=\"slug-error\""));
    let twin = newsroom
        .write_article(
            &ArticleFields {
                slug: "Café Society, Part Two".to_string(),
                ..ArticleFields::premium("Café Society: A History", BODY)
            },
            "save",
        )
        .await;
    let form = newsroom.get(&format!("/editor/articles/{twin}")).await;
    assert!(form.body.contains("value=\"cafe-society-part-two\""));

    // A draft's address may change; a published one's may not.
    let renamed = ArticleFields {
        slug: "coffee-houses".to_string(),
        ..ArticleFields::premium("Café Society: A History", BODY)
    };
    newsroom.edit_article(first, &renamed, "publish").await;
    let visitor = Reader::new(&app);
    assert_eq!(
        visitor
            .get(&format!("/articles/{first}/coffee-houses"))
            .await
            .status,
        StatusCode::OK
    );
    let moved = ArticleFields {
        slug: "tea-rooms".to_string(),
        ..renamed.clone()
    };
    let page = newsroom
        .send_article(&format!("/editor/articles/{first}"), &moved, "save")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("its address stays as it is"));
    // Unpublished and published again, it keeps the address it was first public under.
    newsroom.edit_article(first, &renamed, "unpublish").await;
    assert_eq!(
        newsroom
            .send_article(&format!("/editor/articles/{first}"), &moved, "publish")
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    newsroom.edit_article(first, &renamed, "publish").await;
    assert_eq!(
        visitor
            .get(&format!("/articles/{first}/tea-rooms"))
            .await
            .location(),
        Some(format!("/articles/{first}/coffee-houses").as_str())
    );
}

#[tokio::test]
async fn the_preview_shows_the_article_as_a_subscriber_and_as_the_paywall_before_it_is_public() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let fields = ArticleFields::premium("Behind the Curtain", BODY);
    let page = newsroom
        .send_article("/editor/articles", &fields, "preview")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let preview_path = page.location().unwrap().to_string();
    assert!(preview_path.ends_with("/preview"));
    let id: i64 = preview_path
        .trim_start_matches("/editor/articles/")
        .trim_end_matches("/preview")
        .parse()
        .unwrap();

    let as_subscriber = newsroom.get(&preview_path).await;
    assert_eq!(as_subscriber.status, StatusCode::OK);
    assert!(as_subscriber.body.contains("class=\"preview-bar\""));
    assert!(as_subscriber.body.contains("<h1>Behind the Curtain</h1>"));
    assert!(as_subscriber.body.contains("<h2>A heading</h2>"));
    assert!(
        as_subscriber
            .body
            .contains("class=\"article-body premium-content\"")
    );

    let as_paywall = newsroom.get(&format!("{preview_path}/paywall")).await;
    assert_eq!(as_paywall.status, StatusCode::OK);
    assert!(as_paywall.body.contains("class=\"offer\""));
    assert!(as_paywall.body.contains("What Behind the Curtain is about"));
    assert!(!as_paywall.body.contains("First paragraph."));

    assert_eq!(
        Reader::new(&app).read_article(id).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn markdown_is_sanitised_when_saved_and_hostile_forms_never_cause_a_5xx() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let id = newsroom
        .write_article(
            &ArticleFields::free(
                "<script>alert(1)</script> Title",
                "Hi <script>alert(2)</script><img src=x onerror=alert(3)> [x](javascript:alert(4))",
            ),
            "publish",
        )
        .await;
    let page = Reader::new(&app).read_article(id).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert"));
    assert!(!page.body.contains("onerror") && !page.body.contains("javascript:"));
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62; Title")
    );

    let long = ArticleFields::premium("Long", &"word ".repeat(20_001));
    let page = newsroom
        .send_article("/editor/articles", &long, "save")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Keep the text to 100000 characters"));
    let huge = ArticleFields::premium("Huge", &"x".repeat(3 * 1024 * 1024));
    let page = newsroom
        .send_article("/editor/articles", &huge, "save")
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);

    let odd = ArticleFields::premium("Odd", BODY);
    for (path, action, status) in [
        (
            "/editor/articles",
            "delete-everything",
            StatusCode::BAD_REQUEST,
        ),
        ("/editor/articles/abc", "save", StatusCode::NOT_FOUND),
        ("/editor/articles/99999999", "save", StatusCode::NOT_FOUND),
        ("/editor/articles/-1", "save", StatusCode::NOT_FOUND),
    ] {
        let page = newsroom.send_article(path, &odd, action).await;
        assert_eq!(page.status, status, "{path} {action}");
    }
    let controls = ArticleFields {
        title: "Bell\u{7} title".to_string(),
        ..ArticleFields::premium("x", BODY)
    };
    let page = newsroom
        .send_article("/editor/articles", &controls, "save")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let token = newsroom.csrf_token().await;
    let no_token = newsroom
        .post("/editor/articles", &[("title", "x"), ("action", "publish")])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let wrong_token = newsroom
        .post(
            "/editor/articles",
            &[("csrf_token", &format!("{token}x")), ("action", "publish")],
        )
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_newsroom_reads_every_article_in_full_and_nothing_is_counted() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let premium = app.premium_ids();
    assert!(
        premium.len() > 5,
        "more premium articles than the allowance"
    );
    for id in &premium {
        let page = newsroom.read_article(*id).await;
        assert_eq!(page.status, StatusCode::OK, "article {id}");
        assert!(!page.body.contains("free articles left"), "article {id}");
    }
    assert_eq!(rows_in(&app, "meter_reads"), 0);

    // Back to a reader, the same login meets the meter again.
    give_role(&app, "editor@example.com", Role::Reader);
    assert!(answers_within_a_second(&newsroom, "/editor", StatusCode::FORBIDDEN).await);
    let statuses: Vec<StatusCode> = {
        let mut seen = Vec::new();
        for id in &premium {
            seen.push(newsroom.read_article(*id).await.status);
        }
        seen
    };
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 5);
    assert_eq!(rows_in(&app, "meter_reads"), 5);
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::PAYMENT_REQUIRED),
        "{statuses:?}"
    );
}

/// Every invitation to subscribe a page carries: the masthead's button, links and forms to the
/// plans, and the account page's offers.
fn subscribe_offers(html: &str) -> Vec<&'static str> {
    [
        "class=\"nav-subscribe\"",
        "href=\"/subscribe",
        "action=\"/subscribe\"",
        "See the plans",
        "You do not subscribe yet",
    ]
    .into_iter()
    .filter(|marker| html.contains(marker))
    .collect()
}

#[tokio::test]
async fn the_newsroom_is_never_invited_to_subscribe_and_readers_still_are() {
    let app = TestApp::spawn().await;
    add_archive(&app, 30);
    let newsroom = editor(&app, "editor@example.com").await;
    // The admin subscribed and cancelled before joining the newsroom: nothing invites them
    // to resume, or to take another plan.
    let admin = subscriber(&app, "admin@example.com").await;
    assert_eq!(
        admin.cancel_subscription().await.status,
        StatusCode::SEE_OTHER
    );
    give_role(&app, "admin@example.com", Role::Admin);
    assert!(answers_within_a_second(&admin, "/editor/people", StatusCode::OK).await);
    let reader = Reader::signed_up(&app, "reader@example.com").await;
    let visitor = Reader::new(&app);

    let premium = app.premium_ids()[0];
    let draft = newsroom
        .write_article(&ArticleFields::free("Newsroom Only", BODY), "save")
        .await;
    let pages = [
        "/".to_string(),
        "/page/2".to_string(),
        format!("/articles/{premium}"),
        "/authors/maren-holt".to_string(),
        "/cookies".to_string(),
        "/account".to_string(),
    ];
    let newsroom_pages = [
        "/editor".to_string(),
        format!("/editor/articles/{draft}"),
        format!("/editor/articles/{draft}/preview"),
    ];
    for (who, member) in [("editor", &newsroom), ("admin", &admin)] {
        for path in pages.iter().chain(&newsroom_pages) {
            let page = member.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{who} {path}");
            assert_eq!(
                subscribe_offers(&page.body),
                Vec::<&str>::new(),
                "{who} is invited to subscribe on {path}"
            );
        }
        let missing = member.get("/articles/999999").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(
            !missing.body.contains("class=\"nav-subscribe\""),
            "{who}'s 404 page"
        );
        let account = member.get("/account").await;
        assert!(
            account
                .body
                .contains("You read every article as a member of the newsroom"),
            "{who}'s account page says why there is no offer"
        );
        // Even the plans page, reached by its address, shows the plans without a form.
        let plans = member.get("/subscribe").await;
        assert_eq!(plans.status, StatusCode::OK);
        assert!(
            !plans.body.contains("action=\"/subscribe\""),
            "{who}'s plans page"
        );
        assert!(
            plans.body.contains("member of the newsroom"),
            "{who}'s plans page"
        );
    }

    // Readers on the meter are still invited, on the same pages.
    for (who, member) in [("reader", &reader), ("visitor", &visitor)] {
        for path in &pages {
            let page = member.get(path).await;
            if path == "/account" && who == "visitor" {
                assert_eq!(page.status, StatusCode::SEE_OTHER);
                continue;
            }
            assert!(
                page.body.contains("class=\"nav-subscribe\""),
                "{who} {path} has the masthead's button"
            );
        }
    }
    let account = reader.get("/account").await;
    assert!(account.body.contains("See the plans"));
    assert!(
        reader
            .get("/subscribe")
            .await
            .body
            .contains("action=\"/subscribe\"")
    );
}
