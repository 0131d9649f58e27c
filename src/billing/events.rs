//! Events from a processor that runs the subscription: webhooks as they arrive, and events
//! reconciliation finds undelivered.
//!
//! Rules:
//! - Nothing is believed before the signature is checked over the raw body (an unsigned,
//!   forged, stale or malformed event is [`Received::Rejected`]: 400, nothing changes).
//! - An event only says which object changed: the object is re-read from the processor and
//!   applied as it is now (`sync`), so events that arrive twice, late or out of order all
//!   leave the same state.
//! - Each event id is recorded in the same transaction as its effect, under the reader's lock
//!   (the events table's key decides): a duplicate, even one racing the first, changes
//!   nothing.
//! - A subscription's reader is its customer's, or, once that customer is forgotten (deleted
//!   at the processor), the one Gazette recorded it for: its events still apply in any order.
//! - Objects that are not Gazette's (a customer or checkout it did not create, a subscription
//!   on a price that is no plan which Gazette never recorded) are ignored and not recorded;
//!   so is a checkout Gazette already closed (its subscription was recorded from another
//!   event, or from the reader's return).
//! - A subscription's notice that its trial ends soon owes its reader the trial-ending mail,
//!   once per trial (`hosted::offers`); a checkout that expired gives back the offer's
//!   redemption it held.
//! - A checkout opened to pay a gift subscription makes the gift paid (its recipient's mail
//!   queued) or unpaid, under its buyer's lock (`gift_subscriptions`).
//! - When the processor cannot be asked, nothing is recorded and the error says so, so the
//!   processor delivers the event again (and reconciliation would find it).

use diesel::PgConnection;
use diesel::QueryResult;
use time::OffsetDateTime;

use super::gift_subscriptions::record_gift_paid;
use super::hosted::{CheckoutEnd, end_checkout, owe_trial_notice};
use super::sync::{Applied, apply_held};
use super::{Billing, BillingError};
use crate::db;
use crate::domain::ids::{GiftId, UserId};
use crate::payments::hosted::{
    About, CheckoutState, HeldSubscription, HostedError, HostedGateway, Notification, Rejected,
};

/// What became of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Applied,
    /// Its id was applied before: nothing changed.
    AlreadyApplied,
    /// Not about anything of Gazette's: nothing changed.
    Ignored,
    /// Not a genuine, fresh, readable event: nothing changed.
    Rejected(Rejected),
    /// Payments do not go through a processor that sends events.
    NotExpected,
}

