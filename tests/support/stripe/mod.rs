//! A stand-in for Stripe, served over HTTP from the test process, speaking Stripe's wire
//! format: form-encoded requests with the secret key as the bearer (anything else is a 401),
//! JSON objects with Stripe's field names, lists, errors, idempotency keys honoured (a
//! repeated key gets the first answer, a key still in use a 409, a key reused with other
//! parameters a 400, and a key is forgotten 24 hours after its first use, as Stripe forgets
//! them), customers found by search only a minute after they are made (Stripe's search lags
//! behind), and events signed exactly as Stripe signs them (HMAC-SHA256 of `{t}.{body}` with
//! the endpoint's secret, in `Stripe-Signature`). Every API request is recorded, so tests
//! count the calls the app makes, per endpoint ([`FakeStripe::calls`]).
//!
//! It also serves the pages a reader meets at Stripe: the hosted checkout page (with a Pay
//! button), the billing portal and the invoice page. Tests play Stripe's own part through
//! methods (renew a subscription, fail a payment, deliver events in any order, be down, limit
//! the rate of requests, lose answers on the way back).
//!
//! Times come from the test's clock, as the app's do.

mod server;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gazette::clock::{Clock, ManualClock};
use gazette::payments::stripe::StripeConfig;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;

pub const SECRET_KEY: &str = "sk_test_gazettefake0000000001";
pub const WEBHOOK_SECRET: &str = "whsec_gazettefake0000000001";
pub const MONTHLY: &str = "price_monthly0001";
pub const YEARLY: &str = "price_yearly0001";
/// A price of another product sold on the same account.
pub const OTHER_PRODUCT: &str = "price_otherproduct01";

/// A price as the fake sells it.
#[derive(Clone, Debug)]
pub struct Price {
    pub id: &'static str,
    pub unit_amount: i64,
    pub currency: &'static str,
    pub months: i32,
}

/// An event the fake created, and whether the app took it.
#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub body: String,
    pub delivered: bool,
    pub attempts: usize,
}

/// One API request as it arrived.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
    pub authorized: bool,
}

/// What the fake remembers of an idempotency key.
pub(crate) struct KeyUse {
    /// The request's method, path and parameters.
    pub fingerprint: String,
    /// When the key was first used (Stripe forgets it a day later).
    pub first_used: i64,
    /// The first answer, once there is one.
    pub answer: Option<(u16, Value)>,
}

#[derive(Default)]
pub(crate) struct State {
    pub counter: u64,
    pub prices: Vec<Price>,
    pub customers: Vec<Value>,
    pub coupons: Vec<Value>,
    pub sessions: Vec<Value>,
    pub subscriptions: Vec<Value>,
    pub invoices: Vec<Value>,
    pub portals: Vec<Value>,
    pub events: Vec<Event>,
    pub idempotency: HashMap<String, KeyUse>,
    pub requests: Vec<Request>,
}

impl State {
    pub fn id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{:06}", self.counter)
    }

    pub fn price(&self, id: &str) -> Option<Price> {
        self.prices.iter().find(|p| p.id == id).cloned()
    }

    pub fn find<'a>(list: &'a mut [Value], id: &str) -> Option<&'a mut Value> {
        list.iter_mut().find(|object| object["id"] == id)
    }
}

pub(crate) struct Inner {
    pub state: Mutex<State>,
    pub clock: Arc<ManualClock>,
    pub base: String,
    pub webhook: Mutex<Option<String>>,
    pub auto_deliver: AtomicBool,
    pub down: AtomicBool,
    pub latency: Mutex<Duration>,
    /// The next read of this path is answered with the state of its arrival, this much later.
    pub slow_read: Mutex<Option<(String, Duration)>>,
    /// Requests to paths starting with this (or, as `POST /v1/...`, with this method) are
    /// carried out, but their answers are lost on the way back (the app sees a proxy's 504).
    pub answers_lost: Mutex<Option<String>>,
    /// The next this many API requests are refused with this status and error code.
    pub refusals: Mutex<Option<(usize, u16, &'static str)>>,
    pub wake: tokio::sync::Notify,
}

impl Inner {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// Records an event about `object`, as a webhook endpoint on a recent API version gets it.
    pub fn emit(&self, state: &mut State, kind: &str, object: Value) -> String {
        let id = state.id("evt");
        let event = json!({
            "id": id,
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": self.now(),
            "type": kind,
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "data": {"object": object},
        });
        state.events.push(Event {
            id: id.clone(),
            kind: kind.to_string(),
            body: event.to_string(),
            delivered: false,
            attempts: 0,
        });
        if self.auto_deliver.load(Ordering::SeqCst) {
            self.wake.notify_one();
        }
        id
    }

