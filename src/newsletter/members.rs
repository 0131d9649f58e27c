//! Joining and leaving the newsletter's list: by address alone, at sign-up, from the account
//! page; confirming; leaving by a mail's one-click link; the preferences page.
//!
//! Rules:
//! - Joining is always an explicit choice, and nobody is on the list before their address is
//!   confirmed: a confirmation mail goes through the account-mail outbox (kind
//!   `newsletter_confirmation`, keyed by the address, with the account's id or the sign-up
//!   row's id in `detail`), and its link is made when it is sent (`crate::outbox`), for the
//!   member as they are then ([`what_to_send`]).
//! - Asking by address alone does the same work whatever the address is (an account's, one
//!   already on the list, a new one): one row in the outbox; the sender decides what, if
//!   anything, the address gets. Only an address that is new makes a sign-up row, and only
//!   an unconfirmed one, which housekeeping deletes after
//!   `domain::newsletter::CONFIRMATION_LIFETIME` ([`sweep_stale_signups`]).
//! - A confirmation link proves its address and joins the list once: only while the member
//!   still has that address and it is not confirmed yet. Once confirmed, replaying it changes
//!   nothing, so a reader who left is never put back by an old link; coming back is the
//!   preferences page's button, which needs no new confirmation.
//! - An account whose address is confirmed joins at once from its account page (confirming
//!   once is enough); one whose address is not gets the confirmation mail.
//! - Leaving and the preferences page act with a signed token alone (no login); a changed or
//!   made-up token names nobody and changes nothing.
//! - Writes to an account's columns take the reader's lock first.

use actix_web::web;
use diesel::{Connection, PgConnection, QueryResult};
use time::OffsetDateTime;

use crate::db;
use crate::domain::email::Email;
use crate::domain::ids::{MailId, SignupId, UserId};
use crate::domain::mail::MailKind;
use crate::domain::newsletter::{self, Member, NewsletterLinks};
use crate::error::AppError;
use crate::mail::messages::{ComeBackMail, ConfirmationMail, compose};
use crate::mail::{MailWakeup, Message};
use crate::state::AppState;

/// The list's workflows, shared by the request handlers.
pub struct Members {
    state: web::Data<AppState>,
    wakeup: MailWakeup,
}

/// Where an account stands with the newsletter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountStanding {
    /// The account's address was proved by a link sent to it.
    pub confirmed: bool,
    /// The account chose the newsletter (it is mailed once its address is confirmed).
    pub opted_in: bool,
}

/// What an account's "join" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountJoin {
    /// On the list now: the address was confirmed already.
    Joined,
    /// A confirmation mail is on its way to the account's address.
    MailSent,
}

/// What a confirmation link would do, once its button is pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmationLink {
    /// It confirms this address.
    Confirms { email: String },
    /// Forged, changed, of another purpose, or too old.
    Dead,
}

/// What pressing a confirmation link's button did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// The address is confirmed and on the list.
    Joined,
    /// Nothing: the address was confirmed before (by this link or another), or the member no
    /// longer has it.
    Nothing,
    /// Forged, changed, of another purpose, or too old.
    Dead,
}

/// The preferences page of a member, as a token opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub email: String,
    pub confirmed: bool,
    pub on_list: bool,
    /// An address without an account: it may be forgotten entirely.
    pub address_only: bool,
}

/// A button of the preferences page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Leave,
    Return,
    Forget,
}

/// What a token's action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAction {
    /// Done; the member's page as it is now (`None` once forgotten).
    Done(Option<Preferences>),
    /// The address is not confirmed: it cannot come back before it is.
    NotConfirmed(Preferences),
    /// The token is genuine but names nobody any more (forgotten, or the account deleted).
    Gone,
    /// Changed or made up: nothing was done.
    Forged,
}

impl Members {
    pub fn new(state: web::Data<AppState>, wakeup: MailWakeup) -> Self {
        Self { state, wakeup }
    }

    fn links(&self) -> &NewsletterLinks {
        &self.state.newsletter_links
    }

    /// Asks for `email` to join the list, by address alone: one confirmation mail owed,
    /// whatever the address is (counting it against the limits is the caller's, before).
    pub async fn ask_to_join(&self, email: &Email) -> Result<(), AppError> {
        let now = self.state.clock.now();
        let email = email.to_string();
        db::run(
            &self.state.pool,
            "asking to join the newsletter",
            move |conn| {
                conn.transaction(|conn| {
                    let member = match db::users::find_by_email(conn, &email)? {
                        Some(user) => Member::Account(user.id),
                        None => Member::Signup(db::newsletter_members::ask(conn, &email, now)?),
                    };
                    owe_confirmation(conn, member, &email, now).map(|_| ())
                })
            },
        )
        .await?;
        self.wakeup.wake();
        Ok(())
    }

