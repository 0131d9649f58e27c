//! Plans and checkout. Every change of subscription is decided against the stored rows and
//! written in one transaction; the database's unique index has the last word, so double
//! submits and two tabs end with exactly one current subscription.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use diesel::Connection;
use serde::Deserialize;

use super::NextQuery;
use super::auth::see_other;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::{Member, Reader};
use crate::auth::session::ReaderSession;
use crate::db;
use crate::domain::redirect::local_or_empty;
use crate::domain::subscription::{Standing, Status, add_months};
use crate::error::AppError;
use crate::models::{NewSubscription, Plan};
use crate::payments::{ChargeRequest, PaymentError, PaymentGateway};
use crate::startup::AppState;
use crate::views::{Layout, PlanView, SubscribePage, encode_next, long_date, render};

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

/// What a subscribe request does, given what is stored.
enum Change {
    /// Already subscribed to this plan and renewing: nothing to do.
    Nothing,
    /// Cancelled but still in the paid period: renew again, no charge.
    Resume { subscription_id: i64 },
    /// A new paid period: a first subscription, one after a lapse, or a switch of plan.
    Start { replacing: Option<i64> },
}

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

    let now = state.clock.now();
    let flash = match change_for(&member, &plan, now) {
        Change::Nothing => format!("You already subscribe to the {} plan.", plan.name),
        Change::Resume { subscription_id } => {
            resume(&state, member.user_id, subscription_id).await?;
            format!(
                "Welcome back! Your {} subscription will renew as before.",
                plan.name
            )
        }
        Change::Start { replacing } => {
            match start_period(&state, &*gateway, &member, &plan, replacing, now).await? {
                Ok(flash) => flash,
                Err(payment_error) => {
                    let message = format!(
                        "The payment did not go through: {payment_error}. You have not been charged."
                    );
                    return refuse(&message, StatusCode::UNPROCESSABLE_ENTITY).await;
                }
            }
        }
    };
    session.set_flash(&flash)?;
    Ok(see_other(&done))
}

/// Renews a cancelled subscription again (it is still paid for: no charge).
async fn resume(state: &AppState, user_id: i64, subscription_id: i64) -> Result<(), AppError> {
    db::run(&state.pool, move |conn| {
        conn.transaction(
            |conn| match db::subscriptions::current_for_update(conn, user_id)? {
                Some(row)
                    if row.id == subscription_id && row.status == Status::Canceled.as_str() =>
                {
                    db::subscriptions::resume(conn, row.id)
                }
                // Changed in another window meanwhile: leave it as it is now.
                _ => Ok(()),
            },
        )
    })
    .await?;
    tracing::info!(user_id, "subscription resumed");
    Ok(())
}

/// Charges for a new period and records it, ending the subscription it replaces. Returns the
/// message for the reader, or the payment processor's refusal.
async fn start_period(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    member: &Member,
    plan: &Plan,
    replacing: Option<i64>,
    now: time::OffsetDateTime,
) -> Result<Result<String, PaymentError>, AppError> {
    let user_id = member.user_id;
    let charge = gateway
        .charge(ChargeRequest {
            user_id,
            plan_code: plan.code.clone(),
            amount_cents: plan.price_cents,
            currency: plan.currency.clone(),
            idempotency_key: format!(
                "subscribe:{user_id}:{}:{}",
                plan.code,
                replacing.unwrap_or(0)
            ),
        })
        .await;
    let charge = match charge {
        Ok(charge) => charge,
        Err(error) => {
            tracing::warn!(user_id, "payment failed: {error}");
            return Ok(Err(error));
        }
    };

    let period_end = add_months(now, plan.period_months);
    let gateway_name = gateway.name();
    let plan_code = plan.code.clone();
    let started = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let current = db::subscriptions::current_for_update(conn, user_id)?;
            // Another window changed the subscription since we looked.
            if current.as_ref().map(|row| row.id) != replacing {
                return Ok(false);
            }
            if let Some(old) = replacing {
                db::subscriptions::end(conn, old, now)?;
            }
            let new = NewSubscription {
                user_id,
                plan_code: &plan_code,
                status: Status::Active.as_str(),
                current_period_start: now,
                current_period_end: period_end,
                gateway: gateway_name,
                gateway_reference: &charge.reference,
            };
            db::subscriptions::insert(conn, &new)?;
            Ok(true)
        })
    })
    .await;
    let already = "Your subscription was already updated in another window.".to_string();
    match started {
        Ok(true) => {
            tracing::info!(user_id, plan = %plan.code, "subscription started");
            Ok(Ok(format!(
                "Thank you for subscribing! Your {} plan runs until {}.",
                plan.name,
                long_date(period_end)
            )))
        }
        Ok(false) => Ok(Ok(already)),
        Err(error) if error.is_unique_violation() => Ok(Ok(already)),
        Err(error) => Err(error.into()),
    }
}

fn change_for(member: &Member, plan: &Plan, now: time::OffsetDateTime) -> Change {
    let Some(row) = &member.subscription else {
        return Change::Start { replacing: None };
    };
    let standing = Status::parse(&row.status).map(|s| Standing::of(s, row.current_period_end, now));
    match standing {
        Some(Standing::Current { canceled, .. }) if row.plan_code == plan.code => {
            if canceled {
                Change::Resume {
                    subscription_id: row.id,
                }
            } else {
                Change::Nothing
            }
        }
        _ => Change::Start {
            replacing: Some(row.id),
        },
    }
}
