//! An SMTP server for tests, in the test's own runtime on a free port: the app delivers to it
//! over a real SMTP exchange (the `mailin` crate speaks the protocol, this file only moves the
//! bytes), and the test reads what was delivered, parsed as a mail client would. Every message
//! delivered is also written to `target/tmp/mailbox/<port>-<n>.eml`, to look at.
//!
//! A test can make it misbehave as real servers do: refuse an address for good (550 at RCPT),
//! defer one (451 at RCPT), cut the connection once it has the data (no answer: the message
//! arrived, but the sender cannot know), or hold its answer to the data for a while.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// When its data had arrived.
    pub arrived_at: Instant,
}

impl Mail {
    /// The value of header `name` (unfolded), if the message has it.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self
            .raw
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ");
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_string())
    }
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
    /// Addresses refused for good at RCPT (550).
    refused: Mutex<HashSet<String>>,
    /// Addresses deferred at RCPT (451).
    deferred: Mutex<HashSet<String>>,
    /// RCPTs answered 550 or 451, by address.
    rcpt_refusals: Mutex<HashMap<String, usize>>,
    /// Deliveries after whose data the connection is cut without an answer.
    to_cut: AtomicUsize,
    /// How long the answer to each message's data is held, in milliseconds.
    hold_ms: AtomicU64,
    /// Connections accepted so far.
    connections: AtomicUsize,
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
    /// Set at the end of a message's data that is to be cut (read by `converse`).
    cut_now: Arc<AtomicBool>,
}

fn bare(address: &str) -> String {
    address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase()
}

impl Handler for Connection {
    fn rcpt(&mut self, to: &str) -> Response {
        let to = bare(to);
        let answer = if self.shared.refused.lock().unwrap().contains(&to) {
            response::NO_MAILBOX
        } else if self.shared.deferred.lock().unwrap().contains(&to) {
            response::INTERNAL_ERROR
        } else {
            return response::OK;
        };
        *self
            .shared
            .rcpt_refusals
            .lock()
            .unwrap()
            .entry(to)
            .or_default() += 1;
        self.shared.arrived.notify_waiters();
        answer
    }

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
            arrived_at: Instant::now(),
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
        let cut = self
            .shared
            .to_cut
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if cut {
            self.cut_now.store(true, Ordering::SeqCst);
        }
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
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                let cut_now = Arc::new(AtomicBool::new(false));
                let handler = Connection {
                    shared: accepting.clone(),
                    to: Vec::new(),
                    data: Vec::new(),
                    cut_now: cut_now.clone(),
                };
                let builder = builder.clone();
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, peer.ip(), &builder, handler, cut_now, shared).await;
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

    /// Refuses `address` for good from now on: 550 at RCPT.
    pub fn refuse(&self, address: &str) {
        self.shared.refused.lock().unwrap().insert(bare(address));
    }

    /// Defers `address` from now on: 451 at RCPT, until [`Self::accept`].
    pub fn defer(&self, address: &str) {
        self.shared.deferred.lock().unwrap().insert(bare(address));
    }

    /// Takes mail for `address` again.
    pub fn accept(&self, address: &str) {
        let address = bare(address);
        self.shared.deferred.lock().unwrap().remove(&address);
        self.shared.refused.lock().unwrap().remove(&address);
    }

    /// How many times `address` was refused or deferred at RCPT.
    pub fn refusals_of(&self, address: &str) -> usize {
        self.shared
            .rcpt_refusals
            .lock()
            .unwrap()
            .get(&bare(address))
            .copied()
            .unwrap_or(0)
    }

    /// Waits (at most 10 seconds) until `address` was refused or deferred `count` times.
    pub async fn wait_refusals(&self, address: &str, count: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.refusals_of(address) < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{address} was refused {} time(s), not {count}",
                self.refusals_of(address)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Cuts the connection, without an answer, after the data of the next `count` messages
    /// (which are kept as delivered).
    pub fn cut_after_data(&self, count: usize) {
        self.shared.to_cut.store(count, Ordering::SeqCst);
    }

    /// Holds the answer to each message's data for `delay` (zero: answers at once).
    pub fn hold(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.hold_ms.store(ms, Ordering::SeqCst);
    }

    /// How many connections were opened to this mailbox.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Waits (at most `seconds`) until `count` messages were delivered, whoever they are for.
    pub async fn wait_for_count(&self, count: usize, seconds: u64) -> Vec<Mail> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let arrived = self.shared.arrived.notified();
            let delivered = self.delivered();
            if delivered.len() >= count {
                return delivered;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "{count} mail(s) did not arrive in {seconds} s; {} did",
                    self.delivered().len()
                );
            }
        }
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
    cut_now: Arc<AtomicBool>,
    shared: Arc<Shared>,
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
        if cut_now.swap(false, Ordering::SeqCst) {
            // The data arrived; the sender never hears so.
            return Ok(());
        }
        if line == b".\r\n" || line == b".\n" {
            let hold = shared.hold_ms.load(Ordering::SeqCst);
            if hold > 0 {
                tokio::time::sleep(Duration::from_millis(hold)).await;
            }
        }
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
