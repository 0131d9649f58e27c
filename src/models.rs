//! Rows as diesel reads and writes them. Rules about what the values mean live in `domain`.
//!
//! The row ids of `domain::ids` are diesel's `BigInt` here: they bind in queries (`eq`,
//! `find`, `eq_any`, raw `bind`), fill `Queryable` and `Selectable` structs and are written by
//! `Insertable` ones, exactly as `i64` is, so no query converts an id by hand.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{BigInt, Nullable, Text};
use time::OffsetDateTime;

use crate::domain::article::{Publication, Words};
use crate::domain::gift_subscription::GiftState;
use crate::domain::grant::GrantKind;
use crate::domain::ids::{
    ArticleGiftId, ArticleId, CheckoutId, DeliveryId, GiftId, GrantId, HostedCheckoutId, MailId,
    MediaId, SendId, SessionId, SignupId, SubscriptionId, TokenId, UserId,
};
use crate::domain::media::Picture;
use crate::domain::role::Role;
use crate::domain::subscription::{Standing, Status};

use crate::schema::{
    access_grants, account_tokens, article_gifts, articles, checkouts, gateway_customers,
    gift_subscriptions, hosted_checkouts, mail_outbox, media, media_variants, meter_reads,
    offer_redemptions, offers, plans, subscriptions, user_sessions, users,
};

/// Makes each id type a `BigInt` to diesel, as `#[derive(AsExpression, FromSqlRow)]` with
/// `ToSql` and `FromSql` would, written out because `domain` knows nothing of diesel. An id
/// binds as its number (`i64`'s own expression), for a column that may be null as well; it
/// is read from a `BIGINT` (and, as an `Option`, from one that may be null).
macro_rules! id_columns {
    ($($id:ty),+ $(,)?) => {$(
        impl AsExpression<BigInt> for $id {
            type Expression = <i64 as AsExpression<BigInt>>::Expression;

            fn as_expression(self) -> Self::Expression {
                AsExpression::<BigInt>::as_expression(self.get())
            }
        }

        impl AsExpression<Nullable<BigInt>> for $id {
            type Expression = <i64 as AsExpression<Nullable<BigInt>>>::Expression;

            fn as_expression(self) -> Self::Expression {
                AsExpression::<Nullable<BigInt>>::as_expression(self.get())
            }
        }

        impl AsExpression<BigInt> for &$id {
            type Expression = <i64 as AsExpression<BigInt>>::Expression;

            fn as_expression(self) -> Self::Expression {
                AsExpression::<BigInt>::as_expression(self.get())
            }
        }

        impl AsExpression<Nullable<BigInt>> for &$id {
            type Expression = <i64 as AsExpression<Nullable<BigInt>>>::Expression;

            fn as_expression(self) -> Self::Expression {
                AsExpression::<Nullable<BigInt>>::as_expression(self.get())
            }
        }

        impl ToSql<BigInt, Pg> for $id {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <i64 as ToSql<BigInt, Pg>>::to_sql(&self.get(), &mut out.reborrow())
            }
        }

        impl FromSql<BigInt, Pg> for $id {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                <i64 as FromSql<BigInt, Pg>>::from_sql(bytes).map(<$id>::new)
            }
        }

        impl Queryable<BigInt, Pg> for $id {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }
    )+};
}

id_columns!(
    GiftId,
    GrantId,
    UserId,
    ArticleId,
    SubscriptionId,
    SessionId,
    CheckoutId,
    HostedCheckoutId,
    TokenId,
    MailId,
    SignupId,
    SendId,
    DeliveryId,
    MediaId,
    ArticleGiftId,
);

/// A published article without its body: what lists, feeds and paywalls need, with its
/// feature image as the library has it. Read only for articles whose publication time has
/// come, so that time is never empty here.
#[derive(Debug, Clone)]
pub struct ArticleSummary {
    pub id: ArticleId,
    pub slug: String,
    pub title: String,
    pub author: String,
    pub author_slug: String,
    pub teaser: String,
    pub is_premium: bool,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Shared, so copying a list of summaries does not copy their pictures.
    pub feature: Option<Arc<Feature>>,
}

