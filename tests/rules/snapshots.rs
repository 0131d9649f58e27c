//! Snapshots of what Gazette renders with no reader in it: every mail (subject, text and HTML
//! part) and the error page for each failure. A change to a template shows up here as a diff
//! to accept (`cargo insta review`, or `INSTA_UPDATE=always cargo test --test rules`) or fix.

use actix_web::ResponseError;
use actix_web::body::MessageBody;
use askama::Template;
use gazette::error::AppError;
use gazette::mail::messages::{
    AccountDeleted, AddressTaken, EmailChange, EmailChanged, PasswordChanged, PasswordReset,
    compose,
};

const SITE: &str = "https://gazette.example";
const READER: &str = "reader@example.com";

/// The message as a reader's mail program receives its parts.
fn mail(template: &impl Template) -> String {
    let message = compose(READER, template).expect("the mail renders");
    format!(
        "To: {}\nSubject: {}\n\n--- text ---\n{}\n--- html ---\n{}",
        message.to, message.subject, message.text, message.html
    )
}

#[test]
fn the_password_reset_mail() {
    insta::assert_snapshot!(mail(&PasswordReset {
        site_url: SITE,
        email: READER,
        link: "https://gazette.example/password/reset?token=TOKEN",
        minutes: 30,
    }));
}

#[test]
fn the_email_change_mail() {
    insta::assert_snapshot!(mail(&EmailChange {
        site_url: SITE,
        new_email: "new@example.com",
        link: "https://gazette.example/account/email/confirm?token=TOKEN",
        hours: 24,
    }));
}

#[test]
fn the_address_taken_mail() {
    insta::assert_snapshot!(mail(&AddressTaken {
        site_url: SITE,
        email: READER,
    }));
}

#[test]
fn the_password_changed_mail() {
    insta::assert_snapshot!(mail(&PasswordChanged {
        site_url: SITE,
        email: READER,
        forgot_link: "https://gazette.example/password/forgot",
    }));
}

#[test]
fn the_email_changed_mail() {
    insta::assert_snapshot!(mail(&EmailChanged {
        site_url: SITE,
        old_email: READER,
        new_email: "new@example.com",
    }));
}

#[test]
fn the_account_deleted_mail() {
    insta::assert_snapshot!(mail(&AccountDeleted {
        site_url: SITE,
        email: READER,
    }));
}

/// The page and the headers a reader's browser gets for `error`.
fn error_page(error: AppError) -> String {
    let response = error.error_response();
    let mut headers: Vec<String> = response
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
        .collect();
    headers.sort();
    let body = response
        .into_body()
        .try_into_bytes()
        .expect("the error page is one piece");
    format!(
        "{}\n\n{}",
        headers.join("\n"),
        String::from_utf8(body.to_vec()).expect("UTF-8")
    )
}

#[test]
fn the_error_pages() {
    insta::assert_snapshot!("not_found", error_page(AppError::NotFound));
    insta::assert_snapshot!(
        "too_many_requests",
        error_page(AppError::TooManyRequests {
            retry_after_secs: 90
        })
    );
    insta::assert_snapshot!(
        "unavailable",
        error_page(AppError::Unavailable(anyhow::anyhow!(
            "the database is down"
        )))
    );
    insta::assert_snapshot!(
        "internal",
        error_page(AppError::Internal(anyhow::anyhow!("a secret detail")))
    );
}
