//! Plans and checkout.
//!
//! A subscribe request is decided against the stored subscription while its row is locked
//! (`domain::subscription::change`). A paid change first takes the reader's one checkout
//! slot, so two tabs or a double submit cannot both be charged; only then is the payment
//! taken, keyed by the checkout, and the new period recorded. The database's unique indexes
//! have the last word: one checkout and one current subscription per reader.

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
use crate::models::{NewSubscription, Plan};
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

/// A checkout older than this was abandoned (the process stopped mid-payment).
const ABANDONED_AFTER: Duration = Duration::minutes(10);

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

    let user_id = member.user_id;
    let flash = match decide(&state, user_id, &plan).await? {
        Decision::Done(flash) => flash,
        Decision::InProgress => "A payment for your subscription is already in progress. \
                                 Check your account in a moment."
            .to_string(),
        Decision::Pay {
            checkout_id,
            charge_cents,
            period_end,
            replacing,
        } => {
            let payment = Payment {
                checkout_id,
                user_id,
                charge_cents,
                period_end,
                replacing,
            };
            match pay(&state, &*gateway, &plan, payment).await? {
                Ok(flash) => flash,
                Err(error) => {
                    let message = format!(
                        "The payment did not go through: {error}. You have not been charged."
                    );
                    return refuse(&message, StatusCode::UNPROCESSABLE_ENTITY).await;
                }
            }
        }
    };
    session.set_flash(&flash)?;
    Ok(see_other(&done))
}

enum Decision {
    /// Nothing to pay; the change (if any) is made. The message for the reader.
    Done(String),
    /// Another checkout of this reader is under way.
    InProgress,
    /// A checkout slot is taken: charge, then record.
    Pay {
        checkout_id: i64,
        charge_cents: i32,
        period_end: OffsetDateTime,
        replacing: Option<i64>,
    },
}

/// Decides the change against the locked subscription row and makes it when no payment is
/// involved; otherwise takes the reader's checkout slot.
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
            let current = match db::subscriptions::current_for_update(conn, user_id)? {
                Some(row) => Some(as_current(conn, row, now)?),
                None => None,
            };
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
                    period_end,
                    replacing,
                } => {
                    let checkout = db::checkouts::begin(
                        conn,
                        user_id,
                        &terms.plan_code,
                        now,
                        now - ABANDONED_AFTER,
                    )?;
                    Ok(match checkout {
                        Some(checkout_id) => Decision::Pay {
                            checkout_id,
                            charge_cents,
                            period_end,
                            replacing,
                        },
                        None => Decision::InProgress,
                    })
                }
            }
        })
    })
    .await?;
    Ok(decision)
}

fn as_current(
    conn: &mut diesel::PgConnection,
    row: crate::models::SubscriptionRow,
    now: OffsetDateTime,
) -> diesel::QueryResult<Current> {
    let price_cents = db::plans::find(conn, &row.plan_code)?.map_or(0, |plan| plan.price_cents);
    let standing = match Status::parse(&row.status) {
        Some(status) => Standing::of(status, row.current_period_end, now),
        None => Standing::Lapsed {
            period_end: row.current_period_end,
        },
    };
    Ok(Current {
        id: row.id,
        plan_code: row.plan_code,
        price_cents,
        standing,
        period_start: row.current_period_start,
    })
}

struct Payment {
    checkout_id: i64,
    user_id: i64,
    charge_cents: i32,
    period_end: OffsetDateTime,
    replacing: Option<i64>,
}

/// Charges (unless the credit covers it all) and records the new period. Returns the message
/// for the reader, or the processor's refusal (the checkout is then released).
async fn pay(
    state: &AppState,
    gateway: &dyn PaymentGateway,
    plan: &Plan,
    payment: Payment,
) -> Result<Result<String, PaymentError>, AppError> {
    let Payment {
        checkout_id,
        user_id,
        charge_cents,
        period_end,
        replacing,
    } = payment;
    let reference = if charge_cents == 0 {
        format!("credit:{}", replacing.unwrap_or(0))
    } else {
        let request = ChargeRequest {
            user_id,
            plan_code: plan.code.clone(),
            amount_cents: charge_cents,
            currency: plan.currency.clone(),
            idempotency_key: format!("checkout-{checkout_id}"),
        };
        match gateway.charge(request).await {
            Ok(charge) => charge.reference,
            Err(error) => {
                tracing::warn!(user_id, "payment failed: {error}");
                db::run(&state.pool, move |conn| {
                    db::checkouts::finish(conn, checkout_id)
                })
                .await?;
                return Ok(Err(error));
            }
        }
    };

    let now = state.clock.now();
    let gateway_name = if charge_cents == 0 {
        "credit"
    } else {
        gateway.name()
    };
    let plan_code = plan.code.clone();
    let recorded_reference = reference.clone();
    let recorded = db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            db::checkouts::finish(conn, checkout_id)?;
            // Whatever is current now is replaced: the reader has paid for the new period.
            if let Some(current) = db::subscriptions::current_for_update(conn, user_id)? {
                db::subscriptions::end(conn, current.id, now)?;
            }
            let new = NewSubscription {
                user_id,
                plan_code: &plan_code,
                status: Status::Active.as_str(),
                current_period_start: now,
                current_period_end: period_end,
                gateway: gateway_name,
                gateway_reference: &recorded_reference,
            };
            db::subscriptions::insert(conn, &new)
        })
    })
    .await;
    if let Err(error) = recorded {
        // Money was taken but not recorded: the reference lets the payment be matched by hand.
        tracing::error!(user_id, gateway = gateway_name, reference = %reference, "payment taken but not recorded: {error}");
        return Err(error.into());
    }
    tracing::info!(user_id, plan = %plan.code, charge_cents, "subscription started");
    Ok(Ok(format!(
        "Thank you for subscribing! Your {} plan is paid until {}.",
        plan.name,
        long_date(period_end)
    )))
}
