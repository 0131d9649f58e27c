//! Members as a publication moving between platforms sees them: one row per account, with
//! what another platform keeps of a member (consent to e-mails, complimentary access, the
//! Stripe customer, the plan). Read in pages by id, so any number of accounts is read in
//! bounded memory.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz};
use time::OffsetDateTime;

use crate::domain::ids::UserId;

/// One account as a members export shows it.
#[derive(Debug, Clone, QueryableByName)]
pub struct MemberRecord {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: OffsetDateTime,
    /// Opted in to the newsletter with a confirmed address, and not suppressed.
    #[diesel(sql_type = Bool)]
    pub subscribed_to_emails: bool,
    /// A comp or a redeemed gift gives access now.
    #[diesel(sql_type = Bool)]
    pub complimentary: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub stripe_customer_id: Option<String>,
    /// The name of the plan of a subscription that gives access now.
    #[diesel(sql_type = Nullable<Text>)]
    pub plan_name: Option<String>,
}

/// Up to `most` accounts with an id above `after`, in id order, as at `now`.
pub fn page(
    conn: &mut PgConnection,
    after: Option<UserId>,
    most: i64,
    now: OffsetDateTime,
) -> QueryResult<Vec<MemberRecord>> {
    diesel::sql_query(
        "SELECT u.id, u.email, u.created_at, \
           (u.newsletter_opted_in_at IS NOT NULL AND u.email_confirmed_at IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM newsletter_suppressions s WHERE s.email = u.email)) \
             AS subscribed_to_emails, \
           EXISTS (SELECT 1 FROM access_grants g \
             WHERE g.user_id = u.id AND g.starts_at <= $2 AND g.ends_at > $2) AS complimentary, \
           (SELECT c.reference FROM gateway_customers c \
             WHERE c.user_id = u.id AND c.gateway = 'stripe') AS stripe_customer_id, \
           (SELECT p.name FROM subscriptions s JOIN plans p ON p.code = s.plan_code \
             WHERE s.user_id = u.id AND s.status <> 'ended' AND s.current_period_end > $2 \
             ORDER BY s.current_period_end DESC LIMIT 1) AS plan_name \
         FROM users u WHERE u.id > $1 ORDER BY u.id LIMIT $3",
    )
    .bind::<BigInt, _>(after.map_or(0, UserId::get))
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(most)
    .load(conn)
}
