//! Pictures, from the newsroom to the reader: an editor uploads a photo taken sideways, with a
//! GPS position in it, to the media library, sets it as an article's feature image and
//! publishes; a reader sees it upright on a wide screen and on a phone, each loading a
//! variant that fits, with no layout shift, and no variant carries the position.

use std::time::Duration;

use crate::browser::Browser;
use crate::support::TestApp;
use crate::support::pictures::{gps_latitude_bytes, jpeg_with_exif};

const PASSWORD: &str = "velvet lantern orchard 42";
const ALT: &str = "Fishing boats moored at the harbour wall at dusk";

/// What the feature image on the page says about itself once it has loaded.
async fn feature_image(browser: &Browser) -> serde_json::Value {
    let script = "const img = document.querySelector('.feature-picture img'); \
         if (!img || !img.complete || img.naturalWidth === 0) { return null; } \
         return { src: img.currentSrc, natural: img.naturalWidth, \
                  shown: img.getBoundingClientRect().width, \
                  width: img.getAttribute('width'), height: img.getAttribute('height'), \
                  alt: img.alt, lazy: img.loading };";
    for _ in 0..100 {
        let found = browser.execute(script).await;
        if !found.is_null() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the feature image never loaded");
}

#[tokio::test]
async fn an_editor_uploads_a_photo_features_it_and_a_reader_sees_it_on_any_screen() {
    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("pictures-journey", 1280, 900).await else {
        return;
    };
    crate::browser::sign_up_as_editor(&browser, &app, "photo-desk@example.com", PASSWORD).await;

    // A 2400 × 1600 photo stored sideways (EXIF orientation 6), with where it was taken.
    let photo = std::env::temp_dir().join(format!("gazette-harbour-{}.jpg", app.port));
    std::fs::write(&photo, jpeg_with_exif(1600, 2400, 6, true)).unwrap();

    browser.goto(&app.url("/editor")).await;
    browser.click("a[href='/editor/media']").await;
    assert!(browser.text("h1").await.contains("Pictures"));
    browser.fill("#upload-alt", ALT).await;
    browser
        .upload("#upload-file", photo.to_str().unwrap())
        .await;
    browser.click(".upload-form button[type=submit]").await;
    assert!(browser.text(".flash").await.contains("Picture added"));
    assert!(
        browser
            .text(".media-library")
            .await
            .contains("gazette-harbour")
    );
    assert!(browser.has(".media-library img[src^='/media/']").await);
    browser.screenshot("library-after-upload").await;
    std::fs::remove_file(&photo).ok();

    // The article, with the photo as its feature image.
    browser.click(".back-link a[href='/editor']").await;
    browser.click("a[href='/editor/articles/new']").await;
    browser.fill("#title", "Boats Come Home").await;
    browser.fill("#byline", "Ada Editor").await;
    browser
        .fill("#teaser", "The evening the whole fleet came back at once.")
        .await;
    browser
        .fill(
            "#body",
            "The harbour was full by nine.\n\nEvery boat was counted twice.\n",
        )
        .await;
    browser.choose("#feature_media_id", "gazette-harbour").await;
    browser.fill("#feature_credit", "Photo: Ada Editor").await;
    browser.click("button[value=publish]").await;
    assert!(browser.text(".flash").await.contains("Published"));
    browser.screenshot("published-with-feature-image").await;

    // A reader on a wide screen.
    browser
        .client
        .delete_all_cookies()
        .await
        .expect("forgetting the editor");
    browser.goto(&app.url("/")).await;
    assert!(
        browser
            .has(".lead-story img.card-picture[src^='/media/']")
            .await,
        "the card shows it"
    );
    browser.screenshot("front-page").await;
    browser.click(".lead-story h2 a").await;
    let wide = feature_image(&browser).await;
    assert_eq!(wide["alt"], ALT);
    assert_eq!(wide["lazy"], "auto", "the largest paint is not lazy");
    // Upright: the width attribute is the long side.
    assert_eq!(wide["width"], "2400");
    assert_eq!(wide["height"], "1600");
    let wide_src = wide["src"].as_str().unwrap().to_string();
    assert!(wide_src.contains("/media/"), "{wide_src}");
    assert!(
        wide["natural"].as_u64().unwrap() >= wide["shown"].as_f64().unwrap() as u64,
        "a variant at least as wide as the column: {wide}"
    );
    assert!(
        browser
            .text(".feature-picture figcaption")
            .await
            .contains("Ada Editor")
    );
    browser.screenshot("article-1280").await;

    // The same page on a phone.
    browser.resize(390, 844).await;
    browser.client.refresh().await.expect("reloading");
    let phone = feature_image(&browser).await;
    let phone_src = phone["src"].as_str().unwrap().to_string();
    assert!(
        phone["natural"].as_u64().unwrap() < wide["natural"].as_u64().unwrap(),
        "the phone loads a narrower variant: {phone_src} against {wide_src}"
    );
    let fits = browser
        .execute("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(
        fits,
        serde_json::Value::Bool(true),
        "the picture fits a phone"
    );
    browser.screenshot("article-390").await;

    // Neither variant carries where the photo was taken.
    for src in [wide_src, phone_src] {
        let bytes = reqwest::get(&src).await.unwrap().bytes().await.unwrap();
        let gps = gps_latitude_bytes();
        assert!(
            !bytes
                .windows(gps.len())
                .any(|window| window == gps.as_slice()),
            "{src} carries the GPS position"
        );
        assert!(!bytes.windows(4).any(|window| window == b"Exif"), "{src}");
    }
    browser.close().await;
}