    /// An invoice as an event carries it (recent API versions name the subscription under
    /// `parent`).
    pub fn invoice_for_event(invoice: &Value) -> Value {
        let mut object = invoice.clone();
        let subscription = object["subscription"].clone();
        object["subscription"] = Value::Null;
        object["parent"] = json!({
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription},
        });
        object
    }

    /// Starts a subscription for a completed checkout, with its first invoice paid: nothing
    /// during a trial, the discounted price with a coupon. A card is given on the page unless
    /// the session has a trial and collects a payment method only if required.
    pub fn start_subscription(&self, state: &mut State, session_id: &str) -> Option<String> {
        let session = State::find(&mut state.sessions, session_id)?.clone();
        let price = state.price(session["line_items"][0]["price"].as_str()?)?;
        let customer = session["customer"].as_str()?.to_string();
        let now = self.clock.now();
        let trial_days = session["subscription_data"]["trial_period_days"].as_i64();
        let trial_end = trial_days.map(|days| now + time::Duration::days(days));
        let end = trial_end
            .unwrap_or_else(|| gazette::domain::subscription::add_months(now, price.months));
        let coupon = session["discounts"][0]["coupon"]
            .as_str()
            .and_then(|id| state.coupons.iter().find(|c| c["id"] == id).cloned());
        let card_given =
            trial_end.is_none() || session["payment_method_collection"] != "if_required";
        let sub_id = state.id("sub");
        let item_id = state.id("si");
        let invoice_id = state.id("in");
        let discount = coupon
            .as_ref()
            .map(|coupon| discount_json(coupon, &sub_id, now));
        let amount = if trial_end.is_some() {
            0
        } else {
            discounted(price.unit_amount, discount.as_ref())
        };
        let payment_method = if card_given {
            json!(state.id("pm"))
        } else {
            Value::Null
        };
        let invoice = json!({
            "id": invoice_id, "object": "invoice", "customer": customer,
            "subscription": sub_id, "status": "paid",
            "amount_due": amount, "amount_paid": amount,
            "amount_remaining": 0, "currency": price.currency,
            "subtotal": if trial_end.is_some() { 0 } else { price.unit_amount },
            "hosted_invoice_url": format!("{}/invoice/{invoice_id}", self.base),
            "period_start": now.unix_timestamp(), "period_end": now.unix_timestamp(),
            "billing_reason": "subscription_create",
        });
        let subscription = json!({
            "id": sub_id, "object": "subscription", "customer": customer,
            "status": if trial_end.is_some() { "trialing" } else { "active" },
            "cancel_at_period_end": false,
            "canceled_at": null, "ended_at": null,
            "trial_start": trial_end.map(|_| now.unix_timestamp()),
            "trial_end": trial_end.map(OffsetDateTime::unix_timestamp),
            "trial_settings": session["subscription_data"]["trial_settings"].clone(),
            "discount": discount,
            "default_payment_method": payment_method,
            "current_period_start": now.unix_timestamp(),
            "current_period_end": end.unix_timestamp(),
            "items": {"object": "list", "has_more": false, "data": [{
                "id": item_id, "object": "subscription_item", "quantity": 1,
                "price": price_json(&price),
                "current_period_start": now.unix_timestamp(),
                "current_period_end": end.unix_timestamp(),
            }]},
            "latest_invoice": invoice_id,
            "metadata": session["subscription_data"]["metadata"].clone(),
            "livemode": false,
        });
        state.invoices.push(invoice.clone());
        state.subscriptions.push(subscription.clone());
        let session = State::find(&mut state.sessions, session_id)?;
        session["status"] = json!("complete");
        session["payment_status"] = json!("paid");
        session["subscription"] = json!(sub_id);
        let completed = session.clone();
        self.emit(state, "customer.subscription.created", subscription);
        self.emit(state, "invoice.paid", Self::invoice_for_event(&invoice));
        self.emit(state, "checkout.session.completed", completed);
        Some(sub_id)
    }
}

