//! The subscription workflow: deciding what a request to subscribe or cancel changes, taking
//! the payment through the gateway, recording it, and settling payments whose answer was
//! lost. Two kinds of gateway (see `payments`):
//! - one that **charges at once** (the test gateway): this module charges each period and
//!   records it (below, and `record`);
//! - one that **runs the subscription** (Stripe): the reader pays on the processor's page,
//!   and this module records what the processor reports (`hosted`, `events`, `sync`), and
//!   catches up with what it missed (`reconcile`).
//!
//! Rules:
//! - Every transaction here first takes the reader's lock (`db::users::lock`) and
//!   only then reads or writes that reader's subscription and checkout: one lock, taken first,
//!   in one order everywhere. Two tabs, a double click, a cancel, an event from the processor
//!   and housekeeping therefore run one after the other for a reader, each seeing what the
//!   previous one wrote, and cannot deadlock. Contention that still happens (a serialization
//!   failure) is retried, then answered as "busy", never as an error page.
//! - Every write is a `db` function called from here, so one place knows every change.
//! - Money moves, and processors are asked, only outside transactions. A checkout is charged
//!   once, by the request that opened it, under its own random key. Once that request is over
//!   (it waits at most [`CHARGE_TIMEOUT`]), nobody charges the checkout again: what became of
//!   it is asked of the processor by key, and it is recorded if charged or released if not.
//!   So a reader pays only for what they asked for when they asked, and a lost answer never
//!   depends on a processor remembering a key for ever.
//! - Whatever a processor creates for a reader (customer, hosted checkout) is written first,
//!   with its request key, under the reader's lock: concurrent requests ask under that one
//!   key and get the one object.
//! - A processor's subscription is applied as the processor holds it (re-read, never taken
//!   from an event's copy), each event id recorded once in the same transaction as its
//!   effect, and a state read earlier never overwrites one read later.
//! - A paid period starts when the payment is confirmed.
//! - The requests to a processor that a reader's own requests cause are counted against a
//!   budget per reader before they are made (`budget`); past it the processor is not asked.
//! - The reader's customer at the processor is made once (`hosted`), however late a lost
//!   answer is retried, and its e-mail address follows the account's (`customers`).
//! - Outcomes are typed; the words a reader sees are the handler's to choose.

mod budget;
mod customers;
mod events;
mod gift_subscriptions;
pub mod grants;
mod hosted;
mod offers;
mod reconcile;
mod record;
mod retention;
mod sync;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use diesel::PgConnection;
use diesel::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::db::{self, DbError, DbPool};
use crate::domain::ids::UserId;
use crate::domain::subscription::{self, Change, Current, Standing, Status, Terms};
use crate::error::AppError;
use crate::mail::MailWakeup;
use crate::models::{Checkout, NewCheckout, Plan, SubscriptionRow};
use crate::payments::hosted::HostedGateway;
use crate::payments::{ChargeOutcome, ChargeRequest, Gateway, PaymentError, PaymentGateway};

pub use budget::Budget;
use budget::Spent;
pub use events::Received;
pub use gift_subscriptions::{GIFTS_PER_DAY, GiftBought, GiftRedeemed};
pub use hosted::{Confirmed, EndedNow, Portal, ProcessorAccount};
pub use offers::{OfferError, OfferRefused, OfferTerms, Redeemed, TrialsEnded, create_offer};
pub use reconcile::Reconciled;
use record::{record_charged, start_subscription};
pub use retention::{CancelAsked, Retained, RetentionOffer, RetentionRefused};

/// How long a request waits for the processor to answer a charge.
pub const CHARGE_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// How long asking the processor about a key may take.
const OUTCOME_TIMEOUT: StdDuration = StdDuration::from_secs(10);
/// A pending checkout younger than this may still be being charged by the request that
/// opened it (its charge times out well before), so nobody else touches it.
pub const PAYMENT_IN_FLIGHT: Duration = Duration::minutes(2);
/// Rounds of "settle what is left, then decide" one request makes before giving up.
const ROUNDS: usize = 3;
/// Times a transaction is tried again after a serialization failure or deadlock.
const CONTENTION_RETRIES: usize = 3;
/// Checkouts housekeeping settles in one pass.
const SETTLE_BATCH: i64 = 100;

/// The subscription workflow, shared by the request handlers and housekeeping.
#[derive(Clone)]
pub struct Billing {
    pool: DbPool,
    clock: Arc<dyn Clock>,
    gateway: Option<Gateway>,
    budget: Budget,
    /// Woken after a transaction here queued mail, so it goes out at once.
    mail: MailWakeup,
}

