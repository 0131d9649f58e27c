//! Accounts. E-mails are stored normalised, so looking one up is an equality.

use diesel::prelude::*;

use super::changes::{Change, note};
use crate::domain::ids::UserId;
use crate::domain::role::Role;
use crate::models::{Account, NewUser, Person, User};
use crate::schema::users;

/// The account with this normalised e-mail.
pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The account with this id.
pub fn find(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<User>> {
    users::table
        .find(user_id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The account as its owner may see it.
pub fn account(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<Account>> {
    users::table
        .find(user_id)
        .select(Account::as_select())
        .first(conn)
        .optional()
}

/// Fails with a unique violation when the e-mail is taken by another account.
pub fn update_email(conn: &mut PgConnection, user_id: UserId, email: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::email.eq(email))
        .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(())
}

/// Deletes the account. Call it last in the deleting transaction, once what refers to the
/// account has been deleted through its own table's functions.
pub fn delete(conn: &mut PgConnection, user_id: UserId) -> QueryResult<bool> {
    let deleted = diesel::delete(users::table.find(user_id)).execute(conn)?;
    note(Change::Reader(user_id));
    Ok(deleted > 0)
}

/// Fails with a unique violation when the e-mail is taken (the database decides, so two
/// simultaneous sign-ups cannot both succeed). Returns the new account's id and its first
/// login generation.
pub fn insert(conn: &mut PgConnection, new: &NewUser<'_>) -> QueryResult<(UserId, i32)> {
    diesel::insert_into(users::table)
        .values(new)
        .returning((users::id, users::login_generation))
        .get_result(conn)
}

/// The account's login generation, if the account exists.
pub fn login_generation(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Option<i32>> {
    users::table
        .find(user_id)
        .select(users::login_generation)
        .first(conn)
        .optional()
}

/// Moves the account to its next login generation (every login of it has ended); returns it.
pub fn next_login_generation(conn: &mut PgConnection, user_id: UserId) -> QueryResult<i32> {
    let generation = diesel::update(users::table.find(user_id))
        .set(users::login_generation.eq(users::login_generation + 1))
        .returning(users::login_generation)
        .get_result(conn)?;
    note(Change::Reader(user_id));
    Ok(generation)
}

/// Whether account `user_id` still has the normalised e-mail `email` and is still in login
/// generation `generation`: what a device cookie must match to count.
pub fn is_in_generation(
    conn: &mut PgConnection,
    user_id: UserId,
    email: &str,
    generation: i32,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .find(user_id)
            .filter(users::email.eq(email))
            .filter(users::login_generation.eq(generation)),
    ))
    .get_result(conn)
}

/// The account with this normalised e-mail, with its role.
pub fn find_person(conn: &mut PgConnection, email: &str) -> QueryResult<Option<Person>> {
    users::table
        .filter(users::email.eq(email))
        .select(Person::as_select())
        .first(conn)
        .optional()
}

/// Accounts with more than the reader's role, admins first, then by e-mail; at most `most`.
pub fn list_staff(conn: &mut PgConnection, most: i64) -> QueryResult<Vec<Person>> {
    users::table
        .filter(users::role.ne(Role::Reader.as_str()))
        .order((users::role.asc(), users::email.asc()))
        .limit(most)
        .select(Person::as_select())
        .load(conn)
}

/// Gives the account with this normalised e-mail `role`; returns whether there is one.
pub fn set_role(conn: &mut PgConnection, email: &str, role: Role) -> QueryResult<bool> {
    let changed: Vec<UserId> = diesel::update(users::table.filter(users::email.eq(email)))
        .set(users::role.eq(role.as_str()))
        .returning(users::id)
        .get_results(conn)?;
    changed
        .iter()
        .for_each(|user_id| note(Change::Reader(*user_id)));
    Ok(changed.len() == 1)
}

/// As [`set_role`], unless the account is an admin (whom only the operator changes); returns
/// whether it changed.
pub fn set_role_unless_admin(
    conn: &mut PgConnection,
    user_id: UserId,
    role: Role,
) -> QueryResult<bool> {
    let changed = diesel::update(
        users::table
            .find(user_id)
            .filter(users::role.ne(Role::Admin.as_str())),
    )
    .set(users::role.eq(role.as_str()))
    .execute(conn)?;
    note(Change::Reader(user_id));
    Ok(changed == 1)
}

pub fn update_password_hash(
    conn: &mut PgConnection,
    user_id: UserId,
    hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}

/// Takes the reader's lock: their row, held until the transaction ends. Every transaction that
/// changes what belongs to one reader (subscription, checkouts, payments, logins, the member
/// meter) takes it first, so such transactions run one at a time per reader and always lock
/// in the same order. `NO KEY UPDATE` leaves the row's key unlocked, so inserts that merely
/// refer to the reader are not held up. Fails with `NotFound` when the reader no longer exists.
pub fn lock(conn: &mut PgConnection, user_id: UserId) -> QueryResult<()> {
    users::table
        .find(user_id)
        .select(users::id)
        .for_no_key_update()
        .first::<UserId>(conn)
        .map(|_| ())
}
