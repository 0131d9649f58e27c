//! Everything Gazette keeps about a reader, as one JSON document they can download.

use serde::Serialize;
use time::OffsetDateTime;

use super::Accounts;
use crate::db;
use crate::db::newsletter_members::DeliveryRecord;
use crate::domain::ids::{ArticleId, UserId};
use crate::error::AppError;
use crate::models::{
    AccessGrant, AccountToken, ArticleGift, Checkout, GiftSubscription, MeterRead, OfferRedemption,
    OutboxMail, SessionRecord, SubscriptionRecord,
};
use crate::views::iso_date;

#[derive(Serialize)]
pub struct Export {
    pub exported_at: String,
    pub account: AccountData,
    /// Every login kept, live or ended (ended ones are deleted 40 days after they end).
    pub logins: Vec<LoginData>,
    /// Premium articles opened while logged in, this month and last.
    pub meter: Vec<MeterData>,
    /// Articles gifted, this month's and those whose links still open them.
    pub articles_gifted: Vec<GiftData>,
    /// Every subscription, ended ones included, with the payment that started each.
    pub subscriptions: Vec<SubscriptionData>,
    /// Offers taken (a discount or a free trial), by their codes.
    pub offers_taken: Vec<OfferData>,
    /// Access given without a subscription: complimentary access, redeemed gifts.
    pub access_grants: Vec<GrantData>,
    /// Gift subscriptions bought for others, with their payments.
    pub gifts_given: Vec<GiftGivenData>,
    /// Gift subscriptions received and redeemed.
    pub gifts_redeemed: Vec<GiftRedeemedData>,
    /// A payment being confirmed with the payment processor, if there is one.
    pub payment_being_confirmed: Option<PaymentData>,
    /// Links sent by mail that still work (their tokens are kept only as hashes).
    pub links_sent: Vec<LinkData>,
    /// Mail about the account waiting to be sent.
    pub mail_waiting: Vec<MailData>,
    /// The newsletter: the address, when it was confirmed, the choice, and what was sent.
    pub newsletter: NewsletterData,
    /// What else is kept, outside the account.
    pub also_kept: Vec<&'static str>,
}

#[derive(Serialize)]
pub struct AccountData {
    pub id: UserId,
    pub email: String,
    pub created_at: String,
    pub password: &'static str,
}

#[derive(Serialize)]
pub struct LoginData {
    pub browser: String,
    pub started_at: String,
    pub last_used_at: String,
    pub ends_at: String,
    pub ended_at: Option<String>,
}

#[derive(Serialize)]
pub struct MeterData {
    pub month: String,
    pub article_id: ArticleId,
    pub opened_at: String,
}

#[derive(Serialize)]
pub struct GiftData {
    pub month: String,
    pub article_id: ArticleId,
    pub gifted_at: String,
    pub link_works_until: String,
}

#[derive(Serialize)]
pub struct SubscriptionData {
    pub plan: String,
    pub status: String,
    pub period_start: String,
    pub period_end: String,
    pub period_value_cents: i32,
    pub canceled_at: Option<String>,
    pub ended_at: Option<String>,
    pub paid_through: String,
    pub payment_reference: String,
    pub recorded_at: String,
    /// The offer it began with, or the retention offer it took, if any.
    pub offer: Option<String>,
    /// When its free trial ends (or ended), if it began with one.
    pub trial_ends_at: Option<String>,
}

#[derive(Serialize)]
pub struct OfferData {
    pub code: String,
    pub redeemed_at: String,
}

impl From<OfferRedemption> for OfferData {
    fn from(taken: OfferRedemption) -> Self {
        Self {
            code: taken.offer_code,
            redeemed_at: when(taken.redeemed_at),
        }
    }
}

#[derive(Serialize)]
pub struct GrantData {
    /// `comp` (given by the publication) or `gift`.
    pub kind: &'static str,
    pub starts_at: String,
    pub ends_at: String,
}

impl From<AccessGrant> for GrantData {
    fn from(grant: AccessGrant) -> Self {
        Self {
            kind: grant.kind.as_str(),
            starts_at: when(grant.starts_at),
            ends_at: when(grant.ends_at),
        }
    }
}

