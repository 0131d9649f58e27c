//! Subscribing, canceling and managing through a processor that runs the subscription
//! (`payments::hosted`): the reader is sent to the processor's pages, and what the processor
//! holds is recorded (`sync`).
//!
//! - `subscribe`: subscribing, in rounds, each step chosen under the reader's lock (`decide`)
//!   and taken outside any transaction;
//! - `returning`: the reader back from the processor's checkout page;
//! - `ending`: ending a subscription at once, for an account being deleted;
//! - `offers`: offers the processor applies (the redemption held by the checkout, the terms
//!   it is opened with, what the subscription notes, the trial's notice);
//! - here: canceling, the processor's billing page, comparing the reader's subscriptions with
//!   the processor's, and recording what the processor says.
//!
//! Rules:
//! - The processor is asked outside any transaction; what it says is recorded in a
//!   transaction that holds the reader's lock, as it holds it (`sync`).
//! - The requests a reader's own request causes spend from their budget before the processor
//!   is asked (`budget`); past it the reader is told to wait.

mod decide;
mod ending;
mod offers;
mod returning;
mod subscribe;

use time::OffsetDateTime;

use super::sync::{Applied, apply_held};
use super::{Billing, BillingError, Canceled, Spent, request_key};
use crate::db::{self, DbError};
use crate::domain::ids::{HostedCheckoutId, UserId};
use crate::payments::hosted::{HeldSubscription, HostedError, HostedGateway, PortalFlow};

pub use ending::EndedNow;
pub(super) use offers::{CheckoutEnd, end_checkout, note_held_offer, owe_trial_notice, terms};
pub(super) use returning::Asking;
pub use returning::Confirmed;

/// The processor's billing page for the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Portal {
    At(String),
    /// The reader has no customer at the processor yet (never subscribed through it).
    NoAccount,
    ProcessorUnavailable,
    /// Not asked: the reader's requests have asked the processor all their budget allows.
    TooManyRequests {
        retry_after_secs: u64,
    },
}

/// What a reader has at the processor that runs subscriptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessorAccount {
    /// A customer exists: the processor's billing page can be opened.
    pub has_customer: bool,
    /// The checkout page the reader was sent to, still open (perhaps paid a moment ago).
    pub open_checkout: Option<String>,
}

impl Billing {
    /// Re-reads a subscription and records it; the processor's error when it could not be
    /// asked.
    pub(super) async fn refresh(
        &self,
        gateway: &dyn HostedGateway,
        user_id: UserId,
        subscription: String,
    ) -> Result<Result<Applied, HostedError>, DbError> {
        let read_at = self.clock.now();
        match gateway.subscription(subscription).await {
            Ok(held) => Ok(Ok(self
                .record_held(gateway.name(), user_id, held, read_at)
                .await?)),
            Err(error) => Ok(Err(error)),
        }
    }

    /// Records what the processor said of a reader's subscription (read at `read_at`).
    pub(super) async fn record_held(
        &self,
        gateway: &'static str,
        user_id: UserId,
        held: HeldSubscription,
        read_at: OffsetDateTime,
    ) -> Result<Applied, DbError> {
        let now = self.clock.now();
        self.for_reader(
            user_id,
            "recording the processor's subscription",
            move |conn| apply_held(conn, gateway, user_id, &held, read_at, now),
        )
        .await
    }

    /// Removes the reader's hosted checkout as it ended (an unpaid one gives back the offer's
    /// redemption it held).
    pub(super) async fn close_checkout(
        &self,
        user_id: UserId,
        checkout_id: HostedCheckoutId,
        end: CheckoutEnd,
    ) -> Result<bool, DbError> {
        self.for_reader(user_id, "closing a hosted checkout", move |conn| {
            end_checkout(conn, checkout_id, end)
        })
        .await
    }

