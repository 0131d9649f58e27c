//! The plans page and the subscribe form. The workflow (locking, charging, recording) is
//! `billing`'s; these handlers turn its outcome into words (`answers`) and a redirect.

mod answers;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::NextQuery;
use super::auth::see_other;
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::billing::Billing;
use crate::db;
use crate::domain::redirect::local_or_empty;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{PlanView, SubscribePage, encode_next, render};
use answers::{PAYMENTS_DISABLED, answer};

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