    /// Where the account stands.
    pub async fn account_standing(&self, user_id: UserId) -> Result<AccountStanding, AppError> {
        let found = db::run(
            &self.state.pool,
            "loading the account's newsletter choice",
            move |conn| db::newsletter_members::account_choice(conn, user_id),
        )
        .await?;
        let account = found.ok_or(AppError::NotFound)?;
        Ok(AccountStanding {
            confirmed: account.email_confirmed_at.is_some(),
            opted_in: account.newsletter_opted_in_at.is_some(),
        })
    }

    /// The account chooses the newsletter (limits are the caller's, before): on the list at
    /// once if its address is confirmed, otherwise a confirmation mail is owed.
    pub async fn join_as_account(&self, user_id: UserId) -> Result<AccountJoin, AppError> {
        let now = self.state.clock.now();
        let joined = db::run(
            &self.state.pool,
            "joining the newsletter from the account",
            move |conn| {
                conn.transaction(|conn| {
                    db::users::lock(conn, user_id)?;
                    let Some(account) = db::newsletter_members::account_choice(conn, user_id)?
                    else {
                        return Err(diesel::result::Error::NotFound);
                    };
                    db::newsletter_members::set_account_choice(conn, user_id, Some(now))?;
                    if account.email_confirmed_at.is_some() {
                        return Ok(AccountJoin::Joined);
                    }
                    owe_confirmation(conn, Member::Account(user_id), &account.email, now)?;
                    Ok(AccountJoin::MailSent)
                })
            },
        )
        .await?;
        if joined == AccountJoin::MailSent {
            self.wakeup.wake();
        }
        tracing::info!(user_id = user_id.get(), outcome = ?joined, "newsletter chosen");
        Ok(joined)
    }

    /// The account leaves the list.
    pub async fn leave_as_account(&self, user_id: UserId) -> Result<(), AppError> {
        db::run(
            &self.state.pool,
            "leaving the newsletter from the account",
            move |conn| {
                conn.transaction(|conn| {
                    db::users::lock(conn, user_id)?;
                    db::newsletter_members::set_account_choice(conn, user_id, None)
                })
            },
        )
        .await?;
        tracing::info!(user_id = user_id.get(), "newsletter left from the account");
        Ok(())
    }

    /// What the confirmation link `token` would confirm; changes nothing.
    pub fn confirmation_link(&self, token: &str) -> ConfirmationLink {
        match self.links().confirmation(token, self.state.clock.now()) {
            Some(confirmation) => ConfirmationLink::Confirms {
                email: confirmation.email,
            },
            None => ConfirmationLink::Dead,
        }
    }

    /// Confirms what the link `token` names: once, while the member still has its address.
    pub async fn confirm(&self, token: &str) -> Result<Confirmed, AppError> {
        let now = self.state.clock.now();
        let Some(confirmation) = self.links().confirmation(token, now) else {
            return Ok(Confirmed::Dead);
        };
        let member = confirmation.member;
        let email = confirmation.email;
        let done = db::run(
            &self.state.pool,
            "confirming a newsletter address",
            move |conn| {
                conn.transaction(|conn| match member {
                    Member::Account(user_id) => {
                        match db::users::lock(conn, user_id) {
                            Err(diesel::result::Error::NotFound) => return Ok(false),
                            locked => locked?,
                        }
                        db::newsletter_members::confirm_account(conn, user_id, &email, now)
                    }
                    Member::Signup(id) => {
                        db::newsletter_members::confirm_signup(conn, id, &email, now)
                    }
                })
            },
        )
        .await?;
        tracing::info!(member = ?member, confirmed = done, "newsletter confirmation used");
        Ok(if done {
            Confirmed::Joined
        } else {
            Confirmed::Nothing
        })
    }

    /// Whether `token` is a genuine unsubscribe token (changes nothing).
    pub fn names_someone(&self, token: &str) -> bool {
        self.links().member_of(token).is_some()
    }

