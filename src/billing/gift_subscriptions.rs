//! Gift subscriptions (the rules of what a gift is are `domain::gift_subscription`'s): buying
//! one with a gateway that charges at once, settling a payment whose answer was lost, and
//! redeeming one.
//!
//! Rules (on top of the module's):
//! - Buying runs under the buyer's lock. Each form the buyer is shown carries a key of its
//!   own, and a gift is made once per key: a double click, a resent form or a second tab of
//!   the same form finds the first submission's gift and charges nothing more. Two forms are
//!   two gifts. A buyer begins at most [`GIFTS_PER_DAY`] gifts in a day, paid or not, so the
//!   rows and mails one account can cause are bounded.
//! - The gift's payment is charged once, by the request that recorded it, under its own key;
//!   after that request, only asking the processor by key settles it (housekeeping,
//!   [`Billing::settle_gifts`]), exactly as for subscriptions.
//! - A gift becomes paid, and its recipient's mail is queued, in one transaction: the mail
//!   is sent once, by the outbox, which makes its link when it sends it.
//! - Redeeming runs under the redeeming reader's lock, then the gift's row lock: two tabs, or
//!   two readers with the same link, redeem it once. A reader whose subscription gives access
//!   now is refused (the link keeps working for later, or for someone else); anyone else gets
//!   the gift's months as an access grant, added after any grant they have running.
//! - With a processor that has its own checkout page (Stripe), the gift is paid there: the
//!   page is opened under the gift's own key (a double click gets the same page), the gift
//!   notes the page, and it becomes paid when the processor says the page was paid: by its
//!   event (recorded once by id, under the buyer's lock), by the buyer's return, or by
//!   housekeeping asking; whichever comes first marks it, the others find it done. A page that
//!   expires unpaid leaves the gift unpaid. A form older than a day is not reopened: the
//!   processor forgets its key after a day, and a second page could be paid unseen.

use diesel::PgConnection;
use diesel::QueryResult;
use time::{Duration, OffsetDateTime};

use super::budget::Spent;
use super::{
    Billing, BillingError, CHARGE_TIMEOUT, OUTCOME_TIMEOUT, PAYMENT_IN_FLIGHT, Subscriber,
};
use crate::db::{self, DbError};
use crate::domain::gift_subscription::{GiftOrder, GiftState, PlanPrice, gift_period, gift_price};
use crate::domain::ids::{GiftId, UserId};
use crate::domain::mail::MailKind;
use crate::models::{GiftSubscription, NewGiftSubscription};
use crate::payments::hosted::{CheckoutState, HostedGateway, Money, PaymentRequest};
use crate::payments::{ChargeOutcome, ChargeRequest, PaymentError, PaymentGateway};

/// The most gifts one buyer begins in a day.
pub const GIFTS_PER_DAY: i64 = 10;
/// Gifts housekeeping settles in one pass.
const SETTLE_BATCH: i64 = 100;
/// How long a gift's form can send the buyer back to the processor's page: less than the
/// processor keeps a request's key (Stripe: 24 hours).
const FORM_LIFETIME: Duration = Duration::hours(23);
/// A gift whose page was never noted is given up after this: by then the processor has
/// forgotten its key, and any page it made has expired.
const PAGE_NEVER_NOTED: Duration = Duration::hours(25);

/// What a request to buy a gift did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GiftBought {
    /// Paid (now, or by the form's earlier submission): the recipient is mailed its link.
    Paid { id: GiftId, recipient: String },
    /// The form's earlier submission is paying for it right now.
    PaymentUnderWay,
    /// Pay on the processor's page.
    ContinueAt { url: String },
    /// The form was sent more than a day ago and its gift not paid: start again.
    FormExpired,
    /// The processor could not be reached; nothing was charged.
    ProcessorUnavailable,
    /// The buyer's requests have asked the processor all their budget allows.
    TooManyRequests { retry_after_secs: u64 },
    /// The processor refused the payment; nothing was taken and there is no gift.
    Declined { reason: String },
    /// The processor's answer was lost: it is settled by asking it, never charged twice.
    Unconfirmed,
    /// The buyer began [`GIFTS_PER_DAY`] gifts in the last day.
    TooMany,
    /// No plan gives a price for a gift of this length.
    NotSold,
    /// Payments are not set up.
    PaymentsDisabled,
}

