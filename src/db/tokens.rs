//! Links sent by mail (password resets, e-mail confirmations), found by the SHA-256 of their
//! token. A link works once: using it deletes its row, in the transaction of the change it
//! makes, so two uses at once cannot both succeed. Expired rows are deleted by housekeeping.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use time::OffsetDateTime;

use crate::domain::account::LinkPurpose;
use crate::domain::ids::{TokenId, UserId};
use crate::models::{AccountToken, NewAccountToken};
use crate::schema::{account_tokens, users};

pub fn insert(conn: &mut PgConnection, new: &NewAccountToken<'_>) -> QueryResult<TokenId> {
    diesel::insert_into(account_tokens::table)
        .values(new)
        .returning(account_tokens::id)
        .get_result(conn)
}

/// The link with this token, if it still works, and its account's e-mail.
pub fn find_live(
    conn: &mut PgConnection,
    purpose: LinkPurpose,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> QueryResult<Option<(AccountToken, String)>> {
    account_tokens::table
        .inner_join(users::table)
        .filter(account_tokens::purpose.eq(purpose.as_str()))
        .filter(account_tokens::token_hash.eq(token_hash))
        .filter(account_tokens::expires_at.gt(now))
        .select((AccountToken::as_select(), users::email))
        .first(conn)
        .optional()
}

/// Uses the link with this token: deletes it and returns it, if it still worked.
pub fn consume(
    conn: &mut PgConnection,
    purpose: LinkPurpose,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> QueryResult<Option<AccountToken>> {
    diesel::delete(
        account_tokens::table
            .filter(account_tokens::purpose.eq(purpose.as_str()))
            .filter(account_tokens::token_hash.eq(token_hash))
            .filter(account_tokens::expires_at.gt(now)),
    )
    .returning(AccountToken::as_returning())
    .get_result(conn)
    .optional()
}

/// Deletes every link of the account.
pub fn delete_all_for_user(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    diesel::delete(account_tokens::table.filter(account_tokens::user_id.eq(user_id))).execute(conn)
}

/// Deletes one link (one whose mail could not be sent: nobody holds its token).
pub fn delete(conn: &mut PgConnection, id: TokenId) -> QueryResult<()> {
    diesel::delete(account_tokens::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// The account's links that still work, newest first.
pub fn live_for_user(
    conn: &mut PgConnection,
    user_id: UserId,
    now: OffsetDateTime,
) -> QueryResult<Vec<AccountToken>> {
    account_tokens::table
        .filter(account_tokens::user_id.eq(user_id))
        .filter(account_tokens::expires_at.gt(now))
        .order(account_tokens::id.desc())
        .select(AccountToken::as_select())
        .load(conn)
}

/// Deletes links that expired before `now`, in batches; returns how many went.
pub fn sweep(conn: &mut PgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM account_tokens WHERE id IN \
             (SELECT id FROM account_tokens WHERE expires_at <= $1 LIMIT $2)",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<BigInt, _>(batch)
        .execute(conn)
    })
}