/// A subscription's discount with `coupon`, starting at `start`.
pub fn discount_json(coupon: &Value, sub_id: &str, start: OffsetDateTime) -> Value {
    let end = match (
        coupon["duration"].as_str(),
        coupon["duration_in_months"].as_i64(),
    ) {
        (Some("repeating"), Some(months)) => json!(
            gazette::domain::subscription::add_months(start, i32::try_from(months).unwrap())
                .unix_timestamp()
        ),
        _ => Value::Null,
    };
    json!({
        "id": format!("di_{}", &sub_id[4..]), "object": "discount", "coupon": coupon,
        "start": start.unix_timestamp(), "end": end, "subscription": sub_id,
    })
}

/// What an invoice of `unit_amount` comes to with `discount` (if any), as Stripe rounds.
pub fn discounted(unit_amount: i64, discount: Option<&Value>) -> i64 {
    let Some(coupon) = discount.map(|d| &d["coupon"]) else {
        return unit_amount;
    };
    let off = if let Some(percent) = coupon["percent_off"].as_f64() {
        (unit_amount as f64 * percent / 100.0).round() as i64
    } else {
        coupon["amount_off"].as_i64().unwrap_or(0)
    };
    (unit_amount - off).max(0)
}

pub fn price_json(price: &Price) -> Value {
    let (interval, count) = if price.months % 12 == 0 {
        ("year", price.months / 12)
    } else {
        ("month", price.months)
    };
    json!({
        "id": price.id, "object": "price", "active": true, "type": "recurring",
        "currency": price.currency, "unit_amount": price.unit_amount,
        "recurring": {"interval": interval, "interval_count": count},
        "product": "prod_gazette",
    })
}

/// What a renewal does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    Paid,
    Declined,
}

pub struct FakeStripe {
    inner: Arc<Inner>,
    pub url: String,
    http: reqwest::Client,
}

impl FakeStripe {
    /// Starts the fake on a free port, with Gazette's two prices (as the demo plans are, in
    /// dollars) and another product's.
    pub async fn start(clock: Arc<ManualClock>) -> Self {
        Self::start_selling(clock, "usd", 800, 8000).await
    }

    /// As [`FakeStripe::start`], with Gazette's monthly and yearly prices in `currency` (in
    /// its smallest unit, as Stripe counts it).
    pub async fn start_selling(
        clock: Arc<ManualClock>,
        currency: &'static str,
        monthly: i64,
        yearly: i64,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = State {
            prices: vec![
                Price {
                    id: MONTHLY,
                    unit_amount: monthly,
                    currency,
                    months: 1,
                },
                Price {
                    id: YEARLY,
                    unit_amount: yearly,
                    currency,
                    months: 12,
                },
                Price {
                    id: OTHER_PRODUCT,
                    unit_amount: 500,
                    currency: "usd",
                    months: 1,
                },
            ],
            ..State::default()
        };
        let inner = Arc::new(Inner {
            state: Mutex::new(state),
            clock,
            base: url.clone(),
            webhook: Mutex::new(None),
            auto_deliver: AtomicBool::new(false),
            down: AtomicBool::new(false),
            latency: Mutex::new(Duration::ZERO),
            slow_read: Mutex::new(None),
            answers_lost: Mutex::new(None),
            refusals: Mutex::new(None),
            wake: tokio::sync::Notify::new(),
        });
        server::serve(listener, inner.clone());
        let http = super::http_client()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let fake = Self { inner, url, http };
        fake.spawn_deliveries();
        fake
    }

    /// Settings for an app that pays through this fake.
    pub fn config(&self) -> StripeConfig {
        StripeConfig {
            secret_key: SECRET_KEY.to_string(),
            webhook_secret: WEBHOOK_SECRET.to_string(),
            api_base: self.url.parse().unwrap(),
            prices: vec![
                ("monthly".to_string(), MONTHLY.to_string()),
                ("yearly".to_string(), YEARLY.to_string()),
            ],
        }
    }

    pub fn clock(&self) -> Arc<ManualClock> {
        self.inner.clock.clone()
    }

    /// Where events are sent (the app's webhook endpoint).
    pub fn send_webhooks_to(&self, url: &str) {
        *self.inner.webhook.lock().unwrap() = Some(url.to_string());
    }

    /// Events are sent as soon as they happen (in the background), as Stripe does.
    pub fn deliver_automatically(&self, on: bool) {
        self.inner.auto_deliver.store(on, Ordering::SeqCst);
        if on {
            self.inner.wake.notify_one();
        }
    }

    /// While down, every API request is answered 503.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    /// Every POST that carries an idempotency key takes this long (so concurrent requests
    /// overlap).
    pub fn set_latency(&self, latency: Duration) {
        *self.inner.latency.lock().unwrap() = latency;
    }

