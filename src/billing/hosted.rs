//! Subscribing, cancelling and managing through a processor that runs the subscription
//! (`payments::hosted`): the reader is sent to the processor's pages, and what the processor
//! holds is recorded (`sync`).
//!
//! Subscribing goes in rounds: a transaction holding the reader's lock decides the next step
//! from what is stored, the step asks the processor (outside any transaction), its answer is
//! saved under the lock, and the next round decides again. The reader's customer and hosted
//! checkout are written with their request keys before the processor is asked, so a double
//! click or a second tab asks under the same keys and is sent to the same page: one customer
//! per reader, one open checkout per reader. A checkout for another plan is expired at the
//! processor before a new one opens (if it was paid meanwhile, that payment is recorded
//! instead), so a reader can never pay for two subscriptions. While the processor holds a
//! live subscription for the reader, no checkout is opened: the same plan is already theirs
//! (or resumed), another plan is switched in the processor's portal, and a failed renewal is
//! paid on the processor's page.
//!
//! A customer asked for long ago whose answer never came (a timeout, a crash) may exist at the
//! processor under a key it has since forgotten (Stripe forgets keys after a day): it is
//! looked for first, and asked for again under a new key only when none is found. So a
//! reader has one customer however late the answer is retried.
//!
//! Each step spends the most processor requests it can make from the reader's budget before
//! it asks (`budget`); past it the reader is told to wait.

use diesel::PgConnection;
use diesel::QueryResult;
use time::{Duration, OffsetDateTime};

use super::sync::{Applied, apply_held};
use super::{
    Billing, BillingError, Canceled, Spent, SubscribeReply, Subscribed, Subscriber, reply,
    request_key,
};
use crate::db::{self, DbError};
use crate::domain::subscription::{Standing, Status};
use crate::models::{HostedCheckout, NewHostedCheckout, Plan};
use crate::payments::hosted::{
    CheckoutRequest, CheckoutState, CustomerRequest, HeldStatus, HeldSubscription, HostedError,
    HostedGateway, PortalFlow,
};

/// Rounds one request to subscribe may take (each asks the processor at most once).
const ROUNDS: usize = 6;
/// An open checkout is reused only if the reader has this long left to pay on it.
const REUSE_MARGIN: Duration = Duration::minutes(10);
/// A customer asked for this long ago and never answered for is looked for before it is asked
/// for again: its key may be forgotten by now (Stripe keeps keys for at least 24 hours), and
/// the processor's search, which lags behind its writes, has long found it.
const CUSTOMER_KEY_FORGOTTEN: Duration = Duration::hours(23);

/// What returning from the processor's checkout page found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// Paid and recorded: access until `until`, renewed by the processor when `renews`.
    Subscribed { until: OffsetDateTime, renews: bool },
    /// Not confirmed yet (the processor is still taking the payment, or could not be asked):
    /// the processor's event, or housekeeping, records it.
    Pending,
    /// The checkout expired unpaid.
    NotPaid,
    /// Not asked: the reader's requests have asked the processor all their budget allows.
    /// The processor's event, or housekeeping, records the payment.
    TooManyRequests,
}

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

/// What a reader has at the processor that runs subscriptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessorAccount {
    /// A customer exists: the processor's billing page can be opened.
    pub has_customer: bool,
    /// The checkout page the reader was sent to, still open (perhaps paid a moment ago).
    pub open_checkout: Option<String>,
}

/// The next step of subscribing, decided with the reader's lock held.
enum HostedStep {
    Done(Subscribed),
    /// The processor's word on this subscription is needed before deciding.
    Refresh {
        subscription: String,
    },
    Resume {
        subscription: String,
    },
    SwitchPlan {
        subscription: String,
        customer: Option<String>,
    },
    FixPayment {
        customer: Option<String>,
        url: Option<String>,
    },
    /// Look for a customer asked for long ago (under `lost_key`), whose answer never came.
    FindCustomer {
        lost_key: String,
    },
    CreateCustomer {
        request_key: String,
    },
    Expire {
        checkout_id: i64,
        reference: String,
    },
    Open {
        checkout: HostedCheckout,
        customer: String,
    },
}

