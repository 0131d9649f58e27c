//! The two ways mail leaves: an SMTP server (production), or a folder on disk (development,
//! so `cargo run` needs no mail server).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailError, Mailer, Message, SendFuture};

/// How long one SMTP conversation may take, connecting included.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The message as it travels: plain text and HTML as alternatives of one another.
fn envelope(from: &Mailbox, message: &Message) -> Result<lettre::Message, MailError> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| MailError::Refused(format!("the recipient's address: {e}")))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        // A Message-ID made from this host's name and a random part, as mail servers expect.
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|e| MailError::Refused(format!("building the message: {e}")))
}

/// Mail through an SMTP server, over TLS unless the URL says otherwise (`SMTP_URL`).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl SmtpMailer {
    /// `url` as lettre reads it: `smtps://user:password@host:465` (TLS from the start),
    /// `smtp://host:587?tls=required` (STARTTLS), `smtp://host:25` (plain, for a local relay).
    pub fn new(url: &str, from: Mailbox) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let server = url::Url::parse(url)
            .ok()
            .and_then(|u| Some(format!("{}://{}:{}", u.scheme(), u.host_str()?, u.port()?)))
            .unwrap_or_else(|| "the SMTP server".to_string());
        Ok(Self {
            transport,
            from,
            server,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let envelope = envelope(&self.from, message)?;
            match self.transport.send(envelope).await {
                Ok(_) => Ok(()),
                Err(error) if error.is_permanent() => Err(MailError::Refused(error.to_string())),
                Err(error) => Err(MailError::Failed(error.to_string())),
            }
        })
    }

    fn describe(&self) -> String {
        format!("SMTP via {}", self.server)
    }
}

/// Development: each message becomes two files in a folder, `NNN-<time>.eml` (the message as
/// it would travel) and `.txt` beside it (who it is for, the subject and the plain text, links
/// unbroken), and a log line says where.
pub struct FolderMailer {
    dir: PathBuf,
    from: Mailbox,
    written: AtomicU64,
}

impl FolderMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self {
            dir,
            from,
            written: AtomicU64::new(0),
        }
    }
}

impl Mailer for FolderMailer {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let formatted = envelope(&self.from, message)?.formatted();
            let number = self.written.fetch_add(1, Ordering::Relaxed) + 1;
            let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
            let stem = self.dir.join(format!("{number:03}-{stamp}"));
            let readable = format!(
                "To: {}\nSubject: {}\n\n{}",
                message.to, message.subject, message.text
            );
            let dir = self.dir.clone();
            let (eml, txt) = (stem.with_extension("eml"), stem.with_extension("txt"));
            let written = txt.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&dir)?;
                std::fs::write(&eml, formatted)?;
                std::fs::write(&txt, readable)
            })
            .await
            .map_err(|e| MailError::Failed(format!("writing mail to a folder: {e}")))?
            .map_err(|e| MailError::Failed(format!("writing mail to a folder: {e}")))?;
            tracing::info!(file = %written.display(), "mail written to the development folder");
            Ok(())
        })
    }

    fn describe(&self) -> String {
        format!("the folder {} (development)", self.dir.display())
    }
}
