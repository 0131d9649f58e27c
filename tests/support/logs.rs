//! The warnings and errors the apps of this test process log, for a test that must see the
//! line an operator would be alerted by. Every app of the process logs into one place, so a
//! test looks for a line naming what only it made (a subscription's id with its reader).

use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// Lines kept: the newest, so a long run cannot grow without end.
const KEPT: usize = 20_000;

fn lines() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LINES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Where the subscriber writes: each formatted event becomes a line.
struct Lines;

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        let mut kept = lines().lock().unwrap_or_else(|e| e.into_inner());
        kept.extend(text.lines().map(str::to_string));
        let excess = kept.len().saturating_sub(KEPT);
        kept.drain(..excess);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// From now on, warnings and errors of every app in this process are kept.
pub fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(|| Lines)
            .try_init();
    });
}

/// The kept lines that contain every one of `parts`.
pub fn lines_with(parts: &[&str]) -> Vec<String> {
    lines()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|line| parts.iter().all(|part| line.contains(part)))
        .cloned()
        .collect()
}
