//! The newsletter's transport: SMTP driven one step at a time over connections that are kept
//! and reused (or a folder in development), so the caller knows whether a message's data was
//! handed over when something goes wrong.
//!
//! Rules:
//! - [`BulkConnection::begin`] says who the message is from and for (MAIL, RCPT) and opens the
//!   data (DATA, answered 354): nothing of the message has left yet, so any failure there is
//!   safe to try again. [`BulkConnection::hand_over`] sends the data and reads the answer: a
//!   failure without an answer ([`AfterData::Unknown`]) may have been delivered.
//! - A 5xx answer is a refusal for good, a 4xx one a refusal for now; a connection that broke
//!   or timed out is dropped and opened again for the next message.
//! - Every step has a time limit, so a server that holds the exchange cannot hold the sender
//!   for ever.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;

/// How long connecting (greeting and EHLO included) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one command's answer may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long handing the data over and its answer may take.
const DATA_TIMEOUT: Duration = Duration::from_secs(60);

/// Nothing of the message was handed over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeforeData {
    /// Refused for good (5xx): this address will not take it.
    #[error("refused for good: {0}")]
    Permanent(String),
    /// Refused for now (4xx), or the server could not be reached.
    #[error("not sent this time: {0}")]
    Temporary(String),
}

/// The data was being handed over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AfterData {
    /// The server answered 5xx: refused for good.
    #[error("refused for good: {0}")]
    Permanent(String),
    /// The server answered 4xx: it did not take the message, and says to try later.
    #[error("not taken this time: {0}")]
    Temporary(String),
    /// No answer (the connection broke or timed out): the message may have been delivered.
    #[error("no answer after the data: {0}")]
    Unknown(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tls {
    None,
    Implicit,
    /// STARTTLS after the greeting.
    Upgraded,
}

/// Where newsletters go.
#[derive(Clone)]
pub enum BulkTarget {
    Smtp(Arc<SmtpTarget>),
    /// Development: each message is a file in this folder.
    Folder(Arc<FolderTarget>),
}

pub struct SmtpTarget {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
}

pub struct FolderTarget {
    dir: PathBuf,
    written: AtomicU64,
}

impl BulkTarget {
    /// An SMTP server, from a URL as `SMTP_URL` takes it (`smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`, `smtp://host:25`).
    pub fn smtp(url: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or("the URL names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let implicit = parsed.scheme() == "smtps";
        let tls = if implicit {
            Tls::Implicit
        } else if parsed
            .query_pairs()
            .any(|(key, value)| key == "tls" && (value == "required" || value == "opportunistic"))
        {
            Tls::Upgraded
        } else {
            Tls::None
        };
        let port = parsed.port().unwrap_or(if implicit { 465 } else { 25 });
        let credentials = (!parsed.username().is_empty()).then(|| {
            let decode = |text: &str| {
                url::form_urlencoded::parse(format!("x={text}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            };
            Credentials::new(
                decode(parsed.username()),
                decode(parsed.password().unwrap_or_default()),
            )
        });
        Ok(Self::Smtp(Arc::new(SmtpTarget {
            host,
            port,
            tls,
            credentials,
            hello: ClientId::default(),
        })))
    }

    /// A folder (development).
    pub fn folder(dir: PathBuf) -> Self {
        Self::Folder(Arc::new(FolderTarget {
            dir,
            written: AtomicU64::new(0),
        }))
    }

    /// Where newsletters go, for the start-up log (no secrets).
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(target) => format!("SMTP via {}:{}", target.host, target.port),
            Self::Folder(target) => format!("the folder {} (development)", target.dir.display()),
        }
    }

    /// A new connection, greeted (and encrypted and logged in where the URL says).
    pub async fn connect(&self) -> Result<BulkConnection, BeforeData> {
        match self {
            Self::Folder(target) => Ok(BulkConnection::Folder {
                target: target.clone(),
                to: None,
            }),
            Self::Smtp(target) => {
                let connecting = async {
                    let tls = || {
                        TlsParameters::new(target.host.clone())
                            .map_err(|e| BeforeData::Temporary(format!("TLS set-up: {e}")))
                    };
                    let mut connection = if target.tls == Tls::Implicit {
                        AsyncSmtpConnection::connect_tokio1(
                            (target.host.as_str(), target.port),
                            Some(CONNECT_TIMEOUT),
                            &target.hello,
                            Some(tls()?),
                            None,
                        )
                        .await
                        .map_err(|e| before_data(&e))?
                    } else {
                        // Without Nagle's delay: the end of a message's data is a small write
                        // of its own, which would otherwise wait for the server's delayed ACK
                        // (40 ms a message).
                        let stream =
                            tokio::net::TcpStream::connect((target.host.as_str(), target.port))
                                .await
                                .map_err(|e| BeforeData::Temporary(format!("connecting: {e}")))?;
                        stream
                            .set_nodelay(true)
                            .map_err(|e| BeforeData::Temporary(format!("connecting: {e}")))?;
                        AsyncSmtpConnection::connect_with_transport(Box::new(stream), &target.hello)
                            .await
                            .map_err(|e| before_data(&e))?
                    };
                    if target.tls == Tls::Upgraded {
                        connection
                            .starttls(tls()?, &target.hello)
                            .await
                            .map_err(|e| before_data(&e))?;
                    }
                    if let Some(credentials) = &target.credentials {
                        connection
                            .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                            .await
                            .map_err(|e| before_data(&e))?;
                    }
                    Ok(connection)
                };
                let connection = tokio::time::timeout(CONNECT_TIMEOUT * 2, connecting)
                    .await
                    .map_err(|_| BeforeData::Temporary("connecting timed out".to_string()))??;
                Ok(BulkConnection::Smtp {
                    connection: Box::new(connection),
                    broken: false,
                })
            }
        }
    }
}

fn before_data(error: &lettre::transport::smtp::Error) -> BeforeData {
    if error.is_permanent() {
        BeforeData::Permanent(error.to_string())
    } else {
        BeforeData::Temporary(error.to_string())
    }
}

/// One open connection to where newsletters go.
pub enum BulkConnection {
    Smtp {
        connection: Box<AsyncSmtpConnection>,
        /// Broken or timed out: not to be used again.
        broken: bool,
    },
    Folder {
        target: Arc<FolderTarget>,
        to: Option<String>,
    },
}

impl BulkConnection {
    /// Whether the connection can carry another message.
    pub fn is_usable(&self) -> bool {
        match self {
            Self::Smtp { broken, connection } => !broken && !connection.has_broken(),
            Self::Folder { .. } => true,
        }
    }

    /// MAIL, RCPT and DATA: the server is ready for `to`'s message when this returns `Ok`.
    /// After a refusal the exchange is reset, ready for the next message.
    pub async fn begin(&mut self, from: &Address, to: &Address) -> Result<(), BeforeData> {
        match self {
            Self::Folder { to: recipient, .. } => {
                *recipient = Some(to.to_string());
                Ok(())
            }
            Self::Smtp { connection, broken } => {
                let steps = async {
                    connection
                        .command(Mail::new(Some(from.clone()), vec![]))
                        .await?;
                    connection.command(Rcpt::new(to.clone(), vec![])).await?;
                    connection.command(Data).await?;
                    Ok::<(), lettre::transport::smtp::Error>(())
                };
                match tokio::time::timeout(COMMAND_TIMEOUT * 3, steps).await {
                    Err(_) => {
                        *broken = true;
                        Err(BeforeData::Temporary(
                            "the server did not answer".to_string(),
                        ))
                    }
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => {
                        let refused = before_data(&error);
                        if error.is_permanent() || error.is_transient() {
                            // The server answered: the connection is fine once reset.
                            let reset = tokio::time::timeout(COMMAND_TIMEOUT, async {
                                connection.command(Rset).await
                            })
                            .await;
                            if !matches!(reset, Ok(Ok(_))) {
                                *broken = true;
                            }
                        } else {
                            *broken = true;
                        }
                        Err(refused)
                    }
                }
            }
        }
    }

    /// Hands the message over (after [`Self::begin`]) and reads the server's answer.
    pub async fn hand_over(&mut self, message: &[u8]) -> Result<(), AfterData> {
        match self {
            Self::Folder { target, to } => {
                let number = target.written.fetch_add(1, Ordering::Relaxed) + 1;
                let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
                let file = target
                    .dir
                    .join(format!("newsletter-{number:06}-{stamp}.eml"));
                let (dir, message) = (target.dir.clone(), message.to_vec());
                let recipient = to.take().unwrap_or_default();
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(&file, message)
                })
                .await
                .map_err(|e| AfterData::Unknown(format!("writing to the folder: {e}")))?
                .map_err(|e| AfterData::Unknown(format!("writing to the folder: {e}")))?;
                tracing::debug!(to = %recipient, "newsletter written to the development folder");
                Ok(())
            }
            Self::Smtp { connection, broken } => {
                match tokio::time::timeout(DATA_TIMEOUT, connection.message(message)).await {
                    Err(_) => {
                        *broken = true;
                        Err(AfterData::Unknown(
                            "the server did not answer in time".into(),
                        ))
                    }
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) if error.is_permanent() => {
                        Err(AfterData::Permanent(error.to_string()))
                    }
                    Ok(Err(error)) if error.is_transient() => {
                        Err(AfterData::Temporary(error.to_string()))
                    }
                    Ok(Err(error)) => {
                        *broken = true;
                        Err(AfterData::Unknown(error.to_string()))
                    }
                }
            }
        }
    }

    /// Says goodbye (QUIT) if the connection still works.
    pub async fn close(self) {
        if let Self::Smtp {
            mut connection,
            broken,
        } = self
        {
            if broken {
                return;
            }
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, connection.quit()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(url: &str) -> Arc<SmtpTarget> {
        match BulkTarget::smtp(url).unwrap() {
            BulkTarget::Smtp(target) => target,
            BulkTarget::Folder(_) => unreachable!(),
        }
    }

    #[test]
    fn the_url_says_where_how_encrypted_and_as_whom() {
        let plain = smtp("smtp://127.0.0.1:2525");
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.tls),
            ("127.0.0.1", 2525, Tls::None)
        );
        assert!(plain.credentials.is_none());
        let implicit = smtp("smtps://user:p%40ss@smtp.example");
        assert_eq!((implicit.port, implicit.tls), (465, Tls::Implicit));
        assert!(implicit.credentials.is_some());
        let upgraded = smtp("smtp://relay.example:587?tls=required");
        assert_eq!((upgraded.port, upgraded.tls), (587, Tls::Upgraded));
        assert!(BulkTarget::smtp("not a url").is_err());
        assert!(BulkTarget::smtp("smtp://").is_err());
    }

    #[test]
    fn the_description_names_no_secret() {
        let described = BulkTarget::smtp("smtps://user:secret@smtp.example:465")
            .unwrap()
            .describe();
        assert_eq!(described, "SMTP via smtp.example:465");
    }
}