/// Who is subscribing, and where a processor's page sends them back to.
#[derive(Clone, Copy, Debug)]
pub struct Subscriber<'a> {
    pub user_id: UserId,
    pub email: &'a str,
    /// The site's address as the reader reached it (`https://gazette.example`).
    pub site: &'a str,
    /// The local path to come back to after paying; empty for the account page.
    pub next: &'a str,
}

/// How payments are taken on this site, as the pages describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentsMode {
    /// Payments are not set up.
    Disabled,
    /// A gateway that moves no money and asks for no card.
    TestGateway,
    /// A processor in its test mode: a card form, test cards, no real money.
    ProcessorTest,
    /// Real money.
    Live,
}

/// What a request to subscribe to a plan did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscribed {
    /// Paid and recorded; the new period runs until `until`.
    Paid { until: OffsetDateTime },
    /// Switched plans without a charge: the unused part of the current period covered it.
    OnCredit { until: OffsetDateTime },
    /// A canceled subscription to this plan carries on.
    Resumed { until: OffsetDateTime },
    /// Already subscribed to this plan: nothing changed.
    AlreadySubscribed,
    /// Another request of this reader is paying right now.
    PaymentUnderWay,
    /// The processor refused the payment; nothing was taken.
    Declined { reason: String },
    /// The processor's answer was lost: the money may or may not have been taken. It will be
    /// settled by asking the processor; the reader is never charged twice.
    Unconfirmed,
    /// An earlier payment still waits for the processor to say what became of it.
    EarlierPaymentUnconfirmed,
    /// Payments are not set up on this site.
    PaymentsDisabled,
    /// Carry on at the processor's page: the hosted checkout, the billing portal (to switch
    /// plans) or the unpaid invoice.
    ContinueAt { url: String },
    /// The processor could not be reached; nothing changed.
    ProcessorUnavailable,
    /// The reader's requests have asked the processor all their budget allows: it was not
    /// asked (again), and nothing was charged.
    TooManyRequests { retry_after_secs: u64 },
}

/// The outcome, and whether an earlier payment was recorded first (its period's end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeReply {
    pub outcome: Subscribed,
    pub earlier_payment_until: Option<OffsetDateTime>,
}

/// What a request to cancel did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Canceled {
    /// Canceled now (or already, by a double submit): access continues until `until`.
    Until {
        until: OffsetDateTime,
    },
    /// Ended at once (its renewal had failed): nothing more is charged.
    Ended,
    /// A payment for a change of plan is being confirmed; canceling waits for it.
    PaymentUnderWay,
    NothingToCancel,
    /// The processor that holds the subscription could not be reached; nothing changed.
    ProcessorUnavailable,
    /// The reader's requests have asked the processor all their budget allows; nothing
    /// changed.
    TooManyRequests {
        retry_after_secs: u64,
    },
}

/// What housekeeping settled in one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    pub recorded: usize,
    pub released: usize,
    pub unknown: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("reading the system's randomness for a payment key: {0}")]
    Randomness(String),
    /// The processor could not be asked (or refused); it may be asked again later.
    #[error("{step}: {error}")]
    Processor {
        step: &'static str,
        error: crate::payments::hosted::HostedError,
    },
}

impl From<BillingError> for AppError {
    fn from(error: BillingError) -> Self {
        match error {
            BillingError::Db(error) => error.into(),
            BillingError::Processor { .. } => AppError::Unavailable(error.into()),
            BillingError::Randomness(_) => AppError::Internal(error.into()),
        }
    }
}

/// What one transaction decided the request does next.
enum Step {
    Done(Subscribed),
    /// Charge this newly opened checkout.
    Pay(Checkout),
    /// A checkout left by an earlier request: ask the processor what became of it.
    Settle(Checkout),
}

/// What asking the processor about a checkout led to.
enum Resolution {
    Recorded(Option<OffsetDateTime>),
    Released,
    Unknown,
}

impl Billing {
    /// With the default budget of processor requests per reader ([`Budget`]).
    pub fn new(pool: DbPool, clock: Arc<dyn Clock>, gateway: Option<Gateway>) -> Self {
        Self {
            pool,
            clock,
            gateway,
            budget: Budget::default(),
            mail: MailWakeup::default(),
        }
    }

