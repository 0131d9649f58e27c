//! A gift subscription end to end: a reader buys three months for a friend, the friend opens
//! the mailed link on a phone-sized browser, creates an account from it, redeems the gift and
//! reads a premium article whole; the buyer's account shows the gift redeemed.

use crate::browser::Browser;
use crate::support::TestApp;

const PASSWORD: &str = "velvet lantern orchard 42";
const BUYER: &str = "giver@example.com";
const FRIEND: &str = "friend@example.com";
/// Words of the newest premium demo article's body.
const BODY: &str = "Ask an older relative";

#[tokio::test]
async fn a_reader_gives_three_months_that_a_friend_redeems_from_the_mailed_link() {
    let app = TestApp::spawn().await;
    let Some(mut buyer) = Browser::start("gift-subscription-buyer", 1280, 900).await else {
        return;
    };
    let newest = *app.premium_ids().last().unwrap();

    buyer.goto(&app.url("/signup?next=%2Fgift")).await;
    buyer.fill("#email", BUYER).await;
    buyer.fill("#password", PASSWORD).await;
    buyer.click("form.stacked-form button[type=submit]").await;
    assert_eq!(buyer.path().await, "/gift");
    // A radio button loads no page: it is chosen by script, as a click would.
    buyer
        .execute("document.querySelector(\"input[name=months][value='3']\").checked = true")
        .await;
    buyer.fill("#recipient", FRIEND).await;
    buyer.fill("#from", "Ann").await;
    buyer.fill("#message", "For the long train rides.").await;
    buyer.screenshot("gift-form").await;
    buyer
        .click("form[action='/gift'] button[type=submit]")
        .await;
    assert_eq!(buyer.path().await, "/account");
    let flash = buyer.text(".flash").await;
    assert!(flash.contains("your gift of 3 months is paid"), "{flash}");
    let gifts = buyer.text("section[aria-labelledby=gifts-title]").await;
    assert!(gifts.contains("3 months for friend@example.com"), "{gifts}");
    assert!(gifts.contains("Paid, waiting to be redeemed"), "{gifts}");
    buyer.screenshot("account-gift-given").await;

    let mail = app
        .mailbox
        .wait_for(FRIEND, 1)
        .await
        .into_iter()
        .next()
        .expect("the gift's mail");
    assert_eq!(mail.subject, "A gift for you: 3 months of Gazette");
    let link = mail.link();

    let Some(mut friend) = Browser::start("gift-subscription-friend", 390, 844).await else {
        return;
    };
    friend.goto(&link).await;
    let heading = friend.text("h1").await;
    assert_eq!(heading, "3 months of Gazette, from Ann");
    assert!(
        friend
            .text(".gift-message")
            .await
            .contains("long train rides")
    );
    friend.screenshot("gift-link-opened").await;
    friend.click("a.button[href^='/signup']").await;
    friend.fill("#email", FRIEND).await;
    friend.fill("#password", PASSWORD).await;
    friend.click("form.stacked-form button[type=submit]").await;
    assert!(
        friend.path().await.starts_with("/gift/"),
        "back to the gift"
    );
    friend.screenshot("gift-ready-to-redeem").await;
    friend.click("main form button[type=submit]").await;
    assert_eq!(friend.path().await, "/account");
    assert!(
        friend
            .text(".flash")
            .await
            .contains("Your gift is redeemed")
    );
    assert!(
        friend
            .text("main")
            .await
            .contains("Gift subscription until")
    );
    friend.screenshot("account-gift-redeemed").await;
    friend.goto(&app.url(&format!("/articles/{newest}"))).await;
    assert!(friend.text(".article-body").await.contains(BODY));
    friend.close().await;

    buyer.goto(&app.url("/account")).await;
    let gifts = buyer.text("section[aria-labelledby=gifts-title]").await;
    assert!(gifts.contains("Redeemed on"), "{gifts}");
    buyer.close().await;
}