impl ArticleSummary {
    /// The canonical address: `/articles/{id}/{slug}`.
    pub fn path(&self) -> String {
        article_path(self.id, &self.slug)
    }

    /// Whether library picture `id` is its feature image.
    pub fn features(&self, id: MediaId) -> bool {
        self.feature
            .as_ref()
            .is_some_and(|feature| feature.media_id == id)
    }
}

/// An article's feature image, as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub media_id: MediaId,
    pub picture: Picture,
    /// The article's alt text for it, or the library's when the article gives none.
    pub alt: String,
    /// Who made it; may be empty.
    pub credit: String,
}

impl Feature {
    /// The feature image library picture `media_id` makes, with the article's own words for
    /// it; `None` when the library has no such picture.
    pub fn of(
        media_id: Option<MediaId>,
        alt: &str,
        credit: &str,
        pictures: &HashMap<MediaId, Picture>,
    ) -> Option<Self> {
        let media_id = media_id?;
        let picture = pictures.get(&media_id)?.clone();
        Some(Self {
            media_id,
            alt: if alt.is_empty() {
                picture.alt.clone()
            } else {
                alt.to_string()
            },
            picture,
            credit: credit.to_string(),
        })
    }
}

/// A published article's row, before its feature image is looked up (see
/// `db::articles`, which gives [`ArticleSummary`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct SummaryRow {
    pub id: ArticleId,
    pub slug: String,
    pub title: String,
    pub author: String,
    pub author_slug: String,
    pub teaser: String,
    pub is_premium: bool,
    #[diesel(select_expression = articles::published_at.assume_not_null())]
    #[diesel(select_expression_type = diesel::dsl::AssumeNotNull<articles::published_at>)]
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub feature_media_id: Option<MediaId>,
    pub feature_alt: String,
    pub feature_credit: String,
}

impl SummaryRow {
    /// The summary, with its feature image from `pictures` (the library's pictures by id).
    pub fn with_pictures(self, pictures: &HashMap<MediaId, Picture>) -> ArticleSummary {
        let feature = Feature::of(
            self.feature_media_id,
            &self.feature_alt,
            &self.feature_credit,
            pictures,
        )
        .map(Arc::new);
        ArticleSummary {
            id: self.id,
            slug: self.slug,
            title: self.title,
            author: self.author,
            author_slug: self.author_slug,
            teaser: self.teaser,
            is_premium: self.is_premium,
            published_at: self.published_at,
            updated_at: self.updated_at,
            feature,
        }
    }
}

/// `/articles/{id}/{slug}`, the canonical address of an article.
pub fn article_path(id: ArticleId, slug: &str) -> String {
    format!("/articles/{id}/{slug}")
}

/// A published article with its body, as an article page shows it.
#[derive(Debug, Clone)]
pub struct Article {
    pub summary: ArticleSummary,
    pub body_html: String,
    /// Its pages' HTML that is the same for every reader, made by the first request that
    /// shows it and kept with the article (in the cache, until the article or its picture
    /// changes), so a reader's request renders only what is theirs.
    pub html: OnceLock<Arc<ArticleHtml>>,
}

impl Article {
    pub fn new(summary: ArticleSummary, body_html: String) -> Self {
        Self {
            summary,
            body_html,
            html: OnceLock::new(),
        }
    }
}

/// The parts of an article's pages that do not depend on who reads them.
#[derive(Debug)]
pub struct ArticleHtml {
    /// schema.org's description of it, for the page's head.
    pub json_ld: String,
    /// The whole text: header, feature image, standfirst, body.
    pub text: String,
    /// What the paywall shows: header, feature image, standfirst.
    pub teaser: String,
}

/// A published article's row with its body, before its feature image is looked up.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct ArticleRow {
    #[diesel(embed)]
    pub summary: SummaryRow,
    pub body_html: String,
}

/// A published article as the feed carries it: the body only when the article is free (the
/// query itself leaves premium bodies behind).
#[derive(Debug, Clone)]
pub struct FeedArticle {
    pub summary: ArticleSummary,
    pub free_body_html: Option<String>,
}

