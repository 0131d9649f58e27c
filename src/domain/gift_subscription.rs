//! Gift subscriptions: a reader pays once for some months of access for someone else, who
//! redeems it by a link.
//!
//! Rules:
//! - A gift is for 1, 3, 6 or 12 months ([`GIFT_MONTHS`]). Its price is that of the plan that
//!   runs exactly that long if there is one (a year's gift costs the yearly plan), else the
//!   monthly plan's price times the months ([`gift_price`]).
//! - A gift is paid before its recipient hears of it, and is redeemed once: it gives the whole
//!   publication from the moment it is redeemed for its months, counted from then or from the
//!   end of access the reader already has without a subscription (a comp, another gift), so
//!   nothing given is lost ([`gift_period`]). It never renews.
//! - Its link is the gift's id signed with the site's key for this purpose alone
//!   ([`GiftSubscriptionLinks`]): it needs nothing stored, cannot be made up or turned into a
//!   link for another gift, and stays valid as long as the gift is not redeemed (the row says
//!   whether it is).
//! - What a buyer writes is bounded: a plausible address, a name of at most [`FROM_MAX`]
//!   characters and a message of at most [`MESSAGE_MAX`], with control characters (other than
//!   line breaks in the message) removed.

use time::OffsetDateTime;

use super::email::Email;
use super::ids::GiftId;
use super::signed_link::LinkSigner;
use super::subscription::add_months;

/// The lengths of gift a reader can buy, in months.
pub const GIFT_MONTHS: [i32; 4] = [1, 3, 6, 12];
/// The longest message a buyer may send with a gift, in characters.
pub const MESSAGE_MAX: usize = 500;
/// The longest name a gift may say it is from, in characters.
pub const FROM_MAX: usize = 80;
/// The purpose gift subscription links are signed for.
pub const PURPOSE: &str = "gift-subscription";

/// Where a gift is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiftState {
    /// Its payment is being taken or confirmed.
    Pending,
    /// Paid: its recipient has a link and may redeem it.
    Paid,
    /// The payment was declined or never taken: there is no gift.
    Unpaid,
    /// Redeemed: the access is given.
    Redeemed,
}

impl GiftState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Unpaid => "unpaid",
            Self::Redeemed => "redeemed",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Pending, Self::Paid, Self::Unpaid, Self::Redeemed]
            .into_iter()
            .find(|state| state.as_str() == stored)
    }
}

/// A length in months as words: "1 month", "3 months".
pub fn months_words(count: i32) -> String {
    if count == 1 {
        "1 month".to_string()
    } else {
        format!("{count} months")
    }
}

/// A plan as far as gift prices go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanPrice {
    pub price_cents: i32,
    pub currency: String,
    pub period_months: i32,
}

/// What a gift of `months` costs, in the plans' currency: `None` for a length not sold, or
/// when no plan gives a price for it.
pub fn gift_price(months: i32, plans: &[PlanPrice]) -> Option<(i32, String)> {
    if !GIFT_MONTHS.contains(&months) {
        return None;
    }
    if let Some(exact) = plans
        .iter()
        .filter(|plan| plan.period_months == months)
        .min_by_key(|plan| plan.price_cents)
    {
        return Some((exact.price_cents, exact.currency.clone()));
    }
    let monthly = plans
        .iter()
        .filter(|plan| plan.period_months == 1)
        .min_by_key(|plan| plan.price_cents)?;
    let price = monthly.price_cents.checked_mul(months)?;
    Some((price, monthly.currency.clone()))
}

/// The access a gift of `months` redeemed at `now` gives: from `now` until `months` calendar
/// months after `now`, or after the end of the access the reader has running without a
/// subscription (`running_until`). It starts at once either way, so the grant that ends last
/// is always the one that decides a reader's access.
pub fn gift_period(
    now: OffsetDateTime,
    running_until: Option<OffsetDateTime>,
    months: i32,
) -> (OffsetDateTime, OffsetDateTime) {
    let from = running_until.filter(|end| *end > now).unwrap_or(now);
    (now, add_months(from, months))
}

/// A gift order as the buyer typed it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GiftOrder {
    pub months: i32,
    pub recipient: Email,
    /// Who it is from, as the recipient reads it; empty for the buyer's address.
    pub from: String,
    pub message: String,
}

/// Checks an order: the length, the recipient's address, the name and the message. The error
/// is the words for the form.
pub fn check_order(
    months: &str,
    recipient: &str,
    from: &str,
    message: &str,
) -> Result<GiftOrder, String> {
    let months = months
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|months| GIFT_MONTHS.contains(months))
        .ok_or("Choose how many months to give: 1, 3, 6 or 12.")?;
    let recipient = Email::parse(recipient).map_err(|error| {
        if recipient.trim().is_empty() {
            "Enter the e-mail address of the person you are giving to.".to_string()
        } else {
            error.to_string()
        }
    })?;
    let from: String = from.trim().chars().filter(|c| !c.is_control()).collect();
    if from.chars().count() > FROM_MAX {
        return Err(format!(
            "Your name can be at most {FROM_MAX} characters long."
        ));
    }
    let message: String = message
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect();
    if message.chars().count() > MESSAGE_MAX {
        return Err(format!(
            "The message can be at most {MESSAGE_MAX} characters long."
        ));
    }
    Ok(GiftOrder {
        months,
        recipient,
        from,
        message,
    })
}

