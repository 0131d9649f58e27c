//! Stripe, as a [`HostedGateway`]: Checkout Sessions in subscription mode for the first
//! payment (and in payment mode for a one-time payment: a gift), Stripe's renewals and billing
//! portal, and its signed webhooks.
//!
//! Rules:
//! - Requests are form-encoded with the secret key as the bearer, pin an API version, and
//!   every POST that creates something carries an idempotency key. A request that gets no
//!   answer, a conflict on its key (the same request still running), a lock timeout on its
//!   object or a server error is tried again a few times (unless Stripe's
//!   `Stripe-Should-Retry` says it would not help), then reported
//!   [`HostedError::Unavailable`]. One refused by Stripe's rate limiter is reported at once,
//!   never tried again: that would add to the load that tripped it, and turn one request of
//!   a reader into several.
//! - An answer that the customer a request named does not exist (`resource_missing` on the
//!   `customer` parameter) is [`HostedError::CustomerGone`]; any other object missing is
//!   [`HostedError::Missing`].
//! - Each plan is one Stripe price (`STRIPE_PRICES`); a subscription on any other price has no
//!   plan (Gazette still follows one it recorded, see `billing::sync`).
//!   [`Stripe::check_prices`] compares the prices with the plans at start-up.
//! - An offer's discount is a Stripe coupon whose id is `wire::COUPON_PREFIX` and the offer's
//!   code, made the first time a checkout needs it (under a key derived from its id, so every
//!   instance asks for the one coupon); one that exists already is used if its terms are the
//!   offer's, and refused otherwise (a reader is never charged other than the page said). A
//!   checkout carries the coupon (`discounts`) or a trial (`trial_period_days`, no payment
//!   method asked for, the subscription canceled at the trial's end if none was given by
//!   then), never both, and names the offer in the subscription's metadata. A retention offer
//!   puts the same coupon on the live subscription (`discounts` on an update of it): Stripe
//!   takes it off the invoices it charges from then on.
//! - The secret key and the webhook secret never leave this module: not in errors, logs or
//!   `Debug` output.

mod signature;
mod wire;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use url::Url;

use super::hosted::{
    CheckoutDeal, CheckoutOffer, CheckoutRequest, CheckoutState, CouponDuration, CouponOff,
    CustomerRequest, HeldCustomer, HeldSubscription, HostedError, HostedFuture, HostedGateway,
    Notification, OpenedCheckout, PaymentRequest, PortalFlow, Rejected,
};
pub use signature::TOLERANCE_SECONDS;
pub use wire::HANDLED_EVENTS;

/// The API version every request asks for, so answers keep the shape this code reads.
pub const API_VERSION: &str = "2024-06-20";
/// Stripe's API, unless `STRIPE_API_BASE` says otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// Where Stripe's own pages live (checkout, billing portal, invoices).
const STRIPE_PAGES: &[&str] = &[
    "https://checkout.stripe.com",
    "https://billing.stripe.com",
    "https://invoice.stripe.com",
];
/// One request's limit; a reader is waiting behind most of them.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pauses before the second and third tries of a request.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(300), Duration::from_secs(1)];
/// Stripe's largest page of a listing.
const PAGE: usize = 100;

/// How Gazette reaches its Stripe account.
#[derive(Clone, PartialEq, Eq)]
pub struct StripeConfig {
    /// `sk_live_...`/`sk_test_...` (or a restricted `rk_` key).
    pub secret_key: String,
    /// The webhook endpoint's signing secret, `whsec_...`.
    pub webhook_secret: String,
    pub api_base: Url,
    /// `(plan code, Stripe price id)`, one per plan.
    pub prices: Vec<(String, String)>,
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"[redacted]")
            .field("test_mode", &self.is_test_mode())
            .field("webhook_secret", &"[redacted]")
            .field("api_base", &self.api_base.as_str())
            .field("prices", &self.prices)
            .finish()
    }
}