impl Billing {
    /// A webhook: its `Stripe-Signature`-like header and its raw body.
    pub async fn receive(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Received, BillingError> {
        let Some(gateway) = self.hosted() else {
            return Ok(Received::NotExpected);
        };
        match gateway.verify(signature, body, self.clock.now()) {
            Ok(notification) => self.apply_notification(&*gateway, notification).await,
            Err(rejected) => Ok(Received::Rejected(rejected)),
        }
    }

    /// Applies one genuine event (see the module's rules).
    pub(super) async fn apply_notification(
        &self,
        gateway: &dyn HostedGateway,
        notification: Notification,
    ) -> Result<Received, BillingError> {
        let name = gateway.name();
        let Notification { id, kind, about } = notification;
        let seen = {
            let id = id.clone();
            db::run(&self.pool, "looking up a processor event", move |conn| {
                db::gateway_events::seen(conn, name, &id)
            })
            .await?
        };
        if seen {
            return Ok(Received::AlreadyApplied);
        }
        let Some((user_id, effect)) = self.effect_of(gateway, about).await? else {
            return Ok(Received::Ignored);
        };
        let now = self.clock.now();
        let mails = matches!(
            effect,
            Effect::Gift {
                paid: Some(true),
                ..
            }
        );
        let recorded = self
            .for_reader(user_id, "applying a processor event", move |conn| {
                if !db::gateway_events::record(conn, name, &id, &kind, Some(user_id), now)? {
                    return Ok(false);
                }
                effect.apply(conn, name, user_id, now)?;
                Ok(true)
            })
            .await;
        match recorded {
            Ok(true) => {
                if mails {
                    self.wake_mail();
                }
                Ok(Received::Applied)
            }
            Ok(false) => Ok(Received::AlreadyApplied),
            // The reader's account is gone: nothing of theirs to change.
            Err(db::DbError::Query {
                error: diesel::result::Error::NotFound,
                ..
            }) => Ok(Received::Ignored),
            Err(error) => Err(error.into()),
        }
    }

    /// Whose the object the event is about is, and what it changes for them, from the object
    /// as the processor holds it now; `None` when it is not Gazette's.
    async fn effect_of(
        &self,
        gateway: &dyn HostedGateway,
        about: About,
    ) -> Result<Option<(UserId, Effect)>, BillingError> {
        match about {
            About::Other => Ok(None),
            About::Checkout { checkout, .. } => self.checkout_effect(gateway, checkout).await,
            About::Subscription {
                customer,
                subscription,
            } => {
                self.subscription_effect(gateway, customer, subscription)
                    .await
            }
            About::TrialEnding {
                customer,
                subscription,
            } => {
                let found = self
                    .subscription_effect(gateway, customer, subscription)
                    .await?;
                Ok(found.map(|(user_id, effect)| match effect {
                    Effect::Subscription { held, read_at } => {
                        (user_id, Effect::TrialEnding { held, read_at })
                    }
                    other => (user_id, other),
                }))
            }
            About::CustomerDeleted { customer } => {
                let owner = self.owner(gateway.name(), customer.clone()).await?;
                Ok(owner.map(|user_id| (user_id, Effect::ForgetCustomer { customer })))
            }
        }
    }

    /// A checkout changed: the subscription it paid for, if any, and whether it is over.
    async fn checkout_effect(
        &self,
        gateway: &dyn HostedGateway,
        checkout: String,
    ) -> Result<Option<(UserId, Effect)>, BillingError> {
        let name = gateway.name();
        // Only a checkout Gazette opened (and has not closed) is Gazette's: another
        // product's, even for one of Gazette's customers, is not.
        let owner = {
            let checkout = checkout.clone();
            db::run(&self.pool, "finding whose checkout it is", move |conn| {
                Ok(
                    db::hosted_checkouts::find_by_reference(conn, name, &checkout)?
                        .map(|row| row.user_id),
                )
            })
            .await?
        };
        let Some(user_id) = owner else {
            // Or a gift's page, paid for once.
            let gift = self.gift_checkout_state(gateway, &checkout).await?;
            return Ok(gift.map(|(buyer, gift, paid)| {
                (
                    buyer,
                    Effect::Gift {
                        gift,
                        checkout,
                        paid,
                    },
                )
            }));
        };
        let read_at = self.clock.now();
        let state = match gateway.checkout(checkout.clone()).await {
            Ok(state) => state,
            Err(HostedError::Missing(_)) => return Ok(None),
            Err(error) => {
                return Err(BillingError::Processor {
                    step: "re-reading a checkout",
                    error,
                });
            }
        };
        let held = match &state {
            CheckoutState::Complete {
                subscription: Some(subscription),
            } => self.gazettes(gateway, subscription.clone()).await?,
            _ => None,
        };
        let close = match state {
            CheckoutState::Open => None,
            CheckoutState::Complete { .. } => Some(CheckoutEnd::Paid),
            CheckoutState::Expired => Some(CheckoutEnd::Unpaid),
        };
        let effect = Effect::Checkout {
            checkout,
            close,
            held,
            read_at,
        };
        Ok(Some((user_id, effect)))
    }

    /// A subscription changed: it as the processor holds it now, for its reader.
    async fn subscription_effect(
        &self,
        gateway: &dyn HostedGateway,
        customer: String,
        subscription: String,
    ) -> Result<Option<(UserId, Effect)>, BillingError> {
        let name = gateway.name();
        let owner = match self.owner(name, customer).await? {
            Some(user_id) => Some(user_id),
            // The customer was forgotten already (deleted at the processor, that event
            // first): a subscription Gazette recorded is still its reader's.
            None => self.recorded_for(name, subscription.clone()).await?,
        };
        let Some(user_id) = owner else {
            return Ok(None);
        };
        let read_at = self.clock.now();
        let Some(held) = self.gazettes(gateway, subscription).await? else {
            return Ok(None);
        };
        Ok(Some((user_id, Effect::Subscription { held, read_at })))
    }

    /// The reader whose customer this is, if Gazette created it.
    async fn owner(
        &self,
        gateway: &'static str,
        customer: String,
    ) -> Result<Option<UserId>, BillingError> {
        Ok(
            db::run(&self.pool, "finding whose customer it is", move |conn| {
                db::gateway_customers::owner(conn, gateway, &customer)
            })
            .await?,
        )
    }

    /// The reader Gazette recorded the processor's subscription `reference` for, if any.
    async fn recorded_for(
        &self,
        gateway: &'static str,
        reference: String,
    ) -> Result<Option<UserId>, BillingError> {
        Ok(db::run(
            &self.pool,
            "finding whose subscription it is",
            move |conn| {
                Ok(
                    db::subscriptions::find_by_reference(conn, gateway, &reference)?
                        .map(|row| row.user_id),
                )
            },
        )
        .await?)
    }

    /// The subscription as the processor holds it, if it is Gazette's: on one of its plans'
    /// prices, or recorded by Gazette whatever its price now.
    async fn gazettes(
        &self,
        gateway: &dyn HostedGateway,
        subscription: String,
    ) -> Result<Option<HeldSubscription>, BillingError> {
        let held = match gateway.subscription(subscription).await {
            Ok(held) => held,
            Err(HostedError::Missing(_)) => return Ok(None),
            Err(error) => {
                return Err(BillingError::Processor {
                    step: "re-reading a subscription",
                    error,
                });
            }
        };
        if held.plan_code.is_some() {
            return Ok(Some(held));
        }
        let (name, reference) = (gateway.name(), held.reference.clone());
        let recorded = db::run(&self.pool, "finding a recorded subscription", move |conn| {
            db::subscriptions::records_payment(conn, name, &reference)
        })
        .await?;
        Ok(recorded.then_some(held))
    }
}

/// What an event changes, once recorded.
enum Effect {
    Checkout {
        checkout: String,
        /// Paid or expired: the reader's checkout is over.
        close: Option<CheckoutEnd>,
        held: Option<HeldSubscription>,
        read_at: OffsetDateTime,
    },
    Subscription {
        held: HeldSubscription,
        read_at: OffsetDateTime,
    },
    /// The subscription's trial ends soon: applied, and its reader owed the notice.
    TrialEnding {
        held: HeldSubscription,
        read_at: OffsetDateTime,
    },
    ForgetCustomer {
        customer: String,
    },
    /// A gift's checkout page was paid (`Some(true)`), closed unpaid (`Some(false)`), or is
    /// still open.
    Gift {
        gift: GiftId,
        checkout: String,
        paid: Option<bool>,
    },
}

impl Effect {
    /// Makes the change, in the transaction that records the event (the reader's lock held).
    fn apply(
        &self,
        conn: &mut PgConnection,
        gateway: &str,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> QueryResult<()> {
        match self {
            Effect::Checkout {
                checkout,
                close,
                held,
                read_at,
            } => {
                if let Some(held) = held {
                    apply_held(conn, gateway, user_id, held, *read_at, now)?;
                }
                if let Some(end) = close
                    && let Some(row) =
                        db::hosted_checkouts::find_by_reference(conn, gateway, checkout)?
                {
                    end_checkout(conn, row.id, *end)?;
                }
            }
            Effect::Subscription { held, read_at } => {
                if let Applied::Stale = apply_held(conn, gateway, user_id, held, *read_at, now)? {
                    tracing::debug!(user_id = user_id.get(), "a later read was applied already");
                }
            }
            Effect::TrialEnding { held, read_at } => {
                apply_held(conn, gateway, user_id, held, *read_at, now)?;
                owe_trial_notice(conn, gateway, user_id, held, now)?;
            }
            Effect::ForgetCustomer { customer } => {
                db::gateway_customers::forget(conn, gateway, customer)?;
            }
            Effect::Gift {
                gift,
                checkout,
                paid,
            } => match paid {
                Some(true) => {
                    record_gift_paid(conn, *gift, checkout, now)?;
                }
                Some(false) => {
                    db::gift_subscriptions::mark_unpaid(conn, *gift)?;
                }
                None => {}
            },
        }
        Ok(())
    }
}
