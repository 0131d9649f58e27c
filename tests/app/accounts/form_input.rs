//! Forms are read exactly: a body that is not a form is refused like a form without a token,
//! invalid UTF-8 in any field is refused rather than mended, and a body that trickles in is
//! cut off. Whatever is refused changes nothing.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;

const MEMBER: &str = "member@example.com";

/// What a refused request must leave as it was.
#[derive(Debug, PartialEq, Eq)]
struct World {
    users: i64,
    subscriptions: Vec<(String, String)>,
    live_sessions: Vec<i64>,
}

fn world(app: &TestApp) -> World {
    let mut conn = app.connect();
    let users = gazette::schema::users::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    let subscriptions = {
        use gazette::schema::subscriptions::dsl::*;
        subscriptions
            .order(id)
            .select((plan_code, status))
            .load(&mut conn)
            .unwrap()
    };
    let live_sessions = {
        use gazette::schema::user_sessions::dsl::*;
        user_sessions
            .filter(revoked_at.is_null())
            .order(id)
            .select(id)
            .load(&mut conn)
            .unwrap()
    };
    World {
        users,
        subscriptions,
        live_sessions,
    }
}

/// A subscribed member logged in on two browsers, and a visitor.
struct Scene<'a> {
    member: Reader<'a>,
    visitor: Reader<'a>,
    /// The member's other login, which one form would end.
    other_session: i64,
}

async fn scene(app: &TestApp) -> Scene<'_> {
    let member = Reader::signed_up(app, MEMBER).await;
    assert_eq!(
        member.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    let other = Reader::new(app);
    assert_eq!(
        other.log_in(MEMBER, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let other_session = *world(app).live_sessions.last().unwrap();
    Scene {
        member,
        visitor: Reader::new(app),
        other_session,
    }
}

/// A form's fields besides `csrf_token`.
type Fields = Vec<(&'static str, String)>;

/// Every form: who posts it, where, and its fields besides `csrf_token`.
fn forms<'s, 'a>(scene: &'s Scene<'a>) -> Vec<(&'s Reader<'a>, String, Fields)> {
    let credentials = || {
        vec![
            ("email", MEMBER.to_string()),
            ("password", PASSWORD.to_string()),
            ("next", "/account".to_string()),
        ]
    };
    vec![
        (
            &scene.visitor,
            "/signup".to_string(),
            vec![
                ("email", "new@example.com".to_string()),
                ("password", PASSWORD.to_string()),
                ("next", "/".to_string()),
            ],
        ),
        (&scene.visitor, "/login".to_string(), credentials()),
        (&scene.member, "/logout".to_string(), vec![]),
        (
            &scene.member,
            "/subscribe".to_string(),
            vec![("plan", "yearly".to_string()), ("next", "/".to_string())],
        ),
        (
            &scene.member,
            "/account/subscription/cancel".to_string(),
            vec![],
        ),
        (
            &scene.member,
            "/account/sessions/logout-all".to_string(),
            vec![],
        ),
        (
            &scene.member,
            format!("/account/sessions/{}/logout", scene.other_session),
            vec![],
        ),
    ]
}

fn urlencoded(fields: &[(&str, String)]) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        form.append_pair(name, value);
    }
    form.finish()
}

fn multipart(fields: &[(&str, String)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--XBOUNDARYX--\r\n");
    body.into_bytes()
}

async fn assert_unchanged(app: &TestApp, scene: &Scene<'_>, before: &World, what: &str) {
    assert_eq!(&world(app), before, "{what}");
    assert_eq!(
        scene.visitor.get("/account").await.status,
        StatusCode::SEE_OTHER,
        "{what}: the visitor is not logged in"
    );
    assert_eq!(
        scene.member.get("/account").await.status,
        StatusCode::OK,
        "{what}: the member is still logged in"
    );
}

#[tokio::test]
async fn every_form_refuses_a_body_that_is_not_a_form_with_403() {
    let app = TestApp::spawn().await;
    let scene = scene(&app).await;
    let before = world(&app);
    for (reader, path, fields) in forms(&scene) {
        // Each body carries the right token, the only way it could be let through.
        let mut with_token = fields.clone();
        with_token.push(("csrf_token", reader.csrf_token().await));
        let json = serde_json::to_vec(
            &with_token
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap();
        let form = urlencoded(&with_token).into_bytes();
        let bodies: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
            ("no body, no type", None, Vec::new()),
            (
                "an empty form",
                Some("application/x-www-form-urlencoded"),
                Vec::new(),
            ),
            ("JSON", Some("application/json"), json),
            (
                "multipart",
                Some("multipart/form-data; boundary=XBOUNDARYX"),
                multipart(&with_token),
            ),
            ("text/plain", Some("text/plain"), form.clone()),
            ("a form without a Content-Type", None, form.clone()),
            (
                "a form sent as octet-stream",
                Some("application/octet-stream"),
                form.clone(),
            ),
        ];
        for (what, content_type, body) in bodies {
            let page = reader.post_raw(&path, content_type, body).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} with {what}");
            assert!(
                page.body.contains("This form has expired"),
                "{path} with {what}"
            );
            assert_unchanged(&app, &scene, &before, &format!("{path} with {what}")).await;
        }
    }
}

#[tokio::test]
async fn invalid_utf8_in_any_field_is_a_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let scene = scene(&app).await;
    let before = world(&app);
    for (reader, path, fields) in forms(&scene) {
        let token = reader.csrf_token().await;
        let valid = |name: &str, value: &str| {
            format!(
                "{}={}",
                urlencoded(&[(name, String::new())]).trim_end_matches('='),
                urlencoded(&[("", value.to_string())]).trim_start_matches('=')
            )
        };
        let mut bodies = Vec::new();
        // Each field in turn with two bytes that are not UTF-8 appended.
        for (bad, _) in fields.iter().chain([&("extra", String::new())]) {
            let mut parts = vec![valid("csrf_token", &token)];
            for (name, value) in fields.iter().chain([&("extra", "x".to_string())]) {
                let mut part = valid(name, value);
                if name == bad {
                    part.push_str("%FF%FE");
                }
                parts.push(part);
            }
            bodies.push((format!("{bad} with %FF%FE"), parts.join("&")));
        }
        let mut named = vec![valid("csrf_token", &token), "pass%FFword=x".to_string()];
        named.extend(fields.iter().map(|(name, value)| valid(name, value)));
        bodies.push(("a field name with %FF".to_string(), named.join("&")));
        let mut raw = vec![valid("csrf_token", &token), "note=\u{0}".to_string()];
        raw.extend(fields.iter().map(|(name, value)| valid(name, value)));
        bodies.push(("a NUL".to_string(), raw.join("&")));

        for (what, body) in bodies {
            let page = reader
                .post_raw(
                    &path,
                    Some("application/x-www-form-urlencoded"),
                    body.into_bytes(),
                )
                .await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}: {what}");
            assert!(
                page.body.contains("That request did not make sense"),
                "{path}: {what}: a styled page"
            );
            assert_unchanged(&app, &scene, &before, &format!("{path}: {what}")).await;
        }

        // The token is checked first: a mangled token is a wrong token.
        let mut parts = vec![format!("{}%FF", valid("csrf_token", &token))];
        parts.extend(fields.iter().map(|(name, value)| valid(name, value)));
        let page = reader
            .post_raw(
                &path,
                Some("application/x-www-form-urlencoded"),
                parts.join("&").into_bytes(),
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: token with %FF");
        assert_unchanged(&app, &scene, &before, &format!("{path}: token with %FF")).await;
    }
}