impl StripeConfig {
    /// Test-mode keys move no money.
    pub fn is_test_mode(&self) -> bool {
        self.secret_key.starts_with("sk_test_") || self.secret_key.starts_with("rk_test_")
    }
}

/// A plan as Gazette sells it, to compare with its Stripe price.
#[derive(Clone, Debug)]
pub struct PlanTerms {
    pub code: String,
    /// In the currency's smallest unit.
    pub price_minor_units: i64,
    pub currency: String,
    pub period_months: i64,
}

/// A Stripe price that does not fit its plan: what Stripe says of it, and the plan. Amounts
/// are in the currency's smallest unit (yen for JPY); the caller words them.
#[derive(Debug)]
pub struct PriceMismatch {
    pub price: String,
    /// `None`: the price has no fixed amount.
    pub amount: Option<i64>,
    /// In capitals.
    pub currency: String,
    /// `None`: not a whole number of months.
    pub months: Option<i64>,
    pub archived: bool,
    pub plan: PlanTerms,
}

/// Why the prices do not fit the plans (each message starts with the variable to fix).
#[derive(Debug, thiserror::Error)]
pub enum PriceCheckError {
    #[error("STRIPE_PRICES: {0}")]
    Prices(String),
    #[error("STRIPE_PRICES: price `{}` does not fit plan `{}`", .0.price, .0.plan.code)]
    Mismatch(Box<PriceMismatch>),
    #[error("STRIPE_SECRET_KEY: Stripe refused the key ({0})")]
    KeyRefused(String),
    /// Stripe could not be asked; the prices were not checked.
    #[error("STRIPE_API_BASE: Stripe could not be reached to check the prices: {0}")]
    Unreachable(String),
}

pub struct Stripe {
    http: reqwest::Client,
    config: StripeConfig,
    /// Stripe price id to plan code.
    plans: HashMap<String, String>,
    /// Coupons known to exist at Stripe with their offer's terms (asked for once per instance).
    coupons: Mutex<HashSet<String>>,
}

impl Stripe {
    /// Changes `subscription` with `form` under `key`; the subscription as Stripe then holds it
    /// (its latest invoice expanded).
    async fn update_subscription(
        &self,
        subscription: &str,
        form: &[(String, String)],
        key: &str,
    ) -> Result<HeldSubscription, HostedError> {
        let updated: wire::Subscription = self
            .send(
                Method::POST,
                &format!("/v1/subscriptions/{subscription}"),
                form,
                Some(key),
            )
            .await?;
        updated.held(&self.plans)
    }

    /// Creates a Checkout Session from `form` under `key`: its id, page and expiry.
    async fn open_session(
        &self,
        form: &[(String, String)],
        key: &str,
    ) -> Result<OpenedCheckout, HostedError> {
        let session: wire::Session = self
            .send(Method::POST, "/v1/checkout/sessions", form, Some(key))
            .await?;
        let url = session
            .url
            .clone()
            .ok_or_else(|| HostedError::Refused(format!("{} has no page", session.id)))?;
        Ok(OpenedCheckout {
            expires_at: instant(session.expires_at)?,
            reference: session.id,
            url,
        })
    }