/// An article as the desk edits it, at any stage.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct DeskArticle {
    pub id: ArticleId,
    pub slug: String,
    pub title: String,
    pub author: String,
    pub teaser: String,
    pub body_markdown: String,
    pub body_html: String,
    pub author_slug: String,
    pub is_premium: bool,
    pub published_at: Option<OffsetDateTime>,
    pub first_published_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    /// Counts the saves that changed the words (see `domain::article::next_version`).
    pub version: i32,
    pub feature_media_id: Option<MediaId>,
    /// As the editor typed it: empty takes the library's alt text.
    pub feature_alt: String,
    pub feature_credit: String,
}

impl DeskArticle {
    /// The words as stored.
    pub fn words(&self) -> Words<'_> {
        Words {
            title: &self.title,
            slug: &self.slug,
            byline: &self.author,
            teaser: &self.teaser,
            body_markdown: &self.body_markdown,
            premium: self.is_premium,
            feature_media_id: self.feature_media_id,
            feature_alt: &self.feature_alt,
            feature_credit: &self.feature_credit,
        }
    }

    pub fn publication(&self) -> Publication {
        Publication {
            published_at: self.published_at,
            first_published_at: self.first_published_at,
        }
    }

    /// Its feature image, from `pictures` (the library's pictures by id).
    pub fn feature(&self, pictures: &HashMap<MediaId, Picture>) -> Option<Feature> {
        Feature::of(
            self.feature_media_id,
            &self.feature_alt,
            &self.feature_credit,
            pictures,
        )
    }

    /// The article as readers will see it, dated `now` when it has no publication time yet,
    /// with its feature image `feature`.
    pub fn as_published(&self, now: OffsetDateTime, feature: Option<Feature>) -> Article {
        Article::new(
            ArticleSummary {
                id: self.id,
                slug: self.slug.clone(),
                title: self.title.clone(),
                author: self.author.clone(),
                author_slug: self.author_slug.clone(),
                teaser: self.teaser.clone(),
                is_premium: self.is_premium,
                published_at: self.published_at.unwrap_or(now),
                updated_at: self.updated_at,
                feature: feature.map(Arc::new),
            },
            self.body_html.clone(),
        )
    }
}

/// One line of the desk's list.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct DeskEntry {
    pub id: ArticleId,
    pub slug: String,
    pub title: String,
    pub author: String,
    pub is_premium: bool,
    pub published_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

/// A published article's place in the sitemap.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct SitemapEntry {
    pub id: ArticleId,
    pub slug: String,
    #[diesel(select_expression = articles::published_at.assume_not_null())]
    #[diesel(select_expression_type = diesel::dsl::AssumeNotNull<articles::published_at>)]
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// An article as stored, for inserting and for saving an edit (`None` times are stored as
/// empty: a draft has no publication time).
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = articles, treat_none_as_null = true)]
pub struct NewArticle<'a> {
    pub title: &'a str,
    pub slug: &'a str,
    pub author: &'a str,
    pub author_slug: &'a str,
    pub teaser: &'a str,
    pub body_markdown: &'a str,
    pub body_html: &'a str,
    pub is_premium: bool,
    pub published_at: Option<OffsetDateTime>,
    pub first_published_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    pub version: i32,
}

/// An article's feature image as stored, written with the rest of the article
/// ([`NewArticle`]); `None` and empty words when it has none.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = articles, treat_none_as_null = true)]
pub struct FeatureColumns<'a> {
    pub feature_media_id: Option<MediaId>,
    pub feature_alt: &'a str,
    pub feature_credit: &'a str,
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    /// Goes up each time every login of the account ends (see `auth::login`).
    pub login_generation: i32,
}

/// An account as the people page lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct Person {
    pub id: UserId,
    pub email: String,
    #[diesel(deserialize_as = StoredRole)]
    pub role: Role,
}

/// `users.role` as stored; its CHECK allows exactly the values of [`Role`], so anything else
/// is a read error, never a silent default.
#[derive(Debug, FromSqlRow)]
pub struct StoredRole(Role);

impl FromSql<Text, Pg> for StoredRole {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        Role::parse(&text)
            .map(Self)
            .ok_or_else(|| format!("unknown role `{text}`").into())
    }
}

