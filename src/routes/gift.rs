//! Gift subscriptions: the page to buy one (`/gift`, for members), and the page its mailed
//! link opens (`/gift/<token>`), where the recipient redeems it with a POST (CSRF), so that a
//! mail scanner following the link redeems nothing. The workflow (locks, the charge, the
//! redemption) is `billing`'s; what a gift is, `domain::gift_subscription`'s.
//!
//! Every answer under `/gift/<token>` is `no-store` and kept out of search engines: the token
//! is as good as the gift. A token this site did not sign, or one for a gift that is not
//! paid, is a 404; a gift someone else redeemed is a 410.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::{NoFields, see_other};
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::billing::{Billing, GIFTS_PER_DAY, GiftBought, GiftRedeemed, PaymentsMode, Subscriber};
use crate::db;
use crate::domain::gift_subscription::{
    FROM_MAX, GIFT_MONTHS, GiftState, MESSAGE_MAX, PlanPrice, check_order, gift_price,
};
use crate::domain::grant::last_day;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{
    GiftBuyPage, GiftChoice, GiftForm, GiftGonePage, GiftLinkState, GiftRedeemPage, encode_next,
    long_date, minutes_of, months, price, render,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BuyInput {
    months: String,
    recipient: String,
    from: String,
    message: String,
    form_key: String,
}

pub async fn show(
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    buy_page(
        &state,
        &billing,
        &visit,
        GiftForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The buying form, with a fresh key for the form.
async fn buy_page(
    state: &AppState,
    billing: &Billing,
    visit: &Visit,
    form: GiftForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let plans = db::run(&state.pool, "listing the plans", db::plans::list).await?;
    let prices: Vec<PlanPrice> = plans
        .into_iter()
        .map(|plan| PlanPrice {
            price_cents: plan.price_cents,
            currency: plan.currency,
            period_months: plan.period_months,
        })
        .collect();
    let choices = GIFT_MONTHS
        .into_iter()
        .filter_map(|count| {
            let (cents, currency) = gift_price(count, &prices)?;
            Some(GiftChoice {
                months: count,
                label: months(count),
                price: price(cents, &currency),
            })
        })
        .collect::<Vec<_>>();
    let mode = billing.mode();
    let unavailable = match mode {
        PaymentsMode::Disabled => Some("Payments are not set up on this site."),
        _ if choices.is_empty() => Some("No plan gives gifts a price."),
        _ => None,
    };
    let page = GiftBuyPage {
        layout: visit.layout("Give Gazette")?,
        choices,
        logged_in: visit.member().is_some(),
        form_key: crate::auth::random_token()?,
        form,
        test_gateway: mode == PaymentsMode::TestGateway,
        unavailable,
        error,
        message_max: MESSAGE_MAX,
        from_max: FROM_MAX,
    };
    Ok(render(status, &page)?)
}

pub async fn buy(
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    CsrfForm(input): CsrfForm<BuyInput>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let Some(member) = visit.member().cloned() else {
        return Ok(see_other("/login?next=%2Fgift"));
    };
    let typed = GiftForm {
        months: input.months.trim().parse().unwrap_or_default(),
        recipient: input.recipient.clone(),
        from: input.from.clone(),
        message: input.message.clone(),
    };
    let again = |error: String, status: StatusCode| {
        buy_page(&state, &billing, &visit, typed.clone(), Some(error), status)
    };
    let key = input.form_key.trim();
    if !(16..=64).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
        // Not a form this site made: nothing to keep it from being bought twice.
        return again(
            "This form is out of date: check the details and send it again.".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let order = match check_order(&input.months, &input.recipient, &input.from, &input.message) {
        Ok(order) => order,
        Err(error) => return again(error, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let buyer = Subscriber {
        user_id: member.user_id,
        email: &member.email,
        site: &state.public_url,
        next: "",
    };
    match billing.buy_gift(&buyer, key, &order).await? {
        GiftBought::ContinueAt { url } => Ok(see_other(&url)),
        GiftBought::Paid { recipient, .. } => {
            visit.session.set_flash(&format!(
                "Thank you: your gift of {} is paid, and we are e-mailing {recipient} a link to \
                 redeem it.",
                months(order.months)
            ))?;
            Ok(see_other("/account#gifts-title"))
        }
        GiftBought::PaymentUnderWay => {
            visit
                .session
                .set_flash("Your gift's payment is being taken: your account shows it below.")?;
            Ok(see_other("/account#gifts-title"))
        }
        GiftBought::Unconfirmed => {
            visit.session.set_flash(
                "The payment processor has not confirmed your payment yet. We will find out \
                 what happened and never charge you twice: your account shows the gift.",
            )?;
            Ok(see_other("/account#gifts-title"))
        }
        GiftBought::Declined { reason } => {
            again(
                format!("Your payment was declined ({reason}). Nothing was charged."),
                StatusCode::PAYMENT_REQUIRED,
            )
            .await
        }
        GiftBought::TooMany => {
            again(
                format!(
                    "You have begun {GIFTS_PER_DAY} gifts in the last day, the most we take: \
                     please come back tomorrow."
                ),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        GiftBought::NotSold => {
            again(
                "Choose how many months to give: 1, 3, 6 or 12.".to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        GiftBought::PaymentsDisabled => {
            again(
                "Gifts cannot be bought on this site yet. Nothing was charged.".to_string(),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
        GiftBought::ProcessorUnavailable => {
            again(
                "The payment processor could not be reached. Nothing was charged: please try \
                 again in a moment."
                    .to_string(),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
        GiftBought::TooManyRequests { retry_after_secs } => {
            let mut response = again(
                format!(
                    "Too many payment requests in a short time: please try again in {}.",
                    minutes_of(retry_after_secs)
                ),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await?;
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        GiftBought::FormExpired => {
            again(
                "This form is more than a day old and its gift was not paid: check the details \
                 and send it again."
                    .to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct ReturnQuery {
    checkout: String,
}

/// Back from the payment processor's page: the gift is recorded if it was paid there (its
/// event may have done so already).
pub async fn returned(
    query: web::Query<ReturnQuery>,
    billing: web::Data<Billing>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let Some(member) = visit.member() else {
        return Ok(see_other("/login?next=%2Faccount"));
    };
    let message = match billing
        .gift_page_returned(member.user_id, &query.checkout)
        .await?
    {
        Some(GiftBought::Paid { recipient, .. }) => format!(
            "Thank you: your gift is paid, and we are e-mailing {recipient} a link to redeem it."
        ),
        Some(GiftBought::Declined { .. }) => {
            "That payment page closed before it was paid: nothing was charged.".to_string()
        }
        Some(GiftBought::TooManyRequests { .. } | GiftBought::Unconfirmed) => {
            "We have not heard from the payment processor yet: your account shows the gift as \
             soon as it confirms the payment."
                .to_string()
        }
        Some(_) => "Your payment is being confirmed: your account shows the gift.".to_string(),
        None => "That payment page is not one of your gifts.".to_string(),
    };
    visit.session.set_flash(&message)?;
    Ok(see_other("/account#gifts-title"))
}

/// `no-store`, and kept out of search engines: the address carries the gift.
fn private(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    response
}

fn gone(visit: &Visit, taken: bool) -> Result<HttpResponse, AppError> {
    let (status, heading, message) = if taken {
        (
            StatusCode::GONE,
            "This gift has been redeemed",
            "Someone has already redeemed this gift: it works once. If it was meant for you, \
             ask the person who gave it.",
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "No gift has this link",
            "Check that the whole link from the e-mail was opened.",
        )
    };
    let page = GiftGonePage {
        layout: visit.layout(heading)?.unindexed(),
        heading,
        message,
    };
    Ok(private(render(status, &page)?))
}

pub async fn open(
    path: web::Path<String>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let Some(id) = state.gift_subscription_links.read(&token) else {
        return gone(&visit, false);
    };
    let found = db::run(&state.pool, "finding a gift", move |conn| {
        db::gift_subscriptions::find_with_buyer(conn, id)
    })
    .await?;
    let Some((gift, buyer)) = found else {
        return gone(&visit, false);
    };
    let now = state.clock.now();
    let member = visit.member();
    let state_now = match gift.status {
        GiftState::Pending | GiftState::Unpaid => return gone(&visit, false),
        GiftState::Redeemed if member.is_some_and(|m| Some(m.user_id) == gift.redeemed_by) => {
            GiftLinkState::Yours {
                until: member
                    .and_then(|m| m.grant.as_ref())
                    .filter(|grant| grant.is_current(now))
                    .map(|grant| long_date(last_day(grant.ends_at))),
            }
        }
        GiftState::Redeemed => return gone(&visit, true),
        GiftState::Paid
            if member
                .and_then(|m| m.subscription.as_ref())
                .is_some_and(|row| row.standing(now).grants_access()) =>
        {
            GiftLinkState::Subscribed
        }
        GiftState::Paid => GiftLinkState::Open,
    };
    let from = if gift.from_name.is_empty() {
        buyer.unwrap_or_else(|| "a reader".to_string())
    } else {
        gift.from_name.clone()
    };
    let page = GiftRedeemPage {
        layout: visit.layout("A gift subscription")?.unindexed(),
        path: format!("/gift/{token}"),
        months: months(gift.months),
        from,
        message: gift.message,
        logged_in: member.is_some(),
        state: state_now,
    };
    Ok(private(render(StatusCode::OK, &page)?))
}

pub async fn redeem(
    path: web::Path<String>,
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    CsrfForm(_): CsrfForm<NoFields>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let Some(id) = state.gift_subscription_links.read(&token) else {
        return gone(&visit, false);
    };
    let Some(member) = visit.member() else {
        let back = encode_next(&format!("/gift/{token}"));
        return Ok(see_other(&format!("/login?next={back}")));
    };
    let until_words = |until: time::OffsetDateTime| long_date(last_day(until));
    match billing.redeem_gift(member.user_id, id).await? {
        GiftRedeemed::Redeemed { until } => {
            visit.session.set_flash(&format!(
                "Your gift is redeemed: you read every article until {}. Enjoy!",
                until_words(until)
            ))?;
            Ok(see_other("/account"))
        }
        GiftRedeemed::AlreadyYours { until } => {
            let message = match until {
                Some(until) => format!(
                    "You have redeemed this gift: you read every article until {}.",
                    until_words(until)
                ),
                None => "You redeemed this gift before.".to_string(),
            };
            visit.session.set_flash(&message)?;
            Ok(see_other("/account"))
        }
        // The page says why, and that the link keeps working.
        GiftRedeemed::Subscribed => Ok(see_other(&format!("/gift/{token}"))),
        GiftRedeemed::TakenByAnother => gone(&visit, true),
        GiftRedeemed::NoGift => gone(&visit, false),
    }
}