    pub fn new(config: StripeConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("Gazette/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTPS client: {e}"))?;
        let plans = config
            .prices
            .iter()
            .map(|(plan, price)| (price.clone(), plan.clone()))
            .collect();
        Ok(Self {
            http,
            config,
            plans,
            coupons: Mutex::new(HashSet::new()),
        })
    }

    fn price_of(&self, plan_code: &str) -> Result<&str, HostedError> {
        self.config
            .prices
            .iter()
            .find(|(plan, _)| plan == plan_code)
            .map(|(_, price)| price.as_str())
            .ok_or_else(|| HostedError::Refused(format!("no Stripe price for plan `{plan_code}`")))
    }

    /// Compares every plan with its Stripe price (amount in the currency's smallest unit, as
    /// both count it; currency; period; active), so the site never shows one price and charges
    /// another.
    pub async fn check_prices(&self, plans: &[PlanTerms]) -> Result<(), PriceCheckError> {
        for (plan, _) in &self.config.prices {
            if !plans.iter().any(|p| &p.code == plan) {
                return Err(PriceCheckError::Prices(format!(
                    "`{plan}` is not a plan (the plans are {})",
                    plans
                        .iter()
                        .map(|p| p.code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        for plan in plans {
            let price_id = self.price_of(&plan.code).map_err(|_| {
                PriceCheckError::Prices(format!("no price for plan `{}`", plan.code))
            })?;
            let price: wire::Price = match self
                .send(Method::GET, &format!("/v1/prices/{price_id}"), &[], None)
                .await
            {
                Ok(price) => price,
                // A price's request names no customer: whatever is missing is the price.
                Err(HostedError::Missing(_) | HostedError::CustomerGone(_)) => {
                    return Err(PriceCheckError::Prices(format!(
                        "Stripe has no price `{price_id}` (in this mode)"
                    )));
                }
                Err(HostedError::Refused(reason)) => {
                    return Err(PriceCheckError::KeyRefused(reason));
                }
                Err(HostedError::Unavailable(reason)) => {
                    return Err(PriceCheckError::Unreachable(reason));
                }
            };
            let months = price.recurring.as_ref().and_then(wire::Recurring::months);
            let fits = price.active
                && price.unit_amount == Some(plan.price_minor_units)
                && price.currency.eq_ignore_ascii_case(&plan.currency)
                && months == Some(plan.period_months);
            if !fits {
                return Err(PriceCheckError::Mismatch(Box::new(PriceMismatch {
                    price: price.id,
                    amount: price.unit_amount,
                    currency: price.currency.to_ascii_uppercase(),
                    months,
                    archived: !price.active,
                    plan: plan.clone(),
                })));
            }
        }
        Ok(())
    }

    fn url(&self, path: &str) -> Result<Url, HostedError> {
        self.config
            .api_base
            .join(path)
            .map_err(|e| HostedError::Refused(format!("an unusable path {path}: {e}")))
    }

    /// One API request, tried again when the failure may pass; the answer parsed as `T`.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, HostedError> {
        let url = self.url(path)?;
        let mut attempt = 0;
        loop {
            let outcome = self
                .send_once(method.clone(), url.clone(), form, idempotency_key)
                .await;
            match outcome {
                Err(Attempt::Passing(reason)) if attempt < RETRY_PAUSES.len() => {
                    tracing::info!(path, attempt, "Stripe request tried again: {reason}");
                    tokio::time::sleep(RETRY_PAUSES[attempt]).await;
                    attempt += 1;
                }
                Err(Attempt::Passing(reason)) => return Err(HostedError::Unavailable(reason)),
                Err(Attempt::Final(error)) => return Err(error),
                Ok(body) => {
                    return serde_json::from_slice(&body).map_err(|e| {
                        HostedError::Refused(format!("an unreadable answer from {path}: {e}"))
                    });
                }
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: Url,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, Attempt> {
        let mut request = if method == Method::GET {
            self.http.get(url).query(form)
        } else {
            let body = serde_urlencoded::to_string(form)
                .map_err(|e| Attempt::Final(HostedError::Refused(e.to_string())))?;
            self.http
                .request(method, url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
        };
        request = request
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", API_VERSION);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        // The error's text names the URL, never the headers: the key stays out of it.
        let response = request
            .send()
            .await
            .map_err(|e| Attempt::Passing(e.without_url().to_string()))?;
        let status = response.status();
        // Stripe's own word on whether the same request may succeed if sent again.
        let should_retry = response
            .headers()
            .get("Stripe-Should-Retry")
            .and_then(|value| value.to_str().ok())
            .map(|value| value == "true");
        let body = response
            .bytes()
            .await
            .map_err(|e| Attempt::Passing(e.without_url().to_string()))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        Err(failed(status, should_retry, &body))
    }

    async fn get_subscription(&self, reference: &str) -> Result<HeldSubscription, HostedError> {
        let subscription: wire::Subscription = self
            .send(
                Method::GET,
                &format!("/v1/subscriptions/{reference}"),
                &[
                    field("expand[]", "latest_invoice"),
                    field("expand[]", "customer"),
                ],
                None,
            )
            .await?;
        subscription.held(&self.plans)
    }

    /// The coupon for the offer `code` with these terms, made if Stripe does not have it yet
    /// (see the module's rules); its id.
    async fn coupon(
        &self,
        code: &str,
        off: &CouponOff,
        duration: CouponDuration,
    ) -> Result<String, HostedError> {
        let id = format!("{}{code}", wire::COUPON_PREFIX);
        let known = self
            .coupons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id);
        if known {
            return Ok(id);
        }
        let mut form = vec![field("id", id.clone()), field("name", code)];
        match off {
            CouponOff::Percent(percent) => form.push(field("percent_off", percent.to_string())),
            CouponOff::Amount(money) => form.extend([
                field("amount_off", money.minor_units.to_string()),
                field("currency", money.currency.to_ascii_lowercase()),
            ]),
        }
        match duration {
            CouponDuration::Once => form.push(field("duration", "once")),
            CouponDuration::Forever => form.push(field("duration", "forever")),
            CouponDuration::Months(months) => form.extend([
                field("duration", "repeating"),
                field("duration_in_months", months.to_string()),
            ]),
        }
        let key = format!("coupon-{id}");
        let coupon: wire::Coupon = match self
            .send(Method::POST, "/v1/coupons", &form, Some(&key))
            .await
        {
            Ok(coupon) => coupon,
            // Made before (by another instance, or a day ago): it is used if it is the offer's.
            Err(HostedError::Refused(_)) => {
                self.send(Method::GET, &format!("/v1/coupons/{id}"), &[], None)
                    .await?
            }
            Err(error) => return Err(error),
        };
        if !coupon_fits(&coupon, off, duration) {
            return Err(HostedError::Refused(format!(
                "Stripe's coupon `{id}` is not the offer's terms: remove it in Stripe's \
                 dashboard, or make the offer under another code"
            )));
        }
        self.coupons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
        Ok(id)
    }

    /// The fields a Checkout Session carries for an offer: its coupon, or its trial.
    async fn offer_fields(
        &self,
        offer: &CheckoutOffer,
    ) -> Result<Vec<(String, String)>, HostedError> {
        let mut form = vec![field(
            &format!("subscription_data[metadata][{}]", wire::OFFER_KEY),
            offer.code.clone(),
        )];
        match &offer.deal {
            CheckoutDeal::Discount { off, duration } => {
                let coupon = self.coupon(&offer.code, off, *duration).await?;
                form.push(field("discounts[0][coupon]", coupon));
            }
            CheckoutDeal::Trial { days } => form.extend([
                field("subscription_data[trial_period_days]", days.to_string()),
                field("payment_method_collection", "if_required"),
                field(
                    "subscription_data[trial_settings][end_behavior][missing_payment_method]",
                    "cancel",
                ),
            ]),
        }
        Ok(form)
    }

    async fn get_checkout(&self, reference: &str) -> Result<CheckoutState, HostedError> {
        let session: wire::Session = self
            .send(
                Method::GET,
                &format!("/v1/checkout/sessions/{reference}"),
                &[],
                None,
            )
            .await?;
        Ok(session.state())
    }
}

/// Whether Stripe's coupon takes off what the offer does, on the invoices it does.
fn coupon_fits(coupon: &wire::Coupon, off: &CouponOff, duration: CouponDuration) -> bool {
    let off_fits = match off {
        CouponOff::Percent(percent) => {
            coupon.amount_off.is_none()
                && coupon
                    .percent_off
                    .is_some_and(|p| (p - f64::from(*percent)).abs() < 0.001)
        }
        CouponOff::Amount(money) => {
            coupon.percent_off.is_none()
                && coupon.amount_off == Some(money.minor_units)
                && coupon
                    .currency
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&money.currency))
        }
    };
    let duration_fits = match duration {
        CouponDuration::Once => coupon.duration.as_deref() == Some("once"),
        CouponDuration::Forever => coupon.duration.as_deref() == Some("forever"),
        CouponDuration::Months(months) => {
            coupon.duration.as_deref() == Some("repeating")
                && coupon.duration_in_months == Some(i64::from(months))
        }
    };
    off_fits && duration_fits
}

enum Attempt {
    /// May pass: try again.
    Passing(String),
    Final(HostedError),
}

/// What a failed answer (`status`, Stripe's error `body`) means, and whether it may pass;
/// `should_retry` is Stripe's own word on sending the same request again.
fn failed(status: StatusCode, should_retry: Option<bool>, body: &[u8]) -> Attempt {
    let detail = serde_json::from_slice::<wire::ErrorBody>(body)
        .ok()
        .map(|b| b.error);
    let message = detail
        .as_ref()
        .and_then(|d| d.message.clone())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let code = detail.as_ref().and_then(|d| d.code.as_deref());
    let param = detail.as_ref().and_then(|d| d.param.as_deref());
    let transient = status == StatusCode::CONFLICT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    let worth_again = match should_retry {
        Some(again) => again,
        None => status != StatusCode::TOO_MANY_REQUESTS || code == Some("lock_timeout"),
    };
    if transient {
        return if worth_again {
            Attempt::Passing(message)
        } else {
            Attempt::Final(HostedError::Unavailable(message))
        };
    }
    let missing = code == Some("resource_missing");
    Attempt::Final(match status {
        // The customer the request named (creating a checkout or a portal page for it).
        _ if missing && param == Some("customer") => HostedError::CustomerGone(message),
        StatusCode::NOT_FOUND => HostedError::Missing(message),
        StatusCode::UNAUTHORIZED => {
            HostedError::Refused("the secret key was refused (HTTP 401)".to_string())
        }
        _ if missing => HostedError::Missing(message),
        _ => HostedError::Refused(message),
    })
}

fn field(name: &str, value: impl Into<String>) -> (String, String) {
    (name.to_string(), value.into())
}

fn instant(seconds: i64) -> Result<OffsetDateTime, HostedError> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| HostedError::Refused(format!("a time out of range: {seconds}")))
}

impl HostedGateway for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn is_test(&self) -> bool {
        self.config.is_test_mode()
    }

    fn page_origins(&self) -> Vec<String> {
        if self.config.api_base.host_str() == Some("api.stripe.com") {
            STRIPE_PAGES.iter().map(|s| s.to_string()).collect()
        } else {
            // Another API (a local stand-in) serves its own pages.
            vec![self.config.api_base.origin().ascii_serialization()]
        }
    }

    fn create_customer(&self, request: CustomerRequest) -> HostedFuture<'_, String> {
        Box::pin(async move {
            let form = [
                field("email", request.email),
                field(
                    &format!("metadata[{}]", wire::READER_KEY),
                    request.user_id.to_string(),
                ),
            ];
            let created: wire::Created = self
                .send(
                    Method::POST,
                    "/v1/customers",
                    &form,
                    Some(&request.idempotency_key),
                )
                .await?;
            Ok(created.id)
        })
    }

    fn find_customer(&self, user_id: i64) -> HostedFuture<'_, Option<HeldCustomer>> {
        Box::pin(async move {
            let query = [
                field(
                    "query",
                    format!("metadata['{}']:'{user_id}'", wire::READER_KEY),
                ),
                field("limit", PAGE.to_string()),
            ];
            let found: wire::List<wire::Customer> = self
                .send(Method::GET, "/v1/customers/search", &query, None)
                .await?;
            Ok(found
                .data
                .into_iter()
                .min_by_key(|customer| customer.created)
                .map(|customer| HeldCustomer {
                    reference: customer.id,
                    email: customer.email,
                }))
        })
    }

    fn set_customer_email(
        &self,
        customer: String,
        email: String,
        idempotency_key: String,
    ) -> HostedFuture<'_, ()> {
        Box::pin(async move {
            let _: wire::Customer = self
                .send(
                    Method::POST,
                    &format!("/v1/customers/{customer}"),
                    &[field("email", email)],
                    Some(&idempotency_key),
                )
                .await?;
            Ok(())
        })
    }

    fn open_checkout(&self, request: CheckoutRequest) -> HostedFuture<'_, OpenedCheckout> {
        Box::pin(async move {
            let price = self.price_of(&request.plan_code)?;
            let reader = request.user_id.to_string();
            let offer = match &request.offer {
                Some(offer) => self.offer_fields(offer).await?,
                None => Vec::new(),
            };
            let mut form = vec![
                field("mode", "subscription"),
                field("customer", request.customer),
                field("line_items[0][price]", price),
                field("line_items[0][quantity]", "1"),
                field(
                    "success_url",
                    request
                        .success_url
                        .replace("{CHECKOUT}", "{CHECKOUT_SESSION_ID}"),
                ),
                field("cancel_url", request.cancel_url),
                field("client_reference_id", reader.clone()),
                field(&format!("metadata[{}]", wire::READER_KEY), reader.clone()),
                field(
                    &format!("subscription_data[metadata][{}]", wire::READER_KEY),
                    reader,
                ),
                field(
                    &format!("subscription_data[metadata][{}]", wire::CHECKOUT_KEY),
                    request.idempotency_key.clone(),
                ),
            ];
            form.extend(offer);
            self.open_session(&form, &request.idempotency_key).await
        })
    }

    fn open_payment(&self, request: PaymentRequest) -> HostedFuture<'_, OpenedCheckout> {
        Box::pin(async move {
            let reader = request.user_id.to_string();
            let form = vec![
                field("mode", "payment"),
                field("customer_email", request.email),
                field(
                    "line_items[0][price_data][currency]",
                    request.amount.currency.to_ascii_lowercase(),
                ),
                field(
                    "line_items[0][price_data][unit_amount]",
                    request.amount.minor_units.to_string(),
                ),
                field(
                    "line_items[0][price_data][product_data][name]",
                    request.description,
                ),
                field("line_items[0][quantity]", "1"),
                field(
                    "success_url",
                    request
                        .success_url
                        .replace("{CHECKOUT}", "{CHECKOUT_SESSION_ID}"),
                ),
                field("cancel_url", request.cancel_url),
                field("client_reference_id", reader.clone()),
                field(&format!("metadata[{}]", wire::READER_KEY), reader),
            ];
            self.open_session(&form, &request.idempotency_key).await
        })
    }

    fn checkout(&self, reference: String) -> HostedFuture<'_, CheckoutState> {
        Box::pin(async move { self.get_checkout(&reference).await })
    }

    fn expire_checkout(&self, reference: String) -> HostedFuture<'_, CheckoutState> {
        Box::pin(async move {
            let path = format!("/v1/checkout/sessions/{reference}/expire");
            match self
                .send::<wire::Session>(Method::POST, &path, &[], None)
                .await
            {
                Ok(session) => Ok(session.state()),
                // Only an open session can be expired: say what became of it instead.
                Err(HostedError::Refused(_)) => self.get_checkout(&reference).await,
                Err(error) => Err(error),
            }
        })
    }

    fn subscription(&self, reference: String) -> HostedFuture<'_, HeldSubscription> {
        Box::pin(async move { self.get_subscription(&reference).await })
    }

    fn subscriptions_of(&self, customer: String) -> HostedFuture<'_, Vec<HeldSubscription>> {
        Box::pin(async move {
            let query = [
                field("customer", customer),
                field("status", "all"),
                field("limit", PAGE.to_string()),
                field("expand[]", "data.latest_invoice"),
                field("expand[]", "data.customer"),
            ];
            let list: wire::List<wire::Subscription> = self
                .send(Method::GET, "/v1/subscriptions", &query, None)
                .await?;
            list.data
                .into_iter()
                .map(|subscription| subscription.held(&self.plans))
                .collect()
        })
    }

    fn cancel_at_period_end(
        &self,
        subscription: String,
        cancel: bool,
        idempotency_key: String,
    ) -> HostedFuture<'_, HeldSubscription> {
        Box::pin(async move {
            let form = [
                field("cancel_at_period_end", cancel.to_string()),
                field("expand[]", "latest_invoice"),
            ];
            self.update_subscription(&subscription, &form, &idempotency_key)
                .await
        })
    }

    fn apply_discount(
        &self,
        subscription: String,
        offer: CheckoutOffer,
        idempotency_key: String,
    ) -> HostedFuture<'_, HeldSubscription> {
        Box::pin(async move {
            let CheckoutDeal::Discount { off, duration } = &offer.deal else {
                return Err(HostedError::Refused(format!(
                    "`{}` is a trial, not a discount to apply to a subscription",
                    offer.code
                )));
            };
            let coupon = self.coupon(&offer.code, off, *duration).await?;
            let form = [
                field("discounts[0][coupon]", coupon),
                field("expand[]", "latest_invoice"),
            ];
            self.update_subscription(&subscription, &form, &idempotency_key)
                .await
        })
    }

    fn cancel_now(&self, subscription: String) -> HostedFuture<'_, HeldSubscription> {
        Box::pin(async move {
            // Without `invoice_now` or `prorate`: nothing more is charged, nothing refunded.
            let path = format!("/v1/subscriptions/{subscription}");
            match self
                .send::<wire::Subscription>(Method::DELETE, &path, &[], None)
                .await
            {
                Ok(canceled) => canceled.held(&self.plans),
                // Already canceled: Stripe refuses a second cancel; say how it stands.
                Err(HostedError::Refused(_)) => self.get_subscription(&subscription).await,
                Err(error) => Err(error),
            }
        })
    }

    fn portal(
        &self,
        customer: String,
        return_url: String,
        flow: PortalFlow,
    ) -> HostedFuture<'_, String> {
        Box::pin(async move {
            let mut form = vec![field("customer", customer), field("return_url", return_url)];
            match flow {
                PortalFlow::Overview => {}
                PortalFlow::UpdateCard => {
                    form.push(field("flow_data[type]", "payment_method_update"))
                }
                PortalFlow::SwitchPlan {
                    subscription,
                    item,
                    plan_code,
                } => {
                    let price = self.price_of(&plan_code)?;
                    let confirm = "flow_data[subscription_update_confirm]";
                    form.extend([
                        field("flow_data[type]", "subscription_update_confirm"),
                        field(&format!("{confirm}[subscription]"), subscription),
                        field(&format!("{confirm}[items][0][id]"), item),
                        field(&format!("{confirm}[items][0][price]"), price),
                        field(&format!("{confirm}[items][0][quantity]"), "1"),
                    ]);
                }
            }
            let session: wire::PortalSession = self
                .send(Method::POST, "/v1/billing_portal/sessions", &form, None)
                .await?;
            Ok(session.url)
        })
    }

    fn verify(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Notification, Rejected> {
        signature::verify(&self.config.webhook_secret, signature, body, now)?;
        let event: wire::Event =
            serde_json::from_slice(body).map_err(|e| Rejected::Malformed(e.to_string()))?;
        Ok(event.notification())
    }

    fn undelivered(
        &self,
        since: OffsetDateTime,
        limit: usize,
    ) -> HostedFuture<'_, Vec<Notification>> {
        Box::pin(async move {
            let mut found = Vec::new();
            let mut after: Option<String> = None;
            while found.len() < limit {
                let mut query = vec![
                    field("delivery_success", "false"),
                    field("created[gte]", since.unix_timestamp().to_string()),
                    field("limit", PAGE.min(limit - found.len()).to_string()),
                ];
                query.extend(HANDLED_EVENTS.iter().map(|kind| field("types[]", *kind)));
                if let Some(last) = &after {
                    query.push(field("starting_after", last.clone()));
                }
                let page: wire::List<wire::Event> =
                    self.send(Method::GET, "/v1/events", &query, None).await?;
                let more = page.has_more;
                after = page.data.last().map(|event| event.id.clone());
                found.extend(page.data.into_iter().map(wire::Event::notification));
                if !more || after.is_none() {
                    break;
                }
            }
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(api_base: &str) -> StripeConfig {
        StripeConfig {
            secret_key: "sk_live_0123456789abcdef".into(),
            webhook_secret: "whsec_0123456789abcdef".into(),
            api_base: api_base.parse().unwrap(),
            prices: vec![("monthly".into(), "price_m".into())],
        }
    }

    #[tokio::test]
    async fn the_client_speaks_https() {
        // A listener that notes the first byte a client sends: a TLS handshake opens with
        // 0x16, plain HTTP with the method's first letter.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let first_byte = std::thread::spawn(move || {
            use std::io::Read;
            let deadline = std::time::Instant::now() + Duration::from_secs(3);
            while std::time::Instant::now() < deadline {
                if let Ok((mut stream, _)) = listener.accept() {
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(2)))
                        .unwrap();
                    let mut byte = [0u8; 1];
                    return stream.read_exact(&mut byte).ok().map(|()| byte[0]);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            None
        });
        let base = format!("https://127.0.0.1:{port}");
        let stripe = Stripe::new(config(&base)).unwrap();
        // The handshake cannot finish (nobody answers it); only what was sent matters.
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            stripe.http.get(format!("{base}/v1/prices")).send(),
        )
        .await;
        assert_eq!(first_byte.join().unwrap(), Some(0x16), "a TLS handshake");
    }

    fn missing(status: u16, param: &str) -> Attempt {
        let body = serde_json::json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing", "param": param,
            "message": "No such customer: 'cus_gone'",
        }});
        let status = StatusCode::from_u16(status).unwrap();
        failed(status, None, body.to_string().as_bytes())
    }

    #[test]
    fn a_customer_the_request_named_and_stripe_no_longer_has_is_told_apart_from_other_objects() {
        assert!(matches!(
            missing(400, "customer"),
            Attempt::Final(HostedError::CustomerGone(message)) if message.contains("cus_gone")
        ));
        // The object the path names, or another parameter: only missing.
        for (status, param) in [(404, "id"), (400, "line_items[0][price]"), (404, "")] {
            assert!(
                matches!(
                    missing(status, param),
                    Attempt::Final(HostedError::Missing(_))
                ),
                "{status} {param}"
            );
        }
    }

    #[test]
    fn live_keys_are_not_test_mode_and_stripes_own_pages_are_the_form_targets() {
        let stripe = Stripe::new(config(DEFAULT_API_BASE)).unwrap();
        assert!(!stripe.is_test());
        assert_eq!(
            stripe.page_origins(),
            vec![
                "https://checkout.stripe.com",
                "https://billing.stripe.com",
                "https://invoice.stripe.com"
            ]
        );
        let debug = format!("{:?}", stripe.config);
        assert!(!debug.contains("sk_live_0123") && !debug.contains("whsec_0123"));
    }
}
