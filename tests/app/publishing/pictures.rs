//! Pictures on the desk: a feature image chosen from the library with its alt text and credit,
//! pictures placed in the body as `![alt](media:ID)`, every other image refused by name (the
//! words typed kept), alt text required to publish but not to save a draft, and a picture an
//! article uses kept in the library until no article uses it.

use diesel::prelude::*;
use gazette::db::media::NotDeleted;
use gazette::domain::ids::MediaId;
use reqwest::StatusCode;

use crate::helpers::*;

fn article_count(app: &TestApp) -> i64 {
    gazette::schema::articles::table
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

/// The library pictures an article's body places, as stored.
fn placed_in(app: &TestApp, article: i64) -> Vec<i64> {
    use gazette::schema::article_media;
    article_media::table
        .filter(article_media::article_id.eq(article))
        .order(article_media::media_id)
        .select(article_media::media_id)
        .load(&mut app.connect())
        .unwrap()
}

fn delete(app: &TestApp, picture: &LibraryPicture) -> Result<i64, NotDeleted> {
    gazette::db::media::delete_unused(&mut app.connect(), MediaId::new(picture.id))
        .expect("asking to delete")
        .map(|row| row.id.get())
}

#[tokio::test]
async fn an_editor_places_library_pictures_and_chooses_a_feature_image() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let harbour = add_picture(&app, "harbour.jpg", "Boats in the harbour", 2400, 1600);
    let nets = add_picture(&app, "nets.png", "Nets drying on the quay", 1000, 750);

    // The form offers the library's pictures by name and alt text.
    let form = newsroom.get("/editor/articles/new").await;
    assert!(
        form.body
            .contains("<select id=\"feature_media_id\" name=\"feature_media_id\"")
    );
    assert!(
        form.body.contains(&format!(
            "<option value=\"{}\">media:{} · harbour.jpg: Boats in the harbour</option>",
            harbour.id, harbour.id
        )),
        "{}",
        form.body
    );

    let body = format!(
        "The boats came in at dawn.\n\n![The nets, drying](media:{})\n\nThen the market opened.",
        nets.id
    );
    let fields = ArticleFields {
        feature_media_id: harbour.id.to_string(),
        feature_alt: "The harbour at dawn, seen from the lighthouse".to_string(),
        feature_credit: "Photo: Ada Editor".to_string(),
        ..ArticleFields::free("Harbour Mornings", &body)
    };
    let id = newsroom.write_article(&fields, "publish").await;
    assert_eq!(placed_in(&app, id), vec![nets.id], "noted with the article");

    let page = Reader::new(&app).read_article(id).await;
    assert_eq!(page.status, StatusCode::OK);
    let feature = format!(
        "<img src=\"{}\" srcset=\"{} 480w, {} 800w, {} 1200w, {} 1600w\" sizes=\"(max-width: 800px) 100vw, 800px\" \
         width=\"2400\" height=\"1600\" alt=\"The harbour at dawn, seen from the lighthouse\" fetchpriority=\"high\">",
        harbour.variant(800),
        harbour.variant(480),
        harbour.variant(800),
        harbour.variant(1200),
        harbour.variant(1600),
    );
    assert!(page.body.contains(&feature), "{}", page.body);
    assert!(
        page.body
            .contains("<figcaption>Photo: Ada Editor</figcaption>")
    );
    let placed = format!(
        "<p><img src=\"{}\" srcset=\"{} 480w, {} 800w, {} 1000w\" sizes=\"(max-width: 800px) 100vw, 800px\" \
         width=\"1000\" height=\"750\" alt=\"The nets, drying\" loading=\"lazy\" decoding=\"async\"></p>",
        nets.variant(800),
        nets.variant(480),
        nets.variant(800),
        nets.variant(1000),
    );
    assert!(page.body.contains(&placed), "{}", page.body);
    // The feature image comes first, above the body.
    assert!(page.body.find(&feature) < page.body.find(&placed));
    // Each address answers with the bytes.
    let picture = Reader::new(&app).get(&harbour.variant(1200)).await;
    assert_eq!(picture.status, StatusCode::OK);

    // The form shows what was chosen, and sends it back unchanged.
    let edit = newsroom.get(&format!("/editor/articles/{id}")).await;
    let shown = article_form_of(&edit.body);
    assert_eq!(shown.feature_media_id, harbour.id.to_string());
    assert_eq!(shown.feature_alt, fields.feature_alt);
    assert_eq!(shown.feature_credit, "Photo: Ada Editor");
    assert!(edit.body.contains(&format!(
        "<img class=\"feature-preview\" src=\"{}\"",
        harbour.variant(480)
    )));

    // No feature image, and the body's picture gone: nothing is used any more.
    let plain = ArticleFields {
        feature_media_id: String::new(),
        body: "The boats came in at dawn.".to_string(),
        ..shown
    };
    newsroom.edit_article(id, &plain, "save").await;
    assert!(placed_in(&app, id).is_empty());
    let page = Reader::new(&app).read_article(id).await;
    assert!(!page.body.contains(&harbour.hash) && !page.body.contains(&nets.hash));
    assert!(!page.body.contains("<figure"));
}