    /// The next `GET path` is answered with the state as it was when it arrived, `delay`
    /// later (a slow answer, overtaken by later ones).
    pub fn slow_next_read(&self, path: &str, delay: Duration) {
        *self.inner.slow_read.lock().unwrap() = Some((path.to_string(), delay));
    }

    /// Requests to paths starting with `prefix` (or, as `POST /v1/...`, with this method) are
    /// still carried out, but their answers never reach the app (a proxy in between answers
    /// 504); `None` ends it.
    pub fn lose_answers_to(&self, prefix: Option<&str>) {
        *self.inner.answers_lost.lock().unwrap() = prefix.map(str::to_string);
    }

    /// Stripe's rate limiter refuses the next `count` API requests (429 `rate_limit`).
    pub fn rate_limit_next(&self, count: usize) {
        *self.inner.refusals.lock().unwrap() = Some((count, 429, "rate_limit"));
    }

    /// The next `count` API requests meet a lock on their object (429 `lock_timeout`), which
    /// Stripe says may be tried again at once.
    pub fn lock_timeout_next(&self, count: usize) {
        *self.inner.refusals.lock().unwrap() = Some((count, 429, "lock_timeout"));
    }

    /// Something about the subscription changes that Gazette does not read (its metadata):
    /// a `customer.subscription.updated` with the same state.
    pub fn touch(&self, sub_id: &str) {
        let mut state = self.inner.state();
        let subscription = State::find(&mut state.subscriptions, sub_id).expect("the subscription");
        subscription["metadata"]["touched"] = json!("yes");
        let updated = subscription.clone();
        self.inner
            .emit(&mut state, "customer.subscription.updated", updated);
    }

    /// The reader cancels at the period's end in the portal (a `customer.subscription.updated`).
    pub fn cancel_at_period_end(&self, sub_id: &str) {
        let mut state = self.inner.state();
        let now = self.inner.now();
        let subscription = State::find(&mut state.subscriptions, sub_id).expect("the subscription");
        subscription["cancel_at_period_end"] = json!(true);
        subscription["canceled_at"] = json!(now);
        let updated = subscription.clone();
        self.inner
            .emit(&mut state, "customer.subscription.updated", updated);
    }

    /// A price the publisher adds in Stripe's dashboard (one `STRIPE_PRICES` does not name).
    pub fn add_price(&self, price: Price) {
        self.inner.state().prices.push(price);
    }

    /// The subscription is moved to another price (the publisher migrates its prices, or the
    /// portal offers another price of the product): a `customer.subscription.updated`.
    pub fn move_to_price(&self, sub_id: &str, price_id: &str) {
        let mut state = self.inner.state();
        let price = state.price(price_id).expect("the price exists");
        let subscription = State::find(&mut state.subscriptions, sub_id).expect("the subscription");
        subscription["items"]["data"][0]["price"] = price_json(&price);
        let updated = subscription.clone();
        self.inner
            .emit(&mut state, "customer.subscription.updated", updated);
    }

    /// Stripe stops retrying a failed renewal and, as the account's settings say, marks the
    /// subscription unpaid (it stays, its invoices are no longer attempted).
    pub fn mark_unpaid(&self, sub_id: &str) {
        let mut state = self.inner.state();
        let subscription = State::find(&mut state.subscriptions, sub_id).expect("the subscription");
        subscription["status"] = json!("unpaid");
        let updated = subscription.clone();
        self.inner
            .emit(&mut state, "customer.subscription.updated", updated);
    }

    /// A customer made at Stripe (by the publisher, or by Gazette before its answer was lost).
    pub fn new_customer(&self, email: &str) -> String {
        let mut state = self.inner.state();
        let customer = state.id("cus");
        state
            .customers
            .push(json!({"id": customer, "object": "customer", "email": email, "metadata": {}}));
        customer
    }

    /// The publisher deletes the customer in Stripe's dashboard: Stripe cancels its
    /// subscriptions at once (`customer.subscription.deleted` each) and the customer is gone
    /// (`customer.deleted`).
    pub fn delete_customer(&self, customer: &str) {
        let live: Vec<String> = self
            .subscriptions_of(customer)
            .into_iter()
            .filter(|s| s["status"] != "canceled")
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        for sub in live {
            server::cancel_now(&self.inner, &sub).expect("the subscription exists");
        }
        let mut state = self.inner.state();
        let at = state
            .customers
            .iter()
            .position(|c| c["id"] == customer)
            .expect("the customer exists");
        let deleted = state.customers.remove(at);
        let gone = json!({"id": deleted["id"], "object": "customer", "deleted": true});
        self.inner.emit(&mut state, "customer.deleted", gone);
    }

