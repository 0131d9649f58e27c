//! The fake's HTTP side: Stripe's API under `/v1` and the pages a reader meets at Stripe.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Inner, KeyUse, State, discount_json, price_json};

type Params = Vec<(String, String)>;

pub(super) fn serve(listener: std::net::TcpListener, inner: Arc<Inner>) {
    let data = web::Data::from(inner);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(dispatch))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .expect("the fake listens")
    .run();
    tokio::spawn(server);
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// `prefix[key]=value` pairs as a JSON object.
fn map_of(params: &Params, prefix: &str) -> Value {
    let mut map = serde_json::Map::new();
    for (key, value) in params {
        if let Some(rest) = key.strip_prefix(prefix)
            && let Some(name) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']'))
            && !name.contains('[')
        {
            map.insert(name.to_string(), json!(value));
        }
    }
    Value::Object(map)
}

fn answer(status: u16, body: Value) -> (u16, Value) {
    (status, body)
}

fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> (u16, Value) {
    (
        status,
        json!({"error": {"type": kind, "code": code, "message": message}}),
    )
}

fn missing(what: &str, id: &str) -> (u16, Value) {
    error(
        404,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {what}: '{id}'"),
    )
}

/// A parameter names an object Stripe does not have (a deleted customer): Stripe answers 400,
/// naming the parameter.
fn no_such(what: &str, param: &str, id: &str) -> (u16, Value) {
    (
        400,
        json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing", "param": param,
            "message": format!("No such {what}: '{id}'"),
        }}),
    )
}

fn respond((status, body): (u16, Value)) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(body.to_string())
}

fn page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Stripe (test stand-in)</title></head><body>{html}</body></html>"
        ))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .finish()
}

