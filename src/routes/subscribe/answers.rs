//! The words a reader sees for each outcome of subscribing.

use actix_web::http::StatusCode;

use crate::billing::{SubscribeReply, Subscribed};
use crate::models::Plan;
use crate::views::long_date;

pub(super) const PAYMENTS_DISABLED: &str =
    "Payments are not set up on this site yet, so subscriptions cannot be taken.";

/// The words for what billing did: a flash for the next page, or the plans page again with the
/// reason and its status.
pub(super) fn answer(reply: SubscribeReply, plan: &Plan) -> Result<String, (StatusCode, String)> {
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