/// Makes and reads gift subscription links' tokens.
#[derive(Clone)]
pub struct GiftSubscriptionLinks {
    signer: LinkSigner,
}

impl GiftSubscriptionLinks {
    /// Tokens signed under the site's `secret` (the session key), so every instance reads what
    /// another made.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            signer: LinkSigner::new(secret, PURPOSE),
        }
    }

    /// The token in gift `id`'s link (`/gift/<token>`).
    pub fn token(&self, id: GiftId) -> String {
        self.signer.sign(&id.to_string())
    }

    /// The gift a token this site signed for gift subscriptions names, or `None`.
    pub fn read(&self, token: &str) -> Option<GiftId> {
        self.signer.verify(token)?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn plans() -> Vec<PlanPrice> {
        vec![
            PlanPrice {
                price_cents: 800,
                currency: "usd".into(),
                period_months: 1,
            },
            PlanPrice {
                price_cents: 8000,
                currency: "usd".into(),
                period_months: 12,
            },
        ]
    }

    #[test]
    fn a_gift_costs_the_plan_of_its_length_or_the_monthly_price_times_its_months() {
        assert_eq!(gift_price(1, &plans()), Some((800, "usd".into())));
        assert_eq!(gift_price(3, &plans()), Some((2400, "usd".into())));
        assert_eq!(gift_price(6, &plans()), Some((4800, "usd".into())));
        assert_eq!(gift_price(12, &plans()), Some((8000, "usd".into())));
        for months in [0, 2, 5, 24, -1] {
            assert_eq!(gift_price(months, &plans()), None, "{months}");
        }
        let yearly_only = &plans()[1..];
        assert_eq!(gift_price(3, yearly_only), None);
        assert_eq!(gift_price(12, yearly_only), Some((8000, "usd".into())));
    }

    #[test]
    fn gifts_add_up_and_start_now_otherwise() {
        let now = datetime!(2027-01-31 10:00 UTC);
        assert_eq!(
            gift_period(now, None, 1),
            (now, datetime!(2027-02-28 10:00 UTC))
        );
        let running = datetime!(2027-03-15 0:00 UTC);
        assert_eq!(
            gift_period(now, Some(running), 3),
            (now, datetime!(2027-06-15 0:00 UTC))
        );
        // One that ended is no reason to wait.
        let ended = datetime!(2027-01-01 0:00 UTC);
        assert_eq!(gift_period(now, Some(ended), 1), gift_period(now, None, 1));
    }

    #[test]
    fn orders_are_checked_and_bounded() {
        let order = check_order(
            " 6 ",
            " Friend@Example.com ",
            " Ann\u{1b}[31m ",
            " Happy\u{0}\u{7} birthday!\n ",
        )
        .expect("a good order");
        assert_eq!(order.months, 6);
        assert_eq!(order.from, "Ann[31m");
        assert_eq!(order.recipient.as_str(), "friend@example.com");
        assert_eq!(order.message, "Happy birthday!");
        for months in ["", "2", "twelve", "120", "-1"] {
            assert!(
                check_order(months, "a@example.com", "", "").is_err(),
                "{months}"
            );
        }
        assert!(check_order("1", "", "", "").is_err());
        assert!(check_order("1", "not an address", "", "").is_err());
        assert!(check_order("1", "a@example.com", "", &"é".repeat(MESSAGE_MAX)).is_ok());
        assert!(check_order("1", "a@example.com", "", &"é".repeat(MESSAGE_MAX + 1)).is_err());
        assert!(check_order("1", "a@example.com", &"é".repeat(FROM_MAX), "").is_ok());
        assert!(check_order("1", "a@example.com", &"é".repeat(FROM_MAX + 1), "").is_err());
    }

    #[test]
    fn links_name_their_gift_and_nothing_else() {
        let links = GiftSubscriptionLinks::new(b"a site secret of some length, for tests");
        let token = links.token(GiftId::new(42));
        assert_eq!(links.read(&token), Some(GiftId::new(42)));
        let mut tampered = token.clone();
        let last = if tampered.pop() == Some('A') {
            'B'
        } else {
            'A'
        };
        tampered.push(last);
        assert_eq!(links.read(&tampered), None);
        let other = GiftSubscriptionLinks::new(b"another site's secret, long enough too");
        assert_eq!(other.read(&token), None);
        let article_gift = LinkSigner::new(
            b"a site secret of some length, for tests",
            super::super::article_gift::PURPOSE,
        );
        assert_eq!(links.read(&article_gift.sign("42")), None);
        assert_eq!(links.read(""), None);
        assert_eq!(links.read("not a token"), None);
    }

    #[test]
    fn states_read_back() {
        for state in [
            GiftState::Pending,
            GiftState::Paid,
            GiftState::Unpaid,
            GiftState::Redeemed,
        ] {
            assert_eq!(GiftState::parse(state.as_str()), Some(state));
        }
        assert_eq!(GiftState::parse("free"), None);
    }
}