#[derive(Serialize)]
pub struct GiftGivenData {
    pub recipient_email: String,
    pub from_name: String,
    pub message: String,
    pub months: i32,
    pub amount_cents: i32,
    pub currency: String,
    /// `pending`, `paid`, `unpaid` (declined: nothing charged) or `redeemed`.
    pub status: &'static str,
    pub bought_at: String,
    pub paid_at: Option<String>,
    pub payment_reference: Option<String>,
    pub redeemed_at: Option<String>,
}

impl From<GiftSubscription> for GiftGivenData {
    fn from(gift: GiftSubscription) -> Self {
        Self {
            recipient_email: gift.recipient_email,
            from_name: gift.from_name,
            message: gift.message,
            months: gift.months,
            amount_cents: gift.amount_cents,
            currency: gift.currency,
            status: gift.status.as_str(),
            bought_at: when(gift.created_at),
            paid_at: gift.paid_at.map(when),
            payment_reference: gift.gateway_reference,
            redeemed_at: gift.redeemed_at.map(when),
        }
    }
}

#[derive(Serialize)]
pub struct GiftRedeemedData {
    pub months: i32,
    pub from_name: String,
    pub message: String,
    pub redeemed_at: Option<String>,
}

impl From<GiftSubscription> for GiftRedeemedData {
    fn from(gift: GiftSubscription) -> Self {
        Self {
            months: gift.months,
            from_name: gift.from_name,
            message: gift.message,
            redeemed_at: gift.redeemed_at.map(when),
        }
    }
}

#[derive(Serialize)]
pub struct PaymentData {
    pub plan: String,
    pub amount_cents: i32,
    pub started_at: String,
    pub charged_at: Option<String>,
}

#[derive(Serialize)]
pub struct LinkData {
    pub purpose: String,
    pub new_email: Option<String>,
    pub sent_at: String,
    pub expires_at: String,
}

#[derive(Serialize)]
pub struct NewsletterData {
    pub email: String,
    /// When a link sent to the address proved it was the reader's.
    pub email_confirmed_at: Option<String>,
    /// When the reader chose the newsletter; none while they have not (or have left).
    pub opted_in_at: Option<String>,
    /// Every newsletter sent (or being sent) to the account.
    pub sent: Vec<NewsletterSentData>,
}

#[derive(Serialize)]
pub struct NewsletterSentData {
    pub article: String,
    pub sent_to: String,
    pub started_at: String,
    pub state: String,
    pub finished_at: Option<String>,
}

#[derive(Serialize)]
pub struct MailData {
    pub kind: String,
    pub recipient: String,
    pub asked_at: String,
}

const ALSO_KEPT: [&str; 3] = [
    "Counters of login, sign-up and password reset attempts, each for at most an hour: they \
     name an account by a one-way hash of its e-mail and a browser by its network address.",
    "In your browser: the session cookie and the device cookie (see /cookies).",
    "In the server's logs: the requests you made, without passwords, cookies or tokens.",
];

fn when(instant: OffsetDateTime) -> String {
    iso_date(instant)
}

