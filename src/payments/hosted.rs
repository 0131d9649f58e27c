//! A processor that runs the subscription itself: it keeps the reader as a customer, takes the
//! first payment on its own hosted page, renews by itself, offers its own page for managing
//! the card and invoices, and reports every change in signed events.
//!
//! Rules:
//! - Everything here is the processor's word, in plain values; what it means for a reader is
//!   `billing`'s to decide. A subscription is always re-read from the processor before it is
//!   applied ([`HostedGateway::subscription`]): an event only says *which* object changed, so
//!   events arriving twice, late or out of order cannot apply an old state.
//! - Requests that create something carry the caller's idempotency key, so a repeated request
//!   (a double click, a retry after a lost answer) gets the first answer.
//! - An event is trusted only once its signature is checked against the raw body
//!   ([`HostedGateway::verify`]); anything else is [`Rejected`].
//! - An offer rides on the hosted checkout ([`CheckoutOffer`]): a discount, or a free trial,
//!   never both; the processor applies it to the subscription it creates, and says so when the
//!   subscription is read ([`HeldSubscription::offer_code`], `trial_end`, `discount_start`).
//!   A discount can also be applied to a live subscription (a retention offer,
//!   [`HostedGateway::apply_discount`]), under the same coupon.
//! - A price that is no plan of Gazette's is reported as such (`plan_code: None`, with the
//!   processor's price id), never guessed at: whether the subscription is Gazette's all the
//!   same (one it recorded) is `billing`'s to know.

use std::future::Future;
use std::pin::Pin;

use time::OffsetDateTime;

/// An amount in the currency's smallest unit (cents for USD, yen for JPY), with its ISO 4217
/// code in capitals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    pub minor_units: i64,
    pub currency: String,
}

/// Why the processor's answer could not be had or used.
#[derive(Debug, thiserror::Error)]
pub enum HostedError {
    /// No answer, a timeout, a server error or a rate limit: nothing is known; ask again later.
    #[error("the payment processor could not be reached: {0}")]
    Unavailable(String),
    /// The processor has no such object.
    #[error("the payment processor has no {0}")]
    Missing(String),
    /// The processor no longer has the customer the request named (deleted there): asking
    /// again for that customer will not help; a new one must be made.
    #[error("the payment processor no longer has the customer: {0}")]
    CustomerGone(String),
    /// The processor refused the request, or answered something unreadable: asking again the
    /// same way will not help.
    #[error("the payment processor refused the request: {0}")]
    Refused(String),
}

pub type HostedFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, HostedError>> + Send + 'a>>;

/// A customer to create for a reader.
#[derive(Clone, Debug)]
pub struct CustomerRequest {
    pub user_id: i64,
    pub email: String,
    pub idempotency_key: String,
}

/// A customer as the processor holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldCustomer {
    pub reference: String,
    pub email: Option<String>,
}

/// A hosted checkout page to open for a reader's first payment of `plan_code`.
#[derive(Clone, Debug)]
pub struct CheckoutRequest {
    pub user_id: i64,
    pub customer: String,
    pub plan_code: String,
    /// Where the processor sends the reader after paying; `{CHECKOUT}` is replaced by the
    /// processor with the checkout's reference.
    pub success_url: String,
    /// Where the processor sends the reader who leaves without paying.
    pub cancel_url: String,
    /// Keys the request, and is kept on the subscription it creates (so the subscription can
    /// be matched to the checkout, whichever event arrives first).
    pub idempotency_key: String,
    /// The offer the checkout is for, if any.
    pub offer: Option<CheckoutOffer>,
}

/// A hosted checkout page to open for a one-time payment (a gift subscription): a single
/// line of `amount`, described to the payer as `description`.
#[derive(Clone, Debug)]
pub struct PaymentRequest {
    pub user_id: i64,
    /// Where the processor's receipt goes.
    pub email: String,
    pub description: String,
    pub amount: Money,
    /// As [`CheckoutRequest::success_url`], `{CHECKOUT}` replaced by the checkout's reference.
    pub success_url: String,
    pub cancel_url: String,
    /// Keys the request: asking again under it gets the same page.
    pub idempotency_key: String,
}

