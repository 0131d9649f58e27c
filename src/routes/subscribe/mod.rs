//! The plans page, the subscribe form, and the two addresses a payment processor's checkout
//! page sends the reader back to. The workflow (locking, charging, recording) is `billing`'s;
//! these handlers turn its outcome into words (`answers`) and a redirect.

mod answers;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::NextQuery;
use super::auth::see_other;
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Member;
use crate::billing::{Billing, PaymentsMode, Subscriber};
use crate::db;
use crate::domain::redirect::local_or_empty;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{PaymentsNote, PlanView, SubscribePage, encode_next, render};
pub(super) use answers::{Answer, answer};
use answers::{LEFT_CHECKOUT, PAYMENTS_DISABLED, back_from_checkout};

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
        payments: payments_note(billing.mode()),
        logged_in: visit.member().is_some(),
        next,
        current_plan,
        error,
        offer_note: super::offer::applies(
            state,
            visit.member().and_then(|m| m.subscription.as_ref()),
        )
        .await?,
    };
    Ok(render(status, &page)?)
}

fn payments_note(mode: PaymentsMode) -> PaymentsNote {
    match mode {
        PaymentsMode::Disabled => PaymentsNote::NotSetUp,
        PaymentsMode::TestGateway => PaymentsNote::TestGateway,
        PaymentsMode::ProcessorTest => PaymentsNote::ProcessorTestMode,
        PaymentsMode::Live => PaymentsNote::Live,
    }
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
    if billing.mode() == PaymentsMode::Disabled {
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

    // The processor sends the reader back to the site's own address, never to a Host header.
    let reader = Subscriber {
        user_id: member.user_id,
        email: &member.email,
        site: &state.public_url,
        next: &next,
    };
    match answer(billing.subscribe(&reader, &plan).await?, &plan) {
        Answer::Flash(message) => {
            visit.session.set_flash(&message)?;
            Ok(see_other(if next.is_empty() { "/account" } else { &next }))
        }
        Answer::GoTo(url) => Ok(see_other(&url)),
        Answer::Refuse(status, message) => refuse(message, status).await,
        Answer::Wait {
            retry_after_secs,
            message,
        } => {
            let mut page = refuse(message, StatusCode::TOO_MANY_REQUESTS).await?;
            page.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after_secs),
            );
            Ok(page)
        }
    }
}

/// Where the processor's checkout page sends a reader back to.
#[derive(Deserialize)]
pub struct ReturnQuery {
    /// The checkout, as the processor names it.
    checkout: Option<String>,
    next: Option<String>,
}

/// Back from the processor's checkout page after paying: the payment is recorded now if the
/// processor confirms it (its event may not have arrived yet), and the reader goes on to the
/// article they came from, or to their account.
pub async fn complete(
    query: web::Query<ReturnQuery>,
    billing: web::Data<Billing>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let checkout = query.checkout.clone().filter(|reference| {
        reference.len() <= 255
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    let confirmed = billing.confirm_checkout(member.user_id, checkout).await?;
    visit.session.set_flash(&back_from_checkout(confirmed))?;
    let next = local_or_empty(query.next.as_deref());
    Ok(see_other(if next.is_empty() { "/account" } else { &next }))
}

/// Back from the processor's checkout page without paying.
pub async fn canceled(
    query: web::Query<NextQuery>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    visit.session.set_flash(LEFT_CHECKOUT)?;
    let next = local_or_empty(query.next.as_deref());
    Ok(see_other(if next.is_empty() { "/account" } else { &next }))
}