async fn dispatch(req: HttpRequest, body: web::Bytes, inner: web::Data<Inner>) -> HttpResponse {
    let path = req.path().to_string();
    let method = req.method().as_str().to_string();
    let form: Params = url::form_urlencoded::parse(&body).into_owned().collect();
    let query: Params = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    if !path.starts_with("/v1/") {
        return pages(&inner, &method, &path, &form);
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let authorized =
        header("Authorization").as_deref() == Some(&format!("Bearer {}", super::SECRET_KEY));
    let idempotency_key = header("Idempotency-Key");
    inner.state().requests.push(super::Request {
        method: method.clone(),
        path: path.clone(),
        idempotency_key: idempotency_key.clone(),
        stripe_version: header("Stripe-Version"),
        authorized,
    });
    if !authorized {
        return respond(error(
            401,
            "invalid_request_error",
            None,
            "Invalid API Key provided",
        ));
    }
    if inner.down.load(Ordering::SeqCst) {
        return respond(error(
            503,
            "api_error",
            None,
            "Stripe is down (test stand-in)",
        ));
    }
    let refused = {
        let mut refusals = inner.refusals.lock().unwrap();
        match refusals.as_mut() {
            Some((count, status, code)) if *count > 0 => {
                *count -= 1;
                Some((*status, *code))
            }
            _ => None,
        }
    };
    if let Some((status, code)) = refused {
        return respond(error(
            status,
            "invalid_request_error",
            Some(code),
            "Refused by the test stand-in, as Stripe refuses under load.",
        ));
    }
    let lost = inner
        .answers_lost
        .lock()
        .unwrap()
        .as_ref()
        .is_some_and(|prefix| {
            path.starts_with(prefix.as_str())
                || format!("{method} {path}").starts_with(prefix.as_str())
        });
    let answered = handle(&inner, &method, &path, query, form, idempotency_key).await;
    if lost {
        return HttpResponse::GatewayTimeout()
            .content_type("text/html")
            .body("<html><body>504 Gateway Time-out</body></html>");
    }
    answered
}

/// An authorized API request, with Stripe's idempotency rules.
async fn handle(
    inner: &Inner,
    method: &str,
    path: &str,
    query: Params,
    form: Params,
    idempotency_key: Option<String>,
) -> HttpResponse {
    let params = if method == "GET" { query } else { form };
    let Some(key) = idempotency_key.filter(|_| method == "POST") else {
        let slow = {
            let mut slow_read = inner.slow_read.lock().unwrap();
            match slow_read.take() {
                Some((slow_path, delay)) if method == "GET" && slow_path == *path => Some(delay),
                other => {
                    *slow_read = other;
                    None
                }
            }
        };
        let answer = api(inner, method, path, &params);
        if let Some(delay) = slow {
            tokio::time::sleep(delay).await;
        }
        return respond(answer);
    };

    let mut sorted = params.clone();
    sorted.sort();
    let fingerprint = format!("{method} {path} {sorted:?}");
    {
        let now = inner.now();
        let mut state = inner.state();
        // Stripe forgets a key 24 hours after its first use: the same key is then a new request.
        state
            .idempotency
            .retain(|_, used| used.first_used > now - 86_400);
        match state.idempotency.get(&key) {
            Some(used) if used.fingerprint != fingerprint => {
                return respond(error(
                    400,
                    "idempotency_error",
                    None,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                ));
            }
            Some(KeyUse {
                answer: Some(first),
                ..
            }) => {
                let mut response = respond(first.clone());
                response.headers_mut().insert(
                    actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
                    actix_web::http::header::HeaderValue::from_static("true"),
                );
                return response;
            }
            Some(KeyUse { answer: None, .. }) => {
                return respond(error(
                    409,
                    "idempotency_error",
                    Some("idempotency_key_in_use"),
                    "There is currently another in-progress request using this Idempotent Key.",
                ));
            }
            None => {
                state.idempotency.insert(
                    key.clone(),
                    KeyUse {
                        fingerprint,
                        first_used: now,
                        answer: None,
                    },
                );
            }
        }
    }
    let latency = *inner.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let result = api(inner, method, path, &params);
    if let Some(used) = inner.state().idempotency.get_mut(&key) {
        used.answer = Some(result.clone());
    }
    respond(result)
}

/// A subscription as the API answers it, its latest invoice and its customer expanded when
/// asked (`prefix` is `data.` in a listing).
fn with_expansions(state: &State, mut subscription: Value, params: &Params, prefix: &str) -> Value {
    if expands(params, &format!("{prefix}latest_invoice"))
        && let Some(id) = subscription["latest_invoice"].as_str()
        && let Some(invoice) = state.invoices.iter().find(|i| i["id"] == id)
    {
        subscription["latest_invoice"] = invoice.clone();
    }
    if expands(params, &format!("{prefix}customer"))
        && let Some(id) = subscription["customer"].as_str()
    {
        subscription["customer"] = state
            .customers
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| json!({"id": id, "object": "customer", "deleted": true}));
    }
    subscription
}

/// A coupon from `POST /v1/coupons`'s parameters, or Stripe's error.
fn coupon(params: &Params, now: i64) -> Result<Value, (u16, Value)> {
    let invalid = |message: &str| error(400, "invalid_request_error", None, message);
    let percent = param(params, "percent_off").map(str::parse::<f64>);
    let amount = param(params, "amount_off").map(str::parse::<i64>);
    let (percent_off, amount_off) = match (percent, amount) {
        (Some(Ok(p)), None) if p > 0.0 && p <= 100.0 => (json!(p), Value::Null),
        (None, Some(Ok(a))) if a > 0 => (Value::Null, json!(a)),
        _ => {
            return Err(invalid(
                "Exactly one of percent_off or amount_off must be given.",
            ));
        }
    };
    let currency = param(params, "currency");
    if !amount_off.is_null() && currency.is_none() {
        return Err(invalid("currency is required with amount_off."));
    }
    let duration = param(params, "duration").unwrap_or("once");
    let months = param(params, "duration_in_months").and_then(|m| m.parse::<i64>().ok());
    match (duration, months) {
        ("once" | "forever", None) | ("repeating", Some(1..)) => {}
        _ => return Err(invalid("Invalid duration or duration_in_months.")),
    }
    Ok(json!({
        "id": param(params, "id"), "object": "coupon", "name": param(params, "name"),
        "percent_off": percent_off, "amount_off": amount_off,
        "currency": if amount_off.is_null() { Value::Null } else { json!(currency) },
        "duration": duration, "duration_in_months": months,
        "created": now, "valid": true, "times_redeemed": 0, "livemode": false,
    }))
}

