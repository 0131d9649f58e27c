//! The newsletter's pictures: the feature image in the HTML of both letters (the opening's too,
//! as on the paywall), at the column's width and by an absolute address; the body's pictures
//! only in the whole article's; none in the plain text.

use gazette::newsletter::sending::Audience;

use super::sending::{fast_app, join, letters_to, opt_in_account, start, until_done};
use crate::helpers::*;

/// Words only the premium article's body holds.
const BODY_SECRET: &str = "Cormorant ledger of the night shift";

#[tokio::test]
async fn the_newsletter_carries_the_feature_image_in_its_html() {
    let app = fast_app().await;
    let premium = app.premium_ids()[0];
    let feature = add_picture(&app, "letter.jpg", "The letter's picture", 2000, 1500);
    let inside = add_picture(&app, "inside.jpg", "Inside the letter", 1000, 500);
    set_feature(&app, premium, Some(feature.id), "", "Photo: Cy");
    set_body_with_pictures(
        &app,
        premium,
        &format!("{BODY_SECRET}.\n\n![Inside](media:{})", inside.id),
    );
    subscriber(&app, "paying@example.com").await;
    opt_in_account(&app, "paying@example.com");
    join(&mut app.connect(), &["free@example.com".to_string()]);

    start(&app, premium, Audience::All);
    until_done(&app, premium, 20).await;

    let shown = format!(
        "<img src=\"{}{}\" width=\"536\" height=\"402\" alt=\"The letter&#39;s picture\"",
        app.address,
        feature.variant(1200)
    );
    let whole = &letters_to(&app.mailbox, "paying@example.com")[0];
    let opening = &letters_to(&app.mailbox, "free@example.com")[0];
    for mail in [whole, opening] {
        assert!(mail.html.contains(&shown), "{}", mail.html);
        assert!(mail.html.contains("Photo: Cy"));
        assert!(!mail.text.contains("media:"), "{}", mail.text);
    }
    // The text part says what the whole article's picture shows.
    assert!(whole.text.contains("[Picture: Inside]"), "{}", whole.text);
    // The whole article's pictures are addressed absolutely; the opening has none of them.
    assert!(
        whole
            .html
            .contains(&format!("src=\"{}{}\"", app.address, inside.variant(800)))
    );
    assert!(!opening.html.contains(&inside.hash) && !opening.html.contains(BODY_SECRET));
}