impl Accounts {
    pub async fn export(&self, user_id: UserId) -> Result<Export, AppError> {
        let now = self.state.clock.now();
        let (
            account,
            logins,
            (meter, gifts),
            (subscriptions, offers_taken),
            (grants, gifts_given, gifts_redeemed),
            checkout,
            links,
            mail,
            newsletter,
        ) = db::run(
            &self.state.pool,
            "collecting everything kept about a reader",
            move |conn| {
                Ok((
                    db::users::account(conn, user_id)?,
                    db::sessions::records(conn, user_id)?,
                    (
                        db::meter::records(conn, user_id)?,
                        db::article_gifts::records(conn, user_id)?,
                    ),
                    (
                        db::subscriptions::records(conn, user_id)?,
                        db::offers::redemptions_of(conn, user_id)?,
                    ),
                    (
                        db::grants::records(conn, user_id)?,
                        db::gift_subscriptions::bought_by(conn, user_id, i64::MAX)?,
                        db::gift_subscriptions::redeemed_by(conn, user_id)?,
                    ),
                    db::checkouts::find(conn, user_id)?,
                    db::tokens::live_for_user(conn, user_id, now)?,
                    db::outbox::waiting_for_user(conn, user_id)?,
                    (
                        db::newsletter_members::account_choice(conn, user_id)?,
                        db::newsletter_members::deliveries_of(conn, user_id)?,
                    ),
                ))
            },
        )
        .await?;
        let account = account.ok_or(AppError::NotFound)?;
        let (choice, deliveries) = newsletter;
        let choice = choice.ok_or(AppError::NotFound)?;
        Ok(Export {
            exported_at: when(now),
            account: AccountData {
                id: account.id,
                email: account.email,
                created_at: when(account.created_at),
                password: "kept only as an Argon2id hash, which is not included",
            },
            logins: all(logins),
            meter: all(meter),
            articles_gifted: all(gifts),
            subscriptions: all(subscriptions),
            offers_taken: all(offers_taken),
            access_grants: all(grants),
            gifts_given: all(gifts_given),
            gifts_redeemed: all(gifts_redeemed),
            payment_being_confirmed: checkout.map(PaymentData::from),
            links_sent: all(links),
            mail_waiting: all(mail),
            newsletter: NewsletterData {
                email: choice.email,
                email_confirmed_at: choice.email_confirmed_at.map(when),
                opted_in_at: choice.newsletter_opted_in_at.map(when),
                sent: all(deliveries),
            },
            also_kept: ALSO_KEPT.to_vec(),
        })
    }
}

/// Each row as its section of the export says it.
fn all<Row, Data: From<Row>>(rows: Vec<Row>) -> Vec<Data> {
    rows.into_iter().map(Data::from).collect()
}

impl From<SessionRecord> for LoginData {
    fn from(s: SessionRecord) -> Self {
        LoginData {
            browser: s.user_agent,
            started_at: when(s.created_at),
            last_used_at: when(s.last_seen_at),
            ends_at: when(s.expires_at),
            ended_at: s.revoked_at.map(when),
        }
    }
}

impl From<MeterRead> for MeterData {
    fn from(read: MeterRead) -> Self {
        MeterData {
            month: format!("{}-{:02}", read.month.year(), u8::from(read.month.month())),
            article_id: read.article_id,
            opened_at: when(read.opened_at),
        }
    }
}

impl From<ArticleGift> for GiftData {
    fn from(gift: ArticleGift) -> Self {
        GiftData {
            month: format!("{}-{:02}", gift.month.year(), u8::from(gift.month.month())),
            article_id: gift.article_id,
            gifted_at: when(gift.created_at),
            link_works_until: when(gift.expires_at),
        }
    }
}

impl From<SubscriptionRecord> for SubscriptionData {
    fn from(s: SubscriptionRecord) -> Self {
        SubscriptionData {
            plan: s.plan_code,
            status: s.status,
            period_start: when(s.current_period_start),
            period_end: when(s.current_period_end),
            period_value_cents: s.period_value_cents,
            canceled_at: s.canceled_at.map(when),
            ended_at: s.ended_at.map(when),
            paid_through: s.gateway,
            payment_reference: s.gateway_reference,
            recorded_at: when(s.created_at),
            offer: s.offer_code,
            trial_ends_at: s.trial_ends_at.map(when),
        }
    }
}

impl From<Checkout> for PaymentData {
    fn from(c: Checkout) -> Self {
        PaymentData {
            plan: c.plan_code,
            amount_cents: c.amount_cents,
            started_at: when(c.started_at),
            charged_at: c.charged_at.map(when),
        }
    }
}

impl From<AccountToken> for LinkData {
    fn from(link: AccountToken) -> Self {
        LinkData {
            purpose: link.purpose,
            new_email: link.new_email,
            sent_at: when(link.created_at),
            expires_at: when(link.expires_at),
        }
    }
}

impl From<OutboxMail> for MailData {
    fn from(m: OutboxMail) -> Self {
        MailData {
            kind: m.kind,
            recipient: m.recipient,
            asked_at: when(m.created_at),
        }
    }
}

impl From<DeliveryRecord> for NewsletterSentData {
    fn from(d: DeliveryRecord) -> Self {
        NewsletterSentData {
            article: d.title,
            sent_to: d.email,
            started_at: when(d.started_at),
            state: d.state,
            finished_at: d.finished_at.map(when),
        }
    }
}