fn expands(params: &Params, field: &str) -> bool {
    params
        .iter()
        .any(|(key, value)| key == "expand[]" && value == field)
}

fn api(inner: &Inner, method: &str, path: &str, params: &Params) -> (u16, Value) {
    let parts: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
    let mut state = inner.state();
    let now = inner.now();
    match (method, parts.as_slice()) {
        ("POST", ["coupons"]) => {
            let mut made = match coupon(params, now) {
                Ok(made) => made,
                Err(refused) => return refused,
            };
            if made["id"].is_null() {
                made["id"] = json!(state.id("coupon"));
            }
            let id = made["id"].as_str().unwrap_or_default().to_string();
            if State::find(&mut state.coupons, &id).is_some() {
                return error(
                    400,
                    "invalid_request_error",
                    Some("resource_already_exists"),
                    "Coupon already exists.",
                );
            }
            state.coupons.push(made.clone());
            answer(200, made)
        }
        ("GET", ["coupons", id]) => match State::find(&mut state.coupons, id) {
            Some(coupon) => answer(200, coupon.clone()),
            None => missing("coupon", id),
        },
        ("GET", ["prices", id]) => match state.price(id) {
            Some(price) => answer(200, price_json(&price)),
            None => missing("price", id),
        },
        ("POST", ["customers"]) => {
            let id = state.id("cus");
            let customer = json!({
                "id": id, "object": "customer", "created": now,
                "email": param(params, "email"), "metadata": map_of(params, "metadata"),
                "invoice_settings": {"default_payment_method": null},
                "livemode": false,
            });
            state.customers.push(customer.clone());
            inner.emit(&mut state, "customer.created", customer.clone());
            answer(200, customer)
        }
        ("GET", ["customers", "search"]) => {
            // Only the query Gazette makes: `metadata['key']:'value'`. A customer is found a
            // minute after it is made, as Stripe's search lags behind its writes.
            let Some((key, value)) = param(params, "query").and_then(metadata_query) else {
                return error(
                    400,
                    "invalid_request_error",
                    None,
                    "Unsupported search query",
                );
            };
            let data: Vec<Value> = state
                .customers
                .iter()
                .filter(|c| c["metadata"][&key] == value.as_str())
                .filter(|c| c["created"].as_i64().unwrap_or(0) + 60 <= now)
                .cloned()
                .collect();
            answer(
                200,
                json!({"object": "search_result", "data": data, "has_more": false,
                    "next_page": null, "url": "/v1/customers/search"}),
            )
        }
        ("GET", ["customers", id]) => match State::find(&mut state.customers, id) {
            Some(customer) => answer(200, customer.clone()),
            None => missing("customer", id),
        },
        ("POST", ["customers", id]) => {
            let Some(customer) = State::find(&mut state.customers, id) else {
                return missing("customer", id);
            };
            if let Some(email) = param(params, "email") {
                customer["email"] = json!(email);
            }
            if let Value::Object(metadata) = map_of(params, "metadata") {
                for (key, value) in metadata {
                    customer["metadata"][key] = value;
                }
            }
            let updated = customer.clone();
            inner.emit(&mut state, "customer.updated", updated.clone());
            answer(200, updated)
        }
        ("POST", ["checkout", "sessions"]) if param(params, "mode") == Some("payment") => {
            payment_session(inner, &mut state, params, now)
        }
        ("POST", ["checkout", "sessions"]) => {
            let customer = param(params, "customer").unwrap_or_default().to_string();
            if State::find(&mut state.customers, &customer).is_none() {
                return no_such("customer", "customer", &customer);
            }
            let price = param(params, "line_items[0][price]").unwrap_or_default();
            if state.price(price).is_none() {
                return missing("price", price);
            }
            if param(params, "mode") != Some("subscription")
                || param(params, "success_url").is_none()
                || param(params, "cancel_url").is_none()
            {
                return error(400, "invalid_request_error", None, "Missing required param");
            }
            let discounts = match param(params, "discounts[0][coupon]") {
                Some(coupon) if State::find(&mut state.coupons, coupon).is_none() => {
                    return no_such("coupon", "discounts[0][coupon]", coupon);
                }
                Some(coupon) => json!([{"coupon": coupon}]),
                None => json!([]),
            };
            let trial_days = match param(params, "subscription_data[trial_period_days]") {
                Some(days) => match days.parse::<i64>() {
                    Ok(days @ 1..=730) => json!(days),
                    _ => {
                        return error(
                            400,
                            "invalid_request_error",
                            None,
                            "Invalid trial_period_days",
                        );
                    }
                },
                None => Value::Null,
            };
            let collection = param(params, "payment_method_collection").unwrap_or("always");
            if !["always", "if_required"].contains(&collection) {
                return error(
                    400,
                    "invalid_request_error",
                    None,
                    "Invalid payment_method_collection",
                );
            }
            let missing_payment_method = param(
                params,
                "subscription_data[trial_settings][end_behavior][missing_payment_method]",
            );
            let id = state.id("cs_test");
            let session = json!({
                "id": id, "object": "checkout.session", "mode": "subscription",
                "status": "open", "payment_status": "unpaid", "customer": customer,
                "subscription": null, "client_reference_id": param(params, "client_reference_id"),
                "success_url": param(params, "success_url"), "cancel_url": param(params, "cancel_url"),
                "line_items": [{"price": price, "quantity": 1}],
                "metadata": map_of(params, "metadata"),
                "subscription_data": {
                    "metadata": map_of(params, "subscription_data[metadata]"),
                    "trial_period_days": trial_days,
                    "trial_settings": missing_payment_method.map(|behavior| json!({
                        "end_behavior": {"missing_payment_method": behavior},
                    })),
                },
                "discounts": discounts, "payment_method_collection": collection,
                "url": format!("{}/pay/{id}", inner.base),
                "created": now, "expires_at": now + 86_400, "livemode": false,
            });
            state.sessions.push(session.clone());
            answer(200, session)
        }
        ("GET", ["checkout", "sessions", id]) => {
            let Some(session) = State::find(&mut state.sessions, id) else {
                return missing("checkout.session", id);
            };
            // Stripe expires an unpaid session at its time.
            if session["status"] == "open" && session["expires_at"].as_i64().unwrap_or(0) <= now {
                session["status"] = json!("expired");
                session["url"] = Value::Null;
                let expired = session.clone();
                inner.emit(&mut state, "checkout.session.expired", expired.clone());
                return answer(200, expired);
            }
            answer(200, session.clone())
        }
        ("POST", ["checkout", "sessions", id, "expire"]) => {
            let Some(session) = State::find(&mut state.sessions, id) else {
                return missing("checkout.session", id);
            };
            if session["status"] != "open" {
                return error(
                    400,
                    "invalid_request_error",
                    None,
                    "Only Checkout Sessions with a status in [\"open\"] can be expired.",
                );
            }
            session["status"] = json!("expired");
            session["url"] = Value::Null;
            let expired = session.clone();
            inner.emit(&mut state, "checkout.session.expired", expired.clone());
            answer(200, expired)
        }
        ("GET", ["subscriptions"]) => {
            let customer = param(params, "customer").unwrap_or_default();
            let data: Vec<Value> = state
                .subscriptions
                .iter()
                .filter(|s| s["customer"] == customer)
                .rev()
                .map(|s| with_expansions(&state, s.clone(), params, "data."))
                .collect();
            answer(
                200,
                json!({"object": "list", "data": data, "has_more": false, "url": "/v1/subscriptions"}),
            )
        }
        ("GET", ["subscriptions", id]) => match State::find(&mut state.subscriptions, id) {
            Some(subscription) => {
                let subscription = subscription.clone();
                answer(200, with_expansions(&state, subscription, params, ""))
            }
            None => missing("subscription", id),
        },
        ("POST", ["subscriptions", id]) => {
            let coupon = match param(params, "discounts[0][coupon]") {
                Some(coupon) => match State::find(&mut state.coupons, coupon) {
                    Some(found) => Some(found.clone()),
                    None => return no_such("coupon", "discounts[0][coupon]", coupon),
                },
                None => None,
            };
            let Some(subscription) = State::find(&mut state.subscriptions, id) else {
                return missing("subscription", id);
            };
            if subscription["status"] == "canceled" {
                return error(
                    400,
                    "invalid_request_error",
                    None,
                    "A canceled subscription can only update its cancellation_details and metadata.",
                );
            }
            if let Some(cancel) = param(params, "cancel_at_period_end") {
                let cancel = cancel == "true";
                subscription["cancel_at_period_end"] = json!(cancel);
                subscription["canceled_at"] = if cancel { json!(now) } else { Value::Null };
            }
            // The coupon replaces any discount, and applies to the invoices from now on.
            if let Some(coupon) = coupon {
                let start = OffsetDateTime::from_unix_timestamp(now).expect("a time");
                subscription["discount"] = discount_json(&coupon, id, start);
            }
            let updated = subscription.clone();
            inner.emit(&mut state, "customer.subscription.updated", updated.clone());
            answer(200, with_expansions(&state, updated, params, ""))
        }
        ("DELETE", ["subscriptions", id]) => {
            drop(state);
            cancel_now(inner, id).unwrap_or_else(|e| e)
        }
        ("POST", ["billing_portal", "sessions"]) => {
            let customer = param(params, "customer").unwrap_or_default().to_string();
            if State::find(&mut state.customers, &customer).is_none() {
                return no_such("customer", "customer", &customer);
            }
            let id = state.id("bps");
            let flow = param(params, "flow_data[type]").map(|kind| {
                json!({
                    "type": kind,
                    "subscription": param(params, "flow_data[subscription_update_confirm][subscription]"),
                    "item": param(params, "flow_data[subscription_update_confirm][items][0][id]"),
                    "price": param(params, "flow_data[subscription_update_confirm][items][0][price]"),
                })
            });
            let portal = json!({
                "id": id, "object": "billing_portal.session", "customer": customer,
                "return_url": param(params, "return_url"), "flow": flow,
                "url": format!("{}/portal/{id}", inner.base), "created": now,
            });
            state.portals.push(portal.clone());
            answer(200, portal)
        }
        ("GET", ["events"]) => {
            let undelivered_only = param(params, "delivery_success") == Some("false");
            let since = param(params, "created[gte]")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            let types: Vec<&str> = params
                .iter()
                .filter(|(k, _)| k == "types[]")
                .map(|(_, v)| v.as_str())
                .collect();
            let limit = param(params, "limit")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(10);
            let after = param(params, "starting_after");
            let mut newest_first: Vec<Value> = state
                .events
                .iter()
                .rev()
                .filter(|e| !undelivered_only || !e.delivered)
                .filter(|e| types.is_empty() || types.contains(&e.kind.as_str()))
                .map(|e| serde_json::from_str::<Value>(&e.body).unwrap())
                .filter(|e| e["created"].as_i64().unwrap_or(0) >= since)
                .collect();
            if let Some(after) = after
                && let Some(at) = newest_first.iter().position(|e| e["id"] == after)
            {
                newest_first.drain(..=at);
            }
            let has_more = newest_first.len() > limit;
            newest_first.truncate(limit);
            answer(
                200,
                json!({"object": "list", "data": newest_first, "has_more": has_more, "url": "/v1/events"}),
            )
        }
        _ => error(
            404,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({method}: {path})"),
        ),
    }
}

