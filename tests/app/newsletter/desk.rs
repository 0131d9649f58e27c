//! The newsroom's side of the newsletter: publish and e-mail, e-mail a published article once
//! (whatever is clicked twice or in two tabs), a test to the editor's own address, and the
//! progress page.

use std::time::Duration;

use reqwest::StatusCode;

use super::sending::{counts, join_many, letters, letters_to, until_done};
use crate::helpers::*;

async fn app_with_readers(readers: i64) -> TestApp {
    let app = TestApp::builder()
        .settings(|s| s.newsletter.rate = 500)
        .start()
        .await;
    join_many(&mut app.connect(), "desk", readers);
    app
}

#[tokio::test]
async fn publish_and_email_publishes_the_article_and_sends_it_to_the_list() {
    let app = app_with_readers(5).await;
    let editor = editor(&app, "ada@example.com").await;
    let fields = ArticleFields::premium(
        "The harbour at dawn",
        "What the fishermen saw.\n\nAnd more.",
    );
    let token = editor.csrf_token().await;
    let premium = "on".to_string();
    let page = editor
        .post(
            "/editor/articles",
            &[
                ("csrf_token", token.as_str()),
                ("title", &fields.title),
                ("slug", ""),
                ("byline", &fields.byline),
                ("teaser", &fields.teaser),
                ("body", &fields.body),
                ("premium", &premium),
                ("publish_at", ""),
                ("action", "publish_email"),
                ("newsletter_audience", "all"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location().unwrap().to_string();
    assert!(location.ends_with("/newsletter"), "{location}");
    let id: i64 = location
        .trim_start_matches("/editor/articles/")
        .trim_end_matches("/newsletter")
        .parse()
        .unwrap();
    // Published: readers see it.
    assert_eq!(
        Reader::new(&app).read_article(id).await.status,
        StatusCode::OK
    );
    let done = until_done(&app, id, 20).await;
    assert_eq!(done.sent, 5);
    assert_eq!(letters(&app.mailbox).len(), 5);

    let progress = editor.get(&location).await;
    assert_eq!(progress.status, StatusCode::OK);
    assert!(
        progress.body.contains("E-mailing it to 5 reader(s)"),
        "the flash"
    );
    assert!(progress.body.contains("<td id=\"count-sent\">5</td>"));
    assert!(progress.body.contains("<td id=\"count-audience\">5</td>"));
    assert!(
        !progress.body.contains("http-equiv=\"refresh\""),
        "done: no refresh"
    );
}

#[tokio::test]
async fn a_published_article_is_emailed_once_whatever_is_clicked_in_how_many_tabs() {
    let app = app_with_readers(8).await;
    let editor = editor(&app, "ada@example.com").await;
    let id = editor
        .write_article(
            &ArticleFields::free("Open to all", "Every word, for everyone."),
            "publish",
        )
        .await;
    let edit = editor.get(&format!("/editor/articles/{id}")).await;
    assert!(edit.body.contains("E-mail it to the list"), "the button");
    let token = edit.csrf_token();

    let tabs: Vec<Reader> = (0..10).map(|_| editor.copy()).collect();
    let path = format!("/editor/articles/{id}/newsletter");
    let pages = join_all(tabs.iter().map(|tab| {
        tab.post(
            &path,
            &[("csrf_token", token.as_str()), ("audience", "all")],
        )
    }))
    .await;
    assert!(pages.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    assert_eq!(rows_in(&app, "newsletter_sends"), 1);
    let done = until_done(&app, id, 20).await;
    assert_eq!(done.sent, 8);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(letters(&app.mailbox).len(), 8, "one letter per reader");

    // Later: the page says it was e-mailed, and another click changes nothing.
    let edit = editor.get(&format!("/editor/articles/{id}")).await;
    assert!(!edit.body.contains("E-mail it to the list"));
    assert!(edit.body.contains("Follow the sending"));
    let again = editor
        .post(
            &path,
            &[("csrf_token", token.as_str()), ("audience", "subscribers")],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let progress = editor.follow(&again).await;
    assert!(
        progress.body.contains("already e-mailed"),
        "{}",
        progress.body
    );
    assert_eq!(counts(&app, id).audience(), 8);
}

#[tokio::test]
async fn a_draft_is_not_emailed_but_can_be_tested() {
    let app = app_with_readers(3).await;
    let editor = editor(&app, "ada@example.com").await;
    let id = editor
        .write_article(
            &ArticleFields::premium(
                "Work in progress",
                "The secret middle of the draft.\n\nAnd more.",
            ),
            "save",
        )
        .await;
    let edit = editor.get(&format!("/editor/articles/{id}")).await;
    assert!(!edit.body.contains("E-mail it to the list"));
    let token = edit.csrf_token();
    let page = editor
        .post(
            &format!("/editor/articles/{id}/newsletter"),
            &[("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(rows_in(&app, "newsletter_sends"), 0);

    let page = editor
        .post(
            &format!("/editor/articles/{id}/newsletter/test"),
            &[("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let tests = app.mailbox.wait_for("ada@example.com", 2).await;
    let tests: Vec<_> = tests
        .into_iter()
        .filter(|m| m.subject.starts_with("[Test"))
        .collect();
    assert_eq!(tests.len(), 2, "both letters");
    let whole = tests
        .iter()
        .find(|m| m.subject.contains("as a subscriber gets it"))
        .expect("the subscriber's letter");
    let opening = tests
        .iter()
        .find(|m| m.subject.contains("as a free reader gets it"))
        .expect("the free reader's letter");
    assert!(whole.text.contains("The secret middle of the draft."));
    assert!(!opening.raw.contains("secret middle"));
    assert!(opening.text.contains("/subscribe?next="));
    assert!(whole.header("List-Unsubscribe").is_some());
    // Nobody else got anything.
    assert!(letters_to(&app.mailbox, "desk-1@example.com").is_empty());
    assert_eq!(rows_in(&app, "newsletter_sends"), 0);
}

#[tokio::test]
async fn a_test_the_mail_server_does_not_answer_is_reported_not_waited_for() {
    let app = app_with_readers(1).await;
    let editor = editor(&app, "ada@example.com").await;
    let id = editor
        .write_article(&ArticleFields::free("Held", "Words."), "save")
        .await;
    // The server holds its answer to the data far longer than the editor is kept waiting.
    app.mailbox.hold(std::time::Duration::from_secs(60));
    let token = editor.csrf_token().await;
    let page = editor
        .post(
            &format!("/editor/articles/{id}/newsletter/test"),
            &[("csrf_token", token.as_str())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let shown = editor.follow(&page).await;
    assert!(
        shown.body.contains("could not be sent just now"),
        "{}",
        shown.body
    );
}

#[tokio::test]
async fn the_progress_page_refreshes_itself_while_the_send_goes_on() {
    let app = TestApp::builder()
        .settings(|s| s.newsletter.rate = 2)
        .start()
        .await;
    join_many(&mut app.connect(), "slow", 40);
    let editor = editor(&app, "ada@example.com").await;
    let id = editor
        .write_article(&ArticleFields::free("Slowly", "Word by word."), "publish")
        .await;
    let token = editor.csrf_token().await;
    let page = editor
        .post(
            &format!("/editor/articles/{id}/newsletter"),
            &[("csrf_token", token.as_str()), ("audience", "all")],
        )
        .await;
    let progress = editor.follow(&page).await;
    assert_eq!(progress.status, StatusCode::OK);
    assert!(
        progress
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"5\">")
    );
    assert!(progress.body.contains("<td id=\"count-audience\">40</td>"));
    assert!(progress.body.contains("Skipped as suppressed"));
    assert!(progress.body.contains("Uncertain"));
}

#[tokio::test]
async fn the_newsletter_buttons_need_an_editor_and_the_csrf_token() {
    let app = app_with_readers(2).await;
    let editor = editor(&app, "ada@example.com").await;
    let id = editor
        .write_article(&ArticleFields::free("Guarded", "Words."), "publish")
        .await;
    let path = format!("/editor/articles/{id}/newsletter");
    // Without the token, or with another's.
    let page = editor.post(&path, &[("audience", "all")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let stranger = Reader::signed_up(&app, "reader@example.com").await;
    let foreign = stranger.csrf_token().await;
    let page = editor
        .post(
            &path,
            &[("csrf_token", foreign.as_str()), ("audience", "all")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // A reader, with their own token.
    let page = stranger
        .post(
            &path,
            &[("csrf_token", foreign.as_str()), ("audience", "all")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = stranger
        .post(&format!("{path}/test"), &[("csrf_token", foreign.as_str())])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(stranger.get(&path).await.status, StatusCode::FORBIDDEN);
    // A made-up audience.
    let token = editor.csrf_token().await;
    let page = editor
        .post(
            &path,
            &[("csrf_token", token.as_str()), ("audience", "friends")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(rows_in(&app, "newsletter_sends"), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(letters(&app.mailbox).is_empty());
}
