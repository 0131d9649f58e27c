//! Rows as diesel reads and writes them. Rules about what the values mean live in `domain`.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::sql_types::Text;
use time::OffsetDateTime;

use crate::domain::subscription::{Standing, Status};

use crate::schema::{
    articles, checkouts, gateway_customers, hosted_checkouts, plans, subscriptions, user_sessions,
    users,
};

/// An article without its body: what lists and paywalls need.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct ArticleSummary {
    pub id: i64,
    pub title: String,
    pub author: String,
    pub teaser: String,
    pub is_premium: bool,
    pub published_at: OffsetDateTime,
}

/// An article with its body, as an article page shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct Article {
    #[diesel(embed)]
    pub summary: ArticleSummary,
    pub body_html: String,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = articles)]
pub struct NewArticle<'a> {
    pub title: &'a str,
    pub author: &'a str,
    pub teaser: &'a str,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
    pub is_premium: bool,
    pub published_at: OffsetDateTime,
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg))]
pub struct Plan {
    pub code: String,
    pub name: String,
    pub price_cents: i32,
    pub currency: String,
    pub period_months: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct SubscriptionRow {
    pub id: i64,
    pub user_id: i64,
    pub plan_code: String,
    #[diesel(deserialize_as = StoredStatus)]
    pub status: Status,
    pub current_period_start: OffsetDateTime,
    pub current_period_end: OffsetDateTime,
    pub canceled_at: Option<OffsetDateTime>,
    pub period_value_cents: i32,
    /// The gateway that took the payment (`test`, `stripe`, ...) and its reference for it: for
    /// a processor that runs the subscription, the processor's subscription id.
    pub gateway: String,
    pub gateway_reference: String,
    /// The processor charges the next period by itself (the page says when it renews).
    pub renews: bool,
    /// When the processor's state applied here was read (see `billing`).
    pub synced_at: Option<OffsetDateTime>,
    #[diesel(embed)]
    pub failed_payment: FailedPayment,
}

/// A renewal the processor could not charge, as the account page shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct FailedPayment {
    #[diesel(column_name = payment_failed_at)]
    pub since: Option<OffsetDateTime>,
    /// In the currency's smallest unit.
    #[diesel(column_name = payment_due_amount)]
    pub amount: Option<i64>,
    #[diesel(column_name = payment_due_currency)]
    pub currency: Option<String>,
    /// Where the reader pays it (the processor's page for the invoice).
    #[diesel(column_name = payment_fix_url)]
    pub fix_url: Option<String>,
}

/// What a processor's word on a subscription sets on its row (see `billing`).
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = subscriptions, treat_none_as_null = true)]
pub struct HeldState<'a> {
    pub plan_code: &'a str,
    pub status: &'a str,
    pub current_period_start: OffsetDateTime,
    pub current_period_end: OffsetDateTime,
    pub canceled_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub period_value_cents: i32,
    pub renews: bool,
    pub synced_at: Option<OffsetDateTime>,
    pub payment_failed_at: Option<OffsetDateTime>,
    pub payment_due_amount: Option<i64>,
    pub payment_due_currency: Option<&'a str>,
    pub payment_fix_url: Option<&'a str>,
}

/// The reader's customer at a processor (see `db::gateway_customers`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = gateway_customers, check_for_backend(diesel::pg::Pg))]
pub struct GatewayCustomer {
    pub user_id: i64,
    pub gateway: String,
    /// Keys the one request that creates the customer at the processor.
    pub request_key: String,
    /// The processor's id for the customer, once it has answered.
    pub reference: Option<String>,
}

/// A checkout on the processor's hosted page (see `db::hosted_checkouts`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = hosted_checkouts, check_for_backend(diesel::pg::Pg))]
pub struct HostedCheckout {
    pub id: i64,
    pub user_id: i64,
    pub gateway: String,
    pub plan_code: String,
    /// Keys the one request that opens the page at the processor.
    pub request_key: String,
    pub return_to: String,
    pub reference: Option<String>,
    pub url: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub started_at: OffsetDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = hosted_checkouts)]
pub struct NewHostedCheckout<'a> {
    pub user_id: i64,
    pub gateway: &'a str,
    pub plan_code: &'a str,
    pub request_key: &'a str,
    pub return_to: &'a str,
    pub started_at: OffsetDateTime,
    pub checked_at: OffsetDateTime,
}

impl SubscriptionRow {
    /// What the subscription means at `now`: the one rule, in `domain::subscription`.
    pub fn standing(&self, now: OffsetDateTime) -> Standing {
        Standing::of(self.status, self.current_period_end, now)
    }
}

/// `subscriptions.status` as stored; its CHECK allows exactly the values of [`Status`], so
/// anything else is a read error, never a silent default.
#[derive(Debug, FromSqlRow)]
pub struct StoredStatus(Status);

impl FromSql<Text, Pg> for StoredStatus {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        Status::parse(&text)
            .map(Self)
            .ok_or_else(|| format!("unknown subscription status `{text}`").into())
    }
}

impl From<StoredStatus> for Status {
    fn from(stored: StoredStatus) -> Self {
        stored.0
    }
}

#[derive(Insertable)]
#[diesel(table_name = subscriptions)]
pub struct NewSubscription<'a> {
    pub user_id: i64,
    pub plan_code: &'a str,
    pub status: &'a str,
    pub current_period_start: OffsetDateTime,
    pub current_period_end: OffsetDateTime,
    pub gateway: &'a str,
    pub gateway_reference: &'a str,
    pub period_value_cents: i32,
}

/// A change of subscription being paid for (see `db::checkouts`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = checkouts, check_for_backend(diesel::pg::Pg))]
pub struct Checkout {
    pub id: i64,
    pub user_id: i64,
    pub plan_code: String,
    pub amount_cents: i32,
    pub period_value_cents: i32,
    pub period_months: i32,
    pub period_end_at_least: OffsetDateTime,
    /// Keys the one charge at the processor, and any later question about it.
    pub payment_key: String,
    pub gateway: Option<String>,
    pub gateway_reference: Option<String>,
    pub started_at: OffsetDateTime,
    pub charged_at: Option<OffsetDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = checkouts)]
pub struct NewCheckout<'a> {
    pub user_id: i64,
    pub plan_code: &'a str,
    pub amount_cents: i32,
    pub period_value_cents: i32,
    pub period_months: i32,
    pub period_end_at_least: OffsetDateTime,
    pub payment_key: &'a str,
    pub started_at: OffsetDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_sessions, check_for_backend(diesel::pg::Pg))]
pub struct UserSession {
    pub id: i64,
    pub user_id: i64,
    pub user_agent: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = user_sessions)]
pub struct NewUserSession<'a> {
    pub user_id: i64,
    pub token_hash: &'a [u8],
    pub user_agent: &'a str,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}
