//! The plans page and the subscribe form. The workflow itself (locking, charging, recording)
//! is `billing`'s; this handler turns its outcome into words and a redirect.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::NextQuery;
use super::auth::see_other;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Reader;
use crate::auth::session::ReaderSession;
use crate::billing::Subscribed;
use crate::db;
use crate::domain::redirect::local_or_empty;
use crate::error::AppError;
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
        test_gateway: state.billing.test_mode(),
        logged_in: reader.member.is_some(),
        next,
        current_plan,
        error,
    };
    render(status, &page)
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
    if state.billing.test_mode().is_none() {
        return refuse(PAYMENTS_DISABLED, StatusCode::SERVICE_UNAVAILABLE).await;
    }
    let code = input.plan.trim().to_string();
    let Some(plan) = db::run(&state.pool, move |conn| db::plans::find(conn, &code)).await? else {
        return refuse(
            "Choose one of the plans below.",
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };

    let reply = state.billing.subscribe(member.user_id, &plan).await?;
    let name = &plan.name;
    let message = match reply.outcome {
        Subscribed::Paid { until } => format!(
            "Thank you for subscribing! Your subscription is paid until {}.",
            long_date(until)
        ),
        Subscribed::OnCredit { until } => format!(
            "You are now on the {name} plan. What you had paid covers it: you are paid up until {}.",
            long_date(until)
        ),
        Subscribed::Resumed { until } => format!(
            "Your {name} subscription is active again, paid until {}.",
            long_date(until)
        ),
        Subscribed::AlreadySubscribed => match reply.earlier_payment_until {
            Some(until) => format!(
                "Your earlier payment went through: your subscription is paid until {}.",
                long_date(until)
            ),
            None => format!("You already subscribe to the {name} plan."),
        },
        Subscribed::PaymentUnderWay => "A payment for your subscription is already under way. \
                                        Check your account in a moment."
            .to_string(),
        Subscribed::Declined { reason } => {
            let message =
                format!("The payment was declined ({reason}). You have not been charged.");
            return refuse(&message, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Subscribed::Unconfirmed => {
            let message = "We could not confirm your payment with the payment processor. \
                           We will keep asking it; check your account in a few minutes. \
                           You will not be charged twice.";
            return refuse(message, StatusCode::SERVICE_UNAVAILABLE).await;
        }
        Subscribed::EarlierPaymentUnconfirmed => {
            let message = "We are still confirming an earlier payment with the payment \
                           processor. Please try again in a few minutes: you will not be \
                           charged twice.";
            return refuse(message, StatusCode::SERVICE_UNAVAILABLE).await;
        }
        Subscribed::PaymentsDisabled => {
            return refuse(PAYMENTS_DISABLED, StatusCode::SERVICE_UNAVAILABLE).await;
        }
    };
    let message = match (reply.earlier_payment_until, &reply.outcome) {
        (Some(_), outcome) if *outcome != Subscribed::AlreadySubscribed => {
            format!("Your earlier payment went through. {message}")
        }
        _ => message,
    };
    session.set_flash(&message)?;
    let done = if next.is_empty() { "/account" } else { &next };
    Ok(see_other(done))
}

const PAYMENTS_DISABLED: &str =
    "Payments are not set up on this site yet, so subscriptions cannot be taken.";