    /// The same, waking the mail sender through `mail` when it queues mail.
    pub fn with_mail_wakeup(self, mail: MailWakeup) -> Self {
        Self { mail, ..self }
    }

    /// Wakes the mail sender: a mail was queued outside a request (a processor's event,
    /// housekeeping), and goes out at once rather than at the sender's next look.
    pub fn wake_mail(&self) {
        self.mail.wake();
    }

    /// The same, with `budget` processor requests per reader.
    pub fn with_budget(self, budget: Budget) -> Self {
        Self { budget, ..self }
    }

    /// `Some(true)` when payments go through a gateway that moves no money (pages must say
    /// so), `None` when payments are not set up.
    pub fn test_mode(&self) -> Option<bool> {
        self.gateway.as_ref().map(Gateway::is_test)
    }

    /// How payments are taken, for the pages to say.
    pub fn mode(&self) -> PaymentsMode {
        match &self.gateway {
            None => PaymentsMode::Disabled,
            Some(Gateway::ChargesNow(gateway)) if gateway.is_test() => PaymentsMode::TestGateway,
            Some(gateway) if gateway.is_test() => PaymentsMode::ProcessorTest,
            Some(_) => PaymentsMode::Live,
        }
    }

    /// The processor that runs subscriptions, when payments go through one.
    fn hosted(&self) -> Option<Arc<dyn HostedGateway>> {
        match &self.gateway {
            Some(Gateway::Hosted(gateway)) => Some(gateway.clone()),
            _ => None,
        }
    }

    /// A gateway that charges at once, when payments go through one.
    fn charges_now(&self) -> Option<Arc<dyn PaymentGateway>> {
        match &self.gateway {
            Some(Gateway::ChargesNow(gateway)) => Some(gateway.clone()),
            _ => None,
        }
    }

    /// Origins of the processor's own pages, which forms may be redirected to.
    pub fn page_origins(&self) -> Vec<String> {
        self.hosted()
            .map(|gateway| gateway.page_origins())
            .unwrap_or_default()
    }

    /// Subscribes the reader to `plan`, switching from their current plan if they have one:
    /// charged at once, or at the processor's page ([`Subscribed::ContinueAt`]).
    pub async fn subscribe(
        &self,
        reader: &Subscriber<'_>,
        plan: &Plan,
    ) -> Result<SubscribeReply, BillingError> {
        if let Some(gateway) = self.hosted() {
            return self.subscribe_hosted(&*gateway, reader, plan).await;
        }
        let user_id = reader.user_id;
        let Some(gateway) = self.charges_now() else {
            return Ok(reply(Subscribed::PaymentsDisabled, None));
        };
        let mut earlier = None;
        for _ in 0..ROUNDS {
            let now = self.clock.now();
            let key = payment_key()?;
            let decision = self
                .for_reader(user_id, "deciding a change of subscription", {
                    let plan = plan.clone();
                    move |conn| choose_step(conn, user_id, &plan, now, &key)
                })
                .await?;
            let (step, recorded) = decision;
            earlier = earlier.or(recorded);
            match step {
                Step::Done(outcome) => return Ok(reply(outcome, earlier)),
                Step::Pay(checkout) => {
                    let outcome = self.pay(&*gateway, checkout, &plan.currency).await?;
                    return Ok(reply(outcome, earlier));
                }
                Step::Settle(checkout) => match self.settle(&*gateway, checkout).await? {
                    Resolution::Recorded(until) => earlier = earlier.or(until),
                    Resolution::Released => {}
                    Resolution::Unknown => {
                        return Ok(reply(Subscribed::EarlierPaymentUnconfirmed, earlier));
                    }
                },
            }
        }
        Ok(reply(Subscribed::PaymentUnderWay, earlier))
    }