#[tokio::test]
async fn an_image_not_from_the_library_is_refused_by_name_and_the_words_are_kept() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let known = add_picture(&app, "known.jpg", "A known picture", 800, 600);
    let before = article_count(&app);

    let cases = [
        (
            "![A tracker](https://evil.example/pixel.png)",
            "The image https://evil.example/pixel.png is not from the media library",
        ),
        (
            "![Someone's file](../../etc/passwd.jpg)",
            "The image ../../etc/passwd.jpg is not from the media library",
        ),
        (
            "![Gone](media:999)",
            "There is no picture media:999 in the media library.",
        ),
    ];
    for (image, message) in cases {
        let body = format!(
            "Words worth keeping, typed for an hour.\n\n![Known](media:{})\n\n{image}",
            known.id
        );
        let fields = ArticleFields::premium("Refused Pictures", &body);
        for action in ["save", "publish"] {
            let page = newsroom
                .send_article("/editor/articles", &fields, action)
                .await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{image}");
            assert!(
                unescape(&page.body).contains(message),
                "{image}: {}",
                page.body
            );
            assert!(page.body.contains("id=\"body-error\""));
            // Every word typed comes back in the form.
            assert_eq!(article_form_of(&page.body).body, body);
        }
    }
    // A feature image the library does not have.
    let fields = ArticleFields {
        feature_media_id: "999".to_string(),
        ..ArticleFields::premium("No Such Feature", "Words.")
    };
    let page = newsroom
        .send_article("/editor/articles", &fields, "save")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"feature-error\""));
    assert!(page.body.contains("not in the media library"));
    assert_eq!(article_count(&app), before, "nothing was written");
}

#[tokio::test]
async fn an_image_written_as_html_is_dropped_unless_it_is_the_librarys() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let body = "Before.\n\n<img src=\"https://evil.example/track.gif\" alt=\"tracker\" onerror=\"steal()\">\n\n\
                <p>Inline <img src=\"https://evil.example/inline.gif\"> words.</p>\n\nAfter.";
    let id = newsroom
        .write_article(&ArticleFields::free("Raw HTML", body), "publish")
        .await;
    let page = Reader::new(&app).read_article(id).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
    assert!(!page.body.contains("steal()"));
    assert!(page.body.contains("Before.") && page.body.contains("After."));
    let article = &page.body[page.body.find("article-body").unwrap()..];
    assert!(!article[..article.find("</article>").unwrap()].contains("<img"));
}

#[tokio::test]
async fn alt_text_is_needed_to_publish_and_schedule_but_not_to_save_a_draft() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    // Uploaded without alt text.
    let bare = add_picture(&app, "bare.jpg", "", 1200, 800);
    let body = format!("Words.\n\n![](media:{})", bare.id);
    let fields = ArticleFields::premium("Unseen Pictures", &body);

    let id = newsroom.write_article(&fields, "save").await;
    assert_eq!(placed_in(&app, id), vec![bare.id], "a draft saves");

    let later = (START + time::Duration::days(2))
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]"
        ))
        .unwrap();
    for (action, publish_at) in [("publish", ""), ("schedule", later.as_str())] {
        let sent = ArticleFields {
            publish_at: publish_at.to_string(),
            ..fields.clone()
        };
        let page = newsroom
            .send_article(&format!("/editor/articles/{id}"), &sent, action)
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{action}");
        assert!(
            page.body.contains(&format!(
                "Give every picture alt text before publishing, as in ![what it shows](media:ID): media:{} has none.",
                bare.id
            )),
            "{action}: {}",
            page.body
        );
        assert_eq!(article_form_of(&page.body).body, body);
    }
    assert_eq!(
        Reader::new(&app).read_article(id).await.status,
        StatusCode::NOT_FOUND,
        "still a draft"
    );

    // Alt text in the Markdown is enough for the body; the feature image needs its own.
    let described = ArticleFields {
        body: format!("Words.\n\n![A quay at night](media:{})", bare.id),
        feature_media_id: bare.id.to_string(),
        ..fields.clone()
    };
    let page = newsroom
        .send_article(&format!("/editor/articles/{id}"), &described, "publish")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"feature-alt-error\""));
    assert!(
        page.body
            .contains("Give the feature image alt text before publishing")
    );
    assert!(!page.body.contains("id=\"body-error\""));

    let complete = ArticleFields {
        feature_alt: "The quay at night, lamps lit".to_string(),
        ..described
    };
    newsroom.edit_article(id, &complete, "publish").await;
    let page = newsroom.read_article(id).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("alt=\"A quay at night\""));
    assert!(page.body.contains("alt=\"The quay at night, lamps lit\""));
}

