//! The real `gazette` binary, running on a database of its own, with its output kept.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::TestDatabase;

pub struct RunningBinary {
    child: Child,
    /// `http://127.0.0.1:<port>`, read from the binary's own log line.
    pub address: String,
    pub port: u16,
    /// Every line written to stdout or stderr so far, in arrival order.
    lines: Arc<Mutex<Vec<String>>>,
    pub db: Arc<TestDatabase>,
}

impl RunningBinary {
    /// Starts the binary on a fresh database with exactly these variables (plus DATABASE_URL
    /// and PORT=0) and no `.env`, and waits until it says where it serves.
    pub async fn start(vars: &[(&str, &str)]) -> Self {
        let db = tokio::task::spawn_blocking(TestDatabase::create)
            .await
            .expect("creating a database");
        let mut command = Command::new(env!("CARGO_BIN_EXE_gazette"));
        command
            .env_clear()
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("DATABASE_URL", &db.url)
            .env("PORT", "0");
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("starting the binary");
        let lines = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take().expect("stdout is piped"), &lines);
        collect_lines(child.stderr.take().expect("stderr is piped"), &lines);

        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            let announced = lines
                .lock()
                .unwrap()
                .iter()
                .find_map(|line| announced_port(line));
            if let Some(port) = announced {
                break port;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "the binary stopped ({status}) before serving:\n{}",
                    lines.lock().unwrap().join("\n")
                );
            }
            assert!(Instant::now() < deadline, "the binary did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
            port,
            lines,
            db: Arc::new(db),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn send(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) has no memory effects; the pid is our own child, not yet reaped.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "sending signal {signal}");
    }

    /// The exit status, if the process has exited by `deadline`.
    pub async fn exited_by(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().expect("waiting for the binary") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Stops the binary gracefully and returns everything it wrote, complete.
    pub async fn stop(mut self) -> Vec<String> {
        self.send(libc::SIGTERM);
        let status = self
            .exited_by(Instant::now() + Duration::from_secs(30))
            .await
            .expect("the binary stops on SIGTERM");
        assert!(status.success(), "{status}");
        // The readers see end of file once the process is gone; give them a moment to finish.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.lines()
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect_lines(stream: impl Read + Send + 'static, into: &Arc<Mutex<Vec<String>>>) {
    let into = into.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            into.lock().unwrap().push(line);
        }
    });
}

/// The port in "Gazette is serving on http://127.0.0.1:PORT", in text or JSON lines.
fn announced_port(line: &str) -> Option<u16> {
    let marker = "serving on http://127.0.0.1:";
    let start = line.find(marker)? + marker.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