    /// Cancels the reader's subscription at the end of its period (at the processor, when
    /// the processor runs it).
    pub async fn cancel(&self, user_id: UserId) -> Result<Canceled, BillingError> {
        let now = self.clock.now();
        let hosted = self.hosted();
        let held_by = hosted.as_ref().map(|gateway| gateway.name());
        let decided = self
            .for_reader(user_id, "canceling a subscription", move |conn| {
                if db::checkouts::find(conn, user_id)?.is_some() {
                    return Ok(CancelStep::Done(Canceled::PaymentUnderWay));
                }
                let Some(row) = db::subscriptions::current(conn, user_id)? else {
                    return Ok(CancelStep::Done(Canceled::NothingToCancel));
                };
                if Some(row.gateway.as_str()) == held_by && row.status == Status::Active {
                    // A renewal that failed is not paid for: the processor stops trying to
                    // charge it at once, and the reading it allowed meanwhile ends.
                    return Ok(CancelStep::AtProcessor {
                        at_once: row.failed_payment.since.is_some(),
                        subscription: row.gateway_reference,
                    });
                }
                cancel_here(conn, user_id, &row, now).map(CancelStep::Done)
            })
            .await?;
        match (decided, hosted) {
            (CancelStep::Done(canceled), _) => Ok(canceled),
            (
                CancelStep::AtProcessor {
                    subscription,
                    at_once,
                },
                Some(gateway),
            ) => {
                // Ending at once may take a second request (to read one already ended).
                let calls = if at_once { 2 } else { 1 };
                if let Spent::Refused { retry_after_secs } = self.spend(user_id, calls).await? {
                    return Ok(Canceled::TooManyRequests { retry_after_secs });
                }
                self.cancel_at_processor(&*gateway, user_id, subscription, at_once)
                    .await
            }
            (CancelStep::AtProcessor { .. }, None) => Ok(Canceled::ProcessorUnavailable),
        }
    }

    /// Settles checkouts whose request is over: a charged one is recorded; for a pending one
    /// the processor is asked what became of its key (recorded if charged, released if not,
    /// left for the next pass if the processor cannot say).
    pub async fn settle_left_behind(&self) -> Result<Settled, DbError> {
        let opened_before = self.clock.now() - PAYMENT_IN_FLIGHT;
        let left = db::run(&self.pool, "listing checkouts left behind", move |conn| {
            db::checkouts::left_behind(conn, opened_before, SETTLE_BATCH)
        })
        .await?;
        let mut settled = Settled::default();
        for checkout in left {
            let user_id = checkout.user_id;
            let resolution = if checkout.gateway_reference.is_some() {
                let now = self.clock.now();
                let id = checkout.id;
                let until = self
                    .for_reader(
                        user_id,
                        "recording a payment left unrecorded",
                        move |conn| match db::checkouts::find(conn, user_id)?.filter(|c| c.id == id)
                        {
                            Some(current) => record_charged(conn, &current, now),
                            None => Ok(None),
                        },
                    )
                    .await?;
                Resolution::Recorded(until)
            } else if let Some(gateway) = self.charges_now() {
                self.settle(&*gateway, checkout).await?
            } else {
                Resolution::Unknown
            };
            match resolution {
                Resolution::Recorded(Some(_)) => {
                    tracing::info!(
                        user_id = user_id.get(),
                        "recorded a payment its request left unrecorded"
                    );
                    settled.recorded += 1;
                }
                Resolution::Recorded(None) => {}
                Resolution::Released => settled.released += 1,
                Resolution::Unknown => settled.unknown += 1,
            }
        }
        Ok(settled)
    }

    /// Charges a checkout this request opened, then records or releases it.
    async fn pay(
        &self,
        gateway: &dyn PaymentGateway,
        checkout: Checkout,
        currency: &str,
    ) -> Result<Subscribed, DbError> {
        let user_id = checkout.user_id;
        let request = ChargeRequest {
            user_id: user_id.get(),
            plan_code: checkout.plan_code.clone(),
            amount_cents: checkout.amount_cents,
            currency: currency.to_string(),
            idempotency_key: checkout.payment_key.clone(),
        };
        let answer = tokio::time::timeout(CHARGE_TIMEOUT, gateway.charge(request))
            .await
            .unwrap_or_else(|_| Err(PaymentError::Unavailable("no answer in time".to_string())));
        match answer {
            Ok(charge) => {
                let until = self
                    .confirm(gateway.name(), &checkout, &charge.reference)
                    .await
                    .inspect_err(|error| {
                        tracing::error!(
                            user_id = user_id.get(),
                            reference = %charge.reference,
                            "payment taken, not yet recorded (housekeeping will settle it): {error}"
                        )
                    })?;
                tracing::info!(user_id = user_id.get(), plan = %checkout.plan_code, gateway = gateway.name(), "subscription paid");
                Ok(match until {
                    Some(until) => Subscribed::Paid { until },
                    None => Subscribed::PaymentUnderWay,
                })
            }
            Err(PaymentError::Declined(reason)) => {
                tracing::info!(user_id = user_id.get(), "payment declined: {reason}");
                let id = checkout.id;
                self.for_reader(user_id, "releasing a declined checkout", move |conn| {
                    offers::release(conn, id)
                })
                .await?;
                Ok(Subscribed::Declined { reason })
            }
            Err(error @ PaymentError::Unavailable(_)) => {
                tracing::warn!(
                    user_id = user_id.get(),
                    "payment not confirmed, to be settled later: {error}"
                );
                Ok(Subscribed::Unconfirmed)
            }
        }
    }

