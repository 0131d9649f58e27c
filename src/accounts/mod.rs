//! What a reader does with their account alone: get back in after forgetting the password
//! (`recovery`), change the password or the e-mail address (`changes`), delete the account
//! (`closing`), and take a copy of everything kept about them (`export`).
//!
//! Rules:
//! - Every form that changes the account asks for its password, checked like a login: counted
//!   first (per account, right or wrong, so a stolen session cannot guess it), then verified
//!   off the async workers.
//! - Links sent by mail carry a random single-use token of which only the hash is stored;
//!   they are made by the mail sender (`crate::outbox`) when the mail goes. A request only
//!   writes the mail it owes into the outbox, in the transaction of its change, then rings the
//!   doorbell: what a reset request does is the same whether or not the address has an
//!   account.
//! - Mail that a request owes is counted against the client that asked (`auth::attempts`): a
//!   link per client address and per typed address, a new password's notice per client
//!   address. Free accounts do not multiply what one client can have sent.
//! - Sessions, tokens, the meter and mail are changed only through their `db` functions, with
//!   the reader's lock taken first.
//! - Outcomes are typed; the words a reader sees are the handler's to choose.

mod changes;
mod closing;
mod export;
mod recovery;

use actix_web::web;
use diesel::PgConnection;
use time::OffsetDateTime;

use crate::auth::attempts;
use crate::auth::password::{Passwords, Verdict};
use crate::billing::Billing;
use crate::db;
use crate::domain::account::LinkPurpose;
use crate::domain::mail::MailKind;
use crate::domain::password::{MAX_CHARS, Password};
use crate::domain::throttle::delay_after_failure;
use crate::error::AppError;
use crate::mail::Doorbell;
use crate::models::NewOutboxMail;
use crate::state::AppState;

pub use changes::{EmailChange, EmailConfirmation, PasswordChange};
pub use closing::Closing;
pub use export::Export;
pub use recovery::Reset;

/// The account workflows, shared by the request handlers.
pub struct Accounts {
    state: web::Data<AppState>,
    passwords: web::Data<Passwords>,
    billing: web::Data<Billing>,
    doorbell: Doorbell,
}

impl Accounts {
    pub fn new(
        state: web::Data<AppState>,
        passwords: web::Data<Passwords>,
        billing: web::Data<Billing>,
        doorbell: Doorbell,
    ) -> Self {
        Self {
            state,
            passwords,
            billing,
            doorbell,
        }
    }

    /// Whether `password` is the account's: counted first (429 past the limit), then
    /// verified; a wrong one is answered more slowly as they add up.
    async fn password_is_right(&self, user_id: i64, password: Password) -> Result<bool, AppError> {
        let counted = attempts::count_password_check(&self.state, user_id).await?;
        let stored = db::run(
            &self.state.pool,
            "loading the account's password hash",
            move |conn| db::users::find(conn, user_id),
        )
        .await?
        .map(|user| user.password_hash);
        let right = password.char_count() <= MAX_CHARS
            && matches!(
                self.passwords.verify(password, stored).await?,
                Verdict::Valid { .. }
            );
        if !right {
            tracing::info!(user_id, counted, "wrong password on an account form");
            tokio::time::sleep(delay_after_failure(counted)).await;
        }
        Ok(right)
    }
}

/// Puts a mail of `kind` for `recipient` into the outbox; call it inside the transaction of
/// the change it tells of, and ring the doorbell once that has committed.
fn owe_mail(
    conn: &mut PgConnection,
    kind: MailKind,
    recipient: &str,
    user_id: Option<i64>,
    detail: &str,
    now: OffsetDateTime,
) -> diesel::QueryResult<i64> {
    db::outbox::enqueue(
        conn,
        &NewOutboxMail {
            kind: kind.as_str(),
            recipient,
            user_id,
            detail,
            created_at: now,
            next_attempt_at: now,
            expires_at: now + kind.worth_sending_for(),
        },
    )
}

/// Replaces the account's password: the new hash, every reset link and every login of the
/// account ended, and a notice owed to `email`. Call it inside the transaction that decided
/// the change (the caller then rings the doorbell).
fn replace_password(
    conn: &mut PgConnection,
    user_id: i64,
    hash: &str,
    email: &str,
    now: OffsetDateTime,
) -> diesel::QueryResult<()> {
    db::users::update_password_hash(conn, user_id, hash)?;
    db::tokens::delete_for_user(conn, user_id, LinkPurpose::PasswordReset)?;
    db::sessions::revoke_all(conn, user_id, now)?;
    owe_mail(
        conn,
        MailKind::PasswordChanged,
        email,
        Some(user_id),
        "",
        now,
    )
    .map(|_| ())
}