impl From<StoredRole> for Role {
    fn from(stored: StoredRole) -> Self {
        stored.0
    }
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
    pub id: SubscriptionId,
    pub user_id: UserId,
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
    #[diesel(embed)]
    pub offer: SubscriptionOffer,
}

/// The offer a subscription began with (or, for a retention offer, took: `discount_from` is
/// then set), and its trial, if any.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct SubscriptionOffer {
    pub offer_code: Option<String>,
    /// The subscription's period is a free trial that ends here.
    pub trial_ends_at: Option<OffsetDateTime>,
    /// The trial started without a payment method: it ends without a charge.
    pub trial_without_card: bool,
    /// When the reader was told the trial ends.
    pub trial_notice_at: Option<OffsetDateTime>,
    /// Until when the discount it began with lasts, as the processor that runs it applies it
    /// (`None`: for ever, or worked out from the offer's terms).
    pub discount_ends_at: Option<OffsetDateTime>,
    /// When the reader was shown a retention offer for this subscription.
    pub retention_offered_at: Option<OffsetDateTime>,
    /// A discount taken on the live subscription (a retention offer, `offer_code`) applies to
    /// the periods charged from here; `None` for an offer the subscription began with.
    pub discount_from: Option<OffsetDateTime>,
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
    pub user_id: UserId,
    pub gateway: String,
    /// Keys the one request that creates the customer at the processor.
    pub request_key: String,
    /// The processor's id for the customer, once it has answered.
    pub reference: Option<String>,
    /// When the row (or its current request key) was written.
    pub created_at: OffsetDateTime,
    /// The e-mail address the processor holds for the customer, as last sent; `None` when
    /// not known.
    pub email: Option<String>,
}

/// A checkout on the processor's hosted page (see `db::hosted_checkouts`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = hosted_checkouts, check_for_backend(diesel::pg::Pg))]
pub struct HostedCheckout {
    pub id: HostedCheckoutId,
    pub user_id: UserId,
    pub gateway: String,
    pub plan_code: String,
    /// Keys the one request that opens the page at the processor.
    pub request_key: String,
    pub return_to: String,
    pub reference: Option<String>,
    pub url: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub started_at: OffsetDateTime,
    /// The offer it was opened for; its redemption is held while it is open.
    pub offer_code: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = hosted_checkouts)]
pub struct NewHostedCheckout<'a> {
    pub user_id: UserId,
    pub gateway: &'a str,
    pub plan_code: &'a str,
    pub request_key: &'a str,
    pub return_to: &'a str,
    pub started_at: OffsetDateTime,
    pub checked_at: OffsetDateTime,
    pub offer_code: Option<&'a str>,
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
    pub user_id: UserId,
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
    pub id: CheckoutId,
    pub user_id: UserId,
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
    /// The offer it pays for; its redemption is held while the checkout is open.
    pub offer_code: Option<String>,
    /// The period it pays is covered by a discount taken earlier (a retention offer), which
    /// applies from here: the redemption was taken then and is kept whatever becomes of this
    /// checkout.
    pub discount_from: Option<OffsetDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = checkouts)]
pub struct NewCheckout<'a> {
    pub user_id: UserId,
    pub plan_code: &'a str,
    pub amount_cents: i32,
    pub period_value_cents: i32,
    pub period_months: i32,
    pub period_end_at_least: OffsetDateTime,
    pub payment_key: &'a str,
    pub started_at: OffsetDateTime,
    pub offer_code: Option<&'a str>,
    pub discount_from: Option<OffsetDateTime>,
}

/// An offer as stored (see `domain::offer`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = offers, check_for_backend(diesel::pg::Pg))]
pub struct OfferRow {
    pub code: String,
    pub plan_code: String,
    pub percent_off: Option<i32>,
    pub amount_off_cents: Option<i32>,
    pub duration: Option<String>,
    pub duration_months: Option<i32>,
    pub trial_days: Option<i32>,
    pub ends_at: Option<OffsetDateTime>,
    pub redemption_limit: Option<i32>,
    pub redeemed: i32,
    pub retention: bool,
}

