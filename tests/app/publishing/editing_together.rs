//! Two editors (or one editor in two windows) saving the same article: a save made from a
//! form opened before another save changed the words is refused with a 409 that keeps every
//! word typed and shows what the other save changed; nothing is ever erased in silence.

use reqwest::StatusCode;

use crate::helpers::*;

const BODY: &str =
    "The tide came in at six.\n\nThe boats went out at seven.\n\nNobody came back before noon.";

/// The article as stored, read through the desk's form.
async fn stored(editor: &Reader<'_>, id: i64) -> ArticleFields {
    let page = editor.get(&format!("/editor/articles/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    article_form_of(&page.body)
}

#[tokio::test]
async fn a_save_from_a_form_opened_before_another_save_is_refused_and_keeps_every_word() {
    let app = TestApp::spawn().await;
    let ada = editor(&app, "ada@example.com").await;
    let bea = editor(&app, "bea@example.com").await;
    let id = ada
        .write_article(&ArticleFields::premium("Harbour Days", BODY), "save")
        .await;

    // Both open the article.
    let mut adas = stored(&ada, id).await;
    let mut beas = stored(&bea, id).await;
    assert!(
        !adas.version.is_empty(),
        "the form says which version it shows"
    );
    assert_eq!(adas.version, beas.version);

    // Bea saves first: a new title and a new last paragraph.
    beas.title = "Harbour Days and Nights".to_string();
    beas.body = BODY.replace(
        "Nobody came back before noon.",
        "Bea's boats came back at dusk.",
    );
    bea.edit_article(id, &beas, "save").await;

    // Ada, who never saw Bea's words, saves her own change to the first paragraph.
    adas.body = BODY.replace("The tide came in at six.", "Ada's tide came in at five.");
    let refused = ada
        .send_article(&format!("/editor/articles/{id}"), &adas, "save")
        .await;
    assert_eq!(
        refused.status,
        StatusCode::CONFLICT,
        "a save from an older version may not erase Bea's: {}",
        refused.status
    );
    // Bea's words are what is stored.
    let now = stored(&bea, id).await;
    assert_eq!(now.title, "Harbour Days and Nights");
    assert_eq!(now.body, beas.body);

    // The form comes back with every word Ada typed...
    let shown = article_form_of(&refused.body);
    assert_eq!(shown.body, adas.body);
    assert_eq!(shown.title, adas.title);
    // ...and what changed: the parts that differ, Bea's words for each, and the lines.
    let start = refused
        .body
        .find("id=\"conflict\"")
        .expect("the page explains the conflict");
    let end = refused
        .body
        .find("class=\"stacked-form article-form\"")
        .expect("the form");
    let conflict = &refused.body[start..end];
    assert!(conflict.contains("<h3>Title</h3>") && conflict.contains("<h3>Text</h3>"));
    assert!(
        !conflict.contains("<h3>Byline</h3>"),
        "the byline is the same"
    );
    assert!(conflict.contains("Harbour Days and Nights"));
    assert!(conflict.contains("Bea&#39;s boats came back at dusk."));
    assert!(conflict.contains("class=\"diff-removed\">- Bea&#39;s boats came back at dusk."));
    assert!(conflict.contains("class=\"diff-added\">+ Nobody came back before noon."));
    assert!(conflict.contains("class=\"diff-added\">+ Ada&#39;s tide came in at five."));

    // Having seen Bea's save, Ada keeps both changes and saves again from the form as shown:
    // it now builds on Bea's version.
    assert_eq!(shown.version, now.version);
    let merged = ArticleFields {
        title: now.title.clone(),
        body: beas
            .body
            .replace("The tide came in at six.", "Ada's tide came in at five."),
        ..shown
    };
    ada.edit_article(id, &merged, "save").await;
    let now = stored(&bea, id).await;
    assert_eq!(now.body, merged.body);
    assert_eq!(now.title, "Harbour Days and Nights");
}

#[tokio::test]
async fn one_editor_in_two_windows_cannot_publish_over_their_own_later_save() {
    let app = TestApp::spawn().await;
    let first = editor(&app, "ada@example.com").await;
    let second = Reader::new(&app);
    second.log_in("ada@example.com", PASSWORD).await;
    let id = first
        .write_article(&ArticleFields::free("Two Windows", BODY), "save")
        .await;
    let old = stored(&first, id).await;
    let mut newer = stored(&second, id).await;
    newer.teaser = "The teaser written in the second window.".to_string();
    second.edit_article(id, &newer, "save").await;

    // The first window, still showing the old teaser, presses Publish.
    let refused = first
        .send_article(&format!("/editor/articles/{id}"), &old, "publish")
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused
            .body
            .contains("The teaser written in the second window.")
    );
    assert_eq!(
        Reader::new(&app).read_article(id).await.status,
        StatusCode::NOT_FOUND,
        "nothing was published"
    );
    assert_eq!(stored(&first, id).await.teaser, newer.teaser);
}

#[tokio::test]
async fn saves_that_erase_nothing_go_through_and_a_form_without_a_version_is_saved_as_before() {
    let app = TestApp::spawn().await;
    let ada = editor(&app, "ada@example.com").await;
    let id = ada
        .write_article(&ArticleFields::premium("Double Click", BODY), "save")
        .await;
    let mut form = stored(&ada, id).await;
    form.body.push_str("\n\nOne more line.");

    // A double click: the same form twice. The second sends the words already stored.
    let path = format!("/editor/articles/{id}");
    let clicks = join_all([
        ada.send_article(&path, &form, "save"),
        ada.send_article(&path, &form, "save"),
    ])
    .await;
    for click in &clicks {
        assert_eq!(click.status, StatusCode::SEE_OTHER, "{}", click.body);
    }
    // Publishing from that same form: the words are the stored ones, so nothing is lost.
    ada.edit_article(id, &form, "publish").await;
    assert_eq!(
        Reader::new(&app).read_article(id).await.status,
        StatusCode::OK
    );

    // A form that names no version (as before versions existed) is saved as it always was.
    let unversioned = ArticleFields {
        version: String::new(),
        title: "Double Click, Retitled".to_string(),
        ..form.clone()
    };
    ada.edit_article(id, &unversioned, "save").await;
    assert_eq!(stored(&ada, id).await.title, "Double Click, Retitled");

    // A version that is not a number is a bad request, and changes nothing.
    for bad in ["abc", "-1", "1.5", "99999999999999999999"] {
        let page = ada
            .send_article(
                &path,
                &ArticleFields {
                    version: bad.to_string(),
                    title: "Vandalised".to_string(),
                    ..form.clone()
                },
                "save",
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert_eq!(stored(&ada, id).await.title, "Double Click, Retitled");
}

#[tokio::test]
async fn a_form_refused_for_a_mistake_keeps_the_version_it_was_opened_at() {
    let app = TestApp::spawn().await;
    let ada = editor(&app, "ada@example.com").await;
    let bea = editor(&app, "bea@example.com").await;
    let id = ada
        .write_article(&ArticleFields::premium("Kept Version", BODY), "save")
        .await;
    let mut adas = stored(&ada, id).await;
    let mut beas = stored(&bea, id).await;
    beas.byline = "Bea Editor".to_string();
    bea.edit_article(id, &beas, "save").await;

    // Ada's form has a mistake: it comes back (422) still built on the version she opened, so
    // fixing it does not make Bea's save disappear.
    adas.title = "   ".to_string();
    let mistaken = ada
        .send_article(&format!("/editor/articles/{id}"), &adas, "save")
        .await;
    assert_eq!(mistaken.status, StatusCode::UNPROCESSABLE_ENTITY);
    let shown = article_form_of(&mistaken.body);
    assert_eq!(shown.version, adas.version);
    let fixed = ArticleFields {
        title: "Kept Version, Fixed".to_string(),
        ..shown
    };
    let refused = ada
        .send_article(&format!("/editor/articles/{id}"), &fixed, "save")
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("Bea Editor"));
    assert_eq!(stored(&bea, id).await.byline, "Bea Editor");
}

#[tokio::test]
async fn of_thirty_saves_sent_at_once_from_one_version_exactly_one_is_kept_and_the_rest_refused() {
    let app = TestApp::spawn().await;
    let ada = editor(&app, "ada@example.com").await;
    let second = Reader::new(&app);
    second.log_in("ada@example.com", PASSWORD).await;
    let id = ada
        .write_article(&ArticleFields::premium("Thirty Windows", BODY), "save")
        .await;
    let opened = stored(&ada, id).await;
    let path = format!("/editor/articles/{id}");
    let forms: Vec<ArticleFields> = (1..=30)
        .map(|n| ArticleFields {
            body: format!("{BODY}\n\nWindow {n} was here."),
            ..opened.clone()
        })
        .collect();
    let answers = join_all(forms.iter().enumerate().map(|(n, form)| {
        let window = if n % 2 == 0 { &ada } else { &second };
        window.send_article(&path, form, "save")
    }))
    .await;

    let kept: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, page)| page.status == StatusCode::SEE_OTHER)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "one save is kept: {:?}",
        answers.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .all(|page| matches!(page.status, StatusCode::SEE_OTHER | StatusCode::CONFLICT)),
        "every other save is refused"
    );
    let now = stored(&ada, id).await;
    assert_eq!(
        now.body, forms[kept[0]].body,
        "the kept save is the stored one"
    );
    for (n, page) in answers.iter().enumerate() {
        if page.status == StatusCode::CONFLICT {
            assert_eq!(
                article_form_of(&page.body).body,
                forms[n].body,
                "window {n}'s words"
            );
        }
    }
}