/// What a request to redeem a gift did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiftRedeemed {
    /// The reader reads everything until `until`.
    Redeemed { until: OffsetDateTime },
    /// This reader redeemed it before (a double click, another tab); their access runs until
    /// `until`.
    AlreadyYours { until: Option<OffsetDateTime> },
    /// Someone else redeemed it.
    TakenByAnother,
    /// The reader's subscription gives access now: the gift waits for later, or someone else.
    Subscribed,
    /// No paid gift has this id.
    NoGift,
}

/// What one transaction decided a purchase does next.
enum GiftStep {
    Done(GiftBought),
    Pay(GiftSubscription),
    Settle(GiftSubscription),
}

impl Billing {
    /// Buys `order` for the buyer, once per `form_key` (the key of the form they submitted).
    pub async fn buy_gift(
        &self,
        buyer: &Subscriber<'_>,
        form_key: &str,
        order: &GiftOrder,
    ) -> Result<GiftBought, BillingError> {
        let hosted = self.hosted();
        let name = match (&hosted, self.charges_now()) {
            (Some(gateway), _) => gateway.name(),
            (None, Some(gateway)) => gateway.name(),
            (None, None) => return Ok(GiftBought::PaymentsDisabled),
        };
        let now = self.clock.now();
        let key = super::request_key("gift")?;
        let user_id = buyer.user_id;
        let (form_key, order) = (form_key.to_string(), order.clone());
        let at_processor = hosted.is_some();
        let step = self
            .for_reader(user_id, "buying a gift", move |conn| {
                let ask = GiftAsk {
                    buyer: user_id,
                    form_key: &form_key,
                    gateway: name,
                    key: &key,
                    at_processor,
                    now,
                };
                choose_gift_step(conn, &ask, &order)
            })
            .await?;
        let gift = match step {
            GiftStep::Done(bought) => return Ok(bought),
            GiftStep::Pay(gift) | GiftStep::Settle(gift) if at_processor => gift,
            GiftStep::Pay(gift) => match self.charges_now() {
                Some(gateway) => return Ok(self.pay_gift(&*gateway, gift).await?),
                None => return Ok(GiftBought::PaymentsDisabled),
            },
            GiftStep::Settle(gift) => match self.charges_now() {
                Some(gateway) => return Ok(self.settle_gift(&*gateway, gift).await?),
                None => return Ok(GiftBought::PaymentsDisabled),
            },
        };
        match hosted {
            Some(gateway) => self.open_gift_page(&*gateway, buyer, gift).await,
            None => Ok(GiftBought::PaymentsDisabled),
        }
    }

    /// Opens (or opens again, under the gift's key: the same page) the processor's page where
    /// the buyer pays the gift, and notes it on the gift.
    async fn open_gift_page(
        &self,
        gateway: &dyn HostedGateway,
        buyer: &Subscriber<'_>,
        gift: GiftSubscription,
    ) -> Result<GiftBought, BillingError> {
        if let Spent::Refused { retry_after_secs } = self.spend(buyer.user_id, 1).await? {
            return Ok(GiftBought::TooManyRequests { retry_after_secs });
        }
        let request = PaymentRequest {
            user_id: buyer.user_id.get(),
            email: buyer.email.to_string(),
            description: format!(
                "Gazette, {} as a gift",
                crate::domain::gift_subscription::months_words(gift.months)
            ),
            amount: Money {
                minor_units: gift.amount_cents.into(),
                currency: gift.currency.clone(),
            },
            success_url: format!("{}/gift/complete?checkout={{CHECKOUT}}", buyer.site),
            cancel_url: format!("{}/gift", buyer.site),
            idempotency_key: gift.payment_key.clone(),
        };
        let opened = match gateway.open_payment(request).await {
            Ok(opened) => opened,
            Err(error) => {
                tracing::warn!(
                    gift = gift.id.get(),
                    "opening a gift's checkout failed: {error}"
                );
                return Ok(GiftBought::ProcessorUnavailable);
            }
        };
        let (id, reference) = (gift.id, opened.reference.clone());
        self.for_reader(buyer.user_id, "noting a gift's checkout", move |conn| {
            db::gift_subscriptions::set_checkout(conn, id, &reference)
        })
        .await?;
        Ok(GiftBought::ContinueAt { url: opened.url })
    }

