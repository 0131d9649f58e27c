//! Hearing of changes made by every instance: a connection of its own that `LISTEN`s on
//! [`crate::db::changes::CHANNEL`] and applies each notification to this instance's caches.
//!
//! Rules: the caches are live only while the connection is; on every (re)connect they are
//! emptied, since what was sent while nobody listened is lost. A lost connection is tried
//! again with a growing pause (at most `MAX_PAUSE`). The connection names itself
//! `gazette-changes` in `pg_stat_activity`.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{AsyncMessage, Config, NoTls};

use super::Caches;
use crate::db::changes::{CHANNEL, Change};

const APPLICATION_NAME: &str = "gazette-changes";
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Listens until `stop` resolves.
pub fn spawn(
    database_url: &str,
    caches: Arc<Caches>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let config = Config::from_str(database_url).map(|mut config| {
        config
            .application_name(APPLICATION_NAME)
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives_idle(Duration::from_secs(30));
        config
    });
    tokio::spawn(async move {
        let config = match config {
            Ok(config) => config,
            Err(error) => {
                // Start-up already connected with this URL through libpq; a URL only libpq
                // understands leaves the caches bypassed, which is slower but never wrong.
                tracing::error!(
                    "the change listener cannot read DATABASE_URL, caches stay off: {error}"
                );
                return;
            }
        };
        let mut stop = std::pin::pin!(stop);
        let mut pause = FIRST_PAUSE;
        loop {
            tokio::select! {
                biased;
                () = &mut stop => break,
                heard = listen(&config, &caches) => {
                    caches.set_live(false);
                    match heard {
                        Ok(()) => tracing::warn!("the change listener's connection closed; caches off until it is back"),
                        Err(error) => tracing::warn!("the change listener is not connected, caches off: {error}"),
                    }
                }
            }
            tokio::select! {
                biased;
                () = &mut stop => break,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(MAX_PAUSE);
        }
        caches.set_live(false);
    })
}

/// Connects, listens, and applies notifications until the connection ends.
async fn listen(config: &Config, caches: &Caches) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (heard, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    // The connection does the talking: it must be polled for the client to work at all.
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(notification))) => {
                    if heard.send(notification.payload().to_string()).is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    caches.set_live(true);
    tracing::info!("listening for changes; caches on");
    while let Some(payload) = notifications.recv().await {
        caches.apply(Change::parse(&payload));
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}
