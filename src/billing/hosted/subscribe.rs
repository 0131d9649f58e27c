//! Subscribing through a processor that runs the subscription, in rounds: a transaction
//! holding the reader's lock decides the next step from what is stored (`decide`), the step
//! asks the processor (outside any transaction), its answer is saved under the lock, and the
//! next round decides again.
//!
//! Rules:
//! - Each step spends the most processor requests it can make from the reader's budget before
//!   it asks (`budget`); past it the reader is told to wait.
//! - A step the processor cannot answer (or refuses) ends the request: the reader is told the
//!   processor is unavailable, and what earlier steps saved stands for the next request.
//! - A checkout paid meanwhile, found when expiring it, is recorded as the reader's
//!   subscription, and the answer names the period that payment paid for.
//! - A customer the processor no longer has (deleted there before its event arrived) is
//!   forgotten, with the checkout being opened for it; the next round makes a new one.
//! - A request takes at most [`ROUNDS`] rounds; past them another request of the reader's is
//!   taken to be paying.
//! - Redeeming an offer is the same rounds for the offer's plan, with the offer named: the
//!   reader is sent to a checkout opened for that offer (see `decide` and `offers`), or told why
//!   the offer is not for them.

use time::OffsetDateTime;

use super::decide::{HostedStep, Round};
use super::{CheckoutEnd, end_checkout};
use crate::billing::sync::Applied;
use crate::billing::{
    Billing, BillingError, OfferRefused, Redeemed, Spent, SubscribeReply, Subscribed, Subscriber,
    reply, request_key,
};
use crate::db::{self, DbError};
use crate::domain::ids::HostedCheckoutId;
use crate::models::{HostedCheckout, Plan};
use crate::payments::hosted::{
    CheckoutOffer, CheckoutRequest, CheckoutState, CustomerRequest, HeldStatus, HeldSubscription,
    HostedError, HostedGateway, PortalFlow,
};

/// Rounds one request to subscribe may take (each asks the processor at most once).
const ROUNDS: usize = 6;

impl Billing {
    /// Subscribes the reader to `plan` through the processor (see the module's doc).
    pub(in crate::billing) async fn subscribe_hosted(
        &self,
        gateway: &dyn HostedGateway,
        reader: &Subscriber<'_>,
        plan: &Plan,
    ) -> Result<SubscribeReply, BillingError> {
        let ended = Subscribing {
            billing: self,
            gateway,
            reader,
            plan,
            offer: None,
            earlier: None,
        }
        .run()
        .await?;
        Ok(match ended {
            Ended::Answer(reply) => reply,
            // Only an offer is refused.
            Ended::Refused(_) => reply(Subscribed::PaymentUnderWay, None),
        })
    }

    /// Redeems offer `code` through the processor: the reader is sent to a checkout opened for
    /// it (see the module's doc).
    pub(in crate::billing) async fn redeem_hosted(
        &self,
        gateway: &dyn HostedGateway,
        reader: &Subscriber<'_>,
        code: &str,
    ) -> Result<Redeemed, BillingError> {
        let wanted = code.to_string();
        let plan =
            db::run(
                &self.pool,
                "finding an offer's plan",
                move |conn| match db::offers::find(conn, &wanted)?.and_then(|row| row.offer()) {
                    Some(offer) => db::plans::find(conn, &offer.plan_code),
                    None => Ok(None),
                },
            )
            .await?;
        let Some(plan) = plan else {
            return Ok(Redeemed::Refused(OfferRefused::Unknown));
        };
        let ended = Subscribing {
            billing: self,
            gateway,
            reader,
            plan: &plan,
            offer: Some(code),
            earlier: None,
        }
        .run()
        .await?;
        Ok(match ended {
            Ended::Answer(reply) => Redeemed::Charged(reply),
            Ended::Refused(why) => Redeemed::Refused(why),
        })
    }
}

