//! What a reader does with their account alone: get back in after forgetting the password
//! (`recovery`), change the password or the e-mail address (`changes`), delete the account
//! (`closing`), and take a copy of everything kept about them (`export`).
//!
//! Rules:
//! - Every form that changes the account asks for its password, checked like a login: counted
//!   first (per account, right or wrong, so a stolen session cannot guess it), then verified
//!   off the async workers. The change commits only if no recovery ended every login of the
//!   account since the check (its login generation is unchanged, see `auth::login`).
//! - A new password ends everything someone else could have started with the old one: every
//!   login, every mailed link and the mail still waiting to carry one, and the trust of the
//!   account's device cookies (`auth::login::end_every_login`). A new address ends every link
//!   of the account and the mail still waiting to carry one.
//! - Links sent by mail carry a random single-use token of which only the hash is stored;
//!   they are made by the mail sender (`crate::outbox`) when the mail goes. A request only
//!   writes the mail it owes into the outbox, in the transaction of its change, then wakes the
//!   sender: what a reset request does is the same whether or not the address has an
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

use crate::auth::password::{Passwords, Verdict};
use crate::auth::{attempts, login};
use crate::billing::Billing;
use crate::db;
use crate::domain::ids::UserId;
use crate::domain::mail::MailKind;
use crate::domain::password::{MAX_CHARS, Password};
use crate::domain::throttle::delay_after_failure;
use crate::error::AppError;
use crate::mail::MailWakeup;
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
    wakeup: MailWakeup,
}

impl Accounts {
    pub fn new(
        state: web::Data<AppState>,
        passwords: web::Data<Passwords>,
        billing: web::Data<Billing>,
        wakeup: MailWakeup,
    ) -> Self {
        Self {
            state,
            passwords,
            billing,
            wakeup,
        }
    }

    /// Whether `password` is the account's: counted first (429 past the limit), then
    /// verified; a wrong one is answered more slowly as they add up. When it is right, the
    /// account's login generation it was checked in, for the change to commit in.
    async fn check_password(
        &self,
        user_id: UserId,
        password: Password,
    ) -> Result<Option<i32>, AppError> {
        let counted = attempts::count_password_check(&self.state, user_id).await?;
        let stored = db::run(
            &self.state.pool,
            "loading the account's password hash",
            move |conn| db::users::find(conn, user_id),
        )
        .await?;
        let generation = stored.as_ref().map(|user| user.login_generation);
        let right = password.char_count() <= MAX_CHARS
            && matches!(
                self.passwords
                    .verify(password, stored.map(|user| user.password_hash))
                    .await?,
                Verdict::Valid { .. }
            );
        if !right {
            tracing::info!(
                user_id = user_id.get(),
                counted,
                "wrong password on an account form"
            );
            tokio::time::sleep(delay_after_failure(counted)).await;
            return Ok(None);
        }
        Ok(generation)
    }
}

/// Whether the account is still in the login generation its password was checked in; call
/// it with the reader's lock held, before the change the check allowed.
fn still_in_generation(
    conn: &mut PgConnection,
    user_id: UserId,
    generation: i32,
) -> diesel::QueryResult<bool> {
    Ok(db::users::login_generation(conn, user_id)? == Some(generation))
}

/// The answer to a form whose password was checked before every login of the account ended
/// (the reader's own login among them): log in again.
fn logins_ended_meanwhile(user_id: UserId, next: &str) -> AppError {
    tracing::info!(
        user_id = user_id.get(),
        "account form refused: every login of the account ended meanwhile"
    );
    AppError::LogInFirst {
        next: next.to_string(),
    }
}

/// Replaces the account's password: the new hash, every login of the account ended with all
/// that could start one (`login::end_every_login`), and a notice owed to `email`. Returns the
/// account's new login generation. Call it inside the transaction that decided the change,
/// with the reader's lock held (the caller then wakes the sender).
fn replace_password(
    conn: &mut PgConnection,
    user_id: UserId,
    hash: &str,
    email: &str,
    now: OffsetDateTime,
) -> diesel::QueryResult<i32> {
    db::users::update_password_hash(conn, user_id, hash)?;
    let generation = login::end_every_login(conn, user_id, now)?;
    db::outbox::owe(
        conn,
        MailKind::PasswordChanged,
        email,
        Some(user_id),
        "",
        now,
    )?;
    Ok(generation)
}
