//! Accounts. E-mails are stored normalised, so looking one up is an equality.

use diesel::prelude::*;

use crate::models::{NewUser, User};
use crate::schema::users;

/// The account with this normalised e-mail.
pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Fails with a unique violation when the e-mail is taken (the database decides, so two
/// simultaneous sign-ups cannot both succeed).
pub fn insert(conn: &mut PgConnection, new: &NewUser<'_>) -> QueryResult<i64> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::id)
        .get_result(conn)
}

pub fn update_password_hash(conn: &mut PgConnection, user_id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}

/// Locks the reader's row for the rest of the transaction, so two logins at once take turns
/// over the reader's sessions.
pub fn lock(conn: &mut PgConnection, user_id: i64) -> QueryResult<()> {
    users::table
        .find(user_id)
        .select(users::id)
        .for_update()
        .first::<i64>(conn)
        .map(|_| ())
}