    /// The buyer is back from the processor's page `reference`: the gift is marked paid if
    /// the processor says it was. `None` when the page is no gift of this buyer's.
    pub async fn gift_page_returned(
        &self,
        buyer: UserId,
        reference: &str,
    ) -> Result<Option<GiftBought>, BillingError> {
        let Some(gateway) = self.hosted() else {
            return Ok(None);
        };
        let wanted = reference.to_string();
        let gift = db::run(&self.pool, "finding a gift by its checkout", move |conn| {
            db::gift_subscriptions::by_checkout(conn, &wanted)
        })
        .await?
        .filter(|gift| gift.buyer_id == Some(buyer));
        let Some(gift) = gift else {
            return Ok(None);
        };
        if gift.status != GiftState::Pending {
            return Ok(Some(done_already(gift)));
        }
        if let Spent::Refused { retry_after_secs } = self.spend(buyer, 1).await? {
            return Ok(Some(GiftBought::TooManyRequests { retry_after_secs }));
        }
        Ok(Some(self.settle_gift_page(&*gateway, gift).await?))
    }

    /// Asks the processor what became of a gift's page, and records it.
    async fn settle_gift_page(
        &self,
        gateway: &dyn HostedGateway,
        gift: GiftSubscription,
    ) -> Result<GiftBought, DbError> {
        let Some(reference) = gift.checkout_reference.clone() else {
            return Ok(GiftBought::PaymentUnderWay);
        };
        match gateway.checkout(reference.clone()).await {
            Ok(CheckoutState::Complete { .. }) => self.gift_paid(&gift, &reference).await,
            Ok(CheckoutState::Expired) => {
                self.gift_unpaid(&gift).await?;
                Ok(GiftBought::Declined {
                    reason: "the payment page closed before it was paid".to_string(),
                })
            }
            Ok(CheckoutState::Open) => Ok(GiftBought::PaymentUnderWay),
            Err(error) => {
                tracing::warn!(
                    gift = gift.id.get(),
                    "could not ask about a gift's checkout: {error}"
                );
                Ok(GiftBought::Unconfirmed)
            }
        }
    }

    /// What a processor's event about checkout `reference` does to a gift: the gift's buyer,
    /// and whether the page was paid (`Some(true)`), closed unpaid (`Some(false)`) or is
    /// still open (`None`); `None` when the page is no gift's.
    pub(super) async fn gift_checkout_state(
        &self,
        gateway: &dyn HostedGateway,
        reference: &str,
    ) -> Result<Option<(UserId, GiftId, Option<bool>)>, BillingError> {
        let wanted = reference.to_string();
        let gift = db::run(&self.pool, "finding a gift by its checkout", move |conn| {
            db::gift_subscriptions::by_checkout(conn, &wanted)
        })
        .await?;
        // A gift whose buyer closed their account is settled by housekeeping.
        let Some((gift, buyer)) = gift.and_then(|gift| gift.buyer_id.map(|buyer| (gift, buyer)))
        else {
            return Ok(None);
        };
        let paid = match gateway.checkout(reference.to_string()).await {
            Ok(CheckoutState::Complete { .. }) => Some(true),
            Ok(CheckoutState::Expired) => Some(false),
            Ok(CheckoutState::Open) => None,
            Err(crate::payments::hosted::HostedError::Missing(_)) => return Ok(None),
            Err(error) => {
                return Err(BillingError::Processor {
                    step: "re-reading a gift's checkout",
                    error,
                });
            }
        };
        Ok(Some((buyer, gift.id, paid)))
    }

