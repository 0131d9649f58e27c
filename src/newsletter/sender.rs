//! The newsletter's sender: a task on every instance that takes due deliveries from
//! `newsletter_deliveries` and sends them through the bulk transport, over
//! `NEWSLETTER_CONNECTIONS` connections kept open, at the pace every instance shares
//! (`NEWSLETTER_RATE`, through `newsletter_pace`).
//!
//! Rules:
//! - Its own queue, its own database connections and its own SMTP connections: a large send
//!   never holds the account-mail outbox, nor the pool that serves pages.
//! - Never twice: a delivery is marked `sending` only once the server has said it is ready for
//!   the data (354), and its answer is written as soon as it comes. A failure before that
//!   point is tried again later ([`retry_delay`], at most [`MOST_ATTEMPTS`] attempts); a
//!   failure without an answer after it makes the delivery `uncertain`, never sent again; a
//!   row found `sending` with its lease run out (its sender died) becomes `uncertain` too.
//! - A refusal for good (5xx) suppresses the address for every later send.
//! - The database or the mail server away: the sender waits ([`AFTER_ERROR`], the retry
//!   delays) and resumes by itself, never in a busy loop. Stopping is noticed between
//!   messages; deliveries taken but not begun are given back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use diesel::Connection;
use time::Duration;
use tokio::sync::watch;

use super::letters::{Envelope, Letters, member_of};
use crate::clock::Clock;
use crate::db::newsletter_sends::{self as sends, DueDelivery};
use crate::db::{self, DbError, DbPool};
use crate::domain::ids::SendId;
use crate::lifecycle::{Lifecycle, Phase};
use crate::mail::bulk::{AfterData, BeforeData, BulkConnection, BulkTarget};

/// How long taken deliveries are a sender's alone: longer than a batch and its exchanges may
/// take.
pub const LEASE: Duration = Duration::minutes(5);
/// Attempts before a delivery refused for now is given up.
pub const MOST_ATTEMPTS: i32 = 4;
/// Deliveries one connection takes at a time.
const BATCH: i64 = 8;
/// The sender looks for work at least this often (a send started on another instance).
pub const IDLE_LOOK: StdDuration = StdDuration::from_secs(2);
/// After a database error, how long the sender waits before looking again.
pub const AFTER_ERROR: StdDuration = StdDuration::from_secs(2);
/// After the server could not be reached, the first pause; it doubles up to
/// [`LONGEST_SERVER_PAUSE`] while the server stays away.
const SERVER_PAUSE: StdDuration = StdDuration::from_secs(2);
const LONGEST_SERVER_PAUSE: StdDuration = StdDuration::from_secs(60);
/// The shortest wait between looks.
const SHORTEST_WAIT: StdDuration = StdDuration::from_millis(50);
/// Letters of this many sends are kept rendered.
const KEPT_LETTERS: usize = 8;

/// How much the sender's threads yield to the server's (0 is normal, 19 the most).
const BACKGROUND_NICENESS: libc::c_int = 10;

/// Lowers the calling thread's scheduling priority (Linux gives each thread its own
/// niceness), so a send at full speed takes the cores only when the pages leave them.
fn yield_to_the_pages() {
    // SAFETY: setpriority only reads its plain integer arguments; `who` 0 is the calling
    // thread, whose niceness is all that changes.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICENESS) };
}

/// How long after its `attempts`-th attempt a delivery refused for now is tried again.
pub fn retry_delay(attempts: i32) -> Duration {
    match attempts {
        ..=1 => Duration::minutes(1),
        2 => Duration::minutes(5),
        _ => Duration::minutes(30),
    }
}

/// Wakes every instance's sender task on this instance at once when a send starts here.
#[derive(Clone)]
pub struct SendWakeup(Arc<watch::Sender<u64>>);