impl OfferRow {
    /// The offer it stores; `None` for a row the table's checks should have refused.
    pub fn offer(&self) -> Option<crate::domain::offer::Offer> {
        use crate::domain::offer::{Deal, Lasting, Off, Offer};
        let deal = match (self.trial_days, self.percent_off, self.amount_off_cents) {
            (Some(days), None, None) => Deal::Trial { days },
            (None, Some(percent), None) => Deal::Discount {
                off: Off::Percent(percent),
                lasting: Lasting::from_stored(self.duration.as_deref()?, self.duration_months)?,
            },
            (None, None, Some(cents)) => Deal::Discount {
                off: Off::Amount(cents),
                lasting: Lasting::from_stored(self.duration.as_deref()?, self.duration_months)?,
            },
            _ => return None,
        };
        Some(Offer {
            code: self.code.clone(),
            plan_code: self.plan_code.clone(),
            deal,
            ends_at: self.ends_at,
            limit: self.redemption_limit,
            redeemed: self.redeemed,
            retention: self.retention,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = offers)]
pub struct NewOffer<'a> {
    pub code: &'a str,
    pub plan_code: &'a str,
    pub percent_off: Option<i32>,
    pub amount_off_cents: Option<i32>,
    pub duration: Option<&'a str>,
    pub duration_months: Option<i32>,
    pub trial_days: Option<i32>,
    pub ends_at: Option<OffsetDateTime>,
    pub redemption_limit: Option<i32>,
    pub retention: bool,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_sessions, check_for_backend(diesel::pg::Pg))]
pub struct UserSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub user_agent: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A login session with its reader's e-mail and role: what identifying a reader needs.
#[derive(Clone, Debug)]
pub struct SessionWithReader {
    pub session: UserSession,
    pub email: String,
    pub role: Role,
}

impl UserSession {
    /// Neither revoked, past its absolute limit, nor unused for `idle_limit`.
    pub fn is_live(&self, now: OffsetDateTime, idle_limit: time::Duration) -> bool {
        self.revoked_at.is_none() && self.expires_at > now && self.last_seen_at > now - idle_limit
    }
}

#[derive(Insertable)]
#[diesel(table_name = user_sessions)]
pub struct NewUserSession<'a> {
    pub user_id: UserId,
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
    pub id: TokenId,
    pub user_id: UserId,
    pub purpose: String,
    pub new_email: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = account_tokens)]
pub struct NewAccountToken<'a> {
    pub user_id: UserId,
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
    pub id: MailId,
    pub kind: String,
    pub recipient: String,
    pub user_id: Option<UserId>,
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
    pub user_id: Option<UserId>,
    pub detail: &'a str,
    pub created_at: OffsetDateTime,
    pub next_attempt_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An account as its owner may see all of it (the password hash aside).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub created_at: OffsetDateTime,
}

/// A login session with everything kept about it, ended or not.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRecord {
    pub id: SessionId,
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
    pub id: SubscriptionId,
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
    pub offer_code: Option<String>,
    pub trial_ends_at: Option<OffsetDateTime>,
}

/// An offer a reader redeemed, and when.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = offer_redemptions, check_for_backend(diesel::pg::Pg))]
pub struct OfferRedemption {
    pub offer_code: String,
    pub redeemed_at: OffsetDateTime,
}

/// One premium article on a logged-in reader's meter.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = meter_reads, check_for_backend(diesel::pg::Pg))]
pub struct MeterRead {
    pub month: time::Date,
    pub article_id: ArticleId,
    pub opened_at: OffsetDateTime,
}

/// An article a subscriber gifted in a month (see `db::article_gifts`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = article_gifts, check_for_backend(diesel::pg::Pg))]
pub struct ArticleGift {
    pub id: ArticleGiftId,
    pub user_id: UserId,
    pub article_id: ArticleId,
    pub month: time::Date,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = article_gifts)]
pub struct NewArticleGift {
    pub user_id: UserId,
    pub article_id: ArticleId,
    pub month: time::Date,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A picture in the media library, as the desk lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = media, check_for_backend(diesel::pg::Pg))]
