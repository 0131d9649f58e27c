//! The mail outbox: what to send, written in the transaction of the change it tells of, and
//! taken by the background sender one row at a time. Claiming a row moves its
//! `next_attempt_at` past a lease, under `FOR UPDATE SKIP LOCKED`, so senders on several
//! instances never take the same row, and a row whose sender died is taken again once the
//! lease is over. A sent (or abandoned) row is deleted.

use diesel::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::domain::ids::{MailId, UserId};
use crate::domain::mail::MailKind;
use crate::models::{NewOutboxMail, OutboxMail};
use crate::schema::mail_outbox;

/// Queues a mail of `kind` to `recipient`, due now and worth sending for as long as its kind
/// says (`MailKind::worth_sending_for`).
pub fn owe(
    conn: &mut PgConnection,
    kind: MailKind,
    recipient: &str,
    user_id: Option<UserId>,
    detail: &str,
    now: OffsetDateTime,
) -> QueryResult<MailId> {
    enqueue(
        conn,
        &NewOutboxMail {
            kind: kind.as_str(),
            recipient,
            user_id,
            detail,
            created_at: now,
            next_attempt_at: now,
            expires_at: now + kind.worth_sending_for(),
        },
    )
}

pub fn enqueue(conn: &mut PgConnection, new: &NewOutboxMail<'_>) -> QueryResult<MailId> {
    diesel::insert_into(mail_outbox::table)
        .values(new)
        .returning(mail_outbox::id)
        .get_result(conn)
}

/// Takes the mail due longest ago, if any, for `lease`; counts the attempt.
pub fn claim_next(
    conn: &mut PgConnection,
    now: OffsetDateTime,
    lease: Duration,
) -> QueryResult<Option<OutboxMail>> {
    conn.transaction(|conn| {
        let Some(id) = mail_outbox::table
            .filter(mail_outbox::next_attempt_at.le(now))
            .order((mail_outbox::next_attempt_at, mail_outbox::id))
            .select(mail_outbox::id)
            .for_update()
            .skip_locked()
            .first::<MailId>(conn)
            .optional()?
        else {
            return Ok(None);
        };
        diesel::update(mail_outbox::table.find(id))
            .set((
                mail_outbox::next_attempt_at.eq(now + lease),
                mail_outbox::attempts.eq(mail_outbox::attempts + 1),
            ))
            .returning(OutboxMail::as_returning())
            .get_result(conn)
            .optional()
    })
}

/// Removes a mail that was sent, or that is no longer worth sending.
pub fn delete(conn: &mut PgConnection, id: MailId) -> QueryResult<()> {
    diesel::delete(mail_outbox::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Puts a mail back, to be tried again at `at`; `error` says what went wrong last.
pub fn retry_at(
    conn: &mut PgConnection,
    id: MailId,
    at: OffsetDateTime,
    error: &str,
) -> QueryResult<()> {
    let error: String = error.chars().take(500).collect();
    diesel::update(mail_outbox::table.find(id))
        .set((
            mail_outbox::next_attempt_at.eq(at),
            mail_outbox::last_error.eq(Some(error)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// When the next mail falls due, if there is any.
pub fn next_due(conn: &mut PgConnection) -> QueryResult<Option<OffsetDateTime>> {
    mail_outbox::table
        .select(diesel::dsl::min(mail_outbox::next_attempt_at))
        .get_result(conn)
}

/// Mail about the account still waiting, oldest first.
pub fn waiting_for_user(conn: &mut PgConnection, user_id: UserId) -> QueryResult<Vec<OutboxMail>> {
    mail_outbox::table
        .filter(mail_outbox::user_id.eq(user_id))
        .order(mail_outbox::id)
        .select(OutboxMail::as_select())
        .load(conn)
}

/// Whether the mail is still in the outbox (nothing dropped it since it was claimed).
pub fn is_waiting(conn: &mut PgConnection, id: MailId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(mail_outbox::table.find(id))).get_result(conn)
}

/// Drops the mail still waiting to carry a link for the account: its address changes (by
/// `user_id`) and the resets asked for its address `email` (a reset request names only the
/// address). Returns how many went.
pub fn drop_links_for(conn: &mut PgConnection, user_id: UserId, email: &str) -> QueryResult<usize> {
    diesel::delete(
        mail_outbox::table.filter(
            mail_outbox::kind
                .eq(MailKind::EmailChange.as_str())
                .and(mail_outbox::user_id.eq(user_id))
                .or(mail_outbox::kind
                    .eq(MailKind::PasswordReset.as_str())
                    .and(mail_outbox::recipient.eq(email))),
        ),
    )
    .execute(conn)
}

/// Drops the mail still waiting about the account (it is being deleted).
pub fn delete_for_user(conn: &mut PgConnection, user_id: UserId) -> QueryResult<usize> {
    diesel::delete(mail_outbox::table.filter(mail_outbox::user_id.eq(user_id))).execute(conn)
}