#[tokio::test]
async fn different_bytes_never_become_the_same_password() {
    let app = TestApp::spawn().await;
    // "velvet lantern orchard 42" followed by two bytes that are not UTF-8, which a lenient
    // decoder would turn into two U+FFFD.
    let mangled = "velvet+lantern+orchard+42%FF%FE";
    let visitor = Reader::new(&app);
    let token = visitor.csrf_token().await;
    let page = visitor
        .post_raw(
            "/signup",
            Some("application/x-www-form-urlencoded"),
            format!("email=bytes%40example.com&password={mangled}&csrf_token={token}").into_bytes(),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(world(&app).users, 0, "no account was created");

    // An account whose password really ends in two U+FFFD.
    let replaced = format!("{PASSWORD}\u{FFFD}\u{FFFD}");
    Reader::signed_up_with(&app, "bytes@example.com", &replaced).await;
    for other_bytes in ["%FF%FE", "%FE%FF", "%80%80", "%C3%28%C3%28"] {
        let reader = Reader::new(&app);
        let token = reader.csrf_token().await;
        let page = reader
            .post_raw(
                "/login",
                Some("application/x-www-form-urlencoded"),
                format!(
                    "email=bytes%40example.com&password=velvet+lantern+orchard+42{other_bytes}&csrf_token={token}"
                )
                .into_bytes(),
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{other_bytes}");
        assert_eq!(
            reader.get("/account").await.status,
            StatusCode::SEE_OTHER,
            "{other_bytes} did not log in"
        );
    }
    let reader = Reader::new(&app);
    assert_eq!(
        reader.log_in("bytes@example.com", &replaced).await.status,
        StatusCode::SEE_OTHER,
        "the password itself still works"
    );
}

/// Sends a request head, then its body a byte every `gap`. Returns the status line of the
/// answer, how long it took to come, and whether the server then closed the connection.
fn trickle(port: u16, head: &str, body: &[u8], gap: Duration) -> (String, Duration, bool) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut writer = stream.try_clone().unwrap();
    let body = body.to_vec();
    std::thread::spawn(move || {
        for byte in body {
            std::thread::sleep(gap);
            if writer.write_all(&[byte]).is_err() {
                break;
            }
        }
    });
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buffer = [0u8; 4096];
    let n = stream.read(&mut buffer).unwrap_or(0);
    let answered_after = started.elapsed();
    let status = String::from_utf8_lossy(&buffer[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let closed = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(_) => continue,
            Err(e) => break e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    };
    (status, answered_after, closed)
}

#[tokio::test]
async fn a_form_that_trickles_in_is_cut_off() {
    let app = TestApp::builder()
        .settings(|s| s.form_body_timeout = Duration::from_secs(1))
        .start()
        .await;
    let member = Reader::signed_up(&app, MEMBER).await;
    let token = member.csrf_token().await;
    let cookie = member.session_cookie().unwrap();
    let body = format!("csrf_token={token}");
    let head = format!(
        "POST /logout HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nCookie: {}={cookie}\r\n\r\n",
        app.port,
        body.len(),
        app.cookie_name()
    );
    let port = app.port;
    let (status, answered_after, closed) = tokio::task::spawn_blocking(move || {
        trickle(port, &head, body.as_bytes(), Duration::from_millis(250))
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 400"), "{status:?}");
    assert!(closed, "the server hangs up rather than wait for the rest");
    assert!(
        answered_after < Duration::from_secs(5),
        "answered after {answered_after:?}, long before the body could have arrived"
    );
    assert_eq!(
        member.get("/account").await.status,
        StatusCode::OK,
        "the member is still logged in"
    );
}
