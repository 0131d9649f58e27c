//! A headless Chromium session for one test, and the few actions journeys are made of.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
    shots: PathBuf,
    taken: usize,
    width: u32,
    height: u32,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn browser_required() -> bool {
    ["CI", "GAZETTE_REQUIRE_BROWSER"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver on a free port, trying another port if one was taken in between.
async fn start_chromedriver() -> (Child, u16) {
    for _ in 0..5 {
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browser it starts can be stopped with it.
            .process_group(0)
            .spawn()
            .expect("starting chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (driver, port);
            }
            if driver.try_wait().ok().flatten().is_some() {
                break; // it exited: most likely the port was taken meanwhile
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("chromedriver would not start on any port");
}

impl Browser {
    /// A browser for the journey `name`, or `None` (with a note on stderr) when this machine
    /// has no Chromium and the tests are not required to run.
    pub async fn start(name: &str, width: u32, height: u32) -> Option<Browser> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            let reason = format!(
                "{CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
            );
            if browser_required() {
                panic!("the browser tests must run here, but {reason}");
            }
            // Written to stderr directly, so `cargo test` shows it even though the test passes.
            let _ = writeln!(std::io::stderr(), "SKIPPED browser test `{name}`: {reason}");
            return None;
        }

        let (driver, port) = start_chromedriver().await;

        let profile =
            std::env::temp_dir().join(format!("gazette-chromium-{}-{port}", std::process::id()));
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-component-update",
                    "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("starting a Chromium session");

        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("screenshots")
            .join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("creating the screenshot folder");
        Some(Browser {
            client,
            driver,
            _profile: TempDir(profile),
            shots,
            taken: 0,
            width,
            height,
        })
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The element, once it appears (pages load after clicks and redirects).
    async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding {css}: {e}"))
    }

    /// Clicks a link or button that loads a new page, and waits until that page has loaded
    /// (so nothing is read from the page being left).
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        let _ = self
            .client
            .execute("window.__gazette_leaving = true", vec![])
            .await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let loaded = self
                .client
                .execute("return window.__gazette_leaving === undefined && document.readyState === 'complete'", vec![])
                .await;
            // An error here means the old page is going away: keep waiting.
            if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} did not load a new page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.expect("clearing a field");
        field.send_keys(text).await.expect("typing");
    }

    /// Hands the file at `path` to a file field, as a reader choosing it would.
    pub async fn upload(&self, css: &str, path: &str) {
        let field = self.wait_for(css).await;
        field.send_keys(path).await.expect("choosing a file");
    }

    /// Selects the first option of a `<select>` whose label contains `label`.
    pub async fn choose(&self, css: &str, label: &str) {
        self.wait_for(css).await;
        let chosen = self
            .client
            .execute(
                "const select = document.querySelector(arguments[0]); \
                 const option = [...select.options].find(o => o.text.includes(arguments[1])); \
                 if (!option) { return false; } \
                 select.value = option.value; return true;",
                vec![serde_json::json!(css), serde_json::json!(label)],
            )
            .await
            .expect("choosing an option");
        assert_eq!(
            chosen,
            serde_json::Value::Bool(true),
            "no option of {css} says {label}"
        );
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("reading text")
    }

    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub async fn title(&self) -> String {
        self.client.title().await.expect("page title")
    }

    /// Saves what the reader sees now, as `NN-label.png`.
    pub async fn screenshot(&mut self, label: &str) {
        self.taken += 1;
        // The whole page, not just the first screen: grow the window for the shot.
        let full = self
            .execute("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .unwrap_or(0);
        let full = u32::try_from(full)
            .unwrap_or(self.height)
            .clamp(self.height, 6000);
        self.client
            .set_window_size(self.width, full)
            .await
            .expect("resizing the window");
        let png = self.client.screenshot().await.expect("taking a screenshot");
        self.client
            .set_window_size(self.width, self.height)
            .await
            .expect("resizing the window");
        let path = self.shots.join(format!("{:02}-{label}.png", self.taken));
        std::fs::write(&path, png).expect("saving a screenshot");
    }

    /// Changes the window (and the screenshots) to `width` by `height`.
    pub async fn resize(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.client
            .set_window_size(width, height)
            .await
            .expect("resizing the window");
    }

    pub async fn execute(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("running a script")
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Dropping stops chromedriver and the browser it started.
    }
}

impl Drop for Browser {
    /// Runs when a test fails too: chromedriver and its Chromium share one process group.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Signs `email` up in the browser, makes the account an editor as the operator would (from
/// outside the app), and waits for the role to reach the app: the desk's link shows.
pub async fn sign_up_as_editor(
    browser: &Browser,
    app: &crate::support::TestApp,
    email: &str,
    password: &str,
) {
    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", password).await;
    browser.click("form.stacked-form button[type=submit]").await;
    let mut conn = app.connect();
    gazette::db::users::set_role(&mut conn, email, gazette::domain::role::Role::Editor)
        .expect("making an editor");

    // A role given from outside the app reaches its memory within a second.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        browser.goto(&app.url("/")).await;
        if browser.has(".account-nav a[href='/editor']").await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new editor never saw the desk"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