#[tokio::test]
async fn a_picture_an_article_uses_stays_in_the_library_until_no_article_uses_it() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let featured = add_picture(&app, "featured.jpg", "A lighthouse", 1600, 900);
    let placed = add_picture(&app, "placed.jpg", "A lamp", 900, 900);
    let unused = add_picture(&app, "unused.jpg", "Nothing", 600, 400);
    let fields = ArticleFields {
        feature_media_id: featured.id.to_string(),
        ..ArticleFields::premium(
            "The Lamp Room",
            &format!("Up the stairs.\n\n![The lamp](media:{})", placed.id),
        )
    };
    let id = newsroom.write_article(&fields, "save").await;

    assert_eq!(delete(&app, &featured), Err(NotDeleted::InUse(1)));
    assert_eq!(delete(&app, &placed), Err(NotDeleted::InUse(1)));
    assert_eq!(delete(&app, &unused), Ok(unused.id));

    let plain = ArticleFields {
        feature_media_id: String::new(),
        body: "Up the stairs.".to_string(),
        ..fields
    };
    newsroom.edit_article(id, &plain, "save").await;
    assert_eq!(delete(&app, &featured), Ok(featured.id));
    assert_eq!(delete(&app, &placed), Ok(placed.id));
}

#[tokio::test]
async fn a_feature_image_changed_by_another_editor_is_a_change_of_the_words() {
    let app = TestApp::spawn().await;
    let ada = editor(&app, "ada@example.com").await;
    let bea = editor(&app, "bea@example.com").await;
    let first = add_picture(&app, "first.jpg", "The first picture", 1200, 800);
    let second = add_picture(&app, "second.jpg", "The second picture", 1200, 800);
    let id = ada
        .write_article(
            &ArticleFields {
                feature_media_id: first.id.to_string(),
                ..ArticleFields::premium("Two Pictures", "Words.")
            },
            "save",
        )
        .await;
    let form_of = |page: Page| article_form_of(&page.body);
    let adas = form_of(ada.get(&format!("/editor/articles/{id}")).await);
    let beas = form_of(bea.get(&format!("/editor/articles/{id}")).await);

    bea.edit_article(
        id,
        &ArticleFields {
            feature_media_id: second.id.to_string(),
            ..beas
        },
        "save",
    )
    .await;
    let refused = ada
        .send_article(
            &format!("/editor/articles/{id}"),
            &ArticleFields {
                feature_credit: "Photo: Ada".to_string(),
                ..adas
            },
            "save",
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("<h3>Feature image</h3>"));
    assert!(refused.body.contains(&format!("media:{}", second.id)));
    assert!(refused.body.contains("<h3>Feature image&#39;s credit</h3>"));
}

#[tokio::test]
async fn an_import_follows_the_same_rules_for_pictures_all_or_none() {
    use gazette::desk::{Import, ImportError, import};
    use gazette::domain::article::{Fields, check};
    let app = TestApp::spawn().await;
    let known = add_picture(&app, "known.jpg", "", 800, 600);
    let file = |title: &str, body: String| Import {
        draft: check(&Fields {
            title: title.to_string(),
            byline: "Ada Editor".to_string(),
            teaser: "A teaser.".to_string(),
            body,
            ..Fields::default()
        })
        .expect("a valid article"),
        published_at: START,
    };
    let before = article_count(&app);
    let refused = |files: &[Import]| match import(&mut app.connect(), files, START) {
        Err(ImportError::Refused { index, message }) => (index, message),
        other => panic!("imported: {other:?}"),
    };
    let good = file(
        "With a Picture",
        format!("Words.\n\n![A described picture](media:{})", known.id),
    );
    let (index, message) = refused(&[
        file("First", "Words.".to_string()),
        file("Foreign", "![x](https://evil.example/x.png)".to_string()),
    ]);
    assert_eq!(index, 1);
    assert!(message.contains("https://evil.example/x.png"), "{message}");
    // Imported articles are published: alt text is needed.
    let (index, message) = refused(&[file("Bare", format!("![](media:{})", known.id))]);
    assert_eq!(index, 0);
    assert!(message.contains("alt text"), "{message}");
    assert_eq!(article_count(&app), before, "all or none");

    let made = import(&mut app.connect(), &[good], START).expect("importing");
    assert_eq!(placed_in(&app, made[0].id.get()), vec![known.id]);
}
