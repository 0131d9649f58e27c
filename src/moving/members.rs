//! Ghost's members CSV, written from Gazette's accounts.
//!
//! The columns are Ghost's own, in its order ([`GHOST_COLUMNS`]), so Ghost (and anything that
//! reads its export) imports the file as it is:
//! - `id`: the account's number; `email`;
//! - `name`, `note`, `deleted_at`, `labels`: empty (Gazette keeps no names or notes, and a
//!   deleted account is gone);
//! - `subscribed_to_emails`: `true` for an account on the newsletter with a confirmed address
//!   not suppressed, else `false`;
//! - `complimentary_plan`: `true` while a comp or a redeemed gift gives access;
//! - `stripe_customer_id`: the account's Stripe customer, if it has one;
//! - `created_at`: ISO 8601 in UTC with milliseconds, as Ghost writes it;
//! - `tiers`: the name of the plan of a subscription that gives access now.

use std::io::Write;

use diesel::PgConnection;
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

use crate::db;

/// Ghost's members CSV columns, in its order.
pub const GHOST_COLUMNS: [&str; 11] = [
    "id",
    "email",
    "name",
    "note",
    "subscribed_to_emails",
    "complimentary_plan",
    "stripe_customer_id",
    "created_at",
    "deleted_at",
    "labels",
    "tiers",
];

/// Accounts read at a time.
const PAGE: i64 = 1_000;

/// `2026-11-28T12:00:00.000Z`
const GHOST_TIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the accounts: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("writing the file: {0}")]
    Write(#[from] csv::Error),
    #[error("writing the file: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes every account to `out` as Ghost's members CSV, as at `now`; returns how many.
pub fn write_ghost_csv(
    conn: &mut PgConnection,
    out: impl Write,
    now: OffsetDateTime,
) -> Result<usize, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(GHOST_COLUMNS)?;
    let mut after = None;
    let mut written = 0;
    loop {
        let page = db::members::page(conn, after, PAGE, now)?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(crate::domain::ids::UserId::new(last.id));
        for member in &page {
            let created = member
                .created_at
                .to_offset(time::UtcOffset::UTC)
                .format(GHOST_TIME)
                .unwrap_or_default();
            csv.write_record([
                member.id.to_string().as_str(),
                &member.email,
                "",
                "",
                flag(member.subscribed_to_emails),
                flag(member.complimentary),
                member.stripe_customer_id.as_deref().unwrap_or_default(),
                &created,
                "",
                "",
                member.plan_name.as_deref().unwrap_or_default(),
            ])?;
            written += 1;
        }
        csv.flush()?;
    }
    csv.flush()?;
    Ok(written)
}

fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}