/// An offer a hosted checkout applies to the subscription it creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutOffer {
    /// Gazette's code for it (lower case), kept on the subscription.
    pub code: String,
    pub deal: CheckoutDeal,
}

/// What an offer gives: a discount or a free trial, never both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckoutDeal {
    Discount {
        off: CouponOff,
        duration: CouponDuration,
    },
    /// Days free before the first charge; no payment method is asked for now, and the
    /// subscription ends with the trial if none was given by then.
    Trial { days: i32 },
}

/// What a discount takes off each invoice it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CouponOff {
    Percent(i32),
    Amount(Money),
}

/// Which invoices a discount applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CouponDuration {
    /// The first.
    Once,
    /// Those of the first this many months.
    Months(i32),
    Forever,
}

/// The page the processor opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedCheckout {
    pub reference: String,
    pub url: String,
    pub expires_at: OffsetDateTime,
}

/// What became of a hosted checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckoutState {
    /// Not paid yet; it can still be.
    Open,
    /// Paid (or a payment is on its way): the subscription it created, when there is one.
    Complete { subscription: Option<String> },
    /// Expired or closed: it can no longer be paid.
    Expired,
}

/// A subscription's status at the processor, in the terms that matter to Gazette.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeldStatus {
    /// Created, the first payment not made yet (for example awaiting authentication).
    Incomplete,
    /// Paid up (or in a trial) for the current period.
    Active,
    /// A renewal could not be charged; the processor is still trying.
    PastDue,
    /// The processor stopped trying (or paused it): the reader must pay to carry on.
    Unpaid,
    /// Over for good.
    Ended,
    /// A status this code does not know; nothing is changed because of it.
    Unknown(String),
}

/// An invoice the processor could not charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpaidInvoice {
    pub amount: Money,
    /// The processor's page where the reader pays it.
    pub url: Option<String>,
}

/// A subscription as the processor holds it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldSubscription {
    pub reference: String,
    pub customer: String,
    /// The Gazette plan its price is for; `None` when it is not one of Gazette's prices.
    pub plan_code: Option<String>,
    /// The processor's id of the price its one item is on.
    pub price: Option<String>,
    /// The processor's id of the subscription's one item (needed to switch its plan).
    pub item: Option<String>,
    pub status: HeldStatus,
    pub current_period_start: OffsetDateTime,
    pub current_period_end: OffsetDateTime,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    /// The request key of the hosted checkout that created it, when Gazette's checkout did.
    pub checkout_key: Option<String>,
    /// The latest invoice, when it is not paid.
    pub unpaid_invoice: Option<UnpaidInvoice>,
    /// The offer it began with, as Gazette's checkout named it (or its discount names it).
    pub offer_code: Option<String>,
    /// When its free trial ends (or ended), if it had one.
    pub trial_end: Option<OffsetDateTime>,
    /// When the discount it carries began, if it carries one.
    pub discount_start: Option<OffsetDateTime>,
    /// Whether a payment method is on file to charge it with (its own or its customer's);
    /// `None` when this answer does not say.
    pub payment_method: Option<bool>,
}

/// What the processor's billing page opens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortalFlow {
    /// The overview: card, invoices, plan, cancellation.
    Overview,
    /// Straight to confirming a switch of `subscription` (its item `item`) to `plan_code`.
    SwitchPlan {
        subscription: String,
        item: String,
        plan_code: String,
    },
    /// Straight to replacing the card.
    UpdateCard,
}

/// What an event is about; the object itself is always re-read before anything is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum About {
    /// A hosted checkout changed (completed, expired, a delayed payment settled).
    Checkout {
        checkout: String,
        customer: Option<String>,
        subscription: Option<String>,
    },
    /// A subscription changed, or one of its invoices was paid or failed.
    Subscription {
        customer: String,
        subscription: String,
    },
    /// A subscription's free trial ends soon (Stripe: three days before).
    TrialEnding {
        customer: String,
        subscription: String,
    },
    /// The processor deleted a customer.
    CustomerDeleted { customer: String },
    /// Nothing Gazette acts on.
    Other,
}

