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
//! - With a processor that runs the subscription (Stripe) gifts are refused plainly.

use diesel::PgConnection;
use diesel::QueryResult;
use time::{Duration, OffsetDateTime};

use super::{Billing, BillingError, CHARGE_TIMEOUT, OUTCOME_TIMEOUT, PAYMENT_IN_FLIGHT};
use crate::db::{self, DbError};
use crate::domain::gift_subscription::{GiftOrder, GiftState, PlanPrice, gift_period, gift_price};
use crate::domain::ids::{GiftId, UserId};
use crate::domain::mail::MailKind;
use crate::models::{GiftSubscription, NewGiftSubscription, NewOutboxMail};
use crate::payments::{ChargeOutcome, ChargeRequest, PaymentError, PaymentGateway};

/// The most gifts one buyer begins in a day.
pub const GIFTS_PER_DAY: i64 = 10;
/// Gifts housekeeping settles in one pass.
const SETTLE_BATCH: i64 = 100;

/// What a request to buy a gift did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GiftBought {
    /// Paid (now, or by the form's earlier submission): the recipient is mailed its link.
    Paid { id: GiftId, recipient: String },
    /// The form's earlier submission is paying for it right now.
    PaymentUnderWay,
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
    /// The payment processor in use takes no gift payments here.
    NotWithThisProcessor,
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
    /// Whether gifts can be bought with the payments set up here.
    pub fn sells_gifts(&self) -> bool {
        self.charges_now().is_some()
    }

    /// Buys `order` for the buyer, once per `form_key` (the key of the form they submitted).
    pub async fn buy_gift(
        &self,
        buyer: UserId,
        form_key: &str,
        order: &GiftOrder,
    ) -> Result<GiftBought, BillingError> {
        if self.hosted().is_some() {
            return Ok(GiftBought::NotWithThisProcessor);
        }
        let Some(gateway) = self.charges_now() else {
            return Ok(GiftBought::PaymentsDisabled);
        };
        let now = self.clock.now();
        let key = super::request_key("gift")?;
        let (form_key, order, name) = (form_key.to_string(), order.clone(), gateway.name());
        let step = self
            .for_reader(buyer, "buying a gift", move |conn| {
                choose_gift_step(conn, buyer, &form_key, &order, name, &key, now)
            })
            .await?;
        Ok(match step {
            GiftStep::Done(bought) => bought,
            GiftStep::Pay(gift) => self.pay_gift(&*gateway, gift).await?,
            GiftStep::Settle(gift) => self.settle_gift(&*gateway, gift).await?,
        })
    }

    /// Settles the gifts whose buying request is over without knowing whether they were
    /// paid; returns how many it settled (paid or not).
    pub async fn settle_gifts(&self) -> Result<usize, DbError> {
        let Some(gateway) = self.charges_now() else {
            return Ok(0);
        };
        let before = self.clock.now() - PAYMENT_IN_FLIGHT;
        let left = db::run(&self.pool, "listing gifts left unpaid", move |conn| {
            db::gift_subscriptions::pending_before(conn, before, SETTLE_BATCH)
        })
        .await?;
        let mut settled = 0;
        for gift in left {
            match self.settle_gift(&*gateway, gift).await? {
                GiftBought::Paid { .. } | GiftBought::Declined { .. } => settled += 1,
                _ => {}
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
        let (id, recipient, reference) =
            (gift.id, gift.recipient_email.clone(), reference.to_string());
        let paid = move |conn: &mut PgConnection| {
            if !db::gift_subscriptions::mark_paid(conn, id, &reference, now)? {
                return Ok(false);
            }
            let kind = MailKind::GiftReceived;
            db::outbox::enqueue(
                conn,
                &NewOutboxMail {
                    kind: kind.as_str(),
                    recipient: &recipient,
                    user_id: None,
                    detail: &id.to_string(),
                    created_at: now,
                    next_attempt_at: now,
                    expires_at: now + kind.worth_sending_for(),
                },
            )?;
            tracing::info!(gift = id.get(), "gift paid, its recipient to be mailed");
            Ok(true)
        };
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

/// Decides, with the buyer's lock held, what buying does: the form's gift if it made one,
/// else a new gift recorded for its payment.
fn choose_gift_step(
    conn: &mut PgConnection,
    buyer: UserId,
    form_key: &str,
    order: &GiftOrder,
    gateway: &str,
    key: &str,
    now: OffsetDateTime,
) -> QueryResult<GiftStep> {
    if let Some(gift) = db::gift_subscriptions::by_form(conn, buyer, form_key)? {
        return Ok(match gift.status {
            GiftState::Paid | GiftState::Redeemed => GiftStep::Done(GiftBought::Paid {
                id: gift.id,
                recipient: gift.recipient_email,
            }),
            GiftState::Unpaid => GiftStep::Done(GiftBought::Declined {
                reason: "the payment was declined".to_string(),
            }),
            GiftState::Pending if now - gift.created_at < PAYMENT_IN_FLIGHT => {
                GiftStep::Done(GiftBought::PaymentUnderWay)
            }
            GiftState::Pending => GiftStep::Settle(gift),
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
            form_key,
            recipient_email: order.recipient.as_str(),
            from_name: &order.from,
            message: &order.message,
            months: order.months,
            amount_cents,
            currency: &currency,
            payment_key: key,
            gateway,
            created_at: now,
        },
    )?;
    Ok(GiftStep::Pay(gift))
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
