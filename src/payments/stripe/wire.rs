//! Stripe's objects as its API sends them (only the fields Gazette reads), and what they mean
//! in [`hosted`](crate::payments::hosted)'s plain terms.
//!
//! Requests pin an API version ([`super::API_VERSION`]), but events are shaped by the version
//! of the endpoint that receives them, so the few fields read from an event are read in every
//! shape they have had (an invoice's subscription moved under `parent` in 2025), and a period
//! is read from the subscription or, in newer versions, from its item.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::payments::hosted::{
    About, CheckoutState, HeldStatus, HeldSubscription, HostedError, Money, Notification,
    UnpaidInvoice,
};

/// Metadata key naming the Gazette reader on customers, checkouts and subscriptions.
pub const READER_KEY: &str = "gazette_user_id";
/// Metadata key on a subscription naming the request key of the checkout that created it.
pub const CHECKOUT_KEY: &str = "gazette_checkout";
/// Metadata key on a subscription naming the offer its checkout was opened for.
pub const OFFER_KEY: &str = "gazette_offer";
/// A coupon Gazette makes for an offer is this, then the offer's code.
pub const COUPON_PREFIX: &str = "gazette-";

/// The events Gazette acts on: the webhook endpoint should send these, and reconciliation
/// asks for these (Stripe accepts at most 20 types in one listing).
pub const HANDLED_EVENTS: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "customer.deleted",
];

#[derive(Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// A reference that may come as an id or as the expanded object.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Id {
    Plain(String),
    Object { id: String },
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Self::Plain(id) | Self::Object { id } => id,
        }
    }
}

#[derive(Deserialize)]
pub struct Created {
    pub id: String,
}

#[derive(Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub created: i64,
}

#[derive(Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    pub expires_at: i64,
    #[serde(default)]
    pub subscription: Option<Id>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
}

impl Session {
    pub fn state(self) -> CheckoutState {
        match self.status.as_deref() {
            // A one-time payment counts once the money is in: one by a delayed method is still
            // on its way when the page completes (its own event follows).
            Some("complete")
                if self.mode.as_deref() == Some("payment")
                    && self.payment_status.as_deref() != Some("paid") =>
            {
                CheckoutState::Open
            }
            Some("complete") => CheckoutState::Complete {
                subscription: self.subscription.map(Id::into_string),
            },
            Some("expired") => CheckoutState::Expired,
            _ => CheckoutState::Open,
        }
    }
}

#[derive(Deserialize)]
pub struct Recurring {
    pub interval: String,
    #[serde(default = "one")]
    pub interval_count: i64,
}

fn one() -> i64 {
    1
}

impl Recurring {
    /// The period in whole months; `None` for days or weeks, which no plan has.
    pub fn months(&self) -> Option<i64> {
        match self.interval.as_str() {
            "month" => Some(self.interval_count),
            "year" => self.interval_count.checked_mul(12),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
pub struct Price {
    pub id: String,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    pub currency: String,
    #[serde(default)]
    pub recurring: Option<Recurring>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
pub struct Item {
    pub id: String,
    pub price: Price,
    #[serde(default)]
    pub current_period_start: Option<i64>,
    #[serde(default)]
    pub current_period_end: Option<i64>,
}

#[derive(Deserialize)]
pub struct Invoice {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub amount_due: i64,
    #[serde(default)]
    pub amount_remaining: Option<i64>,
    pub currency: String,
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
}

/// The latest invoice: expanded when asked for, otherwise only its id (not read).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum InvoiceRef {
    Object(Invoice),
    Unexpanded(serde::de::IgnoredAny),
}

/// A coupon as Stripe holds it.
#[derive(Deserialize)]
pub struct Coupon {
    pub id: String,
    #[serde(default)]
    pub percent_off: Option<f64>,
    #[serde(default)]
    pub amount_off: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub duration_in_months: Option<i64>,
}

/// The discount a subscription carries (API versions before 2025 name it `discount`).
#[derive(Deserialize)]
pub struct Discount {
    pub coupon: Coupon,
    #[serde(default)]
    pub start: Option<i64>,
}

#[derive(Deserialize)]
pub struct InvoiceSettings {
    #[serde(default)]
    pub default_payment_method: Option<Value>,
}

/// A subscription's customer: its id, or the customer itself when expanded.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum CustomerRef {
    Plain(String),
    Object {
        id: String,
        #[serde(default)]
        invoice_settings: Option<InvoiceSettings>,
    },
}

/// Whether a payment method is named (an id or an expanded object, not null).
fn names_a_payment_method(value: Option<&Value>) -> bool {
    value.is_some_and(|value| !value.is_null())
}

impl CustomerRef {
    /// Whether the customer has a default payment method; `None` when not expanded.
    fn has_payment_method(&self) -> Option<bool> {
        match self {
            Self::Plain(_) => None,
            Self::Object {
                invoice_settings, ..
            } => Some(names_a_payment_method(
                invoice_settings
                    .as_ref()
                    .and_then(|s| s.default_payment_method.as_ref()),
            )),
        }
    }

    fn into_id(self) -> String {
        match self {
            Self::Plain(id) | Self::Object { id, .. } => id,
        }
    }
}

#[derive(Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer: CustomerRef,
    pub status: String,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default)]
    pub canceled_at: Option<i64>,
    #[serde(default)]
    pub ended_at: Option<i64>,
    #[serde(default)]
    pub current_period_start: Option<i64>,
    #[serde(default)]
    pub current_period_end: Option<i64>,
    pub items: List<Item>,
    #[serde(default)]
    pub latest_invoice: Option<InvoiceRef>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub trial_end: Option<i64>,
    #[serde(default)]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub default_payment_method: Option<Value>,
}

