//! The next step of subscribing through a processor (`subscribe`), decided in a transaction
//! that holds the reader's lock, from what is stored: the processor is asked by the step, after
//! the transaction.
//!
//! Rules:
//! - While the processor holds a live subscription for the reader, no checkout is opened: the
//!   same plan is already theirs (or resumed), another plan is switched in the processor's
//!   portal, and a failed renewal is paid on the processor's page. One whose period is over
//!   but which the processor has not said ended is re-read from the processor once per
//!   request (a renewal may be on its way) rather than a second subscription opened.
//! - A subscription Gazette ran itself (another gateway) carries on until the processor's
//!   starts; only asking for the very plan it already is changes nothing.
//! - The reader's customer and hosted checkout are written with their request keys before the
//!   processor is asked, so a double click or a second tab asks under the same keys and is
//!   sent to the same page: one customer per reader, one open checkout per reader. An open
//!   checkout is reused for its plan while the reader has [`REUSE_MARGIN`] left to pay on it.
//!   A checkout for another plan is expired at the processor before a new one opens (if it
//!   was paid meanwhile, that payment is recorded instead), so a reader can never pay for two
//!   subscriptions.
//! - A customer asked for long ago whose answer never came (a timeout, a crash) may exist at
//!   the processor under a key it has since forgotten (Stripe forgets keys after a day): it is
//!   looked for first, and asked for again under a new key only when none is found. So a
//!   reader has one customer however late the answer is retried.
//! - Redeeming an offer (`offer` named) is for a reader without a subscription that gives
//!   access now (nor one the processor still holds): anyone else is refused, and so is an offer
//!   that is unknown, ended, used up, or taken by the reader before, each before any customer
//!   is made. The reader's checkout for that offer is reused (a double click); any other is
//!   expired first. A new one is written, and then the offer's redemption taken (reader's lock,
//!   then offer), in the same transaction: no checkout without its redemption, never past the
//!   limit.

use diesel::PgConnection;
use diesel::QueryResult;
use time::{Duration, OffsetDateTime};

use super::offers::{checkout_offer, refusal, take};
use crate::billing::{OfferRefused, Subscribed};
use crate::db;
use crate::domain::ids::{HostedCheckoutId, UserId};
use crate::domain::subscription::Standing;
use crate::models::{HostedCheckout, NewHostedCheckout, Plan, SubscriptionRow};
use crate::payments::hosted::{CheckoutDeal, CheckoutOffer};

/// An open checkout is reused only if the reader has this long left to pay on it.
const REUSE_MARGIN: Duration = Duration::minutes(10);
/// A customer asked for this long ago and never answered for is looked for before it is asked
/// for again: its key may be forgotten by now (Stripe keeps keys for at least 24 hours), and
/// the processor's search, which lags behind its writes, has long found it.
const CUSTOMER_KEY_FORGOTTEN: Duration = Duration::hours(23);

/// The next step of subscribing.
pub(super) enum HostedStep {
    Done(Subscribed),
    /// The offer asked for is not for the reader.
    Refuse(OfferRefused),
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
        checkout_id: HostedCheckoutId,
        reference: String,
    },
    Open {
        checkout: Box<HostedCheckout>,
        customer: String,
        /// The offer the checkout was written for, as the processor is told it.
        offer: Option<CheckoutOffer>,
    },
}