impl HostedStep {
    /// The most requests to the processor the step can make.
    fn most_calls(&self) -> i32 {
        match self {
            Self::Done(_) | Self::FixPayment { url: Some(_), .. } => 0,
            Self::Refresh { .. }
            | Self::Resume { .. }
            | Self::FixPayment { url: None, .. }
            | Self::FindCustomer { .. }
            | Self::CreateCustomer { .. }
            | Self::Open { .. } => 1,
            // The subscription, then the portal.
            Self::SwitchPlan { .. } => 2,
            // The expiry, a read of a checkout no longer open, the subscription it paid for.
            Self::Expire { .. } => 3,
        }
    }
}

/// On whose behalf a returning checkout is asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Asking {
    /// The reader's own request: it spends from their budget.
    ForReader,
    /// Housekeeping's reconciliation.
    ForHousekeeping,
}

impl Billing {
    pub(super) async fn subscribe_hosted(
        &self,
        gateway: &dyn HostedGateway,
        reader: &Subscriber<'_>,
        plan: &Plan,
    ) -> Result<SubscribeReply, BillingError> {
        let user_id = reader.user_id;
        let name = gateway.name();
        let mut refreshed = false;
        let mut earlier = None;
        for _ in 0..ROUNDS {
            let now = self.clock.now();
            let customer_key = request_key("customer")?;
            let checkout_key = request_key("checkout")?;
            let next = reader.next.to_string();
            let step = self
                .for_reader(user_id, "deciding a checkout at the processor", {
                    let plan = plan.clone();
                    move |conn| {
                        choose_hosted_step(
                            conn,
                            &Keys {
                                gateway: name,
                                customer: &customer_key,
                                checkout: &checkout_key,
                            },
                            user_id,
                            &plan,
                            &next,
                            now,
                            refreshed,
                        )
                    }
                })
                .await?;
            let unavailable = |error: HostedError| {
                tracing::warn!(user_id, "subscribing through the processor: {error}");
                Ok(reply(Subscribed::ProcessorUnavailable, earlier))
            };
            let calls = step.most_calls();
            if calls > 0
                && let Spent::Refused { retry_after_secs } = self.spend(user_id, calls).await?
            {
                return Ok(reply(
                    Subscribed::TooManyRequests { retry_after_secs },
                    earlier,
                ));
            }
            match step {
                HostedStep::Done(outcome) => return Ok(reply(outcome, earlier)),
                HostedStep::Refresh { subscription } => {
                    refreshed = true;
                    if let Err(error) = self.refresh(gateway, user_id, subscription).await? {
                        return unavailable(error);
                    }
                }
                HostedStep::Resume { subscription } => {
                    let read_at = self.clock.now();
                    let key = request_key("resume")?;
                    let held = match gateway.cancel_at_period_end(subscription, false, key).await {
                        Ok(held) => held,
                        Err(error) => return unavailable(error),
                    };
                    if let Applied::Written {
                        access_until: Some(until),
                    } = self.record_held(name, user_id, held, read_at).await?
                    {
                        tracing::info!(user_id, "subscription resumed at the processor");
                        return Ok(reply(Subscribed::Resumed { until }, earlier));
                    }
                    refreshed = true;
                }
                HostedStep::SwitchPlan {
                    subscription,
                    customer,
                } => {
                    let read_at = self.clock.now();
                    let held = match gateway.subscription(subscription.clone()).await {
                        Ok(held) => held,
                        Err(error) => return unavailable(error),
                    };
                    let item = held.item.clone();
                    let switchable = held.status == HeldStatus::Active
                        && held.plan_code.as_deref() != Some(plan.code.as_str());
                    self.record_held(name, user_id, held, read_at).await?;
                    if !switchable {
                        // Not as it was stored (switched or ended meanwhile): decide again.
                        refreshed = true;
                        continue;
                    }
                    let (Some(customer), Some(item)) = (customer, item) else {
                        return unavailable(HostedError::Missing(format!(
                            "customer or item of {subscription}"
                        )));
                    };
                    let flow = PortalFlow::SwitchPlan {
                        subscription,
                        item,
                        plan_code: plan.code.clone(),
                    };
                    let back = format!("{}/account", reader.site);
                    return match gateway.portal(customer, back, flow).await {
                        Ok(url) => Ok(reply(Subscribed::ContinueAt { url }, earlier)),
                        Err(error) => unavailable(error),
                    };
                }
                HostedStep::FixPayment { customer, url } => {
                    if let Some(url) = url {
                        return Ok(reply(Subscribed::ContinueAt { url }, earlier));
                    }
                    let Some(customer) = customer else {
                        return unavailable(HostedError::Missing("the reader's customer".into()));
                    };
                    let back = format!("{}/account", reader.site);
                    return match gateway.portal(customer, back, PortalFlow::UpdateCard).await {
                        Ok(url) => Ok(reply(Subscribed::ContinueAt { url }, earlier)),
                        Err(error) => unavailable(error),
                    };
                }
                HostedStep::FindCustomer { lost_key } => {
                    let found = match gateway.find_customer(user_id).await {
                        Ok(found) => found,
                        Err(error) => return unavailable(error),
                    };
                    let new_key = request_key("customer")?;
                    let now = self.clock.now();
                    if let Some(customer) = &found {
                        tracing::info!(
                            user_id,
                            customer = %customer.reference,
                            "found the customer whose answer was lost"
                        );
                    }
                    self.for_reader(user_id, "saving the customer looked for", move |conn| {
                        match &found {
                            Some(customer) => db::gateway_customers::set_reference(
                                conn,
                                user_id,
                                name,
                                &lost_key,
                                &customer.reference,
                                customer.email.as_deref(),
                            ),
                            // Never made: asked for again, under a key the processor has not
                            // seen (the old one might replay an old failure).
                            None => db::gateway_customers::renew_key(
                                conn, user_id, name, &lost_key, &new_key, now,
                            ),
                        }
                    })
                    .await?;
                }
                HostedStep::CreateCustomer { request_key } => {
                    let email = reader.email.to_string();
                    let created = gateway
                        .create_customer(CustomerRequest {
                            user_id,
                            email: email.clone(),
                            idempotency_key: request_key.clone(),
                        })
                        .await;
                    let reference = match created {
                        Ok(reference) => reference,
                        Err(error) => return unavailable(error),
                    };
                    self.for_reader(user_id, "saving the reader's customer", move |conn| {
                        db::gateway_customers::set_reference(
                            conn,
                            user_id,
                            name,
                            &request_key,
                            &reference,
                            Some(&email),
                        )
                    })
                    .await?;
                }
                HostedStep::Expire {
                    checkout_id,
                    reference,
                } => {
                    let read_at = self.clock.now();
                    match gateway.expire_checkout(reference).await {
                        Ok(CheckoutState::Expired) | Err(HostedError::Missing(_)) => {
                            self.close_checkout(user_id, checkout_id).await?;
                        }
                        Ok(CheckoutState::Complete {
                            subscription: Some(subscription),
                        }) => {
                            // Paid meanwhile: that payment is the reader's subscription.
                            let held = match gateway.subscription(subscription).await {
                                Ok(held) => held,
                                Err(error) => return unavailable(error),
                            };
                            if let Applied::Written { access_until } =
                                self.record_held(name, user_id, held, read_at).await?
                            {
                                earlier = earlier.or(access_until);
                            }
                            self.close_checkout(user_id, checkout_id).await?;
                        }
                        Ok(CheckoutState::Complete { subscription: None }) => {
                            self.close_checkout(user_id, checkout_id).await?;
                        }
                        Ok(CheckoutState::Open) => {
                            return unavailable(HostedError::Refused(
                                "the checkout would not expire".into(),
                            ));
                        }
                        Err(error) => return unavailable(error),
                    }
                }
                HostedStep::Open { checkout, customer } => {
                    let next = next_parameter(&checkout.return_to);
                    let request = CheckoutRequest {
                        user_id,
                        customer,
                        plan_code: checkout.plan_code.clone(),
                        success_url: format!(
                            "{}/subscribe/complete?checkout={{CHECKOUT}}{}",
                            reader.site,
                            next.as_deref().map_or(String::new(), |n| format!("&{n}"))
                        ),
                        cancel_url: format!(
                            "{}/subscribe/cancelled{}",
                            reader.site,
                            next.as_deref().map_or(String::new(), |n| format!("?{n}"))
                        ),
                        idempotency_key: checkout.request_key.clone(),
                    };
                    let opened = match gateway.open_checkout(request).await {
                        Ok(opened) => opened,
                        Err(HostedError::CustomerGone(what)) => {
                            // The customer is gone at the processor: start again without it.
                            tracing::warn!(user_id, "the processor lost the customer: {what}");
                            let (id, name) = (checkout.id, name);
                            self.for_reader(user_id, "forgetting a lost customer", move |conn| {
                                db::hosted_checkouts::close(conn, id)?;
                                if let Some(customer) =
                                    db::gateway_customers::find(conn, user_id, name)?
                                    && let Some(reference) = customer.reference
                                {
                                    db::gateway_customers::forget(conn, name, &reference)?;
                                }
                                Ok(())
                            })
                            .await?;
                            continue;
                        }
                        Err(error) => return unavailable(error),
                    };
                    let id = checkout.id;
                    let saved = opened.clone();
                    self.for_reader(user_id, "saving the checkout page", move |conn| {
                        db::hosted_checkouts::set_page(
                            conn,
                            id,
                            &saved.reference,
                            &saved.url,
                            saved.expires_at,
                        )
                    })
                    .await?;
                    if checkout.plan_code == plan.code {
                        tracing::info!(user_id, plan = %plan.code, "sent to the processor's checkout");
                        return Ok(reply(Subscribed::ContinueAt { url: opened.url }, earlier));
                    }
                    // A page for another plan left by an earlier request: the next round
                    // expires it.
                }
            }
        }
        Ok(reply(Subscribed::PaymentUnderWay, earlier))
    }

