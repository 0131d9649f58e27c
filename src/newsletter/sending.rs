//! Sending an article to the list: starting a send (its audience fixed at once), where a send
//! stands, the editor's test letters, and the suppressed addresses. The sending itself is the
//! background [`super::sender`].
//!
//! Rules:
//! - An article is e-mailed at most once: the send and its audience are written in one
//!   transaction, and the unique `newsletter_sends.article_id` turns every later start (a
//!   double click, a second tab, another instance, the command line) into "already sent".
//! - Only a published article is sent. The audience is every distinct address confirmed and
//!   opted in (or the subscribers among them), fixed when the send starts; suppressed
//!   addresses are kept in it as `suppressed`, so the progress page can say how many were
//!   skipped, and sent + failed + suppressed + uncertain is the audience once it is done.
//! - The functions taking a connection are what the command line calls; the desk calls them
//!   through `db::run`.
//! - The editor's test letters are the one mail sent while a request waits (the editor asked
//!   to see them now, and they go to the editor alone), bounded by [`TEST_LETTERS_TIMEOUT`].

use diesel::prelude::*;
use lettre::Address;
use time::OffsetDateTime;

use super::letters::{Envelope, Letters};
use super::sender::SendWakeup;
use crate::db::newsletter_sends::{self as sends, Counts, SendRow};
use crate::db::{self, DbError, DbPool};
use crate::domain::ids::{ArticleId, SendId, UserId};
use crate::domain::newsletter::Member;
use crate::mail::bulk::BulkTarget;
use crate::mail::newsletter::Letter;

/// The longest the editor waits for the test letters to be handed over.
pub const TEST_LETTERS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Who a send goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Everyone confirmed and opted in.
    All,
    /// The subscribers among them (and the newsroom).
    Subscribers,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Subscribers => "subscribers",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "all" => Some(Self::All),
            "subscribers" => Some(Self::Subscribers),
            _ => None,
        }
    }
}

/// What starting a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// Started now; its audience is queued.
    Queued { send_id: SendId, counts: Counts },
    /// The article was e-mailed before (or is being): nothing new was queued.
    AlreadySent { send: SendRow, counts: Counts },
    /// A draft, or an article whose publication time has not come.
    NotPublished,
    /// No such article.
    Unknown,
}

/// Starts sending `article_id` to `audience`, unless it was sent before.
pub fn start(
    conn: &mut PgConnection,
    article_id: ArticleId,
    audience: Audience,
    started_by: Option<UserId>,
    now: OffsetDateTime,
) -> QueryResult<Started> {
    conn.transaction(|conn| {
        let Some(article) = db::articles::find_for_desk(conn, article_id)? else {
            return Ok(Started::Unknown);
        };
        if article.published_at.is_none_or(|at| at > now) {
            return Ok(Started::NotPublished);
        }
        let Some(send_id) = sends::start(conn, article_id, audience.as_str(), started_by, now)?
        else {
            return already_sent(conn, article_id);
        };
        sends::insert_audience(
            conn,
            send_id,
            article.is_premium,
            audience == Audience::Subscribers,
            now,
        )?;
        let counts = sends::counts(conn, send_id)?;
        Ok(Started::Queued { send_id, counts })
    })
}

fn already_sent(conn: &mut PgConnection, article_id: ArticleId) -> QueryResult<Started> {
    let send = sends::find_by_article(conn, article_id)?.ok_or(diesel::NotFound)?;
    let counts = sends::counts(conn, send.id)?;
    Ok(Started::AlreadySent { send, counts })
}

/// The send of `article_id` and its counts, if it was ever started.
pub fn status(
    conn: &mut PgConnection,
    article_id: ArticleId,
) -> QueryResult<Option<(SendRow, Counts)>> {
    let Some(send) = sends::find_by_article(conn, article_id)? else {
        return Ok(None);
    };
    let counts = sends::counts(conn, send.id)?;
    Ok(Some((send, counts)))
}

/// The newsletter as the desk uses it: starting sends (and waking this instance's sender),
/// and the editor's test letters, sent at once through the newsletter's transport.
#[derive(Clone)]
pub struct Newsletter {
    pub pool: DbPool,
    pub target: BulkTarget,
    pub envelope: Envelope,
    pub wakeup: SendWakeup,
}

/// Why test letters did not go.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("no such article")]
    Unknown,
    #[error("{0}")]
    NotSent(String),
}

impl Newsletter {
    /// Starts a send (see [`start`]) and wakes the sender.
    pub async fn start(
        &self,
        article_id: ArticleId,
        audience: Audience,
        started_by: UserId,
        now: OffsetDateTime,
    ) -> Result<Started, DbError> {
        let started = db::run(&self.pool, "starting a newsletter send", move |conn| {
            start(conn, article_id, audience, Some(started_by), now)
        })
        .await?;
        if let Started::Queued { send_id, counts } = &started {
            tracing::info!(
                send_id = send_id.get(),
                article_id = article_id.get(),
                audience = audience.as_str(),
                queued = counts.queued,
                suppressed = counts.suppressed,
                "newsletter send started"
            );
            self.wakeup.wake();
        }
        Ok(started)
    }

    /// The send of `article_id` and its counts.
    pub async fn status(
        &self,
        article_id: ArticleId,
    ) -> Result<Option<(SendRow, Counts)>, DbError> {
        db::run(&self.pool, "reading a newsletter send", move |conn| {
            status(conn, article_id)
        })
        .await
    }

    /// Sends the editor both letters of `article_id` (as a subscriber and as a free reader
    /// would get them), to their own address, now. Drafts may be tested too.
    pub async fn send_test(
        &self,
        article_id: ArticleId,
        editor: UserId,
        email: &str,
    ) -> Result<(), TestError> {
        let (article, feature) = db::run(&self.pool, "reading an article to test", move |conn| {
            let Some(article) = db::articles::find_for_desk(conn, article_id)? else {
                return Ok(None);
            };
            let feature = db::articles::feature_of(conn, &article)?;
            Ok(Some((article, feature)))
        })
        .await?
        .ok_or(TestError::Unknown)?;
        let letters = Letters::of(&article, feature.as_ref(), &self.envelope.public_url)
            .map_err(|e| TestError::NotSent(format!("rendering: {e}")))?;
        let to: Address = email
            .parse()
            .map_err(|e| TestError::NotSent(format!("your address: {e}")))?;
        let labelled = |letter: &Letter, label: &str| Letter {
            subject: format!("[Test: {label}] {}", letter.subject),
            ..letter.clone()
        };
        let messages = [
            labelled(&letters.whole, "as a subscriber gets it"),
            labelled(&letters.opening, "as a free reader gets it"),
        ]
        .iter()
        .map(|letter| self.envelope.message(letter, Member::Account(editor), &to))
        .collect::<Result<Vec<_>, _>>()
        .map_err(TestError::NotSent)?;
        let exchange = async {
            let mut connection = self
                .target
                .connect()
                .await
                .map_err(|e| TestError::NotSent(e.to_string()))?;
            for message in &messages {
                connection
                    .begin(&self.envelope.from.email, &to)
                    .await
                    .map_err(|e| TestError::NotSent(e.to_string()))?;
                connection
                    .hand_over(message)
                    .await
                    .map_err(|e| TestError::NotSent(e.to_string()))?;
            }
            connection.close().await;
            Ok(())
        };
        // The editor waits for the answer: a mail server that does not answer is reported
        // within seconds, not after the transport's own timeouts.
        tokio::time::timeout(TEST_LETTERS_TIMEOUT, exchange)
            .await
            .map_err(|_| TestError::NotSent("the mail server did not answer in time".into()))?
    }
}