    /// Asks the processor what became of a checkout left by an earlier request.
    async fn settle(
        &self,
        gateway: &dyn PaymentGateway,
        checkout: Checkout,
    ) -> Result<Resolution, DbError> {
        let user_id = checkout.user_id;
        let asked = tokio::time::timeout(
            OUTCOME_TIMEOUT,
            gateway.outcome(checkout.payment_key.clone()),
        )
        .await
        .unwrap_or_else(|_| Err(PaymentError::Unavailable("no answer in time".to_string())));
        match asked {
            Ok(ChargeOutcome::Charged(charge)) => {
                let until = self
                    .confirm(gateway.name(), &checkout, &charge.reference)
                    .await?;
                Ok(Resolution::Recorded(until))
            }
            Ok(ChargeOutcome::NotCharged) => {
                let id = checkout.id;
                self.for_reader(
                    user_id,
                    "releasing a checkout the processor never charged",
                    move |conn| offers::release(conn, id),
                )
                .await?;
                tracing::info!(
                    user_id = user_id.get(),
                    "released a checkout the processor never charged"
                );
                Ok(Resolution::Released)
            }
            Err(error) => {
                tracing::warn!(
                    user_id = user_id.get(),
                    "could not settle an earlier payment yet: {error}"
                );
                Ok(Resolution::Unknown)
            }
        }
    }

    /// Saves the proof of payment and records the subscription; the end of the paid period,
    /// or `None` when another request had already recorded it.
    async fn confirm(
        &self,
        gateway: &'static str,
        checkout: &Checkout,
        reference: &str,
    ) -> Result<Option<OffsetDateTime>, DbError> {
        let now = self.clock.now();
        let (user_id, id, reference) = (checkout.user_id, checkout.id, reference.to_string());
        self.for_reader(user_id, "saving a payment and recording the subscription", move |conn| {
            let charged = match db::checkouts::mark_charged(conn, id, gateway, &reference, now)? {
                Some(charged) => Some(charged),
                // Already marked by another request: record it if nobody has yet.
                None => db::checkouts::find(conn, user_id)?.filter(|c| c.id == id),
            };
            match charged {
                Some(charged) => record_charged(conn, &charged, now),
                None => {
                    if !db::subscriptions::records_payment(conn, gateway, &reference)? {
                        tracing::error!(
                            user_id = user_id.get(),
                            reference = %reference,
                            "a payment was taken for a checkout that was settled meanwhile: refund or record it by hand"
                        );
                    }
                    Ok(None)
                }
            }
        })
        .await
    }

    /// Runs `work` in a transaction that first takes the reader's lock, retrying it when the
    /// database reports contention.
    async fn for_reader<T, F>(
        &self,
        user_id: UserId,
        step: &'static str,
        work: F,
    ) -> Result<T, DbError>
    where
        F: Fn(&mut PgConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        db::run(&self.pool, step, move |conn| {
            let mut retries = 0;
            loop {
                let attempt = conn.transaction(|conn| {
                    db::users::lock(conn, user_id)?;
                    work(conn)
                });
                match attempt {
                    Err(error) if db::is_contention(&error) && retries < CONTENTION_RETRIES => {
                        retries += 1;
                        tracing::info!(
                            user_id = user_id.get(),
                            retries,
                            "billing transaction retried: {error}"
                        );
                    }
                    other => return other,
                }
            }
        })
        .await
    }
}

/// What a cancel does, decided with the reader's lock held.
enum CancelStep {
    Done(Canceled),
    /// The processor runs the subscription: it is canceled there, at the period's end or,
    /// for one whose renewal failed, at once.
    AtProcessor {
        subscription: String,
        at_once: bool,
    },
}