    /// Stripe no longer has the subscription at all (test data deleted in the dashboard):
    /// reading or cancelling it is a 404.
    pub fn forget_subscription(&self, sub_id: &str) {
        self.inner
            .state()
            .subscriptions
            .retain(|s| s["id"] != sub_id);
    }

    fn spawn_deliveries(&self) {
        let inner = self.inner.clone();
        let http = self.http.clone();
        tokio::spawn(async move {
            loop {
                inner.wake.notified().await;
                if inner.auto_deliver.load(Ordering::SeqCst) {
                    let pending: Vec<String> = inner
                        .state()
                        .events
                        .iter()
                        .filter(|e| !e.delivered && e.attempts == 0)
                        .map(|e| e.id.clone())
                        .collect();
                    for id in pending {
                        deliver(&inner, &http, &id).await;
                    }
                }
            }
        });
    }

    // ---- what the fake holds ----

    pub fn customers(&self) -> Vec<Value> {
        self.inner.state().customers.clone()
    }

    pub fn customers_of(&self, email: &str) -> Vec<Value> {
        self.customers()
            .into_iter()
            .filter(|c| c["email"] == email)
            .collect()
    }

    pub fn sessions(&self) -> Vec<Value> {
        self.inner.state().sessions.clone()
    }

    pub fn sessions_of(&self, customer: &str) -> Vec<Value> {
        self.sessions()
            .into_iter()
            .filter(|s| s["customer"] == customer)
            .collect()
    }

    pub fn subscriptions(&self) -> Vec<Value> {
        self.inner.state().subscriptions.clone()
    }

    pub fn subscription(&self, id: &str) -> Value {
        self.subscriptions()
            .into_iter()
            .find(|s| s["id"] == id)
            .expect("the subscription exists")
    }

    pub fn subscriptions_of(&self, customer: &str) -> Vec<Value> {
        self.subscriptions()
            .into_iter()
            .filter(|s| s["customer"] == customer)
            .collect()
    }

    pub fn events(&self) -> Vec<Event> {
        self.inner.state().events.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.state().requests.clone()
    }

    /// API requests so far, per endpoint (`GET /v1/checkout/sessions/{id}`).
    pub fn calls(&self) -> BTreeMap<String, usize> {
        let mut calls = BTreeMap::new();
        for request in self.requests() {
            *calls.entry(endpoint(&request)).or_insert(0) += 1;
        }
        calls
    }

    /// A customer as the fake holds it.
    pub fn customer(&self, id: &str) -> Value {
        self.customers()
            .into_iter()
            .find(|c| c["id"] == id)
            .expect("the customer exists")
    }

    // ---- Stripe's own part ----

    /// The reader pays on the checkout page; the address Stripe sends them back to.
    pub fn pay(&self, session_id: &str) -> String {
        server::pay(&self.inner, session_id).expect("the checkout can be paid")
    }

    /// A session's id from its page's address.
    pub fn session_of_page(url: &str) -> String {
        url.rsplit('/').next().unwrap().to_string()
    }

