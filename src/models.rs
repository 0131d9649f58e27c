//! Rows as diesel reads and writes them. Rules about what the values mean live in `domain`.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::sql_types::Text;
use time::OffsetDateTime;

use crate::domain::subscription::{Standing, Status};

use crate::schema::{
    account_tokens, articles, checkouts, mail_outbox, meter_reads, plans, subscriptions,
    user_sessions, users,
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

/// A link sent by mail that still works (see `db::tokens`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_tokens, check_for_backend(diesel::pg::Pg))]
pub struct AccountToken {
    pub id: i64,
    pub user_id: i64,
    pub purpose: String,
    pub new_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = account_tokens)]
pub struct NewAccountToken<'a> {
    pub user_id: i64,
    pub purpose: &'a str,
    pub token_hash: &'a [u8],
    pub new_email: Option<&'a str>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Mail waiting in the outbox (see `db::outbox`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxMail {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub user_id: Option<i64>,
    pub detail: String,
    pub created_at: OffsetDateTime,
    pub attempts: i32,
    pub expires_at: OffsetDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct NewOutboxMail<'a> {
    pub kind: &'a str,
    pub recipient: &'a str,
    pub user_id: Option<i64>,
    pub detail: &'a str,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An account as its owner may see all of it (the password hash aside).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub created_at: OffsetDateTime,
}

/// A login session with everything kept about it, ended or not.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRecord {
    pub id: i64,
    pub user_agent: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A subscription with everything kept about it, ended or not.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct SubscriptionRecord {
    pub id: i64,
    pub plan_code: String,
    pub status: String,
    pub current_period_start: OffsetDateTime,
    pub current_period_end: OffsetDateTime,
    pub canceled_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub gateway: String,
    pub gateway_reference: String,
    pub period_value_cents: i32,
    pub created_at: OffsetDateTime,
}

/// One premium article on a logged-in reader's meter.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = meter_reads, check_for_backend(diesel::pg::Pg))]
pub struct MeterRead {
    pub month: time::Date,
    pub article_id: i64,
    pub opened_at: OffsetDateTime,
}
