//! The mail sender: takes mail from the outbox table (`db::outbox`) and sends it through the
//! [`Mailer`], one message at a time, in a task of its own on every instance.
//!
//! Why a queue in PostgreSQL: a request that changes an account writes the mail it owes in
//! the same transaction, so the change and its mail are kept or lost together, and the request
//! never waits for a mail server. The sender is woken by the [`MailWakeup`] as soon as a request
//! has committed (a reset link arrives within seconds), and otherwise looks again when the
//! next retry falls due, and at least every [`IDLE_LOOK`] (mail left by another instance).
//!
//! Rules:
//! - Links are made when their mail is sent: the token is created, hashed into
//!   `account_tokens` and put in the message, and never stored where it could be read back.
//!   The link is made under the reader's lock, and only while the mail is still in the
//!   outbox: ending every login of an account (`auth::login::end_every_login`) drops the mail
//!   waiting to carry its links, so a mail this sender took just before is sent without one.
//!   A reset asked for an address without an account sends nothing (the request looked the
//!   same); a new address that already has an account gets a notice instead of a link.
//! - A newsletter confirmation is decided and signed when it is sent
//!   (`newsletter::members::what_to_send`, `domain::newsletter`): a link confirming the
//!   address while the member still has it unconfirmed, a link to its preferences once it is
//!   confirmed but off the list, and nothing for an address already on the list or no longer
//!   the member's. Its signed token is kept nowhere.
//! - A gift subscription's mail is sent while its gift waits to be redeemed; its link is the
//!   gift's id signed (`domain::gift_subscription`), kept nowhere either.
//! - A failure is tried again after [`retry_delay`]; a message the server refuses for good,
//!   or one no longer worth sending (`MailKind::worth_sending_for`), is dropped with a warning.
//! - Stopping is noticed between messages: a message being sent is finished first.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use diesel::Connection;
use time::{Duration, OffsetDateTime};

use crate::auth::token_hash;
use crate::clock::Clock;
use crate::db::{self, DbError, DbPool};
use crate::domain::account::LinkPurpose;
use crate::domain::gift_subscription::{GiftState, GiftSubscriptionLinks};
use crate::domain::ids::{MailId, TokenId, UserId};
use crate::domain::mail::{MailKind, retry_delay};
use crate::domain::newsletter::NewsletterLinks;
use crate::lifecycle::{Lifecycle, Phase};
use crate::mail::messages::{self, compose};
use crate::mail::{MailError, MailWakeup, Mailer, Message};
use crate::models::{NewAccountToken, OutboxMail};
use crate::newsletter::members as newsletter_members;

/// How long a claimed mail is the sender's alone; longer than any send may take.
const LEASE: Duration = Duration::minutes(2);
/// The longest one send may take before it counts as failed.
const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(60);
/// The sender looks at the outbox at least this often.
pub const IDLE_LOOK: StdDuration = StdDuration::from_secs(30);
/// After a database error, how long the sender waits before looking again.
const AFTER_ERROR: StdDuration = StdDuration::from_secs(5);
/// The shortest wait between looks, so a mail due but held by another sender is not polled
/// in a busy loop.
const SHORTEST_WAIT: StdDuration = StdDuration::from_millis(50);

/// What the sender works with.
pub struct Outbox {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<dyn Mailer>,
    pub wakeup: MailWakeup,
    /// The site's public address, for links.
    pub site_url: String,
    /// Signs the newsletter's confirmation links (with the session key, as `AppState`'s).
    pub newsletter_links: NewsletterLinks,
    /// Signs gift subscriptions' links (with the session key, as `AppState`'s).
    pub gift_links: GiftSubscriptionLinks,
}

/// What became of one mail taken from the outbox.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Sent,
    /// Nothing to send (a reset for an address without an account).
    NothingToSend,
    /// To be tried again later.
    Failed,
    /// Given up: refused for good, or no longer worth sending.
    Dropped,
}

/// A message ready to go, and the link made for it (deleted again if the mail fails).
struct Prepared {
    message: Message,
    token_id: Option<TokenId>,
}