/// The key and value of a search query `metadata['key']:'value'`.
fn metadata_query(query: &str) -> Option<(String, String)> {
    let rest = query.trim().strip_prefix("metadata['")?;
    let (key, rest) = rest.split_once("']:'")?;
    let value = rest.strip_suffix('\'')?;
    Some((key.to_string(), value.to_string()))
}

/// Cancels a subscription now, as `DELETE /v1/subscriptions/{id}` does.
pub(super) fn cancel_now(inner: &Inner, id: &str) -> Result<(u16, Value), (u16, Value)> {
    let mut state = inner.state();
    let now = inner.now();
    let Some(subscription) = State::find(&mut state.subscriptions, id) else {
        return Err(missing("subscription", id));
    };
    if subscription["status"] == "canceled" {
        return Err(error(
            400,
            "invalid_request_error",
            None,
            "This subscription has already been canceled.",
        ));
    }
    subscription["status"] = json!("canceled");
    subscription["ended_at"] = json!(now);
    if subscription["canceled_at"].is_null() {
        subscription["canceled_at"] = json!(now);
    }
    let canceled = subscription.clone();
    inner.emit(
        &mut state,
        "customer.subscription.deleted",
        canceled.clone(),
    );
    Ok((200, canceled))
}

/// A Checkout Session in payment mode: one line of `price_data` (an amount in a currency, a
/// product's name), paid once.
fn payment_session(inner: &Inner, state: &mut State, params: &Params, now: i64) -> (u16, Value) {
    let amount = param(params, "line_items[0][price_data][unit_amount]")
        .and_then(|amount| amount.parse::<i64>().ok())
        .filter(|amount| *amount > 0);
    let currency = param(params, "line_items[0][price_data][currency]")
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_lowercase()));
    let name = param(params, "line_items[0][price_data][product_data][name]");
    let (Some(amount), Some(currency), Some(name)) = (amount, currency, name) else {
        return error(
            400,
            "invalid_request_error",
            None,
            "Missing required param: price_data",
        );
    };
    if param(params, "line_items[0][quantity]") != Some("1")
        || param(params, "success_url").is_none()
        || param(params, "cancel_url").is_none()
        || param(params, "line_items[0][price]").is_some()
        || param(params, "subscription_data[trial_period_days]").is_some()
    {
        return error(
            400,
            "invalid_request_error",
            None,
            "Invalid payment session",
        );
    }
    let id = state.id("cs_test");
    let session = json!({
        "id": id, "object": "checkout.session", "mode": "payment",
        "status": "open", "payment_status": "unpaid",
        "customer": param(params, "customer"),
        "customer_email": param(params, "customer_email"),
        "subscription": null, "payment_intent": null,
        "client_reference_id": param(params, "client_reference_id"),
        "success_url": param(params, "success_url"), "cancel_url": param(params, "cancel_url"),
        "line_items": [{"price_data": {
            "currency": currency, "unit_amount": amount, "product_data": {"name": name},
        }, "quantity": 1}],
        "amount_total": amount, "currency": currency,
        "metadata": map_of(params, "metadata"),
        "url": format!("{}/pay/{id}", inner.base),
        "created": now, "expires_at": now + 86_400, "livemode": false,
    });
    state.sessions.push(session.clone());
    answer(200, session)
}

