//! Getting back into an account after forgetting its password: a reset link by mail, then a
//! new password. Asking costs the same whether or not the address has an account (one counted
//! attempt, one row in the outbox); the sender decides whether there is anything to send.

use diesel::Connection;

use super::{Accounts, replace_password};
use crate::auth::{attempts, token_hash};
use crate::db;
use crate::domain::account::LinkPurpose;
use crate::domain::email::Email;
use crate::domain::ids::UserId;
use crate::domain::mail::MailKind;
use crate::domain::password::Password;
use crate::error::AppError;

/// What setting a new password through a reset link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reset {
    /// The password is changed, every login of the account ended and every other link made
    /// useless; the browser may now be logged in as `user_id`, in the account's new login
    /// `generation`.
    Done {
        user_id: UserId,
        email: String,
        generation: i32,
    },
    /// The link was used already, has expired, or never existed.
    LinkDead,
    /// The new password is refused by the policy; the message says why.
    Refused(String),
}

impl Accounts {
    /// Asks for a reset link for `email`, from the client `address`: 429 past the limits
    /// (counted alike for every address typed in), otherwise the mail is on its way if the
    /// address has an account.
    pub async fn ask_for_reset(&self, email: &Email, address: &str) -> Result<(), AppError> {
        attempts::count_mailed_link(&self.state, email.as_str(), address).await?;
        let now = self.state.clock.now();
        let recipient = email.to_string();
        db::run(&self.state.pool, "asking for a reset mail", move |conn| {
            db::outbox::owe(conn, MailKind::PasswordReset, &recipient, None, "", now)
        })
        .await?;
        self.wakeup.wake();
        Ok(())
    }

    /// The account's e-mail, if `token` is a reset link that still works.
    pub async fn reset_link(&self, token: &str) -> Result<Option<String>, AppError> {
        Ok(self.live_reset_link(token).await?.map(|(_, email)| email))
    }

    async fn live_reset_link(&self, token: &str) -> Result<Option<(UserId, String)>, AppError> {
        let hash = token_hash(token);
        let now = self.state.clock.now();
        let found = db::run(&self.state.pool, "looking up a reset link", move |conn| {
            db::tokens::find_live(conn, LinkPurpose::PasswordReset, &hash, now)
        })
        .await?;
        Ok(found.map(|(row, email)| (row.user_id, email)))
    }

    /// Sets a new password through a reset link. The link is checked before any hashing, and
    /// used in the transaction that changes the password, so it works once.
    pub async fn reset_password(&self, token: &str, password: Password) -> Result<Reset, AppError> {
        let Some((user_id, email)) = self.live_reset_link(token).await? else {
            return Ok(Reset::LinkDead);
        };
        let hash = match self
            .passwords
            .check_and_hash(password, vec![email.clone()])
            .await?
        {
            Ok(hash) => hash,
            Err(message) => return Ok(Reset::Refused(message)),
        };
        let now = self.state.clock.now();
        let token_hash = token_hash(token);
        let recipient = email.clone();
        let used = db::run(&self.state.pool, "resetting a password", move |conn| {
            conn.transaction(|conn| {
                db::users::lock(conn, user_id)?;
                let Some(link) =
                    db::tokens::consume(conn, LinkPurpose::PasswordReset, &token_hash, now)?
                else {
                    return Ok(None);
                };
                if link.user_id != user_id {
                    return Ok(None);
                }
                replace_password(conn, user_id, &hash, &recipient, now).map(Some)
            })
        })
        .await?;
        let Some(generation) = used else {
            return Ok(Reset::LinkDead);
        };
        self.wakeup.wake();
        tracing::info!(
            user_id = user_id.get(),
            "password reset through a mailed link; every login ended"
        );
        Ok(Reset::Done {
            user_id,
            email,
            generation,
        })
    }
}
