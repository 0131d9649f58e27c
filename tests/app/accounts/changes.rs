//! Changing the password and the e-mail address from the account's own pages: the password
//! is asked for (and counted), the right sessions end, notices and links arrive by mail, and
//! an address already taken is answered like a free one.

use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

const OWNER: &str = "owner@example.com";
const NEW_PASSWORD: &str = "copper kettle meadow 77";

#[tokio::test]
async fn changing_the_password_ends_every_other_login_and_keeps_this_one_with_a_new_token() {
    let app = TestApp::spawn().await;
    let here = Reader::signed_up(&app, OWNER).await;
    let elsewhere = Reader::new(&app);
    elsewhere.log_in(OWNER, PASSWORD).await;
    let copy_of_here = here.copy();
    let cookie_before = here.session_cookie();

    let page = here.change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/account"));
    assert_ne!(here.session_cookie(), cookie_before, "a new cookie");
    let account = here.follow(&page).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("Your password is changed"));

    assert_eq!(
        elsewhere.get("/account").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        copy_of_here.get("/account").await.status,
        StatusCode::SEE_OTHER,
        "a copy of this browser's old cookie no longer logs in"
    );

    let notice = app.mailbox.next_for(OWNER, 0).await;
    assert_eq!(notice.subject, "Your Gazette password was changed");
    assert!(
        notice
            .text
            .contains("every other browser logged in to it was logged out")
    );
    assert!(notice.text.contains("/password/forgot"));

    assert_eq!(
        Reader::new(&app).log_in(OWNER, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Reader::new(&app).log_in(OWNER, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn changing_the_password_asks_for_the_current_one_and_the_policy_of_sign_up() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    let cases = [
        (
            "wrong current",
            "not my password at all",
            NEW_PASSWORD,
            "current_password-error",
        ),
        ("no current", "", NEW_PASSWORD, "current_password-error"),
        ("short new", PASSWORD, "short", "new_password-error"),
        (
            "guessable new",
            PASSWORD,
            "password1234",
            "new_password-error",
        ),
    ];
    for (what, current, new, field) in cases {
        let page = reader.change_password(current, new).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert!(page.body.contains(&format!("id=\"{field}\"")), "{what}");
        assert!(page.body.contains("aria-invalid=\"true\""), "{what}");
    }
    assert_eq!(reader.get("/account").await.status, StatusCode::OK);
    assert_eq!(
        Reader::new(&app).log_in(OWNER, PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "unchanged"
    );
    assert!(app.mailbox.delivered().is_empty());
}

#[tokio::test]
async fn a_stolen_session_cannot_guess_the_password_through_the_account_forms() {
    let app = TestApp::spawn().await;
    let owner = Reader::signed_up(&app, OWNER).await;
    let thief = owner.copy();
    let mut statuses = Vec::new();
    for n in 0..60 {
        let guess = format!("guess number {n} at it");
        let page = match n % 3 {
            0 => thief.change_password(&guess, NEW_PASSWORD).await,
            1 => thief.change_email("thief@example.com", &guess).await,
            _ => thief.delete_account("delete my account", &guess).await,
        };
        statuses.push(page.status);
    }
    let refused = |s: &&StatusCode| **s == StatusCode::TOO_MANY_REQUESTS;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
            .count(),
        10
    );
    assert_eq!(statuses.iter().filter(refused).count(), 50);
    // Even the right password waits for the window to close.
    let page = thief.change_email("thief@example.com", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(app.mailbox.delivered().is_empty());
    app.clock.advance(Duration::minutes(16));
    let page = owner.change_password(PASSWORD, NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_new_address_takes_effect_once_confirmed_from_the_mail_and_the_old_one_is_told() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    let page = reader.change_email("New.Home@Example.com", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let account = reader.follow(&page).await;
    assert!(
        account
            .body
            .contains("We sent a link to new.home@example.com")
    );
    assert!(
        account.body.contains(OWNER),
        "the address is unchanged until confirmed"
    );

    let mail = app.mailbox.next_for("new.home@example.com", 0).await;
    assert_eq!(mail.subject, "Confirm your new e-mail address for Gazette");
    assert!(mail.text.contains("24 hours"));
    // Opening the link shows a button; it changes nothing by itself (mail scanners open links).
    let confirm = reader.get(&mail.link_path()).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("new.home@example.com"));
    assert!(
        user_id_of(&app, OWNER).is_some(),
        "unchanged until the button is pressed"
    );

    let page = Reader::new(&app).confirm_email(&mail.token()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(user_id_of(&app, OWNER), None);
    assert!(user_id_of(&app, "new.home@example.com").is_some());
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("new.home@example.com")
    );

    let notice = app.mailbox.next_for(OWNER, 0).await;
    assert_eq!(
        notice.subject,
        "Your Gazette account has a new e-mail address"
    );
    assert!(notice.text.contains("new.home@example.com"));

    let again = Reader::new(&app).confirm_email(&mail.token()).await;
    assert_eq!(again.status, StatusCode::GONE, "a link works once");
    assert_eq!(
        Reader::new(&app)
            .log_in("new.home@example.com", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        Reader::new(&app).log_in(OWNER, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_address_that_is_taken_gets_the_same_answer_as_a_free_one() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "taken@example.com").await;
    let reader = Reader::signed_up(&app, OWNER).await;

    let taken = reader.change_email("taken@example.com", PASSWORD).await;
    let taken_page = reader.follow(&taken).await;
    let free = reader.change_email("free@example.com", PASSWORD).await;
    let free_page = reader.follow(&free).await;
    assert_eq!(taken.status, free.status);
    assert_eq!(taken.location(), free.location());
    assert_eq!(
        taken_page.body.replace("taken@example.com", "EMAIL"),
        free_page.body.replace("free@example.com", "EMAIL")
    );

    // The owner of the taken address is told, and given no link.
    let notice = app.mailbox.next_for("taken@example.com", 0).await;
    assert_eq!(notice.subject, "Your address already has a Gazette account");
    assert!(!notice.text.contains("token="));
    app.mailbox.wait_for("free@example.com", 1).await;
    assert_eq!(
        rows_in(&app, "account_tokens"),
        1,
        "only the free address got a link"
    );
}

#[tokio::test]
async fn a_confirmation_link_expires_after_a_day_and_dies_with_a_newer_change() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    reader.change_email("first@example.com", PASSWORD).await;
    let first = app.mailbox.next_for("first@example.com", 0).await;
    reader.change_email("second@example.com", PASSWORD).await;
    let second = app.mailbox.next_for("second@example.com", 0).await;

    assert_eq!(
        reader.confirm_email(&second.token()).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        reader.confirm_email(&first.token()).await.status,
        StatusCode::GONE,
        "the older link died with the change"
    );

    reader.change_email("third@example.com", PASSWORD).await;
    let third = app.mailbox.next_for("third@example.com", 0).await;
    app.clock.advance(Duration::hours(24));
    assert_eq!(
        reader.get(&third.link_path()).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        reader.confirm_email(&third.token()).await.status,
        StatusCode::GONE
    );
    assert!(user_id_of(&app, "second@example.com").is_some());
}

#[tokio::test]
async fn changing_the_address_asks_for_the_password_and_a_real_new_address() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    for (what, new, password, field) in [
        (
            "wrong password",
            "new@example.com",
            "not my password",
            "password-error",
        ),
        ("no password", "new@example.com", "", "password-error"),
        ("not an address", "nowhere", PASSWORD, "new_email-error"),
        (
            "the same address",
            " Owner@Example.com ",
            PASSWORD,
            "new_email-error",
        ),
    ] {
        let page = reader.change_email(new, password).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert!(page.body.contains(&format!("id=\"{field}\"")), "{what}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mailbox.delivered().is_empty());
}

#[tokio::test]
async fn the_account_pages_are_for_members() {
    let app = TestApp::spawn().await;
    let visitor = Reader::new(&app);
    for path in [
        "/account/password",
        "/account/email",
        "/account/delete",
        "/account/export",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            page.location(),
            Some(format!("/login?next={path}").as_str())
        );
    }
    let reader = Reader::signed_up(&app, OWNER).await;
    let account = reader.get("/account").await;
    for link in [
        "/account/password",
        "/account/email",
        "/account/delete",
        "/account/export",
    ] {
        assert!(account.body.contains(&format!("href=\"{link}\"")), "{link}");
        assert_eq!(reader.get(link).await.status, StatusCode::OK, "{link}");
    }
}
