//! A reader with a browser-like cookie jar, and the things a reader does.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

pub use crate::support::fixtures::*;
pub use crate::support::processor::{Answer, FakeProcessor};
pub use crate::support::{START, TestApp};

/// A password zxcvbn rates as strong.
pub const PASSWORD: &str = "velvet lantern orchard 42";

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    pub fn csrf_token(&self) -> String {
        hidden_value(&self.body, "csrf_token").expect("the page has a form with a csrf_token")
    }
}

/// The value of the first hidden input called `name` on a page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

pub struct Reader<'a> {
    pub app: &'a TestApp,
    pub jar: Arc<Jar>,
    client: reqwest::Client,
}

impl<'a> Reader<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let jar = Arc::new(Jar::default());
        let client = crate::support::http_client()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            // Shorter than the server's keep-alive, as browsers do, so a request is never sent
            // on a connection the server is closing for idleness.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("building an HTTP client");
        Self { app, jar, client }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("reading the body");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(
            self.client
                .get(self.app.url(path))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// The form is encoded at once, so the future borrows nothing but the reader.
    pub fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> impl std::future::Future<Output = Page> + use<'_, 'a> {
        self.post_with_headers(path, form, &[])
    }

    pub fn post_with_headers(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> impl std::future::Future<Output = Page> + use<'_, 'a> {
        let mut request = self.client.post(self.app.url(path)).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { Self::page(request.send().await.expect("POST")).await }
    }

    /// The CSRF token of the reader's session, as the forms on the front page carry it.
    pub async fn csrf_token(&self) -> String {
        self.get("/login").await.csrf_token()
    }

    pub async fn read_article(&self, id: i64) -> Page {
        self.get(&format!("/articles/{id}")).await
    }

    pub async fn sign_up(&self, email: &str, password: &str) -> Page {
        let token = self.csrf_token().await;
        self.post(
            "/signup",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Page {
        self.log_in_then(email, password, "").await
    }

    /// Logs in with a `next` field (left out when empty).
    pub async fn log_in_then(&self, email: &str, password: &str, next: &str) -> Page {
        let token = self.csrf_token().await;
        let mut form = vec![
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ];
        if !next.is_empty() {
            form.push(("next", next));
        }
        self.post("/login", &form).await
    }

    /// Guesses `email`'s password wrong `times` times; each guess must be answered 401.
    pub async fn guess_wrong(&self, email: &str, times: usize) {
        for n in 1..=times {
            let page = self.log_in(email, &format!("wrong guess number {n}")).await;
            assert_eq!(
                page.status,
                StatusCode::UNAUTHORIZED,
                "guess {n} at {email}"
            );
        }
    }

    /// Logs in through a proxy that forwards `forwarded_for` lines as `X-Forwarded-For`.
    pub async fn log_in_via_proxy(
        &self,
        email: &str,
        password: &str,
        forwarded_for: &[&str],
    ) -> Page {
        let token = self.csrf_token().await;
        let headers: Vec<(&str, &str)> = forwarded_for
            .iter()
            .map(|line| ("X-Forwarded-For", *line))
            .collect();
        self.post_with_headers(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ],
            &headers,
        )
        .await
    }

    pub async fn log_out(&self) -> Page {
        let token = self.csrf_token().await;
        self.post("/logout", &[("csrf_token", &token)]).await
    }

    pub async fn subscribe(&self, plan: &str) -> Page {
        let token = self.csrf_token().await;
        self.post("/subscribe", &[("plan", plan), ("csrf_token", &token)])
            .await
    }

    /// Gifts article `id` (the form under the article, for subscribers).
    pub async fn gift_article(&self, id: i64) -> Page {
        let token = self.csrf_token().await;
        self.post(&format!("/articles/{id}/gift"), &[("csrf_token", &token)])
            .await
    }

    pub async fn cancel_subscription(&self) -> Page {
        let token = self.csrf_token().await;
        self.post("/account/subscription/cancel", &[("csrf_token", &token)])
            .await
    }

    /// Asks for a password reset link for `email`.
    pub async fn forgot_password(&self, email: &str) -> Page {
        let token = self.csrf_token().await;
        self.post(
            "/password/forgot",
            &[("email", email), ("csrf_token", &token)],
        )
        .await
    }

    /// Asks for a password reset link for `email`, from client `address` (seen by an app
    /// that trusts proxy headers).
    pub async fn forgot_password_from(&self, email: &str, address: &str) -> Page {
        let token = self.csrf_token().await;
        self.post_with_headers(
            "/password/forgot",
            &[("email", email), ("csrf_token", &token)],
            &[("X-Forwarded-For", address)],
        )
        .await
    }

    /// Sends the form a reset link opens, with the link's `token`.
    pub async fn reset_password(&self, link_token: &str, password: &str) -> Page {
        let token = self.csrf_token().await;
        self.post(
            "/password/reset",
            &[
                ("token", link_token),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    pub async fn change_password(&self, current: &str, new: &str) -> Page {
        let token = self.csrf_token().await;
        self.post(
            "/account/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    pub async fn change_email(&self, new_email: &str, password: &str) -> Page {
        let token = self.csrf_token().await;
        self.post(
            "/account/email",
            &[
                ("new_email", new_email),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    /// Presses the button a confirmation link's page shows.
    pub async fn confirm_email(&self, link_token: &str) -> Page {
        let token = self.csrf_token().await;
        self.post(
            "/account/email/confirm",
            &[("token", link_token), ("csrf_token", &token)],
        )
        .await
    }

    pub async fn delete_account(&self, confirmation: &str, password: &str) -> Page {
        let token = self.csrf_token().await;
        self.post(
            "/account/delete",
            &[
                ("confirmation", confirmation),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
        .await
    }

    /// The page a redirect leads to (its flash shown once).
    pub async fn follow(&self, page: &Page) -> Page {
        self.get(page.location().expect("a redirect")).await
    }

    /// The raw value of the session cookie in the jar.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie(self.app.cookie_name())
    }

    /// The raw value of the cookie called `name` in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.app.url("/").parse().expect("app url");
        let header = self.jar.cookies(&url)?;
        let name = format!("{name}=");
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&name).map(str::to_string))
    }

    /// Puts a cookie called `name` into the jar (as a reader editing cookies by hand would).
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = self.app.url("/").parse().expect("app url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// The device cookie a login left in the jar.
    pub fn device_cookie(&self) -> Option<String> {
        self.cookie(self.app.settings.device_cookie_name())
    }

    /// Logs in from `address`, through a trusted proxy that says so.
    pub async fn log_in_from(&self, email: &str, password: &str, address: &str) -> Page {
        self.log_in_via_proxy(email, password, &[address]).await
    }

    /// A POST with exactly this body and `Content-Type` (none when `None`), with the reader's
    /// cookies.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Page {
        let mut request = self.client.post(self.app.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        Self::page(request.send().await.expect("POST")).await
    }

    /// Replaces the session cookie with `value` (as a reader editing it by hand would).
    pub fn set_session_cookie(&self, value: &str) {
        let url = self.app.url("/").parse().expect("app url");
        self.jar
            .add_cookie_str(&format!("{}={value}; Path=/", self.app.cookie_name()), &url);
    }

    /// The same browser (same cookies) talking to another address of the app.
    pub fn via<'b>(&self, app: &'b TestApp) -> Reader<'b> {
        let client = crate::support::http_client()
            .cookie_provider(self.jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("building an HTTP client");
        Reader {
            app,
            jar: self.jar.clone(),
            client,
        }
    }

    /// A new reader (another browser) holding a copy of this reader's cookie.
    pub fn copy(&self) -> Reader<'a> {
        let other = Reader::new(self.app);
        if let Some(cookie) = self.session_cookie() {
            other.set_session_cookie(&cookie);
        }
        other
    }

    /// Signs up from client `address` (seen by an app that trusts proxy headers), and stays
    /// logged in.
    pub async fn signed_up_from(app: &'a TestApp, email: &str, address: &str) -> Reader<'a> {
        let reader = Reader::new(app);
        let token = reader.csrf_token().await;
        let page = reader
            .post_with_headers(
                "/signup",
                &[
                    ("email", email),
                    ("password", PASSWORD),
                    ("csrf_token", &token),
                ],
                &[("X-Forwarded-For", address)],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-up failed: {}",
            page.body
        );
        reader
    }

    /// Signs up a fresh account and stays logged in.
    pub async fn signed_up(app: &'a TestApp, email: &str) -> Reader<'a> {
        Self::signed_up_with(app, email, PASSWORD).await
    }

    /// Signs up a fresh account with `password` and stays logged in.
    pub async fn signed_up_with(app: &'a TestApp, email: &str, password: &str) -> Reader<'a> {
        let reader = Reader::new(app);
        let page = reader.sign_up(email, password).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-up failed: {}",
            page.body
        );
        reader
    }
}

/// One subscription row, as the tests look at it.
#[derive(Debug, diesel::Queryable)]
pub struct SubscriptionFacts {
    pub plan_code: String,
    pub status: String,
    pub current_period_start: time::OffsetDateTime,
    pub current_period_end: time::OffsetDateTime,
    pub gateway: String,
    pub gateway_reference: String,
}

/// Every subscription row of the account with this e-mail, oldest first.
pub fn subscriptions_of(app: &TestApp, address: &str) -> Vec<SubscriptionFacts> {
    use diesel::prelude::*;
    use gazette::schema::{subscriptions, users};
    subscriptions::table
        .inner_join(users::table)
        .filter(users::email.eq(address))
        .order(subscriptions::id)
        .select((
            subscriptions::plan_code,
            subscriptions::status,
            subscriptions::current_period_start,
            subscriptions::current_period_end,
            subscriptions::gateway,
            subscriptions::gateway_reference,
        ))
        .load(&mut app.connect())
        .expect("reading subscriptions")
}

/// The rows that are not ended (at most one, by the database's rule).
pub fn current(app: &TestApp, address: &str) -> Vec<SubscriptionFacts> {
    subscriptions_of(app, address)
        .into_iter()
        .filter(|r| r.status != "ended")
        .collect()
}

/// The id of the account with this e-mail.
pub fn user_id(app: &TestApp, address: &str) -> i64 {
    use diesel::prelude::*;
    use gazette::schema::users;
    users::table
        .filter(users::email.eq(address))
        .select(users::id)
        .first(&mut app.connect())
        .expect("the account exists")
}

/// The id of the account with this e-mail, if there is one.
pub fn user_id_of(app: &TestApp, address: &str) -> Option<i64> {
    use diesel::prelude::*;
    use gazette::schema::users;
    users::table
        .filter(users::email.eq(address))
        .select(users::id)
        .first(&mut app.connect())
        .optional()
        .expect("looking up an account")
}

/// How many rows `table` holds (a name from the schema, never input).
pub fn rows_in(app: &TestApp, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    diesel::sql_query(format!("SELECT count(*) AS rows FROM {table}"))
        .get_result::<Count>(&mut app.connect())
        .expect("counting rows")
        .rows
}

/// How many checkouts are open, for every reader together.
pub fn open_checkouts(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    gazette::schema::checkouts::table
        .count()
        .get_result(&mut app.connect())
        .expect("counting checkouts")
}

/// Waits (at most 10 seconds) until `check` holds: for what the app does in the background.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Asks `path` until it answers `status`, for at most a second: how long a change made by
/// another process (the operator's command, another instance) may take to reach this
/// instance's memory.
pub async fn answers_within_a_second(reader: &Reader<'_>, path: &str, status: StatusCode) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if reader.get(path).await.status == status {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Runs the futures concurrently on this task.
pub async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, result) in pinned.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => *result = Some(output),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results
        .into_iter()
        .map(|r| r.expect("every future finished"))
        .collect()
}

/// Gives the account with this e-mail `role`, as `gazette user set-role` does.
pub fn give_role(app: &TestApp, address: &str, role: gazette::domain::role::Role) {
    let found =
        gazette::db::users::set_role(&mut app.connect(), address, role).expect("changing the role");
    assert!(found, "{address} has an account");
}

/// A signed-up, logged-in editor.
pub async fn editor<'a>(app: &'a TestApp, address: &str) -> Reader<'a> {
    let reader = Reader::signed_up(app, address).await;
    give_role(app, address, gazette::domain::role::Role::Editor);
    // Given from outside the app, the role reaches its memory through a notification.
    assert!(answers_within_a_second(&reader, "/editor", StatusCode::OK).await);
    reader
}

/// A signed-up, logged-in subscriber.
pub async fn subscriber<'a>(app: &'a TestApp, address: &str) -> Reader<'a> {
    let reader = Reader::signed_up(app, address).await;
    let page = reader.subscribe("monthly").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    reader
}

/// The article form's fields: a valid premium article, to be changed field by field.
#[derive(Clone)]
pub struct ArticleFields {
    pub title: String,
    pub slug: String,
    pub byline: String,
    pub teaser: String,
    pub body: String,
    pub premium: bool,
    pub publish_at: String,
    /// The version the form was opened at (sent only when not empty).
    pub version: String,
    /// The feature image's library id, empty for none.
    pub feature_media_id: String,
    pub feature_alt: String,
    pub feature_credit: String,
}

impl ArticleFields {
    pub fn premium(title: &str, body: &str) -> Self {
        Self {
            title: title.to_string(),
            slug: String::new(),
            byline: "Ada Editor".to_string(),
            teaser: format!("What {title} is about, in a sentence."),
            body: body.to_string(),
            premium: true,
            publish_at: String::new(),
            version: String::new(),
            feature_media_id: String::new(),
            feature_alt: String::new(),
            feature_credit: String::new(),
        }
    }

    pub fn free(title: &str, body: &str) -> Self {
        Self {
            premium: false,
            ..Self::premium(title, body)
        }
    }
}

impl<'a> Reader<'a> {
    /// Sends the article form to `path` (`/editor/articles` or `/editor/articles/{id}`) with
    /// the button `action`.
    pub async fn send_article(&self, path: &str, fields: &ArticleFields, action: &str) -> Page {
        let token = self.csrf_token().await;
        let mut form = vec![
            ("csrf_token", token.as_str()),
            ("title", fields.title.as_str()),
            ("slug", fields.slug.as_str()),
            ("byline", fields.byline.as_str()),
            ("teaser", fields.teaser.as_str()),
            ("body", fields.body.as_str()),
            ("publish_at", fields.publish_at.as_str()),
            ("feature_media_id", fields.feature_media_id.as_str()),
            ("feature_alt", fields.feature_alt.as_str()),
            ("feature_credit", fields.feature_credit.as_str()),
            ("action", action),
        ];
        if fields.premium {
            form.push(("premium", "on"));
        }
        if !fields.version.is_empty() {
            form.push(("version", fields.version.as_str()));
        }
        self.post(path, &form).await
    }

    /// Writes a new article and takes `action`; returns its id.
    pub async fn write_article(&self, fields: &ArticleFields, action: &str) -> i64 {
        let page = self.send_article("/editor/articles", fields, action).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let location = page.location().expect("a redirect to the article");
        location
            .trim_start_matches("/editor/articles/")
            .trim_end_matches("/preview")
            .parse()
            .expect("the redirect names the article")
    }

    /// Saves `fields` to article `id` with the button `action`; the answer must be a redirect.
    pub async fn edit_article(&self, id: i64, fields: &ArticleFields, action: &str) -> Page {
        let page = self
            .send_article(&format!("/editor/articles/{id}"), fields, action)
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        page
    }
}

/// The article form as a page shows it: what an editor who opened it would send back.
pub fn article_form_of(html: &str) -> ArticleFields {
    let input = |name: &str| {
        let marker = format!("name=\"{name}\"");
        let at = html
            .find(&marker)
            .unwrap_or_else(|| panic!("the form has {name}"));
        let value = html[at..].find("value=\"").expect("a value") + at + 7;
        let end = html[value..].find('"').expect("a closed value") + value;
        unescape(&html[value..end])
    };
    let textarea = |id: &str| {
        let marker = format!("id=\"{id}\"");
        let at = html
            .find(&marker)
            .unwrap_or_else(|| panic!("the form has {id}"));
        let start = html[at..].find('>').expect("an open tag") + at + 1;
        let end = html[start..]
            .find("</textarea>")
            .expect("a closed textarea")
            + start;
        unescape(&html[start..end])
    };
    ArticleFields {
        title: input("title"),
        slug: input("slug"),
        byline: input("byline"),
        teaser: textarea("teaser"),
        body: textarea("body"),
        premium: html.contains("name=\"premium\" value=\"on\" checked"),
        publish_at: String::new(),
        version: hidden_value(html, "version").unwrap_or_default(),
        feature_media_id: selected_value(html, "feature_media_id").unwrap_or_default(),
        feature_alt: input("feature_alt"),
        feature_credit: input("feature_credit"),
    }
}

/// The value of the option chosen in the select called `name`.
pub fn selected_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let end = html[start..].find("</select>")? + start;
    let select = &html[start..end];
    let chosen = select.find(" selected>")?;
    let value = select[..chosen].rfind("value=\"")? + 7;
    let close = select[value..].find('"')? + value;
    Some(unescape(&select[value..close]))
}

/// Text as askama escapes it, read back.
pub fn unescape(text: &str) -> String {
    text.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

/// The gift link the answer to gifting an article shows, as a path (`/articles/1/slug?gift=...`:
/// the instance that answered names itself).
pub fn gift_link_in(html: &str) -> String {
    let at = html
        .find("id=\"gift-link\"")
        .expect("the answer shows a gift link");
    let value = html[at..].find("value=\"").expect("the link's value") + at + 7;
    let end = html[value..].find('"').expect("a closed value") + value;
    let url = unescape(&html[value..end]);
    let origin = url.find("://").map_or(0, |at| at + 3);
    let path = url[origin..].find('/').map_or(url.len(), |at| at + origin);
    url[path..].to_string()
}

/// The token of a gift link (its `gift` parameter).
pub fn gift_token_of(link: &str) -> String {
    link.split_once("?gift=")
        .map(|(_, token)| token.to_string())
        .expect("a gift link")
}

/// The canonical address a page names.
pub fn canonical_of(html: &str) -> Option<String> {
    let marker = "<link rel=\"canonical\" href=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// Runs `gazette ARGS` against `database_url` with no other configuration; (exit code,
/// stdout, stderr).
pub fn gazette(database_url: &str, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "off")
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running the binary");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// Housekeeping for the database behind `pool`, as an instance runs it.
pub fn housekeeping(
    pool: gazette::db::DbPool,
    clock: std::sync::Arc<dyn gazette::clock::Clock>,
    throttle_window: time::Duration,
) -> gazette::housekeeping::Housekeeping {
    gazette::housekeeping::Housekeeping {
        billing: gazette::billing::Billing::new(pool.clone(), clock.clone(), None),
        media: std::sync::Arc::new(gazette::media::MediaLibrary::new(
            pool.clone(),
            std::sync::Arc::new(gazette::media::store::PostgresStore::new(pool.clone())),
            &gazette::config::MediaSettings::default(),
        )),
        pool,
        clock,
        throttle_window,
    }
}