impl Outbox {
    /// Sends what is due now and whenever more falls due, until the instance stops.
    pub fn spawn(self, lifecycle: Lifecycle) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            tracing::info!(mailer = %self.mailer.describe(), "mail sender started");
            'running: loop {
                let mut wait = None;
                loop {
                    if lifecycle.phase() >= Phase::Stopping {
                        break 'running;
                    }
                    match self.send_next().await {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!("mail sender: {error}");
                            wait = Some(AFTER_ERROR);
                            break;
                        }
                    }
                }
                let wait = match wait {
                    Some(wait) => wait,
                    None => self.until_next_due().await,
                };
                tokio::select! {
                    biased;
                    () = lifecycle.reached(Phase::Stopping) => break,
                    () = self.wakeup.woken() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
            tracing::info!("mail sender stopped");
        })
    }

    async fn until_next_due(&self) -> StdDuration {
        let next = db::run(&self.pool, "finding when the next mail is due", |conn| {
            db::outbox::next_due(conn)
        })
        .await;
        match next {
            Ok(Some(at)) => {
                let wait = (at - self.clock.now()).max(Duration::ZERO);
                StdDuration::try_from(wait)
                    .unwrap_or(IDLE_LOOK)
                    .clamp(SHORTEST_WAIT, IDLE_LOOK)
            }
            Ok(None) => IDLE_LOOK,
            Err(error) => {
                tracing::warn!("mail sender: {error}");
                AFTER_ERROR
            }
        }
    }

    /// Takes the mail due longest ago and deals with it; `None` when nothing is due.
    pub async fn send_next(&self) -> Result<Option<Handled>, DbError> {
        let now = self.clock.now();
        let Some(mail) = db::run(
            &self.pool,
            "taking the next mail from the outbox",
            move |conn| db::outbox::claim_next(conn, now, LEASE),
        )
        .await?
        else {
            return Ok(None);
        };
        self.send(mail).await.map(Some)
    }

    /// Deals with a mail this sender has taken from the outbox (`db::outbox::claim_next`).
    pub async fn send(&self, mail: OutboxMail) -> Result<Handled, DbError> {
        let now = self.clock.now();
        let kind = MailKind::parse(&mail.kind);
        let Some(kind) = kind.filter(|_| mail.expires_at > now) else {
            tracing::warn!(
                kind = %mail.kind,
                attempts = mail.attempts,
                "mail dropped: no longer worth sending"
            );
            self.forget(mail.id).await?;
            return Ok(Handled::Dropped);
        };
        let Some(prepared) = self.prepare(&mail, kind, now).await? else {
            self.forget(mail.id).await?;
            return Ok(Handled::NothingToSend);
        };
        let sent = tokio::time::timeout(SEND_TIMEOUT, self.mailer.send(&prepared.message))
            .await
            .unwrap_or_else(|_| Err(MailError::Failed("no answer in time".to_string())));
        match sent {
            Ok(()) => {
                self.forget(mail.id).await?;
                tracing::info!(kind = kind.as_str(), attempts = mail.attempts, "mail sent");
                Ok(Handled::Sent)
            }
            Err(error) => self.failed(&mail, kind, prepared.token_id, error).await,
        }
    }

    async fn forget(&self, id: MailId) -> Result<(), DbError> {
        db::run(&self.pool, "removing a mail from the outbox", move |conn| {
            db::outbox::delete(conn, id)
        })
        .await
    }

    /// The mail did not go: its link is deleted (nobody will ever hold its token), and the
    /// mail is tried again later, or dropped.
    async fn failed(
        &self,
        mail: &OutboxMail,
        kind: MailKind,
        token_id: Option<TokenId>,
        error: MailError,
    ) -> Result<Handled, DbError> {
        let retry_at = self.clock.now() + retry_delay(mail.attempts);
        let give_up = matches!(error, MailError::Refused(_)) || retry_at >= mail.expires_at;
        let (id, message) = (mail.id, error.to_string());
        db::run(
            &self.pool,
            "putting back a mail that was not sent",
            move |conn| {
                conn.transaction(|conn| {
                    if let Some(token_id) = token_id {
                        db::tokens::delete(conn, token_id)?;
                    }
                    if give_up {
                        db::outbox::delete(conn, id)
                    } else {
                        db::outbox::retry_at(conn, id, retry_at, &message)
                    }
                })
            },
        )
        .await?;
        if give_up {
            tracing::warn!(
                kind = kind.as_str(),
                attempts = mail.attempts,
                "mail dropped: {error}"
            );
            Ok(Handled::Dropped)
        } else {
            tracing::warn!(
                kind = kind.as_str(),
                attempts = mail.attempts,
                retry_at = %retry_at,
                "mail not sent, to be tried again: {error}"
            );
            Ok(Handled::Failed)
        }
    }

    /// The message for `mail`, with its link made now; `None` when there is nothing to send.
    async fn prepare(
        &self,
        mail: &OutboxMail,
        kind: MailKind,
        now: OffsetDateTime,
    ) -> Result<Option<Prepared>, DbError> {
        let site = self.site_url.as_str();
        let to = mail.recipient.as_str();
        let plain = |message: Result<Message, askama::Error>| match message {
            Ok(message) => Ok(Some(Prepared {
                message,
                token_id: None,
            })),
            Err(error) => {
                tracing::error!(kind = kind.as_str(), "rendering a mail failed: {error}");
                Ok(None)
            }
        };
        match kind {
            MailKind::PasswordReset => {
                let recipient = mail.recipient.clone();
                let link = self
                    .make_link(mail.id, LinkPurpose::PasswordReset, now, move |conn| {
                        Ok(db::users::find_by_email(conn, &recipient)?.map(|user| (user.id, None)))
                    })
                    .await?;
                let Some((token_id, token)) = link else {
                    return Ok(None);
                };
                let link = format!("{site}/password/reset?token={token}");
                let message = compose(
                    to,
                    &messages::PasswordReset {
                        site_url: site,
                        email: to,
                        link: &link,
                        minutes: LinkPurpose::PasswordReset.lifetime().whole_minutes(),
                    },
                );
                Ok(with_link(message, token_id, kind))
            }
            MailKind::EmailChange => {
                let (recipient, user_id) = (mail.recipient.clone(), mail.user_id);
                let taken = db::run(&self.pool, "checking a new address", {
                    let recipient = recipient.clone();
                    move |conn| db::users::find_by_email(conn, &recipient)
                })
                .await?
                .is_some();
                if taken {
                    return plain(compose(
                        to,
                        &messages::AddressTaken {
                            site_url: site,
                            email: to,
                        },
                    ));
                }
                let link = self
                    .make_link(mail.id, LinkPurpose::EmailChange, now, move |conn| {
                        let Some(user_id) = user_id else {
                            return Ok(None);
                        };
                        Ok(db::users::find(conn, user_id)?
                            .map(|user| (user.id, Some(recipient.clone()))))
                    })
                    .await?;
                let Some((token_id, token)) = link else {
                    return Ok(None);
                };
                let link = format!("{site}/account/email/confirm?token={token}");
                let message = compose(
                    to,
                    &messages::EmailChange {
                        site_url: site,
                        new_email: to,
                        link: &link,
                        hours: LinkPurpose::EmailChange.lifetime().whole_hours(),
                    },
                );
                Ok(with_link(message, token_id, kind))
            }
            MailKind::PasswordChanged => {
                let forgot_link = format!("{site}/password/forgot");
                plain(compose(
                    to,
                    &messages::PasswordChanged {
                        site_url: site,
                        email: to,
                        forgot_link: &forgot_link,
                    },
                ))
            }
            MailKind::EmailChanged => plain(compose(
                to,
                &messages::EmailChanged {
                    site_url: site,
                    old_email: to,
                    new_email: &mail.detail,
                },
            )),
            MailKind::TrialEnding => {
                // The detail is `plan ends-at(unix seconds) card|no-card` (`billing`).
                let mut parts = mail.detail.split(' ');
                let (Some(plan_code), Some(ends), Some(card)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Ok(None);
                };
                let Some(ends) = ends
                    .parse::<i64>()
                    .ok()
                    .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok())
                else {
                    return Ok(None);
                };
                let code = plan_code.to_string();
                let plan = db::run(&self.pool, "finding a trial's plan", move |conn| {
                    db::plans::find(conn, &code)
                })
                .await?;
                let Some(plan) = plan else {
                    return Ok(None);
                };
                let ends = crate::views::long_date(ends);
                plain(compose(
                    to,
                    &messages::TrialEnding {
                        site_url: site,
                        email: to,
                        ends: &ends,
                        plan: &plan.name,
                        price: (card == "card")
                            .then(|| crate::views::price(plan.price_cents, &plan.currency)),
                    },
                ))
            }
            MailKind::AccountDeleted => plain(compose(
                to,
                &messages::AccountDeleted {
                    site_url: site,
                    email: to,
                },
            )),
            MailKind::AccessEnding => plain(compose(
                to,
                &messages::AccessEnding {
                    site_url: site,
                    email: to,
                    until: &mail.detail,
                    subscribe_link: &format!("{site}/subscribe"),
                },
            )),
            MailKind::GiftReceived => {
                let Ok(id) = mail.detail.parse::<crate::domain::ids::GiftId>() else {
                    return Ok(None);
                };
                let found = db::run(&self.pool, "finding a gift for its mail", move |conn| {
                    db::gift_subscriptions::find_with_buyer(conn, id)
                })
                .await?;
                let Some((gift, buyer)) = found.filter(|(gift, _)| gift.status == GiftState::Paid)
                else {
                    // Redeemed already (its buyer passed the link on), or no gift at all.
                    return Ok(None);
                };
                let from = if gift.from_name.is_empty() {
                    buyer.unwrap_or_else(|| "A reader".to_string())
                } else {
                    gift.from_name.clone()
                };
                let quoted: Vec<String> = gift
                    .message
                    .lines()
                    .map(|line| format!("> {line}"))
                    .collect();
                let link = format!("{site}/gift/{}", self.gift_links.token(gift.id));
                plain(compose(
                    to,
                    &messages::GiftReceived {
                        site_url: site,
                        email: to,
                        from: &from,
                        months: &crate::views::months(gift.months),
                        quoted_message: &quoted.join("\n"),
                        link: &link,
                    },
                ))
            }
            MailKind::NewsletterConfirmation => {
                let (user_id, detail, recipient) =
                    (mail.user_id, mail.detail.clone(), mail.recipient.clone());
                let owed = db::run(
                    &self.pool,
                    "deciding a newsletter confirmation",
                    move |conn| {
                        newsletter_members::what_to_send(conn, user_id, &detail, &recipient)
                    },
                )
                .await?;
                match newsletter_members::message(&self.newsletter_links, site, &owed, to, now) {
                    Some(message) => plain(message),
                    None => Ok(None),
                }
            }
        }
    }

    /// Makes a link for the account `find` names (and the new address it leads to, if any):
    /// a random token whose hash is stored. `None` when `find` names no account, or when the
    /// mail `mail_id` has left the outbox meanwhile (every login of the account ended, or its
    /// address changed, after this sender took it).
    async fn make_link(
        &self,
        mail_id: MailId,
        purpose: LinkPurpose,
        now: OffsetDateTime,
        find: impl FnOnce(
            &mut diesel::PgConnection,
        ) -> diesel::QueryResult<Option<(UserId, Option<String>)>>
        + Send
        + 'static,
    ) -> Result<Option<(TokenId, String)>, DbError> {
        let Ok(token) = crate::random::token(32) else {
            tracing::error!("reading the system's randomness for a link failed");
            return Ok(None);
        };
        let hash = token_hash(&token);
        let made = db::run(&self.pool, "making a link for a mail", move |conn| {
            conn.transaction(|conn| {
                let Some((user_id, new_email)) = find(conn)? else {
                    return Ok(None);
                };
                // Under the reader's lock, whatever ends the account's links either commits
                // first (and the mail is gone), or deletes this link once it has.
                match db::users::lock(conn, user_id) {
                    // Deleted meanwhile.
                    Err(diesel::result::Error::NotFound) => return Ok(None),
                    locked => locked?,
                }
                if !db::outbox::is_waiting(conn, mail_id)? {
                    tracing::info!(
                        user_id = user_id.get(),
                        "no link made: its mail was dropped meanwhile"
                    );
                    return Ok(None);
                }
                let new = NewAccountToken {
                    user_id,
                    purpose: purpose.as_str(),
                    token_hash: &hash,
                    new_email: new_email.as_deref(),
                    created_at: now,
                    expires_at: now + purpose.lifetime(),
                };
                db::tokens::insert(conn, &new).map(Some)
            })
        })
        .await?;
        Ok(made.map(|id| (id, token)))
    }
}

fn with_link(
    message: Result<Message, askama::Error>,
    token_id: TokenId,
    kind: MailKind,
) -> Option<Prepared> {
    match message {
        Ok(message) => Some(Prepared {
            message,
            token_id: Some(token_id),
        }),
        Err(error) => {
            tracing::error!(kind = kind.as_str(), "rendering a mail failed: {error}");
            None
        }
    }
}