/// How a request through the processor ended.
enum Ended {
    Answer(SubscribeReply),
    /// The offer is not for the reader; nothing was asked of the processor for it.
    Refused(OfferRefused),
}

/// One request to subscribe through the processor.
struct Subscribing<'a> {
    billing: &'a Billing,
    gateway: &'a dyn HostedGateway,
    reader: &'a Subscriber<'a>,
    plan: &'a Plan,
    /// The offer being redeemed (its plan is `plan`), if any.
    offer: Option<&'a str>,
    /// The end of the period an earlier payment paid for, when this request recorded it.
    earlier: Option<OffsetDateTime>,
}

/// Where a step led.
enum Led {
    /// To another round, deciding from what is stored now.
    Again,
    /// To another round, the reader's subscription having been read from the processor in
    /// this request: one whose period is over is not asked about again.
    AgainRefreshed,
    /// To the reader's answer.
    Answer(Subscribed),
    /// The offer is not for the reader.
    Refused(OfferRefused),
}

/// Why a step stopped short.
enum StepError {
    /// The processor could not be asked, or refused: the reader is told it is unavailable.
    Processor(HostedError),
    /// Gazette's own failure (the database, randomness): the request fails.
    Billing(BillingError),
}

impl From<HostedError> for StepError {
    fn from(error: HostedError) -> Self {
        Self::Processor(error)
    }
}

impl From<BillingError> for StepError {
    fn from(error: BillingError) -> Self {
        Self::Billing(error)
    }
}

impl From<DbError> for StepError {
    fn from(error: DbError) -> Self {
        Self::Billing(error.into())
    }
}