/// Cancels a subscription Gazette runs itself at the end of its period.
fn cancel_here(
    conn: &mut PgConnection,
    user_id: UserId,
    row: &SubscriptionRow,
    now: OffsetDateTime,
) -> QueryResult<Canceled> {
    match row.standing(now) {
        Standing::Current {
            canceled: false,
            period_end,
        } => {
            db::subscriptions::cancel(conn, row.id, now)?;
            tracing::info!(user_id = user_id.get(), "subscription canceled");
            Ok(Canceled::Until { until: period_end })
        }
        // Already canceled (a double submit): the answer is the same.
        Standing::Current {
            canceled: true,
            period_end,
        } => Ok(Canceled::Until { until: period_end }),
        Standing::Lapsed { .. } => Ok(Canceled::NothingToCancel),
    }
}

fn reply(outcome: Subscribed, earlier_payment_until: Option<OffsetDateTime>) -> SubscribeReply {
    SubscribeReply {
        outcome,
        earlier_payment_until,
    }
}

/// A fresh key for a checkout's charge: 128 random bits.
fn payment_key() -> Result<String, BillingError> {
    request_key("checkout")
}

/// A fresh idempotency key for a request to a processor: 128 random bits after `kind`.
fn request_key(kind: &str) -> Result<String, BillingError> {
    let random = crate::random::token(16).map_err(|e| BillingError::Randomness(e.to_string()))?;
    Ok(format!("{kind}-{random}"))
}

/// Decides, with the reader's lock held, what the request does: a charged checkout left
/// unrecorded is recorded first (returned as the second value); a checkout another request is
/// paying makes this one wait; one left by an earlier request is settled before anything else;
/// otherwise the change is made, or a checkout opened for it.
fn choose_step(
    conn: &mut PgConnection,
    user_id: UserId,
    plan: &Plan,
    now: OffsetDateTime,
    key: &str,
) -> QueryResult<(Step, Option<OffsetDateTime>)> {
    let mut recorded = None;
    if let Some(checkout) = db::checkouts::find(conn, user_id)? {
        if checkout.gateway_reference.is_some() {
            recorded = record_charged(conn, &checkout, now)?;
        } else if now - checkout.started_at < PAYMENT_IN_FLIGHT {
            return Ok((Step::Done(Subscribed::PaymentUnderWay), None));
        } else {
            return Ok((Step::Settle(checkout), None));
        }
    }

    let current = db::subscriptions::current(conn, user_id)?;
    // A discount taken on the subscription (a retention offer) prices its periods while it
    // lasts, and goes on to the period recorded.
    let carried = retention::carried_discount(conn, current.as_ref(), plan, now)?;
    let terms = Terms {
        plan_code: plan.code.clone(),
        price_cents: carried
            .as_ref()
            .map_or(plan.price_cents, |(price, _, _)| *price),
        period_months: plan.period_months,
    };
    let step = match subscription::change(
        current.map(|row| as_current(row, now)).as_ref(),
        &terms,
        now,
    ) {
        Change::Nothing => Step::Done(Subscribed::AlreadySubscribed),
        Change::Resume {
            subscription_id,
            period_end,
        } => {
            db::subscriptions::resume(conn, subscription_id)?;
            tracing::info!(user_id = user_id.get(), "subscription resumed");
            Step::Done(Subscribed::Resumed { until: period_end })
        }
        Change::Start {
            charge_cents: 0,
            value_cents,
            period_end,
        } => {
            start_subscription(
                conn,
                user_id,
                &plan.code,
                now,
                period_end,
                value_cents,
                "credit",
                key,
            )?;
            tracing::info!(user_id = user_id.get(), plan = %plan.code, "switched plans on credit");
            Step::Done(Subscribed::OnCredit { until: period_end })
        }
        Change::Start {
            charge_cents,
            value_cents,
            period_end,
        } => {
            let new = NewCheckout {
                user_id,
                plan_code: &plan.code,
                amount_cents: charge_cents,
                period_value_cents: value_cents,
                period_months: plan.period_months,
                period_end_at_least: period_end,
                payment_key: key,
                started_at: now,
                offer_code: carried.as_ref().map(|(_, code, _)| code.as_str()),
                discount_from: carried.as_ref().map(|(_, _, from)| *from),
            };
            db::checkouts::open(conn, &new)?
                .map_or(Step::Done(Subscribed::PaymentUnderWay), Step::Pay)
        }
    };
    Ok((step, recorded))
}

fn as_current(row: SubscriptionRow, now: OffsetDateTime) -> Current {
    Current {
        id: row.id,
        standing: row.standing(now),
        plan_code: row.plan_code,
        value_cents: row.period_value_cents,
        period_start: row.current_period_start,
    }
}
