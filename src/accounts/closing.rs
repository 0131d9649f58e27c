//! Deleting an account: the subscription ends at once (nothing more is charged), then the
//! account and everything that refers to it go in one transaction under the reader's lock,
//! except what accounting must keep of past payments, which is copied without the account.

use diesel::Connection;

use super::{Accounts, logins_ended_meanwhile, still_in_generation};
use crate::auth::current_reader::Member;
use crate::billing::EndedNow;
use crate::db;
use crate::domain::account::confirms_deletion;
use crate::domain::ids::ArticleId;
use crate::domain::mail::MailKind;
use crate::domain::meter::Month;
use crate::domain::password::Password;
use crate::error::AppError;

/// What asking to delete an account did.
#[derive(Debug, PartialEq, Eq)]
pub enum Closing {
    /// Deleted. The premium articles the account opened this month, for the browser's meter
    /// (deleting an account gives no fresh meter).
    Deleted {
        opened_this_month: Vec<ArticleId>,
    },
    /// The confirmation phrase was not typed.
    NotConfirmed,
    WrongPassword,
    /// A payment is being confirmed with the processor: deleting now could lose it.
    PaymentUnderWay,
}

/// What the deleting transaction found.
enum Deleting {
    Deleted {
        opened: Vec<ArticleId>,
        kept: usize,
    },
    /// A subscription or a payment is still to be settled.
    Unsettled,
    /// Every login of the account ended since its password was checked.
    LoginsEnded,
}

impl Accounts {
    pub async fn delete_account(
        &self,
        member: &Member,
        password: Password,
        confirmation: &str,
    ) -> Result<Closing, AppError> {
        if !confirms_deletion(confirmation) {
            return Ok(Closing::NotConfirmed);
        }
        let Some(checked_in) = self.check_password(member.user_id, password).await? else {
            return Ok(Closing::WrongPassword);
        };
        let user_id = member.user_id;
        let generation = db::run(
            &self.state.pool,
            "checking the account's logins",
            move |conn| db::users::login_generation(conn, user_id),
        )
        .await?;
        // Checked again under the lock below; this spares the subscription when every login
        // ended before the processor is asked.
        if generation != Some(checked_in) {
            return Err(logins_ended_meanwhile(user_id, "/account/delete"));
        }
        if self.billing.end_now(user_id).await? == EndedNow::PaymentUnderWay {
            return Ok(Closing::PaymentUnderWay);
        }
        let now = self.state.clock.now();
        let first_day = Month::of(now).first_day();
        let email = member.email.clone();
        let deleted = db::run(&self.state.pool, "deleting an account", move |conn| {
            conn.transaction(|conn| {
                db::users::lock(conn, user_id)?;
                if !still_in_generation(conn, user_id, checked_in)? {
                    return Ok(Deleting::LoginsEnded);
                }
                // A subscription or a payment started in another tab since it was ended: it
                // must be settled first.
                if db::checkouts::find(conn, user_id)?.is_some()
                    || db::subscriptions::current(conn, user_id)?.is_some()
                {
                    return Ok(Deleting::Unsettled);
                }
                let opened = db::meter::opened_in_month(conn, user_id, first_day)?;
                let kept = db::closed_account_payments::keep_for(conn, user_id, now)?;
                db::subscriptions::delete_all(conn, user_id)?;
                db::sessions::delete_all(conn, user_id)?;
                db::tokens::delete_all_for_user(conn, user_id)?;
                db::meter::delete_all(conn, user_id)?;
                db::article_gifts::delete_all(conn, user_id)?;
                db::outbox::delete_for_user(conn, user_id)?;
                // Gifts they gave stay (paid for, perhaps not yet redeemed), without their
                // words: the name and message they wrote.
                db::gift_subscriptions::forget_buyer_words(conn, user_id)?;
                db::users::delete(conn, user_id)?;
                db::outbox::owe(conn, MailKind::AccountDeleted, &email, None, "", now)?;
                Ok(Deleting::Deleted { opened, kept })
            })
        })
        .await?;
        let (opened_this_month, kept_payments) = match deleted {
            Deleting::Deleted { opened, kept } => (opened, kept),
            Deleting::Unsettled => return Ok(Closing::PaymentUnderWay),
            Deleting::LoginsEnded => {
                return Err(logins_ended_meanwhile(user_id, "/account/delete"));
            }
        };
        self.wakeup.wake();
        tracing::info!(user_id = user_id.get(), kept_payments, "account deleted");
        Ok(Closing::Deleted { opened_this_month })
    }
}