    /// Re-reads a subscription and records it; the processor's error when it could not be
    /// asked.
    pub(super) async fn refresh(
        &self,
        gateway: &dyn HostedGateway,
        user_id: i64,
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
        user_id: i64,
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

    async fn close_checkout(&self, user_id: i64, checkout_id: i64) -> Result<bool, DbError> {
        self.for_reader(user_id, "closing a hosted checkout", move |conn| {
            db::hosted_checkouts::close(conn, checkout_id)
        })
        .await
    }

    /// The reader is back from the processor's checkout page (`reference` is the checkout the
    /// processor names in the address): records the payment if the processor confirms it, so
    /// the reader does not wait for the event. Asking spends from the reader's budget.
    pub async fn confirm_checkout(
        &self,
        user_id: i64,
        reference: Option<String>,
    ) -> Result<Confirmed, BillingError> {
        self.check_checkout(user_id, reference, Asking::ForReader)
            .await
    }

    /// Asks the processor about the reader's checkout `reference` and records what it says.
    pub(super) async fn check_checkout(
        &self,
        user_id: i64,
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
                            tracing::warn!(user_id, "confirming a checkout: {error}");
                            return Ok(Confirmed::Pending);
                        }
                    }
                }
                self.close_checkout(user_id, checkout.id).await?;
                self.standing_now(user_id).await
            }
            Ok(CheckoutState::Expired) => {
                self.close_checkout(user_id, checkout.id).await?;
                Ok(Confirmed::NotPaid)
            }
            Ok(CheckoutState::Open) => Ok(Confirmed::Pending),
            Err(error) => {
                tracing::warn!(user_id, "confirming a checkout: {error}");
                Ok(Confirmed::Pending)
            }
        }
    }

    /// Whether the reader's current subscription is paid up, and until when.
    async fn standing_now(&self, user_id: i64) -> Result<Confirmed, BillingError> {
        let now = self.clock.now();
        let row = self
            .for_reader(user_id, "reading the reader's subscription", move |conn| {
                db::subscriptions::current(conn, user_id)
            })
            .await?;
        Ok(match row {
            Some(row) if row.failed_payment.since.is_none() => match row.standing(now) {
                Standing::Current { period_end, .. } => Confirmed::Subscribed {
                    until: period_end,
                    renews: row.renews,
                },
                Standing::Lapsed { .. } => Confirmed::Pending,
            },
            _ => Confirmed::Pending,
        })
    }

    /// Cancels at the processor (at the period's end, or at once) and records its answer.
    pub(super) async fn cancel_at_processor(
        &self,
        gateway: &dyn HostedGateway,
        user_id: i64,
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
                tracing::warn!(user_id, "cancelling at the processor: {error}");
                return Ok(Canceled::ProcessorUnavailable);
            }
        };
        let period_end = held.current_period_end;
        let applied = self
            .record_held(gateway.name(), user_id, held, read_at)
            .await?;
        tracing::info!(user_id, at_once, "subscription cancelled at the processor");
        Ok(match applied {
            _ if at_once => Canceled::Ended,
            Applied::Written {
                access_until: Some(until),
            } => Canceled::Until { until },
            _ => Canceled::Until { until: period_end },
        })
    }

    /// Ends the reader's subscription at once, with no further charge: at the processor (an
    /// open checkout expired so it can no longer be paid, and every live subscription of
    /// Gazette's cancelled now: each the reader's customer holds on a plan's price, and each
    /// Gazette recorded for the reader, whatever its price), and here. For an
    /// account being deleted: an error means the processor could not be told, and the reader
    /// might still be charged, so the caller must not go on as if it had.
    pub async fn end_now(&self, user_id: i64) -> Result<EndedNow, BillingError> {
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
            tracing::info!(user_id, "subscription ended at once");
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
        user_id: i64,
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
        let failed = |step, error| BillingError::Processor { step, error };
        let mut ended = false;
        if let Some(checkout) = checkout {
            if let Some(reference) = checkout.reference.clone() {
                match gateway.expire_checkout(reference).await {
                    // Paid a moment ago: its subscription is among the customer's, below.
                    Ok(_) | Err(HostedError::Missing(_)) => {}
                    Err(error) => return Err(failed("expiring a checkout", error)),
                }
            }
            self.close_checkout(user_id, checkout.id).await?;
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
                .filter(|(reference, live)| {
                    *live && !held.iter().any(|s| &s.reference == reference)
                })
                .map(|(reference, _)| reference.clone()),
        );
        for subscription in to_cancel {
            let read_at = self.clock.now();
            match gateway.cancel_now(subscription).await {
                Ok(canceled) => {
                    self.record_held(name, user_id, canceled, read_at).await?;
                    ended = true;
                }
                Err(HostedError::Missing(_)) => {}
                Err(error) => return Err(failed("cancelling a subscription", error)),
            }
        }
        Ok(ended)
    }

    /// Compares the reader's subscriptions held here with the processor's: every one of
    /// Gazette's that the processor holds for the reader's customer is applied. How many.
    pub(super) async fn sync_customer(
        &self,
        gateway: &dyn HostedGateway,
        user_id: i64,
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
        user_id: i64,
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
    pub async fn portal(&self, user_id: i64, return_url: String) -> Result<Portal, BillingError> {
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
                tracing::warn!(user_id, "opening the billing portal: {error}");
                Ok(Portal::ProcessorUnavailable)
            }
        }
    }

    /// What the reader has at the processor, for the account page.
    pub async fn processor_account(&self, user_id: i64) -> Result<ProcessorAccount, DbError> {
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

/// `next=<path>` for the addresses the processor sends the reader back to; none for the
/// account page.
fn next_parameter(return_to: &str) -> Option<String> {
    (!return_to.is_empty()).then(|| {
        let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        format!("next={encoded}")
    })
}

/// The keys a round may write with, and whose they are.
struct Keys<'a> {
    gateway: &'static str,
    customer: &'a str,
    checkout: &'a str,
}