    /// Takes the member `token` names off the list; `false` for a changed or made-up token.
    /// Leaving twice, or after the member is gone, is fine.
    pub async fn unsubscribe(&self, token: &str) -> Result<bool, AppError> {
        let Some(member) = self.links().member_of(token) else {
            return Ok(false);
        };
        self.apply(member, Choice::Leave).await?;
        tracing::info!(member = ?member, "left the newsletter by its link");
        Ok(true)
    }

    /// The preferences page `token` opens: `Gone` or `Forged` when it names nobody.
    pub async fn preferences(&self, token: &str) -> Result<TokenAction, AppError> {
        let Some(member) = self.links().member_of(token) else {
            return Ok(TokenAction::Forged);
        };
        Ok(match self.standing(member).await? {
            Some(preferences) => TokenAction::Done(Some(preferences)),
            None => TokenAction::Gone,
        })
    }

    /// Applies a button of the preferences page for the member `token` names.
    pub async fn choose(&self, token: &str, choice: Choice) -> Result<TokenAction, AppError> {
        let Some(member) = self.links().member_of(token) else {
            return Ok(TokenAction::Forged);
        };
        let Some(before) = self.standing(member).await? else {
            return Ok(TokenAction::Gone);
        };
        if choice == Choice::Return && !before.confirmed {
            return Ok(TokenAction::NotConfirmed(before));
        }
        if choice == Choice::Forget && !before.address_only {
            return Ok(TokenAction::Done(Some(before)));
        }
        self.apply(member, choice).await?;
        tracing::info!(member = ?member, choice = ?choice, "newsletter preferences changed");
        Ok(TokenAction::Done(self.standing(member).await?))
    }

    async fn apply(&self, member: Member, choice: Choice) -> Result<(), AppError> {
        let now = self.state.clock.now();
        let chosen = match choice {
            Choice::Return => Some(now),
            Choice::Leave | Choice::Forget => None,
        };
        db::run(
            &self.state.pool,
            "changing a newsletter choice",
            move |conn| {
                conn.transaction(|conn| match member {
                    Member::Account(user_id) => {
                        match db::users::lock(conn, user_id) {
                            Err(diesel::result::Error::NotFound) => return Ok(()),
                            locked => locked?,
                        }
                        if chosen.is_some()
                            && db::newsletter_members::account_choice(conn, user_id)?
                                .is_none_or(|account| account.email_confirmed_at.is_none())
                        {
                            return Ok(());
                        }
                        db::newsletter_members::set_account_choice(conn, user_id, chosen)
                            .map(|_| ())
                    }
                    Member::Signup(id) if choice == Choice::Forget => {
                        db::newsletter_members::delete_signup(conn, id).map(|_| ())
                    }
                    Member::Signup(id) => {
                        db::newsletter_members::set_signup_choice(conn, id, chosen).map(|_| ())
                    }
                })
            },
        )
        .await?;
        Ok(())
    }

    async fn standing(&self, member: Member) -> Result<Option<Preferences>, AppError> {
        Ok(db::run(
            &self.state.pool,
            "loading a newsletter member",
            move |conn| {
                Ok(match member {
                    Member::Account(user_id) => {
                        db::newsletter_members::account_choice(conn, user_id)?.map(|account| {
                            Preferences {
                                email: account.email,
                                confirmed: account.email_confirmed_at.is_some(),
                                on_list: account.newsletter_opted_in_at.is_some(),
                                address_only: false,
                            }
                        })
                    }
                    Member::Signup(id) => {
                        db::newsletter_members::signup(conn, id)?.map(|row| Preferences {
                            email: row.email,
                            confirmed: row.confirmed_at.is_some(),
                            on_list: row.opted_in_at.is_some() && row.confirmed_at.is_some(),
                            address_only: true,
                        })
                    }
                })
            },
        )
        .await?)
    }

    /// Wakes the mail sender (after a transaction that owed a confirmation has committed).
    pub fn wake_sender(&self) {
        self.wakeup.wake();
    }
}

/// Puts a confirmation mail for `member` at `email` into the outbox; call it in the
/// transaction of the choice it confirms, and wake the sender once that has committed.
pub fn owe_confirmation(
    conn: &mut PgConnection,
    member: Member,
    email: &str,
    now: OffsetDateTime,
) -> QueryResult<MailId> {
    let kind = MailKind::NewsletterConfirmation;
    let (user_id, detail) = match member {
        Member::Account(user_id) => (Some(user_id), String::new()),
        Member::Signup(id) => (None, id.to_string()),
    };
    db::outbox::owe(conn, kind, email, user_id, &detail, now)
}