/// Completes a payment-mode session: the money is taken, and Stripe says so.
fn complete_payment(inner: &Inner, state: &mut State, session_id: &str) -> Option<String> {
    let intent = state.id("pi");
    let session = State::find(&mut state.sessions, session_id)?;
    session["status"] = json!("complete");
    session["payment_status"] = json!("paid");
    session["payment_intent"] = json!(intent);
    let completed = session.clone();
    inner.emit(state, "checkout.session.completed", completed);
    Some(intent)
}

/// The reader pays the checkout page; the success address with the session's id.
pub(super) fn pay(inner: &Inner, session_id: &str) -> Result<String, String> {
    let mut state = inner.state();
    let session = State::find(&mut state.sessions, session_id)
        .ok_or_else(|| format!("no session {session_id}"))?
        .clone();
    if session["status"] != "open" {
        return Err(format!("the session is {}", session["status"]));
    }
    if session["expires_at"].as_i64().unwrap_or(0) <= inner.now() {
        return Err("the session expired".to_string());
    }
    if session["mode"] == "payment" {
        complete_payment(inner, &mut state, session_id).ok_or("no such session")?;
    } else {
        inner
            .start_subscription(&mut state, session_id)
            .ok_or("the session has no price or customer")?;
    }
    Ok(session["success_url"]
        .as_str()
        .unwrap_or_default()
        .replace("{CHECKOUT_SESSION_ID}", session_id))
}