impl HostedStep {
    /// The most requests to the processor the step can make.
    pub(super) fn most_calls(&self) -> i32 {
        match self {
            Self::Done(_) | Self::Refuse(_) | Self::FixPayment { url: Some(_), .. } => 0,
            // The discount's coupon (made, or read when it exists), then the page.
            Self::Open {
                offer:
                    Some(CheckoutOffer {
                        deal: CheckoutDeal::Discount { .. },
                        ..
                    }),
                ..
            } => 3,
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

/// What one round of subscribing decides from.
pub(super) struct Round<'a> {
    /// The processor's name, as stored with its customers, checkouts and subscriptions.
    pub gateway: &'static str,
    pub user_id: UserId,
    pub plan: &'a Plan,
    /// The local path the reader goes back to after paying; empty for the account page.
    pub next: &'a str,
    /// Fresh keys for a customer or a checkout, should the round write one.
    pub customer_key: &'a str,
    pub checkout_key: &'a str,
    pub now: OffsetDateTime,
    /// The reader's subscription was re-read from the processor earlier in this request.
    pub refreshed: bool,
    /// The offer being redeemed (for `plan`), if any.
    pub offer: Option<&'a str>,
}

impl Round<'_> {
    /// Decides the next step, with the reader's lock held (see the module's rules).
    pub(super) fn decide(&self, conn: &mut PgConnection) -> QueryResult<HostedStep> {
        let current = db::subscriptions::current(conn, self.user_id)?;
        if let Some(code) = self.offer {
            return self.toward_offer(conn, code, current);
        }
        match current {
            Some(row) if row.gateway == self.gateway => self.with_processors(conn, row),
            Some(row) if self.already_has_plan(&row) => {
                Ok(HostedStep::Done(Subscribed::AlreadySubscribed))
            }
            _ => self.toward_checkout(conn),
        }
    }

    /// The reader's subscription is the processor's: it is managed there, never opened again.
    fn with_processors(
        &self,
        conn: &mut PgConnection,
        row: SubscriptionRow,
    ) -> QueryResult<HostedStep> {
        let customer = db::gateway_customers::find(conn, self.user_id, self.gateway)?
            .and_then(|customer| customer.reference);
        if row.failed_payment.since.is_some() {
            return Ok(HostedStep::FixPayment {
                customer,
                url: row.failed_payment.fix_url,
            });
        }
        let same_plan = row.plan_code == self.plan.code;
        let standing = row.standing(self.now);
        let subscription = row.gateway_reference;
        Ok(match standing {
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
            Standing::Lapsed { .. } if !self.refreshed => HostedStep::Refresh { subscription },
            Standing::Lapsed { .. } => HostedStep::FixPayment {
                customer,
                url: None,
            },
        })
    }

    /// A subscription Gazette ran itself, current and not canceled, on the very plan asked
    /// for.
    fn already_has_plan(&self, row: &SubscriptionRow) -> bool {
        row.plan_code == self.plan.code
            && matches!(
                row.standing(self.now),
                Standing::Current {
                    canceled: false,
                    ..
                }
            )
    }

    /// An offer is asked for: refused to a reader it is not for, otherwise the way to a
    /// checkout for it (see the module's rules).
    fn toward_offer(
        &self,
        conn: &mut PgConnection,
        code: &str,
        current: Option<SubscriptionRow>,
    ) -> QueryResult<HostedStep> {
        if let Some(row) = current {
            let processors = row.gateway == self.gateway;
            let live = row.standing(self.now).grants_access();
            // Over here, but not said to be over by the processor: ask it once.
            if processors && !live && row.failed_payment.since.is_none() && !self.refreshed {
                return Ok(HostedStep::Refresh {
                    subscription: row.gateway_reference,
                });
            }
            if processors || live {
                return Ok(HostedStep::Refuse(OfferRefused::AlreadySubscribed));
            }
        }
        let checkout = db::hosted_checkouts::find(conn, self.user_id)?;
        let for_this_offer = checkout.as_ref().is_some_and(|c| {
            c.offer_code.as_deref() == Some(code) && c.plan_code == self.plan.code
        });
        if !for_this_offer
            && let Some(why) = refusal(conn, self.user_id, code, self.plan, self.now)?
        {
            return Ok(HostedStep::Refuse(why));
        }
        if let Some(open) = &checkout
            && let (Some(reference), Some(url)) = (&open.reference, &open.url)
        {
            return Ok(self.reuse_or_expire(open, reference, url));
        }
        let customer = match self.customer(conn)? {
            Ok(customer) => customer,
            Err(step) => return Ok(step),
        };
        let checkout = match checkout {
            // Being opened by another request (or left half-way): the same key asks again; one
            // for something else is expired once it has its page.
            Some(pending) => pending,
            None => {
                let Some(started) = self.start_checkout(conn, Some(code))? else {
                    return Ok(HostedStep::Done(Subscribed::PaymentUnderWay));
                };
                if let Err(why) = take(conn, self.user_id, code, self.now)? {
                    db::hosted_checkouts::close(conn, started.id)?;
                    return Ok(HostedStep::Refuse(why));
                }
                tracing::info!(
                    user_id = self.user_id.get(),
                    offer = code,
                    "offer redeemed: its checkout is being opened"
                );
                started
            }
        };
        Ok(HostedStep::Open {
            offer: checkout_offer(conn, &checkout)?,
            checkout: Box::new(checkout),
            customer,
        })
    }

    /// The reader's customer at the processor, written first if need be; or the step that
    /// makes it.
    fn customer(&self, conn: &mut PgConnection) -> QueryResult<Result<String, HostedStep>> {
        let customer = db::gateway_customers::start(
            conn,
            self.user_id,
            self.gateway,
            self.customer_key,
            self.now,
        )?;
        Ok(match customer.reference {
            Some(reference) => Ok(reference),
            None if customer.created_at <= self.now - CUSTOMER_KEY_FORGOTTEN => {
                Err(HostedStep::FindCustomer {
                    lost_key: customer.request_key,
                })
            }
            None => Err(HostedStep::CreateCustomer {
                request_key: customer.request_key,
            }),
        })
    }

    /// No subscription at the processor: the reader's open checkout, or the way to one (the
    /// customer first, then the checkout).
    fn toward_checkout(&self, conn: &mut PgConnection) -> QueryResult<HostedStep> {
        let checkout = db::hosted_checkouts::find(conn, self.user_id)?;
        if let Some(open) = &checkout
            && let (Some(reference), Some(url)) = (&open.reference, &open.url)
        {
            return Ok(self.reuse_or_expire(open, reference, url));
        }
        let customer = match self.customer(conn)? {
            Ok(customer) => customer,
            Err(step) => return Ok(step),
        };
        let checkout = match checkout {
            // Being opened by another request (or left half-way): the same key asks again.
            Some(pending) => pending,
            None => match self.start_checkout(conn, None)? {
                Some(started) => started,
                None => return Ok(HostedStep::Done(Subscribed::PaymentUnderWay)),
            },
        };
        Ok(HostedStep::Open {
            offer: checkout_offer(conn, &checkout)?,
            checkout: Box::new(checkout),
            customer,
        })
    }

    /// The checkout page the reader was sent to: still theirs to pay if it is for this plan
    /// (and for the offer asked for, if one is) and has time left, expired otherwise.
    fn reuse_or_expire(&self, open: &HostedCheckout, reference: &str, url: &str) -> HostedStep {
        let payable = open
            .expires_at
            .is_some_and(|expires| expires > self.now + REUSE_MARGIN);
        let wanted = open.plan_code == self.plan.code
            && (self.offer.is_none() || open.offer_code.as_deref() == self.offer);
        if wanted && payable {
            HostedStep::Done(Subscribed::ContinueAt {
                url: url.to_string(),
            })
        } else {
            HostedStep::Expire {
                checkout_id: open.id,
                reference: reference.to_string(),
            }
        }
    }

    /// Writes the reader's checkout (for `offer`, if any), under its key, before the processor
    /// is asked to open it; `None` when another checkout of the reader's is under way.
    fn start_checkout(
        &self,
        conn: &mut PgConnection,
        offer: Option<&str>,
    ) -> QueryResult<Option<HostedCheckout>> {
        let new = NewHostedCheckout {
            user_id: self.user_id,
            gateway: self.gateway,
            plan_code: &self.plan.code,
            request_key: self.checkout_key,
            return_to: self.next,
            started_at: self.now,
            checked_at: self.now,
            offer_code: offer,
        };
        db::hosted_checkouts::open(conn, &new)
    }
}
