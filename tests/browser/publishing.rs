//! The newsroom's journey: an editor writes an article, previews it, schedules it and
//! publishes it; a visitor finds it on the front page and meets the meter; the feed lists it
//! without its body.

use crate::browser::Browser;
use crate::support::TestApp;

const PASSWORD: &str = "velvet lantern orchard 42";
const SENTENCE: &str = "Every lantern on the pier was lit by hand";

async fn fits_the_screen(browser: &Browser) -> bool {
    browser
        .execute("return document.documentElement.scrollWidth <= window.innerWidth")
        .await
        .as_bool()
        .unwrap_or(false)
}

#[tokio::test]
async fn an_editor_writes_previews_schedules_and_publishes_and_a_visitor_finds_it() {
    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("newsroom-journey", 1280, 900).await else {
        return;
    };

    // An account, made an editor by the operator.
    crate::browser::sign_up_as_editor(&browser, &app, "editor@example.com", PASSWORD).await;
    browser.click(".account-nav a[href='/editor']").await;
    assert_eq!(browser.path().await, "/editor");
    assert!(browser.text("h1").await.contains("The desk"));
    browser.screenshot("desk").await;
    browser.resize(360, 740).await;
    assert!(fits_the_screen(&browser).await, "the desk fits a phone");
    browser.screenshot("desk-phone").await;
    browser.resize(1280, 900).await;

    // An empty form comes back with each problem beside its field.
    browser.click("a[href='/editor/articles/new']").await;
    browser.click("button[value=save]").await;
    assert!(browser.text("#title-error").await.contains("title"));
    assert!(browser.text("#body-error").await.contains("text"));
    assert!(
        browser
            .text(".form-error")
            .await
            .contains("Nothing was saved")
    );
    browser.screenshot("form-with-errors").await;
    browser.resize(360, 740).await;
    assert!(fits_the_screen(&browser).await, "the form fits a phone");
    browser.screenshot("form-with-errors-phone").await;
    browser.resize(1280, 900).await;

    browser.fill("#title", "The Harbour at Night").await;
    browser.fill("#byline", "Ada Editor").await;
    browser
        .fill("#teaser", "How a small port keeps working after dark.")
        .await;
    browser
        .fill(
            "#body",
            &format!(
                "{SENTENCE}, every evening, for a century.\n\n## The night shift\n\n\
                 Three jobs nobody sees:\n\n- the pilot\n- the lamp keeper\n- the harbour master\n\n\
                 Read the [port's own history](https://example.com/port).\n"
            ),
        )
        .await;
    browser.click("button[value=preview]").await;
    assert!(browser.path().await.ends_with("/preview"));
    assert!(browser.text(".preview-bar").await.contains("Draft"));
    assert_eq!(browser.text(".article-body h2").await, "The night shift");
    assert!(
        browser
            .text(".article-body ul")
            .await
            .contains("the lamp keeper")
    );
    assert!(
        browser
            .has(".article-body a[href='https://example.com/port']")
            .await
    );
    browser.screenshot("preview-as-subscriber").await;

    browser.resize(360, 740).await;
    assert!(fits_the_screen(&browser).await, "the preview fits a phone");
    browser.screenshot("preview-as-subscriber-phone").await;
    browser.resize(1280, 900).await;

    browser
        .click(".preview-bar a[href$='/preview/paywall']")
        .await;
    assert!(browser.has(".offer").await);
    assert!(!browser.has(".article-body").await);
    assert!(!browser.text("main").await.contains(SENTENCE));
    browser.screenshot("preview-as-paywall").await;
    browser.resize(360, 740).await;
    assert!(fits_the_screen(&browser).await);
    browser.screenshot("preview-as-paywall-phone").await;
    browser.resize(1280, 900).await;

    // Scheduled for an hour from now (the app's clock): not public yet.
    browser.click(".preview-bar a.back-to-editing").await;
    browser
        .execute("document.getElementById('publish_at').value = '2026-11-26T13:00'; return true")
        .await;
    browser.click("button[value=schedule]").await;
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Scheduled for 26 November 2026, 13:00 UTC")
    );
    assert!(browser.text("#stage").await.contains("Scheduled"));
    browser.screenshot("scheduled").await;
    let visitor_view = reqwest::get(app.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !visitor_view.contains("The Harbour at Night"),
        "not before its time"
    );

    browser.click("button[value=publish]").await;
    assert!(browser.text(".flash").await.contains("Published"));
    assert!(browser.text("#stage").await.contains("Published"));
    browser.goto(&app.url("/editor")).await;
    browser.screenshot("desk-after-publishing").await;

    // A visitor: a fresh browser session.
    browser
        .client
        .delete_all_cookies()
        .await
        .expect("forgetting the editor");
    browser.goto(&app.url("/")).await;
    assert!(
        browser
            .text(".lead-story h2")
            .await
            .contains("The Harbour at Night")
    );
    browser.click(".lead-story h2 a").await;
    assert!(browser.path().await.ends_with("/the-harbour-at-night"));
    assert!(browser.text(".article-body").await.contains(SENTENCE));
    assert!(
        browser
            .text(".meter")
            .await
            .contains("4 of 5 free articles left this month")
    );
    browser.screenshot("visitor-reads-it-on-the-meter").await;

    // The feed lists it, without its body.
    let feed = reqwest::get(app.url("/feed.xml"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(feed.contains("<title>The Harbour at Night</title>"));
    assert!(feed.contains("How a small port keeps working after dark."));
    assert!(
        !feed.contains(SENTENCE),
        "a premium body stays out of the feed"
    );
    browser.close().await;
}

/// What another editor's save does: the desk's own save (from a form that names no version
/// when the article exists); returns the article's id.
fn saved_by_another_editor(
    app: &TestApp,
    target: gazette::desk::Target,
    body: &str,
) -> gazette::domain::ids::ArticleId {
    use gazette::domain::article::{Fields, Step, check};
    let draft = check(&Fields {
        title: "The Lighthouse Keepers".to_string(),
        byline: "Bea Editor".to_string(),
        teaser: "Who keeps the light on.".to_string(),
        body: body.to_string(),
        premium: true,
        ..Fields::default()
    })
    .expect("a valid article");
    let saved = gazette::desk::save(
        &mut app.connect(),
        target,
        &draft,
        Step::Keep,
        gazette::clock::Clock::now(app.clock.as_ref()),
    )
    .expect("saving");
    match saved {
        gazette::desk::Saved::Done { id, .. } => id,
        other => panic!("not saved: {other:?}"),
    }
}

#[tokio::test]
async fn an_editor_whose_save_comes_second_keeps_every_word_and_sees_what_changed() {
    use diesel::prelude::*;
    use gazette::desk::Target;

    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("newsroom-two-editors", 1280, 900).await else {
        return;
    };
    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;
    gazette::db::users::set_role(
        &mut app.connect(),
        "ada@example.com",
        gazette::domain::role::Role::Editor,
    )
    .expect("making an editor");
    let author_id: gazette::domain::ids::UserId = gazette::schema::users::table
        .filter(gazette::schema::users::email.eq("ada@example.com"))
        .select(gazette::schema::users::id)
        .first(&mut app.connect())
        .expect("the account");
    let id = saved_by_another_editor(
        &app,
        Target::New { author_id },
        "The light was kept by three families.\n\nEach took a winter.",
    );

    // Ada opens the article (once her new role has reached the app) and starts typing.
    let form = app.url(&format!("/editor/articles/{id}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        browser.goto(&form).await;
        if browser.has("#body").await {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the desk never opened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let adas =
        "The light was kept by three families.\n\nEach took a winter, and Ada wrote it down.";
    browser.fill("#body", adas).await;

    // Meanwhile Bea saves her own change.
    saved_by_another_editor(
        &app,
        Target::Existing {
            id,
            opened_at: None,
        },
        "The light was kept by four families.\n\nEach took a winter.",
    );

    browser.click("button[value=save]").await;
    assert!(
        browser
            .text("#conflict h2")
            .await
            .contains("Someone saved this article while you were editing it")
    );
    assert!(
        browser
            .text("#conflict .diff")
            .await
            .contains("four families")
    );
    let typed = browser
        .execute("return document.getElementById('body').value")
        .await;
    assert_eq!(
        typed.as_str(),
        Some(adas),
        "every word Ada typed is in the form"
    );
    browser.screenshot("save-refused-with-what-changed").await;
    browser.resize(360, 740).await;
    assert!(fits_the_screen(&browser).await, "the conflict fits a phone");
    browser
        .screenshot("save-refused-with-what-changed-phone")
        .await;
    browser.resize(1280, 900).await;

    // Ada takes Bea's change into her text and saves again.
    browser
        .fill(
            "#body",
            "The light was kept by four families.\n\nEach took a winter, and Ada wrote it down.",
        )
        .await;
    browser.click("button[value=save]").await;
    assert!(browser.text(".flash").await.contains("Draft saved"));
    assert!(!browser.has("#conflict").await);
    browser.close().await;
}