/// The reader pays an open invoice: the subscription is active again.
pub(super) fn pay_invoice(inner: &Inner, invoice_id: &str) -> Result<String, String> {
    let mut state = inner.state();
    let invoice = State::find(&mut state.invoices, invoice_id).ok_or("no such invoice")?;
    if invoice["status"] != "open" {
        return Err(format!("the invoice is {}", invoice["status"]));
    }
    invoice["status"] = json!("paid");
    invoice["amount_paid"] = invoice["amount_due"].clone();
    invoice["amount_remaining"] = json!(0);
    let paid = invoice.clone();
    let sub_id = paid["subscription"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let subscription = State::find(&mut state.subscriptions, &sub_id).ok_or("no subscription")?;
    subscription["status"] = json!("active");
    let active = subscription.clone();
    inner.emit(&mut state, "invoice.paid", Inner::invoice_for_event(&paid));
    inner.emit(&mut state, "customer.subscription.updated", active);
    Ok(sub_id)
}

fn pages(inner: &Inner, method: &str, path: &str, form: &Params) -> HttpResponse {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["pay", id]) => {
            let session = State::find(&mut inner.state().sessions, id).map(|s| s.clone());
            let Some(session) = session else {
                return HttpResponse::NotFound().body("no such checkout");
            };
            let price = inner.state().price(
                session["line_items"][0]["price"]
                    .as_str()
                    .unwrap_or_default(),
            );
            // A price of the account's, or the amount a payment-mode session names.
            let charged = price
                .map(|p| (p.unit_amount, p.currency.to_string()))
                .or_else(|| {
                    let data = &session["line_items"][0]["price_data"];
                    Some((
                        data["unit_amount"].as_i64()?,
                        data["currency"].as_str()?.to_string(),
                    ))
                });
            let amount = charged.map_or(String::new(), |(unit_amount, currency)| {
                let currency = currency.to_uppercase();
                match currency.as_str() {
                    // Stripe's zero-decimal and three-decimal currencies.
                    "JPY" | "KRW" | "VND" | "CLP" => format!("{} {currency}", unit_amount),
                    "BHD" | "JOD" | "KWD" | "OMR" | "TND" => format!(
                        "{}.{:03} {currency}",
                        unit_amount / 1000,
                        unit_amount % 1000
                    ),
                    _ => format!("{}.{:02} {currency}", unit_amount / 100, unit_amount % 100),
                }
            });
            let cancel = session["cancel_url"].as_str().unwrap_or("/");
            if session["status"] != "open" {
                return page(format!("<h1>This checkout is {}</h1>", session["status"]));
            }
            let offer = match (
                session["subscription_data"]["trial_period_days"].as_i64(),
                session["discounts"][0]["coupon"].as_str(),
            ) {
                (Some(days), _) => format!("<p id=\"offer\">{days} days free</p>"),
                (None, Some(coupon)) => format!("<p id=\"offer\">Coupon {coupon}</p>"),
                (None, None) => String::new(),
            };
            page(format!(
                "<h1>Pay Gazette</h1><p id=\"amount\">{amount}</p>{offer}\
                 <p>Test mode: use 4242 4242 4242 4242.</p>\
                 <form method=\"post\" action=\"/pay/{id}\"><button type=\"submit\" id=\"pay\">Subscribe</button></form>\
                 <p><a id=\"back\" href=\"{cancel}\">Back</a></p>"
            ))
        }
        ("POST", ["pay", id]) => match pay(inner, id) {
            Ok(success) => see_other(&success),
            Err(reason) => HttpResponse::Conflict().body(reason),
        },
        ("GET", ["portal", id]) => {
            let portal = State::find(&mut inner.state().portals, id).map(|p| p.clone());
            let Some(portal) = portal else {
                return HttpResponse::NotFound().body("no such portal session");
            };
            let switch = match portal["flow"]["type"].as_str() {
                Some("subscription_update_confirm") => format!(
                    "<form method=\"post\" action=\"/portal/{id}/switch\"><button id=\"confirm-switch\">Confirm switch to {}</button></form>",
                    portal["flow"]["price"].as_str().unwrap_or_default()
                ),
                _ => String::new(),
            };
            page(format!(
                "<h1>Billing</h1>{switch}\
                 <form method=\"post\" action=\"/portal/{id}/cancel\"><button id=\"cancel-plan\">Cancel plan</button></form>\
                 <p><a id=\"return\" href=\"{}\">Return to Gazette</a></p>",
                portal["return_url"].as_str().unwrap_or("/")
            ))
        }
        ("POST", ["portal", id, action]) => {
            let portal = State::find(&mut inner.state().portals, id).map(|p| p.clone());
            let Some(portal) = portal else {
                return HttpResponse::NotFound().body("no such portal session");
            };
            let customer = portal["customer"].as_str().unwrap_or_default();
            let mut state = inner.state();
            let now = inner.now();
            let live = state
                .subscriptions
                .iter()
                .position(|s| s["customer"] == customer && s["status"] != "canceled");
            let Some(at) = live else {
                return HttpResponse::Conflict().body("no subscription to change");
            };
            match *action {
                "cancel" => {
                    state.subscriptions[at]["cancel_at_period_end"] = json!(true);
                    state.subscriptions[at]["canceled_at"] = json!(now);
                }
                "switch" => {
                    let price_id = portal["flow"]["price"].as_str().unwrap_or_default();
                    let Some(price) = state.price(price_id) else {
                        return HttpResponse::Conflict().body("no such price");
                    };
                    state.subscriptions[at]["items"]["data"][0]["price"] = price_json(&price);
                }
                _ => return HttpResponse::NotFound().finish(),
            }
            let updated = state.subscriptions[at].clone();
            inner.emit(&mut state, "customer.subscription.updated", updated);
            let _ = form;
            see_other(portal["return_url"].as_str().unwrap_or("/"))
        }
        ("GET", ["invoice", id]) => page(format!(
            "<h1>Invoice {id}</h1><form method=\"post\" action=\"/invoice/{id}\"><button id=\"pay-invoice\">Pay</button></form>"
        )),
        ("POST", ["invoice", id]) => match pay_invoice(inner, id) {
            Ok(_) => page("<h1>Paid</h1>".to_string()),
            Err(reason) => HttpResponse::Conflict().body(reason),
        },
        _ => HttpResponse::NotFound().body("not a page of this stand-in"),
    }
}