fn instant(seconds: i64) -> Result<OffsetDateTime, HostedError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| HostedError::Refused(format!("a time out of range: {seconds}")))
}

impl Subscription {
    /// In plain terms; `plans` maps Stripe price ids to Gazette plan codes.
    pub fn held(self, plans: &HashMap<String, String>) -> Result<HeldSubscription, HostedError> {
        let item = match self.items.data.as_slice() {
            [item] => Some(item),
            _ => None,
        };
        let start = self
            .current_period_start
            .or(item.and_then(|i| i.current_period_start))
            .ok_or_else(|| HostedError::Refused(format!("{} has no period", self.id)))?;
        let end = self
            .current_period_end
            .or(item.and_then(|i| i.current_period_end))
            .ok_or_else(|| HostedError::Refused(format!("{} has no period", self.id)))?;
        let status = match self.status.as_str() {
            "incomplete" => HeldStatus::Incomplete,
            "trialing" | "active" => HeldStatus::Active,
            "past_due" => HeldStatus::PastDue,
            "unpaid" | "paused" => HeldStatus::Unpaid,
            "canceled" | "incomplete_expired" => HeldStatus::Ended,
            other => HeldStatus::Unknown(other.to_string()),
        };
        let unpaid_invoice = match self.latest_invoice {
            Some(InvoiceRef::Object(invoice))
                if matches!(invoice.status.as_deref(), Some("open" | "uncollectible")) =>
            {
                Some(UnpaidInvoice {
                    amount: Money {
                        minor_units: invoice.amount_remaining.unwrap_or(invoice.amount_due),
                        currency: invoice.currency.to_ascii_uppercase(),
                    },
                    url: invoice.hosted_invoice_url,
                })
            }
            _ => None,
        };
        let payment_method = if names_a_payment_method(self.default_payment_method.as_ref()) {
            Some(true)
        } else {
            self.customer.has_payment_method()
        };
        let offer_code = self.metadata.get(OFFER_KEY).cloned().or_else(|| {
            let coupon = &self.discount.as_ref()?.coupon.id;
            coupon.strip_prefix(COUPON_PREFIX).map(str::to_string)
        });
        Ok(HeldSubscription {
            offer_code,
            trial_end: self.trial_end.map(instant).transpose()?,
            discount_start: self
                .discount
                .as_ref()
                .and_then(|d| d.start)
                .map(instant)
                .transpose()?,
            payment_method,
            plan_code: item.and_then(|i| plans.get(&i.price.id).cloned()),
            price: item.map(|i| i.price.id.clone()),
            item: item.map(|i| i.id.clone()),
            reference: self.id,
            customer: self.customer.into_id(),
            status,
            current_period_start: instant(start)?,
            current_period_end: instant(end)?,
            cancel_at_period_end: self.cancel_at_period_end,
            canceled_at: self.canceled_at.map(instant).transpose()?,
            ended_at: self.ended_at.map(instant).transpose()?,
            checkout_key: self.metadata.get(CHECKOUT_KEY).cloned(),
            unpaid_invoice,
        })
    }
}

#[derive(Deserialize)]
pub struct PortalSession {
    pub url: String,
}

#[derive(Deserialize)]
pub struct EventData {
    pub object: Value,
}

#[derive(Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

/// An id at `path` in an event's object, whether given as a string or an expanded object.
fn id_at(object: &Value, path: &[&str]) -> Option<String> {
    let mut value = object;
    for key in path {
        value = value.get(key)?;
    }
    match value {
        Value::String(id) => Some(id.clone()),
        Value::Object(fields) => fields.get("id")?.as_str().map(str::to_string),
        _ => None,
    }
}

