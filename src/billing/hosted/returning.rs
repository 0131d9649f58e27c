//! The reader back from the processor's checkout page: the processor is asked about the
//! checkout the address names, and a payment it confirms is recorded at once, so the reader
//! does not wait for the processor's event. Housekeeping asks the same way about checkouts
//! whose events never came (`reconcile`).
//!
//! Rules:
//! - Only the reader's own checkout is asked about; for one already closed (the event came
//!   first) or another reader's, the answer is what is stored.
//! - The reader's asking spends from their budget (`budget`); housekeeping's does not.
//! - A paid checkout is recorded from the subscription the processor holds (re-read, as
//!   everywhere), then closed; an expired one is closed, giving back the offer's redemption it
//!   held; an open one, or a processor that cannot be asked, leaves everything for the event
//!   or housekeeping.

use time::OffsetDateTime;

use super::CheckoutEnd;
use crate::billing::{Billing, BillingError, Spent};
use crate::db;
use crate::domain::ids::UserId;
use crate::domain::subscription::Standing;
use crate::payments::hosted::CheckoutState;

/// What returning from the processor's checkout page found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// Paid and recorded: access until `until`, renewed by the processor when `renews`.
    Subscribed { until: OffsetDateTime, renews: bool },
    /// A free trial started (an offer's): access until `until`; `card`: a payment method is
    /// on file for the charge then.
    Trial { until: OffsetDateTime, card: bool },
    /// Not confirmed yet (the processor is still taking the payment, or could not be asked):
    /// the processor's event, or housekeeping, records it.
    Pending,
    /// The checkout expired unpaid.
    NotPaid,
    /// Not asked: the reader's requests have asked the processor all their budget allows.
    /// The processor's event, or housekeeping, records the payment.
    TooManyRequests,
}

/// On whose behalf a returning checkout is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::billing) enum Asking {
    /// The reader's own request: it spends from their budget.
    ForReader,
    /// Housekeeping's reconciliation.
    ForHousekeeping,
}

impl Billing {
    /// The reader is back from the processor's checkout page (`reference` is the checkout the
    /// processor names in the address): records the payment if the processor confirms it, so
    /// the reader does not wait for the event. Asking spends from the reader's budget.
    pub async fn confirm_checkout(
        &self,
        user_id: UserId,
        reference: Option<String>,
    ) -> Result<Confirmed, BillingError> {
        self.check_checkout(user_id, reference, Asking::ForReader)
            .await
    }

    /// Asks the processor about the reader's checkout `reference` and records what it says.
    pub(in crate::billing) async fn check_checkout(
        &self,
        user_id: UserId,
        reference: Option<String>,
        asking: Asking,
    ) -> Result<Confirmed, BillingError> {
        let Some(gateway) = self.hosted() else {
            return Ok(Confirmed::Pending);
        };
        let name = gateway.name();
        let found = match reference {
            Some(reference) => {
                self.for_reader(user_id, "finding the returning checkout", move |conn| {
                    Ok(
                        db::hosted_checkouts::find_by_reference(conn, name, &reference)?
                            .filter(|checkout| checkout.user_id == user_id),
                    )
                })
                .await?
            }
            None => None,
        };
        let Some(checkout) = found else {
            // Recorded already (the event came first), or not this reader's checkout.
            return self.standing_now(user_id).await;
        };
        let Some(reference) = checkout.reference.clone() else {
            return Ok(Confirmed::Pending);
        };
        // The checkout, then the subscription it paid for.
        if asking == Asking::ForReader
            && let Spent::Refused { .. } = self.spend(user_id, 2).await?
        {
            return Ok(Confirmed::TooManyRequests);
        }
        let read_at = self.clock.now();
        match gateway.checkout(reference).await {
            Ok(CheckoutState::Complete { subscription }) => {
                if let Some(subscription) = subscription {
                    match gateway.subscription(subscription).await {
                        Ok(held) => {
                            self.record_held(name, user_id, held, read_at).await?;
                        }
                        Err(error) => {
                            tracing::warn!(
                                user_id = user_id.get(),
                                "confirming a checkout: {error}"
                            );
                            return Ok(Confirmed::Pending);
                        }
                    }
                }
                self.close_checkout(user_id, checkout.id, CheckoutEnd::Paid)
                    .await?;
                self.standing_now(user_id).await
            }
            Ok(CheckoutState::Expired) => {
                self.close_checkout(user_id, checkout.id, CheckoutEnd::Unpaid)
                    .await?;
                Ok(Confirmed::NotPaid)
            }
            Ok(CheckoutState::Open) => Ok(Confirmed::Pending),
            Err(error) => {
                tracing::warn!(user_id = user_id.get(), "confirming a checkout: {error}");
                Ok(Confirmed::Pending)
            }
        }
    }

    /// Whether the reader's current subscription is paid up, and until when.
    async fn standing_now(&self, user_id: UserId) -> Result<Confirmed, BillingError> {
        let now = self.clock.now();
        let row = self
            .for_reader(user_id, "reading the reader's subscription", move |conn| {
                db::subscriptions::current(conn, user_id)
            })
            .await?;
        Ok(match row {
            Some(row) if row.failed_payment.since.is_none() => match row.standing(now) {
                Standing::Current { period_end, .. } => {
                    match row.offer.trial_ends_at.filter(|end| *end > now) {
                        Some(until) => Confirmed::Trial {
                            until,
                            card: !row.offer.trial_without_card,
                        },
                        None => Confirmed::Subscribed {
                            until: period_end,
                            renews: row.renews,
                        },
                    }
                }
                Standing::Lapsed { .. } => Confirmed::Pending,
            },
            _ => Confirmed::Pending,
        })
    }
}