    /// Settles the gifts whose buying request is over without knowing whether they were
    /// paid; returns how many it settled (paid or not).
    pub async fn settle_gifts(&self) -> Result<usize, DbError> {
        let now = self.clock.now();
        let before = now - PAYMENT_IN_FLIGHT;
        let left = db::run(&self.pool, "listing gifts left unpaid", move |conn| {
            db::gift_subscriptions::pending_before(conn, before, SETTLE_BATCH)
        })
        .await?;
        let (hosted, charges_now) = (self.hosted(), self.charges_now());
        let mut settled = 0;
        for gift in left {
            let outcome = match (&hosted, &charges_now) {
                (Some(_), _) if gift.checkout_reference.is_none() => {
                    if now - gift.created_at < PAGE_NEVER_NOTED {
                        continue;
                    }
                    // Its page was never opened (or never noted): nobody can pay it now.
                    self.gift_unpaid(&gift).await?;
                    settled += 1;
                    continue;
                }
                (Some(gateway), _) => self.settle_gift_page(&**gateway, gift).await?,
                (None, Some(gateway)) => self.settle_gift(&**gateway, gift).await?,
                (None, None) => continue,
            };
            if matches!(
                outcome,
                GiftBought::Paid { .. } | GiftBought::Declined { .. }
            ) {
                settled += 1;
            }
        }
        Ok(settled)
    }

    /// Redeems gift `id` for the reader.
    pub async fn redeem_gift(&self, reader: UserId, id: GiftId) -> Result<GiftRedeemed, DbError> {
        let now = self.clock.now();
        self.for_reader(reader, "redeeming a gift", move |conn| {
            redeem(conn, reader, id, now)
        })
        .await
    }

    /// Charges a gift this request recorded, then marks it paid or unpaid.
    async fn pay_gift(
        &self,
        gateway: &dyn PaymentGateway,
        gift: GiftSubscription,
    ) -> Result<GiftBought, DbError> {
        let request = ChargeRequest {
            user_id: gift.buyer_id.map_or(0, UserId::get),
            plan_code: format!("gift-{}-months", gift.months),
            amount_cents: gift.amount_cents,
            currency: gift.currency.clone(),
            idempotency_key: gift.payment_key.clone(),
        };
        let answer = tokio::time::timeout(CHARGE_TIMEOUT, gateway.charge(request))
            .await
            .unwrap_or_else(|_| Err(PaymentError::Unavailable("no answer in time".to_string())));
        match answer {
            Ok(charge) => self.gift_paid(&gift, &charge.reference).await,
            Err(PaymentError::Declined(reason)) => {
                tracing::info!(gift = gift.id.get(), "gift payment declined: {reason}");
                self.gift_unpaid(&gift).await?;
                Ok(GiftBought::Declined { reason })
            }
            Err(error @ PaymentError::Unavailable(_)) => {
                tracing::warn!(
                    gift = gift.id.get(),
                    "gift payment not confirmed, to be settled later: {error}"
                );
                Ok(GiftBought::Unconfirmed)
            }
        }
    }

