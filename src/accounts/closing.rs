//! Deleting an account: the subscription ends at once (nothing more is charged), then the
//! account and everything that refers to it go in one transaction under the reader's lock,
//! except what accounting must keep of past payments, which is copied without the account.

use diesel::Connection;

use super::{Accounts, owe_mail};
use crate::auth::current_reader::Member;
use crate::billing::EndedNow;
use crate::db;
use crate::domain::account::confirms_deletion;
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
        opened_this_month: Vec<i64>,
    },
    /// The confirmation phrase was not typed.
    NotConfirmed,
    WrongPassword,
    /// A payment is being confirmed with the processor: deleting now could lose it.
    PaymentUnderWay,
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
        if !self.password_is_right(member.user_id, password).await? {
            return Ok(Closing::WrongPassword);
        }
        let user_id = member.user_id;
        if self.billing.end_now(user_id).await? == EndedNow::PaymentUnderWay {
            return Ok(Closing::PaymentUnderWay);
        }
        let now = self.state.clock.now();
        let first_day = Month::of(now).first_day();
        let email = member.email.clone();
        let deleted = db::run(&self.state.pool, "deleting an account", move |conn| {
            conn.transaction(|conn| {
                db::users::lock(conn, user_id)?;
                // A subscription or a payment started in another tab since it was ended: it
                // must be settled first.
                if db::checkouts::find(conn, user_id)?.is_some()
                    || db::subscriptions::current(conn, user_id)?.is_some()
                {
                    return Ok(None);
                }
                let opened = db::meter::opened_in_month(conn, user_id, first_day)?;
                let kept = db::closed_account_payments::keep_for(conn, user_id, now)?;
                db::subscriptions::delete_all(conn, user_id)?;
                db::sessions::delete_all(conn, user_id)?;
                db::tokens::delete_all_for_user(conn, user_id)?;
                db::meter::delete_all(conn, user_id)?;
                db::outbox::delete_for_user(conn, user_id)?;
                db::users::delete(conn, user_id)?;
                owe_mail(conn, MailKind::AccountDeleted, &email, None, "", now)?;
                Ok(Some((opened, kept)))
            })
        })
        .await?;
        let Some((opened_this_month, kept_payments)) = deleted else {
            return Ok(Closing::PaymentUnderWay);
        };
        self.doorbell.ring();
        tracing::info!(user_id, kept_payments, "account deleted");
        Ok(Closing::Deleted { opened_this_month })
    }
}