/// An event from the processor, its signature checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: String,
    /// The processor's name for it (`invoice.paid`), for logs and the events table.
    pub kind: String,
    pub about: About,
}

/// Why an event was not accepted. Each is answered 400 and changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("no signature")]
    Unsigned,
    #[error("the signature header is malformed")]
    MalformedSignature,
    #[error("no signature matches the body")]
    Forged,
    #[error("the signature is older (or newer) than the tolerance allows")]
    Stale,
    #[error("the body is not an event: {0}")]
    Malformed(String),
}

/// A processor that keeps the subscription (see the module's rules).
pub trait HostedGateway: Send + Sync + 'static {
    /// Stored with each subscription, customer, checkout and event, to know whose it is.
    fn name(&self) -> &'static str;
    /// True in the processor's test mode: no real money moves, and pages must say so.
    fn is_test(&self) -> bool;
    /// Origins the processor's pages live on: forms are redirected there, so the site's
    /// `form-action` must allow them.
    fn page_origins(&self) -> Vec<String>;
    fn create_customer(&self, request: CustomerRequest) -> HostedFuture<'_, String>;
    /// The customer made for reader `user_id` (its metadata names the reader), the first made
    /// when there are several. The processor's search lags behind (Stripe: a minute, an hour
    /// in an outage), so a customer made moments ago is had again by its request's key, not
    /// by this.
    fn find_customer(&self, user_id: i64) -> HostedFuture<'_, Option<HeldCustomer>>;
    /// Sets the address the customer's receipts and invoices are sent to.
    fn set_customer_email(
        &self,
        customer: String,
        email: String,
        idempotency_key: String,
    ) -> HostedFuture<'_, ()>;
    fn open_checkout(&self, request: CheckoutRequest) -> HostedFuture<'_, OpenedCheckout>;
    /// Opens a checkout page for a one-time payment; its state is read with
    /// [`HostedGateway::checkout`] (`Complete` once paid, with no subscription).
    fn open_payment(&self, request: PaymentRequest) -> HostedFuture<'_, OpenedCheckout>;
    fn checkout(&self, reference: String) -> HostedFuture<'_, CheckoutState>;
    /// Closes an open checkout so it can no longer be paid; says what became of it (a checkout
    /// paid meanwhile stays `Complete`).
    fn expire_checkout(&self, reference: String) -> HostedFuture<'_, CheckoutState>;
    fn subscription(&self, reference: String) -> HostedFuture<'_, HeldSubscription>;
    /// Every subscription of the customer that is not long over.
    fn subscriptions_of(&self, customer: String) -> HostedFuture<'_, Vec<HeldSubscription>>;
    /// Sets (or takes back) cancellation at the end of the current period.
    fn cancel_at_period_end(
        &self,
        subscription: String,
        cancel: bool,
        idempotency_key: String,
    ) -> HostedFuture<'_, HeldSubscription>;
    /// Applies `offer`'s discount (never a trial: refused) to the live subscription: the
    /// processor takes it off the invoices it charges from then on (the next renewal's first).
    /// Its coupon is the one a checkout for the offer carries; `idempotency_key` makes a
    /// repeated request apply it once.
    fn apply_discount(
        &self,
        subscription: String,
        offer: CheckoutOffer,
        idempotency_key: String,
    ) -> HostedFuture<'_, HeldSubscription>;
    /// Ends the subscription now: no further charge, no refund of the period begun.
    fn cancel_now(&self, subscription: String) -> HostedFuture<'_, HeldSubscription>;
    /// Opens the processor's billing page for the customer; its address.
    fn portal(
        &self,
        customer: String,
        return_url: String,
        flow: PortalFlow,
    ) -> HostedFuture<'_, String>;
    /// Checks an event's signature over the raw body at `now`, and reads it.
    fn verify(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Notification, Rejected>;
    /// Events created since `since` that the processor could not deliver (to any endpoint),
    /// newest first, at most `limit`.
    fn undelivered(
        &self,
        since: OffsetDateTime,
        limit: usize,
    ) -> HostedFuture<'_, Vec<Notification>>;
}
