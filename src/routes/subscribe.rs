//! The plans page and the subscribe form. The workflow (locking, charging, recording) is
//! `billing`'s; this handler turns its outcome into words and a redirect.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::NextQuery;
use super::auth::see_other;
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::billing::{Billing, SubscribeReply, Subscribed};
use crate::db;
use crate::domain::redirect::local_or_empty;
use crate::error::AppError;
use crate::models::Plan;
use crate::state::AppState;
use crate::views::{PlanView, SubscribePage, encode_next, long_date, render};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SubscribeInput {
    plan: String,
    next: Option<String>,
}

pub async fn show(
    query: web::Query<NextQuery>,
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let next = local_or_empty(query.next.as_deref());
    page(&state, &billing, &visit, next, None, StatusCode::OK).await
}

async fn page(
    state: &AppState,
    billing: &Billing,
    visit: &Visit,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let plans = db::run(&state.pool, "listing the plans", db::plans::list).await?;
    let now = state.clock.now();
    let current_plan = visit
        .member()
        .and_then(|m| m.subscription.as_ref())
        .filter(|row| row.standing(now).grants_access())
        .map(|row| row.plan_code.clone());
    let page = SubscribePage {
        layout: visit.layout("Subscribe")?,
        plans: plans.iter().map(PlanView::from).collect(),
        test_gateway: billing.test_mode(),
        logged_in: visit.member().is_some(),
        next,
        current_plan,
        error,
    };
    Ok(render(status, &page)?)
}

pub async fn subscribe(
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    CsrfForm(input): CsrfForm<SubscribeInput>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let next = local_or_empty(input.next.as_deref());
    let Some(member) = visit.member().cloned() else {
        let back = match next.as_str() {
            "" => "/subscribe".to_string(),
            next => encode_next(&format!("/subscribe?next={}", encode_next(next))),
        };
        return Ok(see_other(&format!("/login?next={back}")));
    };
    let refuse = |message: String, status| {
        page(
            &state,
            &billing,
            &visit,
            next.clone(),
            Some(message),
            status,
        )
    };
    if billing.test_mode().is_none() {
        return refuse(
            PAYMENTS_DISABLED.to_string(),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    }
    let code = input.plan.trim().to_string();
    let found = db::run(&state.pool, "finding the plan asked for", move |conn| {
        db::plans::find(conn, &code)
    });
    let Some(plan) = found.await? else {
        let message = "Choose one of the plans below.".to_string();
        return refuse(message, StatusCode::UNPROCESSABLE_ENTITY).await;
    };

    match answer(billing.subscribe(member.user_id, &plan).await?, &plan) {
        Ok(message) => {
            visit.session.set_flash(&message)?;
            Ok(see_other(if next.is_empty() { "/account" } else { &next }))
        }
        Err((status, message)) => refuse(message, status).await,
    }
}

const PAYMENTS_DISABLED: &str =
    "Payments are not set up on this site yet, so subscriptions cannot be taken.";

/// The words for what billing did: a flash for the next page, or the plans page again with the
/// reason and its status.
fn answer(reply: SubscribeReply, plan: &Plan) -> Result<String, (StatusCode, String)> {
    let name = &plan.name;
    let earlier = reply.earlier_payment_until.map(long_date);
    let done = match reply.outcome {
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
        Subscribed::AlreadySubscribed => {
            return Ok(match earlier {
                Some(until) => format!(
                    "Your earlier payment went through: your subscription is paid until {until}."
                ),
                None => format!("You already subscribe to the {name} plan."),
            });
        }
        Subscribed::PaymentUnderWay => "A payment for your subscription is already under way. \
                                        Check your account in a moment."
            .to_string(),
        Subscribed::Declined { reason } => {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The payment was declined ({reason}). You have not been charged."),
            ));
        }
        Subscribed::Unconfirmed => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not confirm your payment with the payment processor. We will keep \
                 asking it; check your account in a few minutes. You will not be charged twice."
                    .to_string(),
            ));
        }
        Subscribed::EarlierPaymentUnconfirmed => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "We are still confirming an earlier payment with the payment processor. Please \
                 try again in a few minutes: you will not be charged twice."
                    .to_string(),
            ));
        }
        Subscribed::PaymentsDisabled => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                PAYMENTS_DISABLED.to_string(),
            ));
        }
    };
    Ok(match earlier {
        Some(_) => format!("Your earlier payment went through. {done}"),
        None => done,
    })
}