pub struct MediaRow {
    pub id: MediaId,
    /// SHA-256 of the uploaded bytes, lower-case hexadecimal: the variants' addresses start
    /// with it.
    pub hash: String,
    /// `jpeg`, `png`, `webp` or `gif` (see `domain::media::Format::name`).
    pub format: String,
    /// Upright, as readers see it.
    pub width: i32,
    pub height: i32,
    pub alt: String,
    pub original_name: String,
    pub original_bytes: i64,
    pub created_at: OffsetDateTime,
}

/// A new picture in the library.
#[derive(Debug, Insertable)]
#[diesel(table_name = media)]
pub struct NewMedia<'a> {
    pub hash: &'a str,
    pub format: &'a str,
    pub width: i32,
    pub height: i32,
    pub alt: &'a str,
    pub original_name: &'a str,
    pub original_bytes: i64,
    pub uploaded_by: Option<UserId>,
}

/// One width made of a picture, in the format it is served in.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = media_variants, check_for_backend(diesel::pg::Pg))]
pub struct VariantRow {
    pub media_id: MediaId,
    pub width: i32,
    pub height: i32,
    pub format: String,
    pub byte_size: i32,
}

/// Access without a renewing subscription (`access_grants`); see `domain::grant`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_grants, check_for_backend(diesel::pg::Pg))]
pub struct AccessGrant {
    pub id: GrantId,
    pub user_id: UserId,
    #[diesel(deserialize_as = StoredGrantKind)]
    pub kind: GrantKind,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub granted_by: Option<UserId>,
}

impl AccessGrant {
    /// Whether the grant gives access at `now`.
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        crate::domain::grant::is_current(self.starts_at, self.ends_at, now)
    }
}

/// `access_grants.kind` as stored; its CHECK allows exactly the values of [`GrantKind`].
#[derive(Debug, FromSqlRow)]
pub struct StoredGrantKind(GrantKind);

impl FromSql<Text, Pg> for StoredGrantKind {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        GrantKind::parse(&text)
            .map(Self)
            .ok_or_else(|| format!("unknown grant kind `{text}`").into())
    }
}

impl From<StoredGrantKind> for GrantKind {
    fn from(stored: StoredGrantKind) -> Self {
        stored.0
    }
}

/// A gift subscription (`gift_subscriptions`); see `domain::gift_subscription`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = gift_subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct GiftSubscription {
    pub id: GiftId,
    pub buyer_id: Option<UserId>,
    pub recipient_email: String,
    pub from_name: String,
    pub message: String,
    pub months: i32,
    pub amount_cents: i32,
    pub currency: String,
    pub payment_key: String,
    pub gateway: String,
    pub gateway_reference: Option<String>,
    #[diesel(deserialize_as = StoredGiftState)]
    pub status: GiftState,
    pub created_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
    pub redeemed_by: Option<UserId>,
    pub redeemed_at: Option<OffsetDateTime>,
    pub grant_id: Option<GrantId>,
    /// The processor's checkout page opened to pay it, when it is paid there.
    pub checkout_reference: Option<String>,
}

/// A gift being bought: its payment is about to be taken.
#[derive(Debug, Insertable)]
#[diesel(table_name = gift_subscriptions)]
pub struct NewGiftSubscription<'a> {
    pub buyer_id: UserId,
    pub form_key: &'a str,
    pub recipient_email: &'a str,
    pub from_name: &'a str,
    pub message: &'a str,
    pub months: i32,
    pub amount_cents: i32,
    pub currency: &'a str,
    pub payment_key: &'a str,
    pub gateway: &'a str,
    pub created_at: OffsetDateTime,
}

/// `gift_subscriptions.status` as stored; its CHECK allows exactly the values of [`GiftState`].
#[derive(Debug, FromSqlRow)]
pub struct StoredGiftState(GiftState);

impl FromSql<Text, Pg> for StoredGiftState {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
        GiftState::parse(&text)
            .map(Self)
            .ok_or_else(|| format!("unknown gift state `{text}`").into())
    }
}

impl From<StoredGiftState> for GiftState {
    fn from(stored: StoredGiftState) -> Self {
        stored.0
    }
}
