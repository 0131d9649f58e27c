//! The words a reader sees for each outcome of subscribing, and of coming back from the
//! payment processor's pages.

use actix_web::http::StatusCode;

use crate::billing::{Confirmed, SubscribeReply, Subscribed};
use crate::models::Plan;
use crate::views::{long_date, minutes_of};

pub(super) const PAYMENTS_DISABLED: &str =
    "Payments are not set up on this site yet, so subscriptions cannot be taken.";

/// Where a request to subscribe leads.
pub(crate) enum Answer {
    /// A flash for the next page (the article or the account page).
    Flash(String),
    /// On to the payment processor's page.
    GoTo(String),
    /// The plans page again, with the reason and its status.
    Refuse(StatusCode, String),
    /// The plans page again, saying how long to wait (429 with `Retry-After`).
    Wait {
        retry_after_secs: u64,
        message: String,
    },
}

/// The answer to what billing did.
pub(crate) fn answer(reply: SubscribeReply, plan: &Plan) -> Answer {
    let wait = match reply.outcome {
        Subscribed::TooManyRequests { retry_after_secs } => Some(retry_after_secs),
        _ => None,
    };
    match (words(reply, plan), wait) {
        (Ok(Ok(message)), _) => Answer::Flash(message),
        (Ok(Err(url)), _) => Answer::GoTo(url),
        (Err((_, message)), Some(retry_after_secs)) => Answer::Wait {
            retry_after_secs,
            message,
        },
        (Err((status, message)), None) => Answer::Refuse(status, message),
    }
}

/// The words for what billing did (or the processor's page to go to).
fn words(
    reply: SubscribeReply,
    plan: &Plan,
) -> Result<Result<String, String>, (StatusCode, String)> {
    let name = &plan.name;
    let earlier = reply.earlier_payment_until.map(long_date);
    let done = match reply.outcome {
        Subscribed::ContinueAt { url } => return Ok(Err(url)),
        Subscribed::ProcessorUnavailable => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not reach the payment processor, so nothing was changed or charged. \
                 Please try again in a minute."
                    .to_string(),
            ));
        }
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
            return Ok(Ok(match earlier {
                Some(until) => format!(
                    "Your earlier payment went through: your subscription is paid until {until}."
                ),
                None => format!("You already subscribe to the {name} plan."),
            }));
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
        Subscribed::TooManyRequests { retry_after_secs } => {
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "You have tried many times in the last few minutes, so we have stopped \
                     asking the payment processor for now. Please try again in {}. Nothing was \
                     charged.",
                    minutes_of(retry_after_secs)
                ),
            ));
        }
    };
    Ok(Ok(match earlier {
        Some(_) => format!("Your earlier payment went through. {done}"),
        None => done,
    }))
}

/// The words for a reader back from the processor's checkout page.
pub(super) fn back_from_checkout(confirmed: Confirmed) -> String {
    match confirmed {
        Confirmed::Subscribed {
            until,
            renews: true,
        } => format!(
            "Thank you for subscribing! Your subscription renews on {}.",
            long_date(until)
        ),
        Confirmed::Subscribed {
            until,
            renews: false,
        } => format!(
            "Thank you for subscribing! Your subscription is paid until {}.",
            long_date(until)
        ),
        Confirmed::Trial { until, card: true } => format!(
            "Your free trial has started: you read everything until {}. Then your \
             subscription carries on, paid, unless you cancel before.",
            long_date(until)
        ),
        Confirmed::Trial { until, card: false } => format!(
            "Your free trial has started: you read everything until {}. No card was asked \
             for: add a payment method with Manage billing before then to carry on; without \
             one, your access simply ends then and nothing is charged.",
            long_date(until)
        ),
        Confirmed::Pending => "Thank you! The payment processor is still confirming your \
                               payment. Your subscription starts as soon as it does, usually \
                               within a minute; your account page will show it. You will not be \
                               charged twice."
            .to_string(),
        Confirmed::NotPaid => {
            "That checkout expired before it was paid, so nothing was charged.".to_string()
        }
        Confirmed::TooManyRequests => "Thank you! We have asked the payment processor about \
                                       your payment many times in the last few minutes, so we \
                                       are waiting for it to tell us instead. Your subscription \
                                       starts as soon as it does; your account page will show \
                                       it. You will not be charged twice."
            .to_string(),
    }
}

/// The words for a reader who left the processor's checkout page without paying.
pub(super) const LEFT_CHECKOUT: &str = "You left the payment page before paying, so nothing was charged. You can subscribe whenever you like.";