    /// Asks the processor what became of a gift's payment, and records the answer.
    async fn settle_gift(
        &self,
        gateway: &dyn PaymentGateway,
        gift: GiftSubscription,
    ) -> Result<GiftBought, DbError> {
        let asked =
            tokio::time::timeout(OUTCOME_TIMEOUT, gateway.outcome(gift.payment_key.clone()))
                .await
                .unwrap_or_else(|_| {
                    Err(PaymentError::Unavailable("no answer in time".to_string()))
                });
        match asked {
            Ok(ChargeOutcome::Charged(charge)) => self.gift_paid(&gift, &charge.reference).await,
            Ok(ChargeOutcome::NotCharged) => {
                self.gift_unpaid(&gift).await?;
                tracing::info!(gift = gift.id.get(), "a gift the processor never charged");
                Ok(GiftBought::Declined {
                    reason: "the payment was not taken".to_string(),
                })
            }
            Err(error) => {
                tracing::warn!(
                    gift = gift.id.get(),
                    "could not settle a gift's payment yet: {error}"
                );
                Ok(GiftBought::Unconfirmed)
            }
        }
    }

    /// Marks the gift paid and queues its recipient's mail, under the buyer's lock.
    async fn gift_paid(
        &self,
        gift: &GiftSubscription,
        reference: &str,
    ) -> Result<GiftBought, DbError> {
        let now = self.clock.now();
        let (id, reference) = (gift.id, reference.to_string());
        let paid = move |conn: &mut PgConnection| record_gift_paid(conn, id, &reference, now);
        let queued = match gift.buyer_id {
            Some(buyer) => {
                self.for_reader(buyer, "recording a gift's payment", paid)
                    .await?
            }
            // The buyer's account closed meanwhile: the payment is still the gift's.
            None => db::run(&self.pool, "recording a gift's payment", paid).await?,
        };
        if queued {
            self.mail.wake();
        }
        Ok(GiftBought::Paid {
            id: gift.id,
            recipient: gift.recipient_email.clone(),
        })
    }

    async fn gift_unpaid(&self, gift: &GiftSubscription) -> Result<(), DbError> {
        let id = gift.id;
        let unpaid =
            move |conn: &mut PgConnection| db::gift_subscriptions::mark_unpaid(conn, id).map(drop);
        match gift.buyer_id {
            Some(buyer) => {
                self.for_reader(buyer, "recording an unpaid gift", unpaid)
                    .await
            }
            None => db::run(&self.pool, "recording an unpaid gift", unpaid).await,
        }
    }
}

/// A request to buy, as the transaction deciding it sees it.
struct GiftAsk<'a> {
    buyer: UserId,
    form_key: &'a str,
    gateway: &'static str,
    /// The key for a new gift's payment.
    key: &'a str,
    /// Paid on the processor's page (rather than charged at once).
    at_processor: bool,
    now: OffsetDateTime,
}

/// The answer for a gift that is no longer pending.
fn done_already(gift: GiftSubscription) -> GiftBought {
    match gift.status {
        GiftState::Unpaid => GiftBought::Declined {
            reason: "the payment was declined".to_string(),
        },
        _ => GiftBought::Paid {
            id: gift.id,
            recipient: gift.recipient_email,
        },
    }
}