impl Event {
    pub fn notification(self) -> Notification {
        let object = &self.data.object;
        let handled = HANDLED_EVENTS.contains(&self.kind.as_str());
        let about = match self.kind.as_str() {
            _ if !handled => About::Other,
            kind if kind.starts_with("checkout.session.") => {
                match (id_at(object, &["id"]), object.get("mode")) {
                    // Gazette's checkouts: a subscription's first payment, or a gift's payment.
                    (Some(checkout), Some(Value::String(mode)))
                        if mode == "subscription" || mode == "payment" =>
                    {
                        About::Checkout {
                            checkout,
                            customer: id_at(object, &["customer"]),
                            subscription: id_at(object, &["subscription"]),
                        }
                    }
                    _ => About::Other,
                }
            }
            "customer.subscription.trial_will_end" => {
                match (id_at(object, &["customer"]), id_at(object, &["id"])) {
                    (Some(customer), Some(subscription)) => About::TrialEnding {
                        customer,
                        subscription,
                    },
                    _ => About::Other,
                }
            }
            kind if kind.starts_with("customer.subscription.") => {
                match (id_at(object, &["customer"]), id_at(object, &["id"])) {
                    (Some(customer), Some(subscription)) => About::Subscription {
                        customer,
                        subscription,
                    },
                    _ => About::Other,
                }
            }
            kind if kind.starts_with("invoice.") => {
                let subscription = id_at(object, &["subscription"])
                    .or_else(|| id_at(object, &["parent", "subscription_details", "subscription"]));
                match (id_at(object, &["customer"]), subscription) {
                    (Some(customer), Some(subscription)) => About::Subscription {
                        customer,
                        subscription,
                    },
                    // An invoice of no subscription (a one-off sale) is not Gazette's.
                    _ => About::Other,
                }
            }
            "customer.deleted" => match id_at(object, &["id"]) {
                Some(customer) => About::CustomerDeleted { customer },
                None => About::Other,
            },
            _ => About::Other,
        };
        Notification {
            id: self.id,
            kind: self.kind,
            about,
        }
    }
}