impl Default for SendWakeup {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl SendWakeup {
    pub fn wake(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn watch(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// What the sender works with.
pub struct Sender {
    /// Its own pool: a few connections, apart from the pages'.
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub target: BulkTarget,
    pub envelope: Envelope,
    pub rate: u32,
    pub connections: u32,
    pub wakeup: SendWakeup,
    /// Its threads run at a lower priority than the pages'.
    pub yields_to_pages: bool,
}

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retry,
    Failed,
    Uncertain,
    /// Not this sender's any more, or stopped before it began.
    Left,
    /// The server could not be reached: tried again later, and the connection's other
    /// deliveries wait too.
    ServerDown,
}

struct Shared {
    sender: Sender,
    letters: Mutex<HashMap<SendId, Arc<Letters>>>,
    spacing: StdDuration,
}

impl Sender {
    /// Sends until the instance stops, on a thread and runtime of its own whose threads yield
    /// the cores to the pages; the handle ends when every connection's task has.
    pub fn spawn(self, lifecycle: Lifecycle) -> tokio::task::JoinHandle<()> {
        let (ended, finished) = tokio::sync::oneshot::channel::<()>();
        // Dropped with the task below: when the runtime that started the sender is gone (an
        // embedder or a test that ends without a stop), the sender stops too.
        let (alive, gone) = tokio::sync::oneshot::channel::<()>();
        let yields = self.yields_to_pages;
        let lower = move || {
            if yields {
                yield_to_the_pages();
            }
        };
        let started = std::thread::Builder::new()
            .name("newsletter".to_string())
            .spawn(move || {
                lower();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .on_thread_start(lower)
                    .build();
                match runtime {
                    Ok(runtime) => runtime.block_on(async move {
                        let own = Lifecycle::default();
                        let stopping = lifecycle.reached(Phase::Stopping);
                        tokio::spawn({
                            let own = own.clone();
                            async move {
                                tokio::select! {
                                    () = stopping => {}
                                    _ = gone => {}
                                }
                                own.advance(Phase::Stopping);
                            }
                        });
                        let _ = self.run(own).await;
                    }),
                    Err(error) => {
                        tracing::error!("the newsletter sender cannot start its runtime: {error}");
                    }
                }
                let _ = ended.send(());
            });
        if let Err(error) = started {
            tracing::error!("the newsletter sender cannot start its thread: {error}");
        }
        tokio::spawn(async move {
            let _alive = alive;
            let _ = finished.await;
        })
    }

    /// Sends until the instance stops, on the current runtime.
    fn run(self, lifecycle: Lifecycle) -> tokio::task::JoinHandle<()> {
        let connections = self.connections.max(1);
        let spacing = StdDuration::from_secs_f64(1.0 / f64::from(self.rate.max(1)));
        tracing::info!(
            transport = %self.target.describe(),
            rate = self.rate,
            connections,
            "newsletter sender started"
        );
        let shared = Arc::new(Shared {
            sender: self,
            letters: Mutex::new(HashMap::new()),
            spacing,
        });
        let workers: Vec<_> = (0..connections)
            .map(|_| tokio::spawn(work(shared.clone(), lifecycle.clone())))
            .collect();
        tokio::spawn(async move {
            for worker in workers {
                let _ = worker.await;
            }
            tracing::info!("newsletter sender stopped");
        })
    }
}

/// One connection's loop.
async fn work(shared: Arc<Shared>, lifecycle: Lifecycle) {
    let mut wakeup = shared.sender.wakeup.watch();
    let mut connection: Option<BulkConnection> = None;
    let mut server_pause = SERVER_PAUSE;
    loop {
        if lifecycle.phase() >= Phase::Stopping {
            break;
        }
        let wait = match take_batch(&shared).await {
            Ok(batch) if batch.is_empty() => {
                // Nothing to send: the connection is closed rather than left for the server
                // to time out.
                if let Some(idle) = connection.take() {
                    idle.close().await;
                }
                until_next_due(&shared).await
            }
            Ok(batch) => {
                if send_batch(&shared, &lifecycle, &mut connection, batch).await {
                    server_pause = SERVER_PAUSE;
                    continue;
                }
                let pause = server_pause;
                server_pause = (server_pause * 2).min(LONGEST_SERVER_PAUSE);
                pause
            }
            Err(error) => {
                tracing::warn!("newsletter sender: {error}");
                AFTER_ERROR
            }
        };
        tokio::select! {
            biased;
            () = lifecycle.reached(Phase::Stopping) => break,
            _ = wakeup.changed() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    if let Some(connection) = connection {
        connection.close().await;
    }
}

async fn take_batch(shared: &Shared) -> Result<Vec<DueDelivery>, DbError> {
    let now = shared.sender.clock.now();
    db::run(
        &shared.sender.pool,
        "taking newsletter deliveries",
        move |conn| {
            conn.transaction(|conn| {
                let expired = sends::expire_sending(conn, now)?;
                if expired > 0 {
                    tracing::warn!(
                        expired,
                        "newsletter deliveries left mid-exchange by a stopped sender are \
                         uncertain"
                    );
                }
                sends::claim(conn, now, LEASE, BATCH)
            })
        },
    )
    .await
}

async fn until_next_due(shared: &Shared) -> StdDuration {
    let next = db::run(
        &shared.sender.pool,
        "finding when the next newsletter delivery is due",
        |conn| {
            let due = sends::next_due(conn)?;
            let expiry = sends::next_sending_expiry(conn)?;
            Ok(due.into_iter().chain(expiry).min())
        },
    )
    .await;
    match next {
        Ok(Some(at)) => {
            let wait = (at - shared.sender.clock.now()).max(Duration::ZERO);
            StdDuration::try_from(wait)
                .unwrap_or(IDLE_LOOK)
                .clamp(SHORTEST_WAIT, IDLE_LOOK)
        }
        Ok(None) => IDLE_LOOK,
        Err(error) => {
            tracing::warn!("newsletter sender: {error}");
            AFTER_ERROR
        }
    }
}

/// Sends a batch; false when the server or the database was away (the worker pauses).
async fn send_batch(
    shared: &Shared,
    lifecycle: &Lifecycle,
    connection: &mut Option<BulkConnection>,
    batch: Vec<DueDelivery>,
) -> bool {
    let mut rest = batch.into_iter();
    while let Some(delivery) = rest.next() {
        if lifecycle.phase() >= Phase::Stopping {
            give_back(shared, std::iter::once(delivery).chain(rest)).await;
            return true;
        }
        match send_one(shared, connection, &delivery).await {
            Ok(Outcome::ServerDown) => {
                give_back(shared, rest).await;
                return false;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!("newsletter sender: {error}");
                // The rest stay leased and are taken again when the lease runs out, unless
                // the database is back in time to give them back now.
                tokio::time::sleep(AFTER_ERROR).await;
                give_back(shared, rest).await;
                return false;
            }
        }
    }
    true
}

async fn give_back(shared: &Shared, deliveries: impl Iterator<Item = DueDelivery>) {
    let held: Vec<_> = deliveries.map(|d| (d.id, d.attempts)).collect();
    if held.is_empty() {
        return;
    }
    let given = db::run(
        &shared.sender.pool,
        "giving back newsletter deliveries",
        move |conn| {
            held.iter()
                .try_for_each(|(id, attempt)| sends::release(conn, *id, *attempt))
        },
    )
    .await;
    if let Err(error) = given {
        tracing::warn!("newsletter sender: {error}");
    }
}

async fn letters_of(shared: &Shared, send_id: SendId) -> Result<Option<Arc<Letters>>, DbError> {
    if let Some(letters) = shared
        .letters
        .lock()
        .ok()
        .and_then(|kept| kept.get(&send_id).cloned())
    {
        return Ok(Some(letters));
    }
    let article = db::run(
        &shared.sender.pool,
        "reading the article of a newsletter",
        move |conn| {
            let Some(send) = sends::find(conn, send_id)? else {
                return Ok(None);
            };
            let Some(article) = db::articles::find_for_desk(conn, send.article_id)? else {
                return Ok(None);
            };
            let feature = db::articles::feature_of(conn, &article)?;
            Ok(Some((article, feature)))
        },
    )
    .await?;
    let Some((article, feature)) = article else {
        return Ok(None);
    };
    let letters = match Letters::of(
        &article,
        feature.as_ref(),
        &shared.sender.envelope.public_url,
    ) {
        Ok(letters) => Arc::new(letters),
        Err(error) => {
            tracing::error!(
                send_id = send_id.get(),
                "rendering a newsletter failed: {error}"
            );
            return Ok(None);
        }
    };
    if let Ok(mut kept) = shared.letters.lock() {
        if kept.len() >= KEPT_LETTERS {
            kept.clear();
        }
        kept.insert(send_id, letters.clone());
    }
    Ok(Some(letters))
}

/// Sends one delivery this sender holds and writes what became of it.
async fn send_one(
    shared: &Shared,
    connection: &mut Option<BulkConnection>,
    delivery: &DueDelivery,
) -> Result<Outcome, DbError> {
    let sender = &shared.sender;
    let Some(letters) = letters_of(shared, delivery.send_id).await? else {
        return finish(shared, delivery, "failed", Some("the article is gone")).await;
    };
    let member = member_of(delivery.user_id, delivery.signup_id);
    let (Some(member), Ok(to)) = (member, delivery.email.parse::<lettre::Address>()) else {
        return finish(
            shared,
            delivery,
            "failed",
            Some("not an address to send to"),
        )
        .await;
    };
    let message = match sender
        .envelope
        .message(letters.version(delivery.whole), member, &to)
    {
        Ok(message) => message,
        Err(error) => return finish(shared, delivery, "failed", Some(&error)).await,
    };

    // The shared pace: this message's slot, by the database's clock.
    let spacing = shared.spacing;
    let wait = db::run(
        &sender.pool,
        "taking a newsletter sending slot",
        move |conn| sends::take_slots(conn, 1, spacing),
    )
    .await?;
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }

    let from = sender.envelope.from.email.clone();
    let kept = connection.take().filter(BulkConnection::is_usable);
    let reused = kept.is_some();
    let open = match kept {
        Some(open) => Ok(open),
        None => sender.target.connect().await,
    };
    let mut open = match open {
        Ok(open) => open,
        Err(error) => {
            tracing::warn!("newsletter sender: cannot reach the mail server: {error}");
            not_sent(shared, delivery, &BeforeData::Temporary(error.to_string())).await?;
            return Ok(Outcome::ServerDown);
        }
    };
    let mut begun = open.begin(&from, &to).await;
    if reused && begun.is_err() && !open.is_usable() {
        // A kept connection the server had closed meanwhile: once more on a new one.
        open = match sender.target.connect().await {
            Ok(open) => open,
            Err(error) => {
                tracing::warn!("newsletter sender: cannot reach the mail server: {error}");
                not_sent(shared, delivery, &BeforeData::Temporary(error.to_string())).await?;
                return Ok(Outcome::ServerDown);
            }
        };
        begun = open.begin(&from, &to).await;
    }
    if let Err(refused) = begun {
        *connection = Some(open);
        return not_sent(shared, delivery, &refused).await;
    }
    let (id, attempt) = (delivery.id, delivery.attempts);
    let marked = db::run(
        &sender.pool,
        "marking a newsletter delivery sending",
        move |conn| sends::mark_sending(conn, id, attempt),
    )
    .await;
    match marked {
        Ok(true) => {}
        Ok(false) => {
            // Taken again elsewhere meanwhile: this connection is left mid-exchange.
            open.close().await;
            return Ok(Outcome::Left);
        }
        Err(error) => {
            open.close().await;
            return Err(error);
        }
    }
    let handed = open.hand_over(&message).await;
    *connection = Some(open);
    match handed {
        Ok(()) => finish(shared, delivery, "sent", None).await,
        Err(AfterData::Permanent(reason)) => refused_for_good(shared, delivery, &reason).await,
        Err(AfterData::Temporary(reason)) => {
            not_sent(shared, delivery, &BeforeData::Temporary(reason)).await
        }
        Err(AfterData::Unknown(reason)) => {
            tracing::warn!(
                delivery_id = delivery.id.get(),
                "newsletter delivery uncertain: {reason}"
            );
            finish(shared, delivery, "uncertain", Some(&reason)).await
        }
    }
}

/// Refused before the data: for good (suppressed), or for now (later, or given up).
async fn not_sent(
    shared: &Shared,
    delivery: &DueDelivery,
    refused: &BeforeData,
) -> Result<Outcome, DbError> {
    match refused {
        BeforeData::Permanent(reason) => refused_for_good(shared, delivery, reason).await,
        BeforeData::Temporary(reason) if delivery.attempts >= MOST_ATTEMPTS => {
            tracing::warn!(
                delivery_id = delivery.id.get(),
                attempts = delivery.attempts,
                "newsletter delivery given up: {reason}"
            );
            finish(shared, delivery, "failed", Some(reason)).await
        }
        BeforeData::Temporary(reason) => {
            let at = shared.sender.clock.now() + retry_delay(delivery.attempts);
            let (id, attempt, reason) = (delivery.id, delivery.attempts, reason.clone());
            tracing::info!(
                delivery_id = id.get(),
                attempts = attempt,
                retry_at = %at,
                "newsletter delivery to be tried again: {reason}"
            );
            db::run(
                &shared.sender.pool,
                "putting back a newsletter delivery",
                move |conn| sends::retry_at(conn, id, attempt, at, &reason),
            )
            .await?;
            Ok(Outcome::Retry)
        }
    }
}

async fn refused_for_good(
    shared: &Shared,
    delivery: &DueDelivery,
    reason: &str,
) -> Result<Outcome, DbError> {
    let now = shared.sender.clock.now();
    let (id, attempt, email, reason) = (
        delivery.id,
        delivery.attempts,
        delivery.email.clone(),
        reason.to_string(),
    );
    tracing::warn!(
        delivery_id = id.get(),
        "newsletter refused for good; the address is suppressed: {reason}"
    );
    db::run(
        &shared.sender.pool,
        "suppressing a refused address",
        move |conn| {
            conn.transaction(|conn| {
                sends::suppress(conn, &email, &reason, now)?;
                sends::finish(conn, id, attempt, "failed", Some(&reason), now)
            })
        },
    )
    .await?;
    Ok(Outcome::Failed)
}

async fn finish(
    shared: &Shared,
    delivery: &DueDelivery,
    state: &'static str,
    error: Option<&str>,
) -> Result<Outcome, DbError> {
    let now = shared.sender.clock.now();
    let (id, attempt, error) = (delivery.id, delivery.attempts, error.map(str::to_string));
    let mine = db::run(
        &shared.sender.pool,
        "writing what became of a newsletter delivery",
        move |conn| sends::finish(conn, id, attempt, state, error.as_deref(), now),
    )
    .await?;
    Ok(match (mine, state) {
        (false, _) => Outcome::Left,
        (true, "sent") => Outcome::Sent,
        (true, "uncertain") => Outcome::Uncertain,
        (true, _) => Outcome::Failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_refused_for_now_waits_longer_each_time() {
        let delays: Vec<_> = (1..=MOST_ATTEMPTS).map(retry_delay).collect();
        assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(delays[0] >= Duration::minutes(1));
    }
}