/// At sign-up, inside the transaction that made the account `user_id` with `email`: an
/// address-only member of that address becomes the account, keeping its choice (and what was
/// sent to it); a ticked box is the account's choice. Returns whether a confirmation mail is
/// owed (the caller wakes the sender once committed).
///
/// Sign-up does not prove the address, so the address's confirmation comes along only while
/// it is on the list: then the mail keeps going where its owner asked it to. An address that
/// left gives the new account nothing, so whoever signs up with it cannot bring the list's
/// mail back to that inbox without a new confirmation sent there.
pub fn at_sign_up(
    conn: &mut PgConnection,
    user_id: UserId,
    email: &str,
    ticked: bool,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let (mut confirmed_at, mut opted_in_at) = (None, None);
    if let Some(row) = db::newsletter_members::signup_by_email(conn, email)? {
        if let (Some(confirmed), Some(opted_in)) = (row.confirmed_at, row.opted_in_at) {
            (confirmed_at, opted_in_at) = (Some(confirmed), Some(opted_in));
        }
        db::newsletter_members::move_deliveries(conn, row.id, user_id)?;
        db::newsletter_members::delete_signup(conn, row.id)?;
    }
    if ticked && opted_in_at.is_none() {
        opted_in_at = Some(now);
    }
    if confirmed_at.is_none() && opted_in_at.is_none() {
        return Ok(false);
    }
    db::newsletter_members::take_over_choice(conn, user_id, confirmed_at, opted_in_at)?;
    if ticked && confirmed_at.is_none() {
        owe_confirmation(conn, Member::Account(user_id), email, now)?;
        return Ok(true);
    }
    Ok(false)
}

/// Deletes the addresses asked for by address alone and never confirmed within
/// `domain::newsletter::CONFIRMATION_LIFETIME` (for housekeeping); confirmed ones stay.
pub fn sweep_stale_signups(conn: &mut PgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    db::newsletter_members::sweep_unconfirmed(conn, now - newsletter::CONFIRMATION_LIFETIME)
}

/// What a `newsletter_confirmation` mail in the outbox is to carry, decided when it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owed {
    /// A link confirming the address for the member.
    Confirm(Member),
    /// The address is confirmed but off the list: a link to its preferences, to come back.
    ComeBack(Member),
    /// Nothing: already on the list, or the member no longer has that address (or is gone).
    Nothing,
}

/// What the outbox mail (`user_id`, `detail`, `recipient`) owes, for the member as it is now.
pub fn what_to_send(
    conn: &mut PgConnection,
    user_id: Option<UserId>,
    detail: &str,
    recipient: &str,
) -> QueryResult<Owed> {
    let standing = match user_id {
        Some(user_id) => db::newsletter_members::account_choice(conn, user_id)?
            .filter(|account| account.email == recipient)
            .map(|account| {
                (
                    Member::Account(user_id),
                    account.email_confirmed_at.is_some(),
                    account.newsletter_opted_in_at.is_some(),
                )
            }),
        None => match detail.parse::<SignupId>() {
            Ok(id) => db::newsletter_members::signup(conn, id)?
                .filter(|row| row.email == recipient)
                .map(|row| {
                    (
                        Member::Signup(id),
                        row.confirmed_at.is_some(),
                        row.opted_in_at.is_some(),
                    )
                }),
            Err(_) => None,
        },
    };
    Ok(match standing {
        None | Some((_, true, true)) => Owed::Nothing,
        Some((member, false, _)) => Owed::Confirm(member),
        Some((member, true, false)) => Owed::ComeBack(member),
    })
}

/// The message for what is owed to `to`, its link made now; `None` when nothing is owed.
pub fn message(
    links: &NewsletterLinks,
    site_url: &str,
    owed: &Owed,
    to: &str,
    now: OffsetDateTime,
) -> Option<Result<Message, askama::Error>> {
    match *owed {
        Owed::Nothing => None,
        Owed::Confirm(member) => {
            let token = links.confirmation_token(member, to, now);
            let link = newsletter::confirmation_url(site_url, &token);
            Some(compose(
                to,
                &ConfirmationMail {
                    site_url,
                    email: to,
                    link: &link,
                    days: newsletter::CONFIRMATION_LIFETIME.whole_days(),
                },
            ))
        }
        Owed::ComeBack(member) => {
            let token = links.unsubscribe_token(member);
            let link = newsletter::preferences_url(site_url, &token);
            Some(compose(
                to,
                &ComeBackMail {
                    site_url,
                    email: to,
                    link: &link,
                },
            ))
        }
    }
}