/// Stripe's error body.
#[derive(Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    /// The request's parameter the error is about (`customer`), when it is about one.
    #[serde(default)]
    pub param: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(value: Value) -> Notification {
        serde_json::from_value::<Event>(value)
            .unwrap()
            .notification()
    }

    #[test]
    fn an_invoice_names_its_subscription_in_the_old_and_the_new_shape() {
        let old = event(serde_json::json!({
            "id": "evt_1", "type": "invoice.paid",
            "data": {"object": {"id": "in_1", "customer": "cus_1", "subscription": "sub_1"}}
        }));
        let new = event(serde_json::json!({
            "id": "evt_2", "type": "invoice.paid",
            "data": {"object": {"id": "in_1", "customer": "cus_1", "subscription": null,
                "parent": {"subscription_details": {"subscription": "sub_1"}}}}
        }));
        let expected = About::Subscription {
            customer: "cus_1".into(),
            subscription: "sub_1".into(),
        };
        assert_eq!(old.about, expected);
        assert_eq!(new.about, expected);
    }

    #[test]
    fn events_gazette_does_not_act_on_are_about_nothing() {
        for value in [
            serde_json::json!({"id": "evt_1", "type": "charge.refunded",
                "data": {"object": {"id": "ch_1", "customer": "cus_1"}}}),
            serde_json::json!({"id": "evt_2", "type": "checkout.session.completed",
                "data": {"object": {"id": "cs_1", "mode": "setup", "customer": "cus_1"}}}),
            serde_json::json!({"id": "evt_3", "type": "invoice.paid",
                "data": {"object": {"id": "in_1", "customer": "cus_1", "subscription": null}}}),
        ] {
            assert_eq!(event(value).about, About::Other);
        }
        // A one-time payment's checkout may be a gift's: billing finds out whose it is.
        let payment = event(
            serde_json::json!({"id": "evt_4", "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_2", "mode": "payment", "customer": null}}}),
        );
        assert_eq!(
            payment.about,
            About::Checkout {
                checkout: "cs_2".into(),
                customer: None,
                subscription: None
            }
        );
    }

    #[test]
    fn a_period_is_read_from_the_subscription_or_its_item() {
        let plans = HashMap::from([("price_m".to_string(), "monthly".to_string())]);
        let newer: Subscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "customer": {"id": "cus_1"}, "status": "past_due",
            "items": {"data": [{"id": "si_1", "price": {"id": "price_m", "currency": "usd"},
                "current_period_start": 1_790_000_000, "current_period_end": 1_792_592_000}]},
            "latest_invoice": {"id": "in_1", "status": "open", "amount_due": 800,
                "currency": "usd", "hosted_invoice_url": "https://invoice.example/in_1"}
        }))
        .unwrap();
        let held = newer.held(&plans).unwrap();
        assert_eq!(held.plan_code.as_deref(), Some("monthly"));
        assert_eq!(held.status, HeldStatus::PastDue);
        assert_eq!(held.current_period_start.unix_timestamp(), 1_790_000_000);
        assert_eq!(
            held.unpaid_invoice.unwrap().amount,
            Money {
                minor_units: 800,
                currency: "USD".into()
            }
        );
    }

    #[test]
    fn a_trial_ending_soon_is_its_own_notice_about_the_subscription() {
        let notice = event(serde_json::json!({
            "id": "evt_1", "type": "customer.subscription.trial_will_end",
            "data": {"object": {"id": "sub_1", "customer": "cus_1", "status": "trialing"}}
        }));
        assert_eq!(
            notice.about,
            About::TrialEnding {
                customer: "cus_1".into(),
                subscription: "sub_1".into()
            }
        );
        assert!(
            HANDLED_EVENTS.len() <= 20,
            "Stripe lists at most 20 types at once"
        );
    }

    #[test]
    fn a_subscription_says_its_offer_trial_discount_and_payment_method() {
        let plans = HashMap::from([("price_m".to_string(), "monthly".to_string())]);
        let read = |value: Value| {
            serde_json::from_value::<Subscription>(value)
                .unwrap()
                .held(&plans)
                .unwrap()
        };
        let item = serde_json::json!({"data": [{"id": "si_1",
            "price": {"id": "price_m", "currency": "usd"}}]});
        let trial = read(serde_json::json!({
            "id": "sub_1", "status": "trialing", "items": item,
            "current_period_start": 1_000, "current_period_end": 2_000, "trial_end": 2_000,
            "customer": {"id": "cus_1", "invoice_settings": {"default_payment_method": null}},
            "default_payment_method": null, "metadata": {"gazette_offer": "try"}
        }));
        assert_eq!(trial.status, HeldStatus::Active, "a trial gives access");
        assert_eq!(trial.offer_code.as_deref(), Some("try"));
        assert_eq!(trial.trial_end.map(|t| t.unix_timestamp()), Some(2_000));
        assert_eq!(trial.payment_method, Some(false));
        assert_eq!(trial.customer, "cus_1");
        let carded = read(serde_json::json!({
            "id": "sub_1", "status": "trialing", "items": item,
            "current_period_start": 1_000, "current_period_end": 2_000,
            "customer": {"id": "cus_1", "invoice_settings": {"default_payment_method": "pm_1"}}
        }));
        assert_eq!(carded.payment_method, Some(true));
        let discounted = read(serde_json::json!({
            "id": "sub_1", "status": "active", "items": item, "customer": "cus_1",
            "current_period_start": 1_000, "current_period_end": 2_000,
            "discount": {"coupon": {"id": "gazette-half", "percent_off": 50.0}, "start": 1_000}
        }));
        assert_eq!(
            discounted.offer_code.as_deref(),
            Some("half"),
            "from the coupon"
        );
        assert_eq!(
            discounted.discount_start.map(|t| t.unix_timestamp()),
            Some(1_000)
        );
        assert_eq!(discounted.payment_method, None, "the customer was not read");
        let other = read(serde_json::json!({
            "id": "sub_1", "status": "active", "items": item, "customer": "cus_1",
            "current_period_start": 1_000, "current_period_end": 2_000,
            "discount": {"coupon": {"id": "SUMMER"}, "start": 1_000}
        }));
        assert_eq!(other.offer_code, None, "another coupon names no offer");
    }

    #[test]
    fn a_price_that_is_not_a_plan_makes_a_subscription_not_gazettes() {
        let plans = HashMap::from([("price_m".to_string(), "monthly".to_string())]);
        let other: Subscription = serde_json::from_value(serde_json::json!({
            "id": "sub_1", "customer": "cus_1", "status": "active",
            "current_period_start": 1, "current_period_end": 2,
            "items": {"data": [{"id": "si_1", "price": {"id": "price_other", "currency": "usd"}}]}
        }))
        .unwrap();
        let held = other.held(&plans).unwrap();
        assert_eq!(held.plan_code, None);
        assert_eq!(
            held.price.as_deref(),
            Some("price_other"),
            "named for the logs"
        );
    }
}
