//! Plans and checkout.
//!
//! A subscribe request is decided against the stored subscription while its row is locked
//! (`domain::subscription::change`). A paid change first opens the reader's one checkout
//! (`db::checkouts`), so two tabs or a double submit cannot both be charged. The charge is
//! keyed by the checkout, so asking the processor again never charges twice; its reference is
//! saved before the subscription is recorded, so a payment taken is never lost: a later
//! request, or housekeeping, records it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use diesel::Connection;
use serde::Deserialize;

use super::NextQuery;
use super::auth::see_other;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Reader;
use crate::auth::session::ReaderSession;
use crate::db;
use crate::domain::redirect::local_or_empty;
use crate::domain::subscription::{self, Change, Current, Standing, Status, Terms};
use crate::error::AppError;
use crate::models::Plan;
use crate::models::{Checkout, NewCheckout};
use crate::payments::{ChargeRequest, PaymentError, PaymentGateway};
use crate::startup::AppState;
use crate::views::{Layout, PlanView, SubscribePage, encode_next, long_date, render};
use time::{Duration, OffsetDateTime};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SubscribeInput {
    plan: String,
    next: Option<String>,
}

pub async fn show(
    query: web::Query<NextQuery>,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let next = local_or_empty(query.next.as_deref());
    page(&state, &session, &reader, next, None, StatusCode::OK).await
}

async fn page(
    state: &AppState,
    session: &ReaderSession,
    reader: &Reader,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let plans = db::run(&state.pool, db::plans::list).await?;
    let now = state.clock.now();
    let current_plan = reader
        .member
        .as_ref()
        .and_then(|m| m.subscription.as_ref())
        .filter(|row| crate::auth::current_reader::grants_access(row, now))
        .map(|row| row.plan_code.clone());
    let page = SubscribePage {
        layout: Layout::for_reader("Subscribe", session, reader, state.free_articles_per_month)?,
        plans: plans.iter().map(PlanView::from).collect(),
        test_gateway: state.gateway.as_ref().map(|g| g.is_test()),
        logged_in: reader.member.is_some(),
        next,
        current_plan,
        error,
    };
    render(status, &page)
}

/// How long the payment processor may take to answer a charge.
const CHARGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// A pending checkout older than this is no longer being paid by any request (its charge
/// would have timed out): the next request asks the processor again, with the same key.
const ABANDONED_AFTER: Duration = Duration::minutes(2);

pub async fn subscribe(
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
    CsrfForm(input): CsrfForm<SubscribeInput>,
) -> Result<HttpResponse, AppError> {
    let next = local_or_empty(input.next.as_deref());
    let Some(member) = reader.member.clone() else {
        let location = if next.is_empty() {
            "/login?next=/subscribe".to_string()
        } else {
            let back = format!("/subscribe?next={}", encode_next(&next));
            format!("/login?next={}", encode_next(&back))
        };
        return Ok(see_other(&location));
    };
    let done = if next.is_empty() {
        "/account".to_string()
    } else {
        next.clone()
    };
    let refuse = |message: &str, status| {
        page(
            &state,
            &session,
            &reader,
            next.clone(),
            Some(message.to_string()),
            status,
        )
    };

    let Some(gateway) = state.gateway.clone() else {
        let message = "Payments are not set up on this site yet, so subscriptions cannot be taken.";
        return refuse(message, StatusCode::SERVICE_UNAVAILABLE).await;
    };
    let code = input.plan.trim().to_string();
    let Some(plan) = db::run(&state.pool, move |conn| db::plans::find(conn, &code)).await? else {
        return refuse(
            "Choose one of the plans below.",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };

    let flash = match decide(&state, member.user_id, &plan).await? {
        Decision::Done(flash) => flash,
        Decision::InProgress => "A payment for your subscription is already under way. \
                                 Check your account in a moment."
            .to_string(),
        Decision::Pay(checkout) => match pay(&state, &*gateway, checkout).await? {
            Ok(flash) => flash,
            Err(PaymentError::Declined(reason)) => {
                let message =
                    format!("The payment was declined ({reason}). You have not been charged.");
                return refuse(&message, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
            Err(PaymentError::Unavailable(_)) => {
                let message = "We could not confirm your payment with the payment processor. \
                               Please try again in a few minutes: you will not be charged twice.";
                return refuse(message, StatusCode::SERVICE_UNAVAILABLE).await;
            }
        },
    };
    session.set_flash(&flash)?;
    Ok(see_other(&done))
}

enum Decision {
    /// Nothing to pay; the change (if any) is made. The message for the reader.
    Done(String),
    /// Another request of this reader is paying right now.
    InProgress,
    /// A checkout to pay, then record.
    Pay(Checkout),
}

/// Decides what the request does, against the locked subscription and checkout rows. A paid
/// checkout left unrecorded is recorded first; an abandoned one is paid again (with its own
/// key, so never twice).
async fn decide(state: &AppState, user_id: i64, plan: &Plan) -> Result<Decision, AppError> {
    let now = state.clock.now();
    let terms = Terms {
        plan_code: plan.code.clone(),
        price_cents: plan.price_cents,
        period_months: plan.period_months,
    };
    let plan_name = plan.name.clone();
    let decision = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let current_row = db::subscriptions::current_for_update(conn, user_id)?;
            if let Some(checkout) = db::checkouts::find_for_update(conn, user_id)? {
                if checkout.gateway_reference.is_some() {
                    db::checkouts::record(conn, &checkout, now)?;
                    return Ok(Decision::Done(format!(
                        "Your earlier payment went through: your subscription is paid until {}.",
                        long_date(checkout.period_end)
                    )));
                }
                return Ok(if checkout.started_at < now - ABANDONED_AFTER {
                    Decision::Pay(checkout)
                } else {
                    Decision::InProgress
                });
            }
            let current = current_row.map(|row| as_current(row, now));
            match subscription::change(current.as_ref(), &terms, now) {
                Change::Nothing => Ok(Decision::Done(format!(
                    "You already subscribe to the {plan_name} plan."
                ))),
                Change::Resume { subscription_id } => {
                    db::subscriptions::resume(conn, subscription_id)?;
                    tracing::info!(user_id, "subscription resumed");
                    Ok(Decision::Done(format!(
                        "Your {plan_name} subscription is active again."
                    )))
                }
                Change::Start {
                    charge_cents,
                    value_cents,
                    period_end,
                } => {
                    let new = NewCheckout {
                        user_id,
                        plan_code: &terms.plan_code,
                        amount_cents: charge_cents,
                        period_value_cents: value_cents,
                        period_end,
                        started_at: now,
                    };
                    Ok(
                        db::checkouts::open(conn, &new)?
                            .map_or(Decision::InProgress, Decision::Pay),
                    )
                }
            }
        })
    })
    .await?;
    Ok(decision)
}