    /// The next period begins: charged, or declined (the subscription goes past due).
    pub fn renew(&self, sub_id: &str, outcome: Renewal) {
        let inner = &self.inner;
        let mut state = inner.state();
        let now = inner.clock.now();
        let subscription = State::find(&mut state.subscriptions, sub_id)
            .expect("the subscription exists")
            .clone();
        let price = state
            .price(
                subscription["items"]["data"][0]["price"]["id"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        let start = OffsetDateTime::from_unix_timestamp(
            subscription["current_period_end"].as_i64().unwrap(),
        )
        .unwrap();
        let end = gazette::domain::subscription::add_months(start, price.months);
        let invoice_id = state.id("in");
        let paid = outcome == Renewal::Paid;
        // A discount for the first invoice, or for months now over, no longer applies; one
        // for a single invoice put on the subscription after its last invoice applies to this
        // one.
        let discount = subscription["discount"].clone();
        let since_last_invoice = discount["start"]
            .as_i64()
            .zip(subscription["current_period_start"].as_i64())
            .is_some_and(|(applied, period)| applied > period);
        let discount = match (
            discount["coupon"]["duration"].as_str(),
            discount["end"].as_i64(),
        ) {
            (Some("forever"), _) => Some(discount),
            (Some("once"), _) if since_last_invoice => Some(discount),
            (Some("repeating"), Some(until)) if start.unix_timestamp() < until => Some(discount),
            _ => None,
        };
        let amount = discounted(price.unit_amount, discount.as_ref());
        let invoice = json!({
            "id": invoice_id, "object": "invoice",
            "customer": subscription["customer"], "subscription": sub_id,
            "status": if paid { "paid" } else { "open" },
            "amount_due": amount,
            "amount_paid": if paid { amount } else { 0 },
            "amount_remaining": if paid { 0 } else { amount },
            "currency": price.currency,
            "hosted_invoice_url": format!("{}/invoice/{invoice_id}", inner.base),
            "billing_reason": "subscription_cycle",
            "created": now.unix_timestamp(),
        });
        state.invoices.push(invoice.clone());
        let updated = {
            let sub = State::find(&mut state.subscriptions, sub_id).unwrap();
            sub["current_period_start"] = json!(start.unix_timestamp());
            sub["current_period_end"] = json!(end.unix_timestamp());
            sub["items"]["data"][0]["current_period_start"] = json!(start.unix_timestamp());
            sub["items"]["data"][0]["current_period_end"] = json!(end.unix_timestamp());
            sub["latest_invoice"] = json!(invoice_id);
            sub["status"] = json!(if paid { "active" } else { "past_due" });
            // A discount for one invoice is used up by it.
            sub["discount"] = discount
                .filter(|d| d["coupon"]["duration"] != "once")
                .unwrap_or(Value::Null);
            sub.clone()
        };
        let kind = if paid {
            "invoice.paid"
        } else {
            "invoice.payment_failed"
        };
        inner.emit(&mut state, kind, Inner::invoice_for_event(&invoice));
        inner.emit(&mut state, "customer.subscription.updated", updated);
    }

    /// The reader adds a card in the billing portal: it becomes the customer's default payment
    /// method (a `customer.updated`, which Gazette does not act on).
    pub fn add_payment_method(&self, customer: &str) -> String {
        let mut state = self.inner.state();
        let method = state.id("pm");
        let held = State::find(&mut state.customers, customer).expect("the customer exists");
        held["invoice_settings"]["default_payment_method"] = json!(method);
        let updated = held.clone();
        self.inner.emit(&mut state, "customer.updated", updated);
        method
    }

    /// Stripe's notice that a trial ends soon, sent three days before its end: a
    /// `customer.subscription.trial_will_end` about the subscription. The fake's clock must
    /// be within those three days.
    pub fn trial_will_end(&self, sub_id: &str) -> String {
        let mut state = self.inner.state();
        let now = self.inner.now();
        let subscription = State::find(&mut state.subscriptions, sub_id)
            .expect("the subscription")
            .clone();
        let ends = subscription["trial_end"].as_i64().expect("a trial");
        assert!(
            subscription["status"] == "trialing" && ends > now && ends - now <= 3 * 86_400,
            "Stripe sends trial_will_end three days before a live trial ends"
        );
        self.inner.emit(
            &mut state,
            "customer.subscription.trial_will_end",
            subscription,
        )
    }

    /// The trial's end comes (the fake's clock must be past it), as Stripe runs it: with a
    /// payment method on file (the subscription's or its customer's), the first invoice is
    /// charged (discounted if a coupon applies) and the subscription turns `active` for its
    /// first paid period (`invoice.paid`, then `customer.subscription.updated`); without one,
    /// as `trial_settings` says (`cancel`), it is canceled when the trial ends
    /// (`customer.subscription.deleted`). Whether it was charged.
    pub fn end_trial(&self, sub_id: &str) -> bool {
        let inner = &self.inner;
        let mut state = inner.state();
        let subscription = State::find(&mut state.subscriptions, sub_id)
            .expect("the subscription")
            .clone();
        assert_eq!(subscription["status"], "trialing", "a trial to end");
        let ends = subscription["trial_end"].as_i64().expect("a trial");
        assert!(inner.now() >= ends, "the trial is over by the clock");
        let customer = subscription["customer"].as_str().unwrap().to_string();
        let customers_method = state
            .customers
            .iter()
            .find(|c| c["id"] == customer)
            .is_some_and(|c| !c["invoice_settings"]["default_payment_method"].is_null());
        let has_method = !subscription["default_payment_method"].is_null() || customers_method;
        if !has_method {
            assert_eq!(
                subscription["trial_settings"]["end_behavior"]["missing_payment_method"], "cancel",
                "a trial without a payment method is canceled only when the checkout said so"
            );
            let canceled = {
                let sub = State::find(&mut state.subscriptions, sub_id).unwrap();
                sub["status"] = json!("canceled");
                sub["ended_at"] = json!(ends);
                sub["canceled_at"] = json!(ends);
                sub["cancellation_details"] = json!({"reason": "cancellation_requested"});
                sub.clone()
            };
            inner.emit(&mut state, "customer.subscription.deleted", canceled);
            return false;
        }
        let price = state
            .price(
                subscription["items"]["data"][0]["price"]["id"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        let start = OffsetDateTime::from_unix_timestamp(ends).unwrap();
        let end = gazette::domain::subscription::add_months(start, price.months);
        let amount = discounted(
            price.unit_amount,
            Some(&subscription["discount"]).filter(|d| !d.is_null()),
        );
        let invoice_id = state.id("in");
        let invoice = json!({
            "id": invoice_id, "object": "invoice", "customer": customer,
            "subscription": sub_id, "status": "paid",
            "amount_due": amount, "amount_paid": amount, "amount_remaining": 0,
            "subtotal": price.unit_amount, "currency": price.currency,
            "hosted_invoice_url": format!("{}/invoice/{invoice_id}", inner.base),
            "billing_reason": "subscription_cycle", "created": inner.now(),
        });
        state.invoices.push(invoice.clone());
        let updated = {
            let sub = State::find(&mut state.subscriptions, sub_id).unwrap();
            sub["status"] = json!("active");
            sub["current_period_start"] = json!(ends);
            sub["current_period_end"] = json!(end.unix_timestamp());
            sub["items"]["data"][0]["current_period_start"] = json!(ends);
            sub["items"]["data"][0]["current_period_end"] = json!(end.unix_timestamp());
            sub["latest_invoice"] = json!(invoice_id);
            sub.clone()
        };
        inner.emit(
            &mut state,
            "invoice.paid",
            Inner::invoice_for_event(&invoice),
        );
        inner.emit(&mut state, "customer.subscription.updated", updated);
        true
    }

    /// Stripe expires every open Checkout Session whose time has come (by the fake's clock),
    /// each with a `checkout.session.expired`, as it does by itself; how many.
    pub fn expire_due_sessions(&self) -> usize {
        let inner = &self.inner;
        let mut state = inner.state();
        let now = inner.now();
        let mut expired = Vec::new();
        for session in state.sessions.iter_mut() {
            if session["status"] == "open" && session["expires_at"].as_i64().unwrap_or(0) <= now {
                session["status"] = json!("expired");
                session["url"] = Value::Null;
                expired.push(session.clone());
            }
        }
        let count = expired.len();
        for session in expired {
            inner.emit(&mut state, "checkout.session.expired", session);
        }
        count
    }

    /// Every invoice Stripe made, oldest first.
    pub fn invoices(&self) -> Vec<Value> {
        self.inner.state().invoices.clone()
    }

    /// The invoices of a subscription, oldest first.
    pub fn invoices_of(&self, sub_id: &str) -> Vec<Value> {
        self.invoices()
            .into_iter()
            .filter(|i| i["subscription"] == sub_id)
            .collect()
    }

    /// Coupons made at Stripe.
    pub fn coupons(&self) -> Vec<Value> {
        self.inner.state().coupons.clone()
    }

    /// The reader pays an open invoice (after a failed renewal).
    pub fn pay_invoice(&self, invoice_id: &str) {
        server::pay_invoice(&self.inner, invoice_id).expect("the invoice can be paid");
    }

    /// Stripe ends a subscription (its period ran out after a cancellation, or dunning gave up).
    pub fn end_subscription(&self, sub_id: &str) {
        server::cancel_now(&self.inner, sub_id).expect("the subscription exists");
    }

    /// Another product on the same account: a customer Gazette never made, subscribed to a
    /// price that is no plan. Its events reach Gazette's endpoint too.
    pub fn sell_another_product(&self, email: &str) -> String {
        let customer = {
            let mut state = self.inner.state();
            let customer = state.id("cus");
            state.customers.push(
                json!({"id": customer, "object": "customer", "email": email, "metadata": {}}),
            );
            customer
        };
        self.sell_another_product_to(&customer)
    }

    /// The other product, sold to an existing customer (perhaps one Gazette made).
    pub fn sell_another_product_to(&self, customer: &str) -> String {
        self.sell_to(customer, OTHER_PRODUCT)
    }

    /// A subscription to `price` for an existing customer, made at Stripe without Gazette
    /// (by the publisher in Stripe's dashboard, say).
    pub fn sell_to(&self, customer: &str, price: &str) -> String {
        let inner = &self.inner;
        let mut state = inner.state();
        let session = state.id("cs_test");
        state.sessions.push(json!({
            "id": session, "object": "checkout.session", "mode": "subscription",
            "status": "open", "customer": customer, "subscription": null,
            "line_items": [{"price": price, "quantity": 1}],
            "subscription_data": {"metadata": {}}, "metadata": {},
            "url": format!("{}/pay/{session}", inner.base),
            "expires_at": inner.now() + 86_400,
        }));
        inner
            .start_subscription(&mut state, &session)
            .expect("another product's subscription")
    }

    // ---- events ----

    /// The event's body, as it was (or would be) sent.
    pub fn body_of(&self, event_id: &str) -> String {
        self.events()
            .into_iter()
            .find(|e| e.id == event_id)
            .expect("the event exists")
            .body
    }

    /// Ids of the events not delivered yet, oldest first.
    pub fn pending(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| !e.delivered)
            .map(|e| e.id)
            .collect()
    }

    /// The events not delivered yet are lost on the way (Stripe believes them delivered):
    /// only re-reading finds what they said.
    pub fn lose_pending(&self) {
        for event in self.inner.state().events.iter_mut() {
            event.delivered = true;
        }
    }

    /// Sends every event not delivered yet, oldest first; each one's status.
    pub async fn deliver_pending(&self) -> Vec<u16> {
        let mut statuses = Vec::new();
        for id in self.pending() {
            statuses.push(self.deliver(&id).await);
        }
        statuses
    }

    /// Sends one event (again, if it was sent before), signed now; the app's status (0 when
    /// the app could not be reached).
    pub async fn deliver(&self, event_id: &str) -> u16 {
        deliver(&self.inner, &self.http, event_id).await
    }

    /// The `Stripe-Signature` header Stripe would send for `body` at unix time `t`.
    pub fn sign(&self, body: &str, t: i64) -> String {
        format!("t={t},v1={}", signature(WEBHOOK_SECRET, t, body))
    }

    pub fn now(&self) -> i64 {
        self.inner.now()
    }

    /// Posts `body` to the webhook endpoint with exactly this signature header (none when
    /// `None`); the app's status.
    pub async fn post_raw(&self, body: &str, signature: Option<&str>) -> u16 {
        let target = self
            .inner
            .webhook
            .lock()
            .unwrap()
            .clone()
            .expect("a webhook target");
        let mut request = self
            .http
            .post(target)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body.to_string());
        if let Some(signature) = signature {
            request = request.header("Stripe-Signature", signature);
        }
        match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        }
    }
}

/// A request's method and path, its object ids written `{id}`.
fn endpoint(request: &Request) -> String {
    let path: Vec<&str> = request
        .path
        .split('/')
        .map(|part| {
            let id = part.rsplit_once('_').is_some_and(|(_, tail)| {
                !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit())
            });
            if id { "{id}" } else { part }
        })
        .collect();
    format!("{} {}", request.method, path.join("/"))
}

pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn deliver(inner: &Inner, http: &reqwest::Client, event_id: &str) -> u16 {
    let (body, target) = {
        let mut state = inner.state();
        let Some(event) = state.events.iter_mut().find(|e| e.id == event_id) else {
            return 0;
        };
        event.attempts += 1;
        (event.body.clone(), inner.webhook.lock().unwrap().clone())
    };
    let Some(target) = target else {
        return 0;
    };
    let t = inner.now();
    let status = match http
        .post(target)
        .header("Content-Type", "application/json; charset=utf-8")
        .header(
            "User-Agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header(
            "Stripe-Signature",
            format!("t={t},v1={}", signature(WEBHOOK_SECRET, t, &body)),
        )
        .body(body)
        .send()
        .await
    {
        Ok(response) => response.status().as_u16(),
        Err(_) => 0,
    };
    if (200..300).contains(&status) {
        let mut state = inner.state();
        if let Some(event) = state.events.iter_mut().find(|e| e.id == event_id) {
            event.delivered = true;
        }
    }
    status
}
