//! Changing the password and the e-mail address of an account, from its own pages.

use diesel::Connection;

use super::{Accounts, logins_ended_meanwhile, replace_password, still_in_generation};
use crate::auth::attempts;
use crate::auth::current_reader::Member;
use crate::auth::login;
use crate::auth::session::ReaderSession;
use crate::auth::token_hash;
use crate::db;
use crate::domain::account::LinkPurpose;
use crate::domain::email::Email;
use crate::domain::mail::MailKind;
use crate::domain::password::Password;
use crate::error::AppError;

/// What a change of password did.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// Changed: every other login ended, this browser goes on with a new one in the account's
    /// new login `generation` (its device cookie is to be issued again), and a notice is on
    /// its way.
    Done {
        generation: i32,
    },
    WrongPassword,
    /// The new password is refused by the policy; the message says why.
    Refused(String),
}

/// What asking to change the e-mail address did.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailChange {
    /// A confirmation link is on its way to the new address (or, when it already has an
    /// account, a notice: the answer is the same).
    Asked,
    WrongPassword,
    /// The new address is the account's already.
    Unchanged,
}

/// What opening an e-mail confirmation link did.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailConfirmation {
    /// The account's address is now `new_email`; the old one got a notice.
    Changed {
        new_email: String,
    },
    /// Another account took the address in the meantime.
    Taken,
    LinkDead,
}

impl Accounts {
    /// Changes the member's password, after checking the current one. The notice it mails is
    /// counted among the mail the client `address` (its limit key) asked for (429 past it).
    pub async fn change_password(
        &self,
        session: &ReaderSession,
        member: &Member,
        current: Password,
        new: Password,
        user_agent: &str,
        address: &str,
    ) -> Result<PasswordChange, AppError> {
        let Some(checked_in) = self.check_password(member.user_id, current).await? else {
            return Ok(PasswordChange::WrongPassword);
        };
        attempts::count_notice(&self.state, address).await?;
        let hash = match self
            .passwords
            .check_and_hash(new, vec![member.email.clone()])
            .await?
        {
            Ok(hash) => hash,
            Err(message) => return Ok(PasswordChange::Refused(message)),
        };
        let (user_id, email) = (member.user_id, member.email.clone());
        let now = self.state.clock.now();
        // One transaction: the other logins end, this browser's login is replaced by a new
        // one, and the notice is owed, or none of it happens. If every login ended since the
        // check (a reset, logging out everywhere), the browser is sent to log in again.
        let generation = login::start_with(
            &self.state,
            session,
            user_id,
            checked_in,
            user_agent,
            move |conn| replace_password(conn, user_id, &hash, &email, now),
        )
        .await?;
        self.wakeup.wake();
        tracing::info!(
            user_id = user_id.get(),
            "password changed; every other login ended"
        );
        Ok(PasswordChange::Done { generation })
    }

    /// Asks for the member's address to become `new_email`, from the client `address` (its
    /// limit key), after checking the password. The mail is counted like a reset request, per
    /// client address and per typed address (429 past either). The answer does not depend on
    /// whether the address has an account.
    pub async fn ask_for_email_change(
        &self,
        member: &Member,
        password: Password,
        new_email: &Email,
        address: &str,
    ) -> Result<EmailChange, AppError> {
        if new_email.as_str() == member.email {
            return Ok(EmailChange::Unchanged);
        }
        let Some(checked_in) = self.check_password(member.user_id, password).await? else {
            return Ok(EmailChange::WrongPassword);
        };
        attempts::count_mailed_link(&self.state, new_email.as_str(), address).await?;
        let now = self.state.clock.now();
        let (user_id, recipient) = (member.user_id, new_email.to_string());
        let owed = db::run(
            &self.state.pool,
            "asking to confirm a new address",
            move |conn| {
                conn.transaction(|conn| {
                    db::users::lock(conn, user_id)?;
                    if !still_in_generation(conn, user_id, checked_in)? {
                        return Ok(false);
                    }
                    db::outbox::owe(
                        conn,
                        MailKind::EmailChange,
                        &recipient,
                        Some(user_id),
                        "",
                        now,
                    )?;
                    Ok(true)
                })
            },
        )
        .await?;
        if !owed {
            return Err(logins_ended_meanwhile(user_id, "/account/email"));
        }
        self.wakeup.wake();
        tracing::info!(
            user_id = user_id.get(),
            "a change of e-mail address was asked for"
        );
        Ok(EmailChange::Asked)
    }

    /// The account's current and new address, if `token` is a confirmation link that still
    /// works.
    pub async fn email_link(&self, token: &str) -> Result<Option<(String, String)>, AppError> {
        let hash = token_hash(token);
        let now = self.state.clock.now();
        let found = db::run(
            &self.state.pool,
            "looking up a confirmation link",
            move |conn| db::tokens::find_live(conn, LinkPurpose::EmailChange, &hash, now),
        )
        .await?;
        Ok(found.and_then(|(row, email)| Some((email, row.new_email?))))
    }

    /// Makes the link's new address the account's, once: the old address gets a notice,
    /// every other link of the account (reset links went to the old address) stops working,
    /// as does the mail still waiting to carry one, and the payment processor's customer gets
    /// the new address too.
    pub async fn confirm_email(&self, token: &str) -> Result<EmailConfirmation, AppError> {
        let hash = token_hash(token);
        let now = self.state.clock.now();
        let found = db::run(&self.state.pool, "looking up a confirmation link", {
            let hash = hash.clone();
            move |conn| db::tokens::find_live(conn, LinkPurpose::EmailChange, &hash, now)
        })
        .await?;
        let Some((link, _)) = found else {
            return Ok(EmailConfirmation::LinkDead);
        };
        let user_id = link.user_id;
        let changed = db::run(
            &self.state.pool,
            "changing an e-mail address",
            move |conn| {
                conn.transaction(|conn| {
                    db::users::lock(conn, user_id)?;
                    let Some(user) = db::users::find(conn, user_id)? else {
                        return Ok(None);
                    };
                    let Some(new_email) =
                        db::tokens::consume(conn, LinkPurpose::EmailChange, &hash, now)?
                            .and_then(|link| link.new_email)
                    else {
                        return Ok(None);
                    };
                    if db::users::find_by_email(conn, &new_email)?.is_some() {
                        return Ok(Some(Err(())));
                    }
                    db::users::update_email(conn, user_id, &new_email)?;
                    // The link came to the new address: it is proved.
                    db::newsletter_members::mark_email_confirmed(conn, user_id, now)?;
                    db::tokens::delete_all_for_user(conn, user_id)?;
                    db::outbox::drop_links_for(conn, user_id, &user.email)?;
                    db::outbox::owe(
                        conn,
                        MailKind::EmailChanged,
                        &user.email,
                        Some(user_id),
                        &new_email,
                        now,
                    )?;
                    Ok(Some(Ok(new_email)))
                })
            },
        )
        .await;
        let changed = match changed {
            // Another account took the address between the check and the change.
            Err(error) if error.is_unique_violation() => return Ok(EmailConfirmation::Taken),
            other => other?,
        };
        match changed {
            None => Ok(EmailConfirmation::LinkDead),
            Some(Err(())) => Ok(EmailConfirmation::Taken),
            Some(Ok(new_email)) => {
                self.wakeup.wake();
                tracing::info!(user_id = user_id.get(), "e-mail address changed");
                self.billing.follow_email(user_id).await;
                Ok(EmailConfirmation::Changed { new_email })
            }
        }
    }
}