    /// Cancels at the processor (at the period's end, or at once) and records its answer.
    pub(super) async fn cancel_at_processor(
        &self,
        gateway: &dyn HostedGateway,
        user_id: UserId,
        subscription: String,
        at_once: bool,
    ) -> Result<Canceled, BillingError> {
        let read_at = self.clock.now();
        let answer = if at_once {
            gateway.cancel_now(subscription).await
        } else {
            gateway
                .cancel_at_period_end(subscription, true, request_key("cancel")?)
                .await
        };
        let held = match answer {
            Ok(held) => held,
            Err(error) => {
                tracing::warn!(
                    user_id = user_id.get(),
                    "canceling at the processor: {error}"
                );
                return Ok(Canceled::ProcessorUnavailable);
            }
        };
        let period_end = held.current_period_end;
        let applied = self
            .record_held(gateway.name(), user_id, held, read_at)
            .await?;
        tracing::info!(
            user_id = user_id.get(),
            at_once,
            "subscription canceled at the processor"
        );
        Ok(match applied {
            _ if at_once => Canceled::Ended,
            Applied::Written {
                access_until: Some(until),
            } => Canceled::Until { until },
            _ => Canceled::Until { until: period_end },
        })
    }

    /// Compares the reader's subscriptions held here with the processor's: every one of
    /// Gazette's that the processor holds for the reader's customer is applied. How many.
    pub(super) async fn sync_customer(
        &self,
        gateway: &dyn HostedGateway,
        user_id: UserId,
    ) -> Result<Result<usize, HostedError>, DbError> {
        let name = gateway.name();
        let customer = self.customer_of(user_id, name).await?;
        let Some(customer) = customer else {
            return Ok(Ok(0));
        };
        let read_at = self.clock.now();
        let held = match gateway.subscriptions_of(customer).await {
            Ok(held) => held,
            Err(error) => return Ok(Err(error)),
        };
        let mut applied = 0;
        // Whether each is Gazette's (a plan's price, or recorded) is for `apply_held` to say.
        for subscription in held {
            if let Applied::Written { .. } = self
                .record_held(name, user_id, subscription, read_at)
                .await?
            {
                applied += 1;
            }
        }
        Ok(Ok(applied))
    }

    /// The reader's customer at processor `name`, once the processor has made one.
    async fn customer_of(
        &self,
        user_id: UserId,
        name: &'static str,
    ) -> Result<Option<String>, DbError> {
        let customer = self
            .for_reader(user_id, "finding the reader's customer", move |conn| {
                db::gateway_customers::find(conn, user_id, name)
            })
            .await?;
        Ok(customer.and_then(|customer| customer.reference))
    }

    /// Opens the processor's billing page (card, invoices, plan, cancellation) for the reader.
    pub async fn portal(
        &self,
        user_id: UserId,
        return_url: String,
    ) -> Result<Portal, BillingError> {
        let Some(gateway) = self.hosted() else {
            return Ok(Portal::NoAccount);
        };
        let name = gateway.name();
        let customer = self.customer_of(user_id, name).await?;
        let Some(customer) = customer else {
            return Ok(Portal::NoAccount);
        };
        if let Spent::Refused { retry_after_secs } = self.spend(user_id, 1).await? {
            return Ok(Portal::TooManyRequests { retry_after_secs });
        }
        match gateway
            .portal(customer, return_url, PortalFlow::Overview)
            .await
        {
            Ok(url) => Ok(Portal::At(url)),
            Err(error) => {
                tracing::warn!(
                    user_id = user_id.get(),
                    "opening the billing portal: {error}"
                );
                Ok(Portal::ProcessorUnavailable)
            }
        }
    }

    /// What the reader has at the processor, for the account page.
    pub async fn processor_account(&self, user_id: UserId) -> Result<ProcessorAccount, DbError> {
        let Some(gateway) = self.hosted() else {
            return Ok(ProcessorAccount::default());
        };
        let (name, now) = (gateway.name(), self.clock.now());
        db::run(
            &self.pool,
            "looking at the reader's processor account",
            move |conn| {
                let has_customer = db::gateway_customers::find(conn, user_id, name)?
                    .is_some_and(|customer| customer.reference.is_some());
                let open_checkout = db::hosted_checkouts::find(conn, user_id)?
                    .filter(|checkout| checkout.expires_at.is_some_and(|at| at > now))
                    .and_then(|checkout| checkout.url);
                Ok(ProcessorAccount {
                    has_customer,
                    open_checkout,
                })
            },
        )
        .await
    }
}