/// Decides, with the buyer's lock held, what buying does: the form's gift if it made one,
/// else a new gift recorded for its payment.
fn choose_gift_step(
    conn: &mut PgConnection,
    ask: &GiftAsk<'_>,
    order: &GiftOrder,
) -> QueryResult<GiftStep> {
    let (buyer, now) = (ask.buyer, ask.now);
    if let Some(gift) = db::gift_subscriptions::by_form(conn, buyer, ask.form_key)? {
        let age = now - gift.created_at;
        return Ok(match gift.status {
            GiftState::Pending if ask.at_processor && age >= FORM_LIFETIME => {
                GiftStep::Done(GiftBought::FormExpired)
            }
            // The same page again, under the gift's key.
            GiftState::Pending if ask.at_processor => GiftStep::Pay(gift),
            GiftState::Pending if age < PAYMENT_IN_FLIGHT => {
                GiftStep::Done(GiftBought::PaymentUnderWay)
            }
            GiftState::Pending => GiftStep::Settle(gift),
            _ => GiftStep::Done(done_already(gift)),
        });
    }
    if db::gift_subscriptions::bought_since(conn, buyer, now - Duration::DAY)? >= GIFTS_PER_DAY {
        return Ok(GiftStep::Done(GiftBought::TooMany));
    }
    let plans: Vec<PlanPrice> = db::plans::list(conn)?
        .into_iter()
        .map(|plan| PlanPrice {
            price_cents: plan.price_cents,
            currency: plan.currency,
            period_months: plan.period_months,
        })
        .collect();
    let Some((amount_cents, currency)) = gift_price(order.months, &plans) else {
        return Ok(GiftStep::Done(GiftBought::NotSold));
    };
    let gift = db::gift_subscriptions::insert(
        conn,
        &NewGiftSubscription {
            buyer_id: buyer,
            form_key: ask.form_key,
            recipient_email: order.recipient.as_str(),
            from_name: &order.from,
            message: &order.message,
            months: order.months,
            amount_cents,
            currency: &currency,
            payment_key: ask.key,
            gateway: ask.gateway,
            created_at: now,
        },
    )?;
    Ok(GiftStep::Pay(gift))
}

/// Marks a pending gift paid with the processor's `reference` and queues its recipient's mail,
/// in the caller's transaction (the buyer's lock held); false when it was not pending (paid
/// already: the mail was queued then).
pub(super) fn record_gift_paid(
    conn: &mut PgConnection,
    id: GiftId,
    reference: &str,
    now: OffsetDateTime,
) -> QueryResult<bool> {
    let Some(gift) = db::gift_subscriptions::find(conn, id)? else {
        return Ok(false);
    };
    if !db::gift_subscriptions::mark_paid(conn, id, reference, now)? {
        return Ok(false);
    }
    let kind = MailKind::GiftReceived;
    db::outbox::owe(
        conn,
        kind,
        &gift.recipient_email,
        None,
        &id.to_string(),
        now,
    )?;
    tracing::info!(gift = id.get(), "gift paid, its recipient to be mailed");
    Ok(true)
}

/// Redeems gift `id` for the reader, whose lock is held.
fn redeem(
    conn: &mut PgConnection,
    reader: UserId,
    id: GiftId,
    now: OffsetDateTime,
) -> QueryResult<GiftRedeemed> {
    let Some(gift) = db::gift_subscriptions::lock(conn, id)? else {
        return Ok(GiftRedeemed::NoGift);
    };
    match gift.status {
        GiftState::Pending | GiftState::Unpaid => return Ok(GiftRedeemed::NoGift),
        GiftState::Redeemed if gift.redeemed_by == Some(reader) => {
            let until = db::grants::latest(conn, reader)?
                .filter(|grant| grant.is_current(now))
                .map(|grant| grant.ends_at);
            return Ok(GiftRedeemed::AlreadyYours { until });
        }
        GiftState::Redeemed => return Ok(GiftRedeemed::TakenByAnother),
        GiftState::Paid => {}
    }
    if db::subscriptions::current(conn, reader)?
        .is_some_and(|row| row.standing(now).grants_access())
    {
        return Ok(GiftRedeemed::Subscribed);
    }
    let running = db::grants::latest(conn, reader)?
        .filter(|grant| grant.is_current(now))
        .map(|grant| grant.ends_at);
    let (starts_at, ends_at) = gift_period(now, running, gift.months);
    let grant = db::grants::give_gift(conn, reader, starts_at, ends_at)?;
    if !db::gift_subscriptions::mark_redeemed(conn, id, reader, grant, now)? {
        // Not reachable with the gift's row locked and found paid; give nothing.
        return Err(diesel::result::Error::RollbackTransaction);
    }
    tracing::info!(user_id = reader.get(), gift = id.get(), "gift redeemed");
    Ok(GiftRedeemed::Redeemed { until: ends_at })
}