/// Decides the next step of subscribing, with the reader's lock held (see the module's doc).
fn choose_hosted_step(
    conn: &mut PgConnection,
    keys: &Keys<'_>,
    user_id: i64,
    plan: &Plan,
    next: &str,
    now: OffsetDateTime,
    refreshed: bool,
) -> QueryResult<HostedStep> {
    let gateway = keys.gateway;
    let current = db::subscriptions::current(conn, user_id)?;
    if let Some(row) = current.as_ref().filter(|row| row.gateway == gateway) {
        let customer = db::gateway_customers::find(conn, user_id, gateway)?
            .and_then(|customer| customer.reference);
        let subscription = row.gateway_reference.clone();
        if row.failed_payment.since.is_some() {
            return Ok(HostedStep::FixPayment {
                customer,
                url: row.failed_payment.fix_url.clone(),
            });
        }
        let same_plan = row.plan_code == plan.code;
        return Ok(match row.standing(now) {
            Standing::Current {
                canceled: false, ..
            } if same_plan => HostedStep::Done(Subscribed::AlreadySubscribed),
            Standing::Current { canceled: true, .. } if same_plan => {
                HostedStep::Resume { subscription }
            }
            Standing::Current { .. } => HostedStep::SwitchPlan {
                subscription,
                customer,
            },
            // The period is over but the processor has not said the subscription ended:
            // ask it (a renewal may be on its way) rather than open a second subscription.
            Standing::Lapsed { .. } if !refreshed => HostedStep::Refresh { subscription },
            Standing::Lapsed { .. } => HostedStep::FixPayment {
                customer,
                url: None,
            },
        });
    }
    // A subscription Gazette ran itself (another gateway) carries on until the processor's
    // starts; only asking for the very plan it already is changes nothing.
    if let Some(row) = &current
        && row.plan_code == plan.code
        && let Standing::Current {
            canceled: false, ..
        } = row.standing(now)
    {
        return Ok(HostedStep::Done(Subscribed::AlreadySubscribed));
    }

    let checkout = db::hosted_checkouts::find(conn, user_id)?;
    if let Some(open) = &checkout
        && let (Some(reference), Some(url)) = (&open.reference, &open.url)
    {
        let payable = open
            .expires_at
            .is_some_and(|expires| expires > now + REUSE_MARGIN);
        return Ok(if open.plan_code == plan.code && payable {
            HostedStep::Done(Subscribed::ContinueAt { url: url.clone() })
        } else {
            HostedStep::Expire {
                checkout_id: open.id,
                reference: reference.clone(),
            }
        });
    }
    let customer = db::gateway_customers::start(conn, user_id, gateway, keys.customer, now)?;
    let Some(customer) = customer.reference else {
        return Ok(if customer.created_at <= now - CUSTOMER_KEY_FORGOTTEN {
            HostedStep::FindCustomer {
                lost_key: customer.request_key,
            }
        } else {
            HostedStep::CreateCustomer {
                request_key: customer.request_key,
            }
        });
    };
    let checkout = match checkout {
        // Being opened by another request (or left half-way): the same key asks again.
        Some(pending) => pending,
        None => {
            let new = NewHostedCheckout {
                user_id,
                gateway,
                plan_code: &plan.code,
                request_key: keys.checkout,
                return_to: next,
                started_at: now,
                checked_at: now,
            };
            match db::hosted_checkouts::open(conn, &new)? {
                Some(opened) => opened,
                None => return Ok(HostedStep::Done(Subscribed::PaymentUnderWay)),
            }
        }
    };
    Ok(HostedStep::Open { checkout, customer })
}
