//! Ending a reader's subscription at once, with no further charge, for an account being
//! deleted.
//!
//! Rules:
//! - At the processor, the reader's open checkout is expired so it can no longer be paid, and
//!   every live subscription of Gazette's is canceled now: each the reader's customer holds on
//!   a plan's price, and each Gazette recorded for the reader, whatever its price (asked by its
//!   own id when the customer no longer lists it). Then whatever is still current here ends.
//! - An error means the processor could not be told, and the reader might still be charged:
//!   the caller must not go on as if it had.
//! - A payment Gazette takes itself that is being confirmed makes ending wait for it.

use super::CheckoutEnd;
use crate::billing::{Billing, BillingError};
use crate::db;
use crate::domain::ids::UserId;
use crate::domain::subscription::Status;
use crate::payments::hosted::{
    CheckoutState, HeldStatus, HeldSubscription, HostedError, HostedGateway,
};

/// What ending a reader's subscription at once did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndedNow {
    /// A subscription (or an open checkout) was ended: nothing more will be charged.
    Ended,
    NothingToEnd,
    /// A payment Gazette took itself is being confirmed with the processor; ending waits for
    /// it (nothing was ended).
    PaymentUnderWay,
}

impl Billing {
    /// Ends the reader's subscription at once, at the processor and here, with no further
    /// charge (see the module's rules). An error means the processor could not be told: the
    /// caller must not go on as if it had.
    pub async fn end_now(&self, user_id: UserId) -> Result<EndedNow, BillingError> {
        let paying = self
            .for_reader(
                user_id,
                "looking for a payment being confirmed",
                move |conn| Ok(db::checkouts::find(conn, user_id)?.is_some()),
            )
            .await?;
        if paying {
            return Ok(EndedNow::PaymentUnderWay);
        }
        let mut ended = match self.hosted() {
            Some(gateway) => self.end_at_processor(&*gateway, user_id).await?,
            None => false,
        };
        // Whatever is still current here (a subscription Gazette runs itself, or one the
        // processor no longer knows) ends now too.
        let now = self.clock.now();
        ended |= self
            .for_reader(user_id, "ending a subscription now", move |conn| {
                match db::subscriptions::current(conn, user_id)? {
                    Some(row) if row.status != Status::Ended => {
                        db::subscriptions::end(conn, row.id, now)?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            })
            .await?;
        if ended {
            tracing::info!(user_id = user_id.get(), "subscription ended at once");
        }
        Ok(if ended {
            EndedNow::Ended
        } else {
            EndedNow::NothingToEnd
        })
    }

    /// The processor's part of [`Billing::end_now`]; whether anything was ended.
    async fn end_at_processor(
        &self,
        gateway: &dyn HostedGateway,
        user_id: UserId,
    ) -> Result<bool, BillingError> {
        let name = gateway.name();
        let (customer, checkout, recorded) = self
            .for_reader(user_id, "finding what to end", move |conn| {
                let recorded: Vec<(String, bool)> = db::subscriptions::records(conn, user_id)?
                    .into_iter()
                    .filter(|row| row.gateway == name)
                    .map(|row| (row.gateway_reference, row.status != Status::Ended.as_str()))
                    .collect();
                Ok((
                    db::gateway_customers::find(conn, user_id, name)?
                        .and_then(|customer| customer.reference),
                    db::hosted_checkouts::find(conn, user_id)?,
                    recorded,
                ))
            })
            .await?;
        let mut ended = false;
        if let Some(checkout) = checkout {
            let mut end = CheckoutEnd::Unpaid;
            if let Some(reference) = checkout.reference.clone() {
                match gateway.expire_checkout(reference).await {
                    // Paid a moment ago: its subscription is among the customer's, below.
                    Ok(CheckoutState::Complete { .. }) => end = CheckoutEnd::Paid,
                    Ok(_) | Err(HostedError::Missing(_)) => {}
                    Err(error) => return Err(failed("expiring a checkout", error)),
                }
            }
            self.close_checkout(user_id, checkout.id, end).await?;
            ended = true;
        }
        let held = match customer {
            Some(customer) => match gateway.subscriptions_of(customer).await {
                Ok(held) => held,
                Err(HostedError::Missing(_) | HostedError::CustomerGone(_)) => Vec::new(),
                Err(error) => return Err(failed("listing the customer's subscriptions", error)),
            },
            None => Vec::new(),
        };
        for subscription in to_cancel(&held, &recorded) {
            let read_at = self.clock.now();
            match gateway.cancel_now(subscription).await {
                Ok(canceled) => {
                    self.record_held(name, user_id, canceled, read_at).await?;
                    ended = true;
                }
                Err(HostedError::Missing(_)) => {}
                Err(error) => return Err(failed("canceling a subscription", error)),
            }
        }
        Ok(ended)
    }
}

fn failed(step: &'static str, error: HostedError) -> BillingError {
    BillingError::Processor { step, error }
}

/// The live subscriptions of Gazette's to cancel: those the customer holds (`held`) on a plan's
/// price or recorded here, and those `recorded` here as live (reference, live) that the
/// customer does not hold.
fn to_cancel(held: &[HeldSubscription], recorded: &[(String, bool)]) -> Vec<String> {
    let is_recorded = |reference: &str| recorded.iter().any(|(r, _)| r == reference);
    let mut to_cancel: Vec<String> = held
        .iter()
        .filter(|s| s.status != HeldStatus::Ended)
        .filter(|s| s.plan_code.is_some() || is_recorded(&s.reference))
        .map(|s| s.reference.clone())
        .collect();
    // Recorded as live here but not among the customer's (another customer, or the
    // processor forgot it): asked by its own id.
    to_cancel.extend(
        recorded
            .iter()
            .filter(|(reference, live)| *live && !held.iter().any(|s| &s.reference == reference))
            .map(|(reference, _)| reference.clone()),
    );
    to_cancel
}