fn as_current(row: crate::models::SubscriptionRow, now: OffsetDateTime) -> Current {
    let standing = match Status::parse(&row.status) {
        Some(status) => Standing::of(status, row.current_period_end, now),
        None => Standing::Lapsed {
            period_end: row.current_period_end,
        },
    };
    Current {
        id: row.id,
        plan_code: row.plan_code,
        value_cents: row.period_value_cents,
        standing,
        period_start: row.current_period_start,
    }
}

/// Charges the checkout (unless credit covers it all), saves the proof of payment, and
/// records the subscription. Returns the message for the reader, or why no payment was taken.
async fn pay(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    mut checkout: Checkout,
) -> Result<Result<String, PaymentError>, AppError> {
    let user_id = checkout.user_id;
    let (gateway_name, reference) = if checkout.amount_cents == 0 {
        ("credit", format!("credit-{}", checkout.id))
    } else {
        let currency = db::run(&state.pool, {
            let code = checkout.plan_code.clone();
            move |conn| db::plans::find(conn, &code)
        })
        .await?
        .map_or_else(|| "USD".to_string(), |plan| plan.currency);
        let request = ChargeRequest {
            user_id,
            plan_code: checkout.plan_code.clone(),
            amount_cents: checkout.amount_cents,
            currency,
            idempotency_key: format!("checkout-{}", checkout.id),
        };
        let outcome = tokio::time::timeout(CHARGE_TIMEOUT, gateway.charge(request))
            .await
            .unwrap_or_else(|_| Err(PaymentError::Unavailable("no answer in time".to_string())));
        match outcome {
            Ok(charge) => (gateway.name(), charge.reference),
            Err(PaymentError::Declined(reason)) => {
                tracing::info!(user_id, "payment declined: {reason}");
                let id = checkout.id;
                db::run(&state.pool, move |conn| db::checkouts::abandon(conn, id)).await?;
                return Ok(Err(PaymentError::Declined(reason)));
            }
            // The outcome is unknown: the checkout stays, and is paid again (same key) later.
            Err(error) => {
                tracing::warn!(user_id, "payment not confirmed: {error}");
                return Ok(Err(error));
            }
        }
    };

    let id = checkout.id;
    let saved_reference = reference.clone();
    db::run(&state.pool, move |conn| db::checkouts::mark_charged(conn, id, gateway_name, &saved_reference))
        .await
        .inspect_err(|error| {
            tracing::error!(user_id, reference = %reference, "payment taken, reference not saved: {error}")
        })?;
    checkout.gateway = Some(gateway_name.to_string());
    checkout.gateway_reference = Some(reference);

    let now = state.clock.now();
    let period_end = checkout.period_end;
    let plan_code = checkout.plan_code.clone();
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| db::checkouts::record(conn, &checkout, now))
    })
    .await?;
    tracing::info!(user_id, plan = %plan_code, gateway = gateway_name, "subscription started");
    Ok(Ok(format!(
        "Thank you for subscribing! Your subscription is paid until {}.",
        long_date(period_end)
    )))
}
