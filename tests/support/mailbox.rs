//! An SMTP server for tests, in the test's own runtime on a free port: the app delivers to it
//! over a real SMTP exchange (the `mailin` crate speaks the protocol, this file only moves the
//! bytes), and the test reads what was delivered, parsed as a mail client would. Every message
//! delivered is also written to `target/tmp/mailbox/<port>-<n>.eml`, to look at.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::response::{self, Action, Response};
use mailin::{Handler, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One message as delivered.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The envelope's recipients.
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The message as it came over the wire.
    pub raw: String,
}

impl Mail {
    /// The first link in the plain text.
    pub fn link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|word| word.starts_with("http://") || word.starts_with("https://"))
            .unwrap_or_else(|| panic!("a link in the mail: {}", self.text))
            .to_string()
    }

    /// The `token` of the first link.
    pub fn token(&self) -> String {
        let link = self.link();
        link.split_once("token=")
            .map(|(_, token)| token.to_string())
            .unwrap_or_else(|| panic!("a token in {link}"))
    }

    /// The first link without the site's address: `/password/reset?token=...`.
    pub fn link_path(&self) -> String {
        let link = self.link();
        let after_scheme = link
            .split_once("://")
            .map_or(link.as_str(), |(_, rest)| rest);
        after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..].to_string()
    }
}

#[derive(Default)]
struct Shared {
    port: u16,
    delivered: Mutex<Vec<Mail>>,
    arrived: Notify,
    /// Deliveries still to answer with a temporary failure (451).
    to_turn_away: AtomicUsize,
    turned_away: AtomicUsize,
}

#[derive(Clone)]
pub struct Mailbox {
    pub port: u16,
    shared: Arc<Shared>,
}

struct Connection {
    shared: Arc<Shared>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Connection {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        // Turned away at DATA: mailin stays in its data state after an error at the end of
        // the data, so the failure is given before the message is sent.
        let turn_away = self
            .shared
            .to_turn_away
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if turn_away {
            self.shared.turned_away.fetch_add(1, Ordering::SeqCst);
            self.shared.arrived.notify_waiters();
            return response::INTERNAL_ERROR;
        }
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = String::from_utf8_lossy(&self.data).to_string();
        let parsed = mail_parser::MessageParser::default()
            .parse(self.data.as_slice())
            .expect("a message that parses");
        let mail = Mail {
            to: self.to.clone(),
            subject: parsed.subject().unwrap_or_default().to_string(),
            text: parsed.body_text(0).unwrap_or_default().to_string(),
            html: parsed.body_html(0).unwrap_or_default().to_string(),
            raw,
        };
        let mut delivered = self.shared.delivered.lock().unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mailbox");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!(
            "{}-{:02}.eml",
            self.shared.port,
            delivered.len() + 1
        ));
        let _ = std::fs::write(file, &self.data);
        delivered.push(mail);
        drop(delivered);
        self.shared.arrived.notify_waiters();
        response::OK
    }
}

impl Mailbox {
    /// Listens on a free port until the test's runtime ends.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        let shared = Arc::new(Shared {
            port,
            ..Shared::default()
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            let builder = Arc::new(SessionBuilder::new("mailbox.test"));
            while let Ok((stream, peer)) = listener.accept().await {
                let handler = Connection {
                    shared: accepting.clone(),
                    to: Vec::new(),
                    data: Vec::new(),
                };
                let builder = builder.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, peer.ip(), &builder, handler).await;
                });
            }
        });
        Self { port, shared }
    }

    /// The `SMTP_URL` that reaches this mailbox (no TLS: it is on this machine).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn delivered(&self) -> Vec<Mail> {
        self.shared.delivered.lock().unwrap().clone()
    }

    /// The mail delivered to `address`, in order.
    pub fn delivered_to(&self, address: &str) -> Vec<Mail> {
        self.delivered()
            .into_iter()
            .filter(|mail| mail.to.iter().any(|to| to == address))
            .collect()
    }

    /// Waits (at most 10 seconds) until `count` messages were delivered to `address`.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let arrived = self.shared.arrived.notified();
            let delivered = self.delivered_to(address);
            if delivered.len() >= count {
                return delivered;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "{count} mail(s) for {address} did not arrive; delivered: {:?}",
                    self.delivered()
                        .iter()
                        .map(|m| (&m.to, &m.subject))
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    /// The one mail for `address` after `before` had arrived.
    pub async fn next_for(&self, address: &str, before: usize) -> Mail {
        self.wait_for(address, before + 1).await[before].clone()
    }

    /// Answers the next `count` deliveries with a temporary failure.
    pub fn turn_away(&self, count: usize) {
        self.shared.to_turn_away.store(count, Ordering::SeqCst);
    }

    /// How many deliveries were turned away so far.
    pub fn turned_away(&self) -> usize {
        self.shared.turned_away.load(Ordering::SeqCst)
    }

    /// Waits (at most 10 seconds) until `count` deliveries were turned away.
    pub async fn wait_turned_away(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.turned_away() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery was turned away"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn converse(
    stream: tokio::net::TcpStream,
    peer: IpAddr,
    builder: &SessionBuilder,
    handler: Connection,
) -> std::io::Result<()> {
    let (reading, mut writing) = stream.into_split();
    let mut reading = BufReader::new(reading);
    let mut session = builder.build(peer, handler);
    writing.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reading.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let answer = session.process(&line);
        match answer.action {
            Action::Reply => writing.write_all(&answer.buffer()?).await?,
            Action::Close | Action::UpgradeTls => {
                writing.write_all(&answer.buffer()?).await?;
                return Ok(());
            }
            Action::NoReply => {}
        }
    }
}
