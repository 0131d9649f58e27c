use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;

fn stored_accounts(app: &TestApp, address: &str) -> Vec<(String, String)> {
    use gazette::schema::users::dsl::*;
    users
        .filter(email.eq(address))
        .select((email, password_hash))
        .load(&mut app.connect())
        .unwrap()
}

#[tokio::test]
async fn signing_up_creates_the_account_and_logs_the_reader_in() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let page = reader.sign_up("ada@example.com", PASSWORD).await;

    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let home = reader.get("/").await;
    assert!(
        home.body.contains("Your account is ready"),
        "a flash message after signing up"
    );
    let account = reader.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("ada@example.com"));
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_with_the_owasp_parameters() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "hash@example.com").await;
    let accounts = stored_accounts(&app, "hash@example.com");
    let (_, hash) = &accounts[0];
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn emails_are_trimmed_and_compared_case_insensitively() {
    let app = TestApp::spawn().await;
    let first = Reader::new(&app);
    assert_eq!(
        first
            .sign_up("  Ada.Lovelace@Example.COM ", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(stored_accounts(&app, "ada.lovelace@example.com").len(), 1);

    let second = Reader::new(&app);
    let page = second
        .sign_up("ada.lovelace@EXAMPLE.com", "another fine passphrase 7")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("already an account"));

    let login = Reader::new(&app)
        .log_in(" ADA.LOVELACE@example.com", PASSWORD)
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_invalid_email_is_refused_with_the_form_refilled_but_never_the_password() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).sign_up("not-an-email", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("value=\"not-an-email\""),
        "e-mail refilled"
    );
    assert!(
        page.body.contains("id=\"email-error\""),
        "the message is tied to the field"
    );
    assert!(page.body.contains("aria-describedby=\"email-error\""));
    assert!(
        !page.body.contains(PASSWORD),
        "the password is never echoed"
    );
}

#[tokio::test]
async fn passwords_must_be_between_8_and_128_characters() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);

    let short = reader.sign_up("short@example.com", "k7#Qz!p").await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("at least 8 characters"));

    let too_long = format!("{} {}", PASSWORD, "z".repeat(128));
    let long = reader.sign_up("long@example.com", &too_long).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(long.body.contains("at most 128 characters"));
    assert!(stored_accounts(&app, "long@example.com").is_empty());
}

#[tokio::test]
async fn a_128_character_password_is_kept_whole_not_truncated() {
    let app = TestApp::spawn().await;
    let password: String = format!("{PASSWORD} ").repeat(6).chars().take(128).collect();
    assert_eq!(password.chars().count(), 128);
    assert_eq!(
        Reader::new(&app)
            .sign_up("whole@example.com", &password)
            .await
            .status,
        StatusCode::SEE_OTHER
    );

    let truncated: String = password.chars().take(127).collect();
    assert_eq!(
        Reader::new(&app)
            .log_in("whole@example.com", &truncated)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Reader::new(&app)
            .log_in("whole@example.com", &password)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn spaces_and_unicode_are_part_of_the_password() {
    let app = TestApp::spawn().await;
    let password = "  ñandú cóndor pingüino  ";
    assert_eq!(
        Reader::new(&app)
            .sign_up("uni@example.com", password)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        Reader::new(&app)
            .log_in("uni@example.com", password.trim())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Reader::new(&app)
            .log_in("uni@example.com", password)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn well_known_passwords_are_refused() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app)
        .sign_up("weak@example.com", "password1234")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("too easy to guess"));
    assert!(page.body.contains("value=\"weak@example.com\""));
    assert!(stored_accounts(&app, "weak@example.com").is_empty());
}

#[tokio::test]
async fn simultaneous_sign_ups_with_one_email_create_one_account() {
    let app = TestApp::spawn().await;
    let readers: Vec<Reader> = (0..6).map(|_| Reader::new(&app)).collect();
    let mut tokens = Vec::new();
    for reader in &readers {
        tokens.push(reader.csrf_token().await);
    }
    let attempts = readers.iter().zip(&tokens).map(|(reader, token)| {
        reader.post(
            "/signup",
            &[
                ("email", "race@example.com"),
                ("password", PASSWORD),
                ("csrf_token", token),
            ],
        )
    });
    let pages = join_all(attempts).await;

    let created = pages
        .iter()
        .filter(|p| p.status == StatusCode::SEE_OTHER)
        .count();
    let refused = pages
        .iter()
        .filter(|p| p.status == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!(
        (created, refused),
        (1, 5),
        "{:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    assert_eq!(stored_accounts(&app, "race@example.com").len(), 1);
}

#[tokio::test]
async fn sign_up_follows_a_safe_next_only() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let token = reader.csrf_token().await;
    let page = reader
        .post(
            "/signup",
            &[
                ("email", "next@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", "/subscribe?next=%2Farticles%2F3"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/subscribe?next=%2Farticles%2F3"));

    let other = Reader::new(&app);
    let token = other.csrf_token().await;
    let page = other
        .post(
            "/signup",
            &[
                ("email", "evil@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/"));
}