impl Subscribing<'_> {
    /// Decides and takes steps, round after round, until one answers the reader.
    async fn run(mut self) -> Result<Ended, BillingError> {
        let mut refreshed = false;
        for _ in 0..ROUNDS {
            let step = self.decide(refreshed).await?;
            if let Spent::Refused { retry_after_secs } = self.spend(step.most_calls()).await? {
                return Ok(self.answer(Subscribed::TooManyRequests { retry_after_secs }));
            }
            match self.take(step).await {
                Ok(Led::Again) => {}
                Ok(Led::AgainRefreshed) => refreshed = true,
                Ok(Led::Answer(outcome)) => return Ok(self.answer(outcome)),
                Ok(Led::Refused(why)) => return Ok(Ended::Refused(why)),
                Err(StepError::Processor(error)) => {
                    let user_id = self.reader.user_id;
                    tracing::warn!(
                        user_id = user_id.get(),
                        "subscribing through the processor: {error}"
                    );
                    return Ok(self.answer(Subscribed::ProcessorUnavailable));
                }
                Err(StepError::Billing(error)) => return Err(error),
            }
        }
        Ok(self.answer(Subscribed::PaymentUnderWay))
    }

    fn answer(&self, outcome: Subscribed) -> Ended {
        Ended::Answer(reply(outcome, self.earlier))
    }

    /// Whether `checkout` is what this request asks for: its plan (and its offer, when one is
    /// being redeemed; a plain request takes a checkout the reader opened for an offer on
    /// the plan, whose redemption is theirs already).
    fn wants(&self, checkout: &HostedCheckout) -> bool {
        checkout.plan_code == self.plan.code
            && (self.offer.is_none() || checkout.offer_code.as_deref() == self.offer)
    }

    /// Decides the round's step, in a transaction holding the reader's lock.
    async fn decide(&self, refreshed: bool) -> Result<HostedStep, BillingError> {
        let (gateway, user_id) = (self.gateway.name(), self.reader.user_id);
        let now = self.billing.clock.now();
        let customer_key = request_key("customer")?;
        let checkout_key = request_key("checkout")?;
        let (plan, next) = (self.plan.clone(), self.reader.next.to_string());
        let offer = self.offer.map(str::to_string);
        let step = self
            .billing
            .for_reader(
                user_id,
                "deciding a checkout at the processor",
                move |conn| {
                    let round = Round {
                        gateway,
                        user_id,
                        plan: &plan,
                        next: &next,
                        customer_key: &customer_key,
                        checkout_key: &checkout_key,
                        now,
                        refreshed,
                        offer: offer.as_deref(),
                    };
                    round.decide(conn)
                },
            )
            .await?;
        Ok(step)
    }

    /// Spends `calls` from the reader's budget (nothing to spend for a step that asks nothing).
    async fn spend(&self, calls: i32) -> Result<Spent, DbError> {
        if calls == 0 {
            return Ok(Spent::Yes);
        }
        self.billing.spend(self.reader.user_id, calls).await
    }

    /// Takes one step.
    async fn take(&mut self, step: HostedStep) -> Result<Led, StepError> {
        match step {
            HostedStep::Done(outcome) => Ok(Led::Answer(outcome)),
            HostedStep::Refuse(why) => Ok(Led::Refused(why)),
            HostedStep::Refresh { subscription } => self.refresh(subscription).await,
            HostedStep::Resume { subscription } => self.resume(subscription).await,
            HostedStep::SwitchPlan {
                subscription,
                customer,
            } => self.switch_plan(subscription, customer).await,
            HostedStep::FixPayment { customer, url } => self.fix_payment(customer, url).await,
            HostedStep::FindCustomer { lost_key } => self.find_customer(lost_key).await,
            HostedStep::CreateCustomer { request_key } => self.create_customer(request_key).await,
            HostedStep::Expire {
                checkout_id,
                reference,
            } => self.expire(checkout_id, reference).await,
            HostedStep::Open {
                checkout,
                customer,
                offer,
            } => self.open(*checkout, customer, offer).await,
        }
    }

    /// Re-reads the reader's subscription, whose period is over, and records it.
    async fn refresh(&self, subscription: String) -> Result<Led, StepError> {
        let user_id = self.reader.user_id;
        self.billing
            .refresh(self.gateway, user_id, subscription)
            .await??;
        Ok(Led::AgainRefreshed)
    }

    /// Takes back the cancellation of the reader's subscription to this very plan.
    async fn resume(&self, subscription: String) -> Result<Led, StepError> {
        let read_at = self.billing.clock.now();
        let key = request_key("resume")?;
        let held = self
            .gateway
            .cancel_at_period_end(subscription, false, key)
            .await?;
        if let Applied::Written {
            access_until: Some(until),
        } = self.record(held, read_at).await?
        {
            let user_id = self.reader.user_id;
            tracing::info!(
                user_id = user_id.get(),
                "subscription resumed at the processor"
            );
            return Ok(Led::Answer(Subscribed::Resumed { until }));
        }
        Ok(Led::AgainRefreshed)
    }

    /// Sends the reader to the processor's portal to switch their subscription to this plan,
    /// once the processor says it is still live on another.
    async fn switch_plan(
        &self,
        subscription: String,
        customer: Option<String>,
    ) -> Result<Led, StepError> {
        let read_at = self.billing.clock.now();
        let held = self.gateway.subscription(subscription.clone()).await?;
        let item = held.item.clone();
        let switchable = held.status == HeldStatus::Active
            && held.plan_code.as_deref() != Some(self.plan.code.as_str());
        self.record(held, read_at).await?;
        if !switchable {
            // Not as it was stored (switched or ended meanwhile): decide again.
            return Ok(Led::AgainRefreshed);
        }
        let (Some(customer), Some(item)) = (customer, item) else {
            let missing = format!("customer or item of {subscription}");
            return Err(HostedError::Missing(missing).into());
        };
        let flow = PortalFlow::SwitchPlan {
            subscription,
            item,
            plan_code: self.plan.code.clone(),
        };
        self.to_portal(customer, flow).await
    }

    /// Sends the reader to pay what their renewal failed to: the processor's page for the
    /// unpaid invoice, or its portal to replace the card.
    async fn fix_payment(
        &self,
        customer: Option<String>,
        url: Option<String>,
    ) -> Result<Led, StepError> {
        if let Some(url) = url {
            return Ok(Led::Answer(Subscribed::ContinueAt { url }));
        }
        let Some(customer) = customer else {
            return Err(HostedError::Missing("the reader's customer".into()).into());
        };
        self.to_portal(customer, PortalFlow::UpdateCard).await
    }

    /// The processor's portal for the reader's customer, opened on `flow`, coming back to the
    /// account page.
    async fn to_portal(&self, customer: String, flow: PortalFlow) -> Result<Led, StepError> {
        let back = format!("{}/account", self.reader.site);
        let url = self.gateway.portal(customer, back, flow).await?;
        Ok(Led::Answer(Subscribed::ContinueAt { url }))
    }

    /// Looks for the customer asked for under `lost_key` long ago, and saves it; when there is
    /// none, a new key to ask for one under.
    async fn find_customer(&self, lost_key: String) -> Result<Led, StepError> {
        let (user_id, name) = (self.reader.user_id, self.gateway.name());
        let found = self.gateway.find_customer(user_id.get()).await?;
        let new_key = request_key("customer")?;
        let now = self.billing.clock.now();
        if let Some(customer) = &found {
            tracing::info!(
                user_id = user_id.get(),
                customer = %customer.reference,
                "found the customer whose answer was lost"
            );
        }
        self.billing
            .for_reader(user_id, "saving the customer looked for", move |conn| {
                match &found {
                    Some(customer) => db::gateway_customers::set_reference(
                        conn,
                        user_id,
                        name,
                        &lost_key,
                        &customer.reference,
                        customer.email.as_deref(),
                    ),
                    // Never made: asked for again, under a key the processor has not seen
                    // (the old one might replay an old failure).
                    None => db::gateway_customers::renew_key(
                        conn, user_id, name, &lost_key, &new_key, now,
                    ),
                }
            })
            .await?;
        Ok(Led::Again)
    }

    /// Asks the processor for the reader's customer, under the key written for it, and saves
    /// it.
    async fn create_customer(&self, key: String) -> Result<Led, StepError> {
        let (user_id, name) = (self.reader.user_id, self.gateway.name());
        let email = self.reader.email.to_string();
        let request = CustomerRequest {
            user_id: user_id.get(),
            email: email.clone(),
            idempotency_key: key.clone(),
        };
        let reference = self.gateway.create_customer(request).await?;
        self.billing
            .for_reader(user_id, "saving the reader's customer", move |conn| {
                db::gateway_customers::set_reference(
                    conn,
                    user_id,
                    name,
                    &key,
                    &reference,
                    Some(&email),
                )
            })
            .await?;
        Ok(Led::Again)
    }

    /// Expires the reader's checkout at the processor, so it can no longer be paid, and closes
    /// it; one paid meanwhile is recorded instead.
    async fn expire(
        &mut self,
        checkout_id: HostedCheckoutId,
        reference: String,
    ) -> Result<Led, StepError> {
        let read_at = self.billing.clock.now();
        let end = match self.gateway.expire_checkout(reference).await {
            Ok(CheckoutState::Expired) | Err(HostedError::Missing(_)) => CheckoutEnd::Unpaid,
            Ok(CheckoutState::Complete { subscription: None }) => CheckoutEnd::Paid,
            Ok(CheckoutState::Complete {
                subscription: Some(subscription),
            }) => {
                self.record_paid_meanwhile(subscription, read_at).await?;
                CheckoutEnd::Paid
            }
            Ok(CheckoutState::Open) => {
                let refused = HostedError::Refused("the checkout would not expire".into());
                return Err(refused.into());
            }
            Err(error) => return Err(error.into()),
        };
        self.billing
            .close_checkout(self.reader.user_id, checkout_id, end)
            .await?;
        Ok(Led::Again)
    }

    /// The checkout being expired was paid meanwhile: that payment is the reader's
    /// subscription, and the answer names the period it paid for.
    async fn record_paid_meanwhile(
        &mut self,
        subscription: String,
        read_at: OffsetDateTime,
    ) -> Result<(), StepError> {
        let held = self.gateway.subscription(subscription).await?;
        if let Applied::Written { access_until } = self.record(held, read_at).await? {
            self.earlier = self.earlier.or(access_until);
        }
        Ok(())
    }

    /// Opens the processor's page for the reader's checkout (with the offer it was written
    /// for) and saves it; the reader is sent there when it is what they asked for.
    async fn open(
        &self,
        checkout: HostedCheckout,
        customer: String,
        offer: Option<CheckoutOffer>,
    ) -> Result<Led, StepError> {
        let user_id = self.reader.user_id;
        let request = self.checkout_request(&checkout, customer, offer);
        let opened = match self.gateway.open_checkout(request).await {
            Ok(opened) => opened,
            Err(HostedError::CustomerGone(what)) => {
                return self.forget_customer(checkout.id, what).await;
            }
            Err(error) => return Err(error.into()),
        };
        let (id, saved) = (checkout.id, opened.clone());
        self.billing
            .for_reader(user_id, "saving the checkout page", move |conn| {
                db::hosted_checkouts::set_page(
                    conn,
                    id,
                    &saved.reference,
                    &saved.url,
                    saved.expires_at,
                )
            })
            .await?;
        if self.wants(&checkout) {
            tracing::info!(user_id = user_id.get(), plan = %self.plan.code, offer = checkout.offer_code.as_deref().unwrap_or(""), "sent to the processor's checkout");
            return Ok(Led::Answer(Subscribed::ContinueAt { url: opened.url }));
        }
        // A page for another plan (or offer) left by an earlier request: the next round
        // expires it.
        Ok(Led::Again)
    }

    /// What the processor is asked to open `checkout`'s page with.
    fn checkout_request(
        &self,
        checkout: &HostedCheckout,
        customer: String,
        offer: Option<CheckoutOffer>,
    ) -> CheckoutRequest {
        let next = next_parameter(&checkout.return_to);
        let site = self.reader.site;
        CheckoutRequest {
            user_id: self.reader.user_id.get(),
            customer,
            plan_code: checkout.plan_code.clone(),
            success_url: format!(
                "{site}/subscribe/complete?checkout={{CHECKOUT}}{}",
                next.as_deref().map_or(String::new(), |n| format!("&{n}"))
            ),
            cancel_url: format!(
                "{site}/subscribe/cancelled{}",
                next.as_deref().map_or(String::new(), |n| format!("?{n}"))
            ),
            idempotency_key: checkout.request_key.clone(),
            offer,
        }
    }

    /// The processor no longer has the reader's customer: the checkout being opened for it is
    /// closed and the customer forgotten, so the next round starts again without it.
    async fn forget_customer(
        &self,
        checkout_id: HostedCheckoutId,
        what: String,
    ) -> Result<Led, StepError> {
        let (user_id, name) = (self.reader.user_id, self.gateway.name());
        tracing::warn!(
            user_id = user_id.get(),
            "the processor lost the customer: {what}"
        );
        self.billing
            .for_reader(user_id, "forgetting a lost customer", move |conn| {
                end_checkout(conn, checkout_id, CheckoutEnd::Unpaid)?;
                if let Some(customer) = db::gateway_customers::find(conn, user_id, name)?
                    && let Some(reference) = customer.reference
                {
                    db::gateway_customers::forget(conn, name, &reference)?;
                }
                Ok(())
            })
            .await?;
        Ok(Led::Again)
    }

    /// Records what the processor said of the reader's subscription (read at `read_at`).
    async fn record(
        &self,
        held: HeldSubscription,
        read_at: OffsetDateTime,
    ) -> Result<Applied, DbError> {
        let (name, user_id) = (self.gateway.name(), self.reader.user_id);
        self.billing.record_held(name, user_id, held, read_at).await
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
