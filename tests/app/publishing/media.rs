//! The desk's media library over real HTTP: who may upload, the CSRF rules held for a multipart
//! body, the type read from the bytes, the limits (bytes as they arrive, pixels before
//! decoding), what readers' browsers get at a picture's addresses (cached for ever, no cookie,
//! no GPS position, upright), one picture per file however often it is sent, alt text, the
//! unused filter, deleting (refused while an article uses the picture, gone on every
//! instance), and `gazette media add`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use gazette::domain::media::{Format, VariantName};
use reqwest::StatusCode;

use crate::helpers::*;

use crate::support::pictures::{bomb_png, gps_latitude_bytes, jpeg_with_exif, png};

/// A PNG of noise, which does not compress: about 3 bytes a pixel.
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let noise = image::RgbImage::from_fn(width, height, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [a, b, c, ..] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut bytes = Vec::new();
    noise
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

const BOUNDARY: &str = "----gazette-upload-7MA4YWxk";
const SVG: &[u8] =
    b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><rect width=\"9\" height=\"9\"/></svg>";
const HTML: &[u8] = b"<!doctype html><html><script>alert(document.cookie)</script></html>";
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

/// One part of an upload's body.
enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a [u8]),
}

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
            Part::File(file_name, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn form_data() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A POST of exactly `body` with the reader's cookies and these headers.
async fn post_body(
    reader: &Reader<'_>,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Page {
    let client = gazette_client(reader);
    let mut request = client.post(reader.app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Page {
        status,
        headers,
        body,
    }
}

fn gazette_client(reader: &Reader<'_>) -> reqwest::Client {
    crate::support::http_client()
        .cookie_provider(reader.jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The library's form, as a browser sends it: the token, the alt text, then the file.
async fn upload(reader: &Reader<'_>, file_name: &str, bytes: &[u8], alt: &str) -> Page {
    let token = reader.csrf_token().await;
    let body = multipart(&[
        Part::Text("csrf_token", &token),
        Part::Text("alt", alt),
        Part::File(file_name, bytes),
    ]);
    post_body(reader, "/editor/media", Some(&form_data()), body, &[]).await
}

/// The picture an upload's redirect shows (`/editor/media#media-12`).
fn uploaded_id(page: &Page) -> i64 {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location().unwrap();
    location
        .rsplit_once("#media-")
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("the redirect names the picture: {location}"))
}

fn pictures_in(app: &TestApp) -> i64 {
    gazette::schema::media::table
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

/// A picture's variants as the catalogue holds them: address, width, height, format.
fn variants_of(app: &TestApp, id: i64) -> Vec<(String, u32, u32, Format)> {
    use gazette::schema::{media, media_variants};
    let rows: Vec<(String, i32, i32, String)> = media_variants::table
        .inner_join(media::table)
        .filter(media::id.eq(gazette::domain::ids::MediaId::new(id)))
        .order(media_variants::width)
        .select((
            media::hash,
            media_variants::width,
            media_variants::height,
            media_variants::format,
        ))
        .load(&mut app.connect())
        .unwrap();
    rows.into_iter()
        .map(|(hash, width, height, format)| {
            let format = Format::from_name(&format).unwrap();
            let width = u32::try_from(width).unwrap();
            let name = VariantName {
                hash,
                width,
                format,
            };
            (name.path(), width, u32::try_from(height).unwrap(), format)
        })
        .collect()
}

async fn get_bytes(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = crate::support::http_client().build().unwrap();
    let mut request = client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Marks picture `id` as article `article`'s feature image.
fn feature(app: &TestApp, article: i64, id: i64) {
    diesel::sql_query("UPDATE articles SET feature_media_id = $1 WHERE id = $2")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .bind::<diesel::sql_types::BigInt, _>(article)
        .execute(&mut app.connect())
        .unwrap();
}

#[tokio::test]
async fn the_library_is_for_editors_alone_however_often_others_try() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let visitor = Reader::new(&app);
    let reader = Reader::signed_up(&app, "reader@example.com").await;
    let paying = subscriber(&app, "paying@example.com").await;
    let file = png(640, 480);

    for path in [
        "/editor/media",
        "/editor/media?unused=1",
        "/editor/media?page=2",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location().unwrap().starts_with("/login?next="));
        for member in [&reader, &paying] {
            let page = member.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
            assert!(page.body.contains("This page is not for you"));
        }
    }
    for attempt in 0..60 {
        // A genuine token: the role is what refuses them.
        for member in [&visitor, &reader, &paying] {
            let page = upload(member, &format!("mine-{attempt}.png"), &file, "Mine").await;
            match page.status {
                StatusCode::FORBIDDEN => {}
                StatusCode::SEE_OTHER => {
                    assert!(page.location().unwrap().starts_with("/login"))
                }
                other => panic!("attempt {attempt}: {other}"),
            }
        }
    }
    for member in [&visitor, &reader, &paying] {
        let token = member.csrf_token().await;
        for path in ["/editor/media/1/alt", "/editor/media/1/delete"] {
            let page = member
                .post(path, &[("csrf_token", &token), ("alt", "Defaced")])
                .await;
            assert!(
                matches!(page.status, StatusCode::FORBIDDEN | StatusCode::SEE_OTHER),
                "{path}: {}",
                page.status
            );
        }
    }
    assert_eq!(pictures_in(&app), 0, "nothing was added");
    let library = newsroom.get("/editor/media").await;
    assert_eq!(library.status, StatusCode::OK);
    assert!(library.body.contains("No pictures yet"));

    // A reader's upload is refused before its body is read: a 200 MB one is answered at once.
    let started = Instant::now();
    let (status, _) = raw_upload(&reader, BodyShape::Declared(200 * 1024 * 1024), 1 << 20).await;
    assert!(status.contains(" 403 "), "{status}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_upload_needs_the_sessions_token_first_and_this_site() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let token = newsroom.csrf_token().await;
    let file = png(640, 480);
    /// What is wrong, the body, the headers sent with it.
    type Refused<'a> = (&'a str, Vec<u8>, Vec<(&'a str, &'a str)>);
    let refused: Vec<Refused<'_>> = vec![
        (
            "no token",
            multipart(&[Part::Text("alt", "x"), Part::File("a.png", &file)]),
            vec![],
        ),
        (
            "a wrong token",
            multipart(&[
                Part::Text("csrf_token", "not-the-sessions-token"),
                Part::File("a.png", &file),
            ]),
            vec![],
        ),
        (
            "the token after the file",
            multipart(&[Part::File("a.png", &file), Part::Text("csrf_token", &token)]),
            vec![],
        ),
        (
            "another site's origin",
            multipart(&[Part::Text("csrf_token", &token), Part::File("a.png", &file)]),
            vec![("Origin", "https://evil.example")],
        ),
        (
            "a cross-site fetch",
            multipart(&[Part::Text("csrf_token", &token), Part::File("a.png", &file)]),
            vec![("Sec-Fetch-Site", "cross-site")],
        ),
    ];
    for (what, body, headers) in refused {
        let page = post_body(
            &newsroom,
            "/editor/media",
            Some(&form_data()),
            body,
            &headers,
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{what}");
        assert!(page.body.contains("This form has expired"), "{what}");
    }
    // Not multipart at all: a URL-encoded form with the token carries no file, and is refused
    // as every form without its token is elsewhere.
    let page = newsroom
        .post("/editor/media", &[("csrf_token", &token), ("alt", "x")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(pictures_in(&app), 0);
}

#[tokio::test]
async fn hostile_bodies_get_a_clear_4xx_and_change_nothing() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let token = newsroom.csrf_token().await;
    let file = png(64, 64);
    let long_alt = "a".repeat(5000);
    let cases: Vec<(&str, Option<String>, Vec<u8>, u16)> = vec![
        (
            "no boundary",
            Some("multipart/form-data".to_string()),
            multipart(&[Part::Text("csrf_token", &token)]),
            400,
        ),
        ("no content type", None, b"garbage".to_vec(), 403),
        (
            "JSON",
            Some("application/json".to_string()),
            br#"{"csrf_token": "x"}"#.to_vec(),
            403,
        ),
        (
            "garbage without the boundary",
            Some(form_data()),
            b"\x00\xffnot multipart at all".repeat(20_000),
            400,
        ),
        (
            "cut off in the middle",
            Some(form_data()),
            {
                let mut body =
                    multipart(&[Part::Text("csrf_token", &token), Part::File("a.png", &file)]);
                body.truncate(body.len() / 2);
                body
            },
            400,
        ),
        (
            "two files",
            Some(form_data()),
            multipart(&[
                Part::Text("csrf_token", &token),
                Part::File("a.png", &file),
                Part::File("b.png", &file),
            ]),
            400,
        ),
        (
            "no file",
            Some(form_data()),
            multipart(&[Part::Text("csrf_token", &token), Part::Text("alt", "x")]),
            422,
        ),
        (
            "no file chosen",
            Some(form_data()),
            multipart(&[Part::Text("csrf_token", &token), Part::File("", b"")]),
            422,
        ),
        (
            "an alt field of 5000 bytes",
            Some(form_data()),
            multipart(&[
                Part::Text("csrf_token", &token),
                Part::Text("alt", &long_alt),
                Part::File("a.png", &file),
            ]),
            400,
        ),
        (
            "an SVG called photo.jpg",
            Some(form_data()),
            multipart(&[
                Part::Text("csrf_token", &token),
                Part::File("photo.jpg", SVG),
            ]),
            415,
        ),
        (
            "a web page called photo.jpg",
            Some(form_data()),
            multipart(&[
                Part::Text("csrf_token", &token),
                Part::File("photo.jpg", HTML),
            ]),
            415,
        ),
        (
            "an empty file",
            Some(form_data()),
            multipart(&[
                Part::Text("csrf_token", &token),
                Part::File("empty.jpg", b""),
            ]),
            415,
        ),
    ];
    for (what, content_type, body, status) in cases {
        let page = post_body(
            &newsroom,
            "/editor/media",
            content_type.as_deref(),
            body,
            &[],
        )
        .await;
        assert_eq!(page.status.as_u16(), status, "{what}: {}", page.body);
        assert!(page.body.contains("<html"), "{what}: a styled page");
    }
    let page = upload(&newsroom, "photo.jpg", SVG, "").await;
    assert!(
        page.body
            .contains("The file is not a JPEG, PNG, WebP or GIF image."),
        "{}",
        page.body
    );
    assert_eq!(pictures_in(&app), 0);
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_as_it_arrives_and_changes_nothing() {
    let app = TestApp::builder()
        .settings(|s| s.media.max_bytes = 40_000)
        .start()
        .await;
    let newsroom = editor(&app, "editor@example.com").await;
    let large = noise_png(150, 150);
    assert!(large.len() > 60_000);
    let page = upload(&newsroom, "large.png", &large, "Too large").await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        page.body.contains("The file is larger than"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "the library page"
    );

    // Declared far larger than the file allowed: refused before a byte is read.
    let (status, _) = raw_upload(&newsroom, BodyShape::Declared(10_000_000), 1024).await;
    assert!(status.contains(" 413 "), "{status}");
    // Sent in chunks with no declared length: cut off once the limit is passed.
    let (status, _) = raw_upload(&newsroom, BodyShape::Chunked(2_000_000), 16 * 1024).await;
    assert!(status.contains(" 413 "), "{status}");
    assert_eq!(pictures_in(&app), 0);
}

#[tokio::test]
async fn an_upload_that_stops_arriving_is_cut_off_at_the_forms_timeout() {
    let app = TestApp::builder()
        .settings(|s| s.form_body_timeout = Duration::from_secs(1))
        .start()
        .await;
    let newsroom = editor(&app, "editor@example.com").await;
    let token = newsroom.csrf_token().await;
    let cookie = format!(
        "{}={}",
        app.cookie_name(),
        newsroom.session_cookie().unwrap_or_default()
    );
    let port = app.port;
    let (status, took) = tokio::task::spawn_blocking(move || {
        // The token and the start of a file, then nothing more of the 100 KB announced.
        let opening = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.png\"\r\n\r\n\
             \u{89}PNG"
        );
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "POST /editor/media HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\
             Content-Type: {}\r\nContent-Length: 100000\r\n\r\n{opening}",
            form_data()
        )
        .unwrap();
        let started = Instant::now();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut answer = [0u8; 256];
        let n = stream.read(&mut answer).unwrap_or(0);
        let status = String::from_utf8_lossy(&answer[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        (status, started.elapsed())
    })
    .await
    .unwrap();
    assert!(status.contains(" 400 "), "{status}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(pictures_in(&app), 0);
}

#[tokio::test]
async fn an_upload_that_keeps_arriving_may_take_longer_than_a_form() {
    let app = TestApp::builder()
        .settings(|s| s.form_body_timeout = Duration::from_secs(1))
        .start()
        .await;
    let newsroom = editor(&app, "editor@example.com").await;
    let token = newsroom.csrf_token().await;
    let cookie = format!(
        "{}={}",
        app.cookie_name(),
        newsroom.session_cookie().unwrap_or_default()
    );
    let body = multipart(&[
        Part::Text("csrf_token", &token),
        Part::Text("alt", "A slow line"),
        Part::File("slow.png", &png(300, 200)),
    ]);
    let port = app.port;
    let (status, took) = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "POST /editor/media HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\
             Content-Type: {}\r\nContent-Length: {}\r\n\r\n",
            form_data(),
            body.len()
        )
        .unwrap();
        // Twelve pieces, 250 ms apart: three seconds in all, never a pause of one.
        let started = Instant::now();
        for piece in body.chunks(body.len().div_ceil(12)) {
            stream.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(250));
        }
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut answer = [0u8; 256];
        let n = stream.read(&mut answer).unwrap_or(0);
        let status = String::from_utf8_lossy(&answer[..n])
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        (status, started.elapsed())
    })
    .await
    .unwrap();
    assert!(took > Duration::from_secs(2), "{took:?}");
    assert!(status.contains(" 303 "), "{status}");
    assert_eq!(pictures_in(&app), 1);
}

/// How a raw upload's body is sent.
#[derive(Clone, Copy)]
enum BodyShape {
    /// With a `Content-Length` of this many bytes of file.
    Declared(usize),
    /// Chunked, this many bytes of file.
    Chunked(usize),
}

/// Sends an upload over a plain socket, its file bytes written in pieces of `piece` bytes
/// while the answer is awaited. Returns the answer's status line and the bytes of file written
/// before the server stopped taking them (all of them when it reads and drops the rest).
async fn raw_upload(reader: &Reader<'_>, shape: BodyShape, piece: usize) -> (String, usize) {
    let token = reader.csrf_token().await;
    let cookie = format!(
        "{}={}",
        reader.app.cookie_name(),
        reader.session_cookie().unwrap_or_default()
    );
    let port = reader.app.port;
    tokio::task::spawn_blocking(move || send_raw(port, &cookie, &token, shape, piece))
        .await
        .unwrap()
}

fn send_raw(
    port: u16,
    cookie: &str,
    token: &str,
    shape: BodyShape,
    piece: usize,
) -> (String, usize) {
    let opening = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.jpg\"\r\n\r\n\
         \u{FF}"
    )
    .into_bytes();
    let closing = format!("\r\n--{BOUNDARY}--\r\n").into_bytes();
    let (length_header, file_bytes, chunked) = match shape {
        BodyShape::Declared(n) => (
            format!("Content-Length: {}\r\n", opening.len() + n + closing.len()),
            n,
            false,
        ),
        BodyShape::Chunked(n) => ("Transfer-Encoding: chunked\r\n".to_string(), n, true),
    };
    let head = format!(
        "POST /editor/media HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nCookie: {cookie}\r\n\
         Content-Type: {}\r\n{length_header}\r\n",
        port,
        form_data()
    );
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    // A server that neither reads nor closes fails the write rather than hanging the test.
    writer
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let sender = std::thread::spawn(move || {
        let mut written = 0;
        let frame = |writer: &mut std::net::TcpStream, bytes: &[u8]| -> std::io::Result<()> {
            if chunked {
                writer.write_all(format!("{:x}\r\n", bytes.len()).as_bytes())?;
                writer.write_all(bytes)?;
                writer.write_all(b"\r\n")
            } else {
                writer.write_all(bytes)
            }
        };
        if frame(&mut writer, &opening).is_err() {
            return written;
        }
        let zeros = vec![0u8; piece];
        while written < file_bytes {
            let n = piece.min(file_bytes - written);
            if frame(&mut writer, &zeros[..n]).is_err() {
                return written;
            }
            written += n;
        }
        let _ = frame(&mut writer, &closing);
        if chunked {
            let _ = writer.write_all(b"0\r\n\r\n");
        }
        written
    });
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut answer = [0u8; 512];
    let n = stream.read(&mut answer).unwrap_or(0);
    let status = String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    // The server closes the connection (a declared body) or reads and drops what is left (a
    // chunked one): either way the sender is done soon.
    let written = sender.join().unwrap();
    let _ = stream.shutdown(std::net::Shutdown::Both);
    (status, written)
}

/// Resident memory of this process (the app and the test), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_mb_upload_is_cut_off_without_the_servers_memory_growing() {
    const MIB: usize = 1024 * 1024;
    let app = TestApp::builder()
        .settings(|s| s.media.max_bytes = 2_000_000)
        .start()
        .await;
    let newsroom = editor(&app, "editor@example.com").await;
    for shape in [
        BodyShape::Declared(200 * MIB),
        BodyShape::Chunked(200 * MIB),
    ] {
        let before = resident_kib();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
        let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = {
            let (peak, watching) = (peak.clone(), watching.clone());
            std::thread::spawn(move || {
                while watching.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(resident_kib(), std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let started = Instant::now();
        let (status, written) = raw_upload(&newsroom, shape, MIB).await;
        let took = started.elapsed();
        watching.store(false, std::sync::atomic::Ordering::Relaxed);
        watcher.join().unwrap();
        let grew_mib = peak
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(before)
            / 1024;
        eprintln!(
            "{}: {status}; {} MiB written in {took:?}; resident memory grew by {grew_mib} MiB at most",
            match shape {
                BodyShape::Declared(_) => "declared 200 MiB",
                BodyShape::Chunked(_) => "chunked 200 MiB",
            },
            written / MIB
        );
        assert!(status.contains(" 413 "), "{status}");
        assert!(grew_mib < 64, "memory grew by {grew_mib} MiB");
    }
    assert_eq!(pictures_in(&app), 0);
    // The instance still answers.
    assert_eq!(newsroom.get("/editor/media").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_fast_before_decoding() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let bomb = bomb_png(60_000, 60_000);
    assert!(bomb.len() < 200);
    let started = Instant::now();
    let page = upload(&newsroom, "bomb.png", &bomb, "").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("megapixels"), "{}", page.body);
    assert!(started.elapsed() < Duration::from_secs(2));
    // One pixel over the limit, in the header: refused the same way.
    let page = upload(&newsroom, "wide.png", &bomb_png(8001, 6000), "").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pictures_in(&app), 0);
}

#[tokio::test]
async fn variants_are_served_for_ever_with_an_etag_no_cookie_and_never_wider_than_the_original() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    // A PNG whose name says GIF: its bytes decide.
    let id = uploaded_id(&upload(&newsroom, "photo.gif", &png(1000, 700), "Dunes").await);
    let variants = variants_of(&app, id);
    assert_eq!(
        variants.iter().map(|v| v.1).collect::<Vec<_>>(),
        vec![480, 800, 1000]
    );
    for (path, width, height, format) in &variants {
        assert!(matches!(format, Format::Png | Format::WebP), "{path}");
        let response = get_bytes(&app, path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(header("cache-control").as_deref(), Some(CACHE_FOREVER));
        assert_eq!(header("content-type").as_deref(), Some(format.mime_type()));
        assert!(header("set-cookie").is_none(), "{path}");
        let etag = header("etag").expect("an ETag");
        let bytes = response.bytes().await.unwrap();
        let served = image::load_from_memory(&bytes).unwrap();
        assert_eq!((served.width(), served.height()), (*width, *height));
        assert!(served.width() <= 1000 && served.height() <= 700);
        let again = get_bytes(&app, path, &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.headers().get("set-cookie").is_none());
        let head = crate::support::http_client()
            .build()
            .unwrap()
            .head(app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK);
    }
    // The library page shows the thumbnail (its 480 variant, with its size), the file's name,
    // its size and dimensions, its alt text and the Markdown that places it.
    let library = newsroom.get("/editor/media").await;
    let (thumbnail, _, thumbnail_height, _) = &variants[0];
    assert!(
        library.body.contains(&format!(
            "src=\"{thumbnail}\" width=\"480\" height=\"{thumbnail_height}\" alt=\"Dunes\""
        )),
        "{}",
        library.body
    );
    for shown in [
        "photo.gif",
        "1000 × 700 pixels",
        "Not used by any article",
        &format!("value=\"![Dunes](media:{id})\""),
        &format!("action=\"/editor/media/{id}/delete\""),
    ] {
        assert!(library.body.contains(shown), "{shown}");
    }
}

#[tokio::test]
async fn what_a_camera_wrote_is_removed_and_the_picture_is_turned_upright() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    // Stored 1200 × 800, to be seen turned a quarter clockwise: 800 × 1200.
    let photo = jpeg_with_exif(1200, 800, 6, true);
    let gps = gps_latitude_bytes();
    assert!(photo.windows(gps.len()).any(|w| w == gps.as_slice()));
    let id = uploaded_id(&upload(&newsroom, "IMG_0001.JPG", &photo, "A street").await);
    let variants = variants_of(&app, id);
    assert!(!variants.is_empty());
    for (path, width, height, _) in &variants {
        assert!(height > width, "{path} is upright: {width} × {height}");
        let bytes = get_bytes(&app, path, &[]).await.bytes().await.unwrap();
        let served = image::load_from_memory(&bytes).unwrap();
        assert!(served.height() > served.width(), "{path}");
        assert!(
            !bytes.windows(4).any(|w| w == b"Exif"),
            "{path} carries no EXIF"
        );
        assert!(
            !bytes.windows(gps.len()).any(|w| w == gps.as_slice()),
            "{path} carries no GPS position"
        );
    }
    let library = newsroom.get("/editor/media").await;
    assert!(
        library.body.contains("800 × 1200 pixels"),
        "{}",
        library.body
    );
}

#[tokio::test]
async fn the_same_file_sent_twice_or_eight_times_at_once_is_one_picture() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let photo = png(700, 500);
    let first = uploaded_id(&upload(&newsroom, "one.png", &photo, "Once").await);
    let again = upload(&newsroom, "one-again.png", &photo, "Twice").await;
    assert_eq!(uploaded_id(&again), first);
    let library = newsroom.follow(&again).await;
    assert!(
        library.body.contains("already in the library"),
        "{}",
        library.body
    );
    assert!(
        library.body.contains("value=\"Once\""),
        "the first alt text stays"
    );
    assert_eq!(pictures_in(&app), 1);

    let burst = png(710, 500);
    let answers = join_all((0..8).map(|n| {
        let (newsroom, burst) = (&newsroom, &burst);
        async move { upload(newsroom, &format!("burst-{n}.png"), burst, "Burst").await }
    }))
    .await;
    // The first is processed; the seven others wait for it and get its picture, however busy
    // the instance is: a burst of the same file is never turned away.
    let mut ids = std::collections::BTreeSet::new();
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        ids.insert(uploaded_id(answer));
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(pictures_in(&app), 2);
    let id = *ids.iter().next().unwrap();
    // Sent again once the burst is over, it is the same picture.
    assert_eq!(
        uploaded_id(&upload(&newsroom, "burst.png", &burst, "").await),
        id
    );
    assert_eq!(pictures_in(&app), 2);
}

#[tokio::test]
async fn alt_text_is_saved_and_bounded() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let id = uploaded_id(&upload(&newsroom, "a.png", &png(600, 400), "").await);
    let token = newsroom.csrf_token().await;
    let page = newsroom
        .post(
            &format!("/editor/media/{id}/alt?unused=1"),
            &[
                ("csrf_token", &token),
                ("alt", "  Gulls over the [old] pier\n "),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        Some(format!("/editor/media?unused=1#media-{id}").as_str())
    );
    let library = newsroom.follow(&page).await;
    assert!(library.body.contains("Alt text saved."));
    assert!(library.body.contains("value=\"Gulls over the [old] pier\""));
    assert!(library.body.contains(&format!(
        "value=\"![Gulls over the \\[old\\] pier](media:{id})\""
    )));
    let page = newsroom
        .post(
            &format!("/editor/media/{id}/alt"),
            &[("csrf_token", &token), ("alt", &"a".repeat(501))],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("longer than 500 characters"));
    let page = newsroom
        .post(
            "/editor/media/999999/alt",
            &[("csrf_token", &token), ("alt", "x")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = newsroom
        .post(&format!("/editor/media/{id}/alt"), &[("alt", "x")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unused_pictures_are_listed_apart_and_only_they_can_be_deleted_on_every_instance() {
    let app = TestApp::spawn().await;
    let other = TestApp::builder().sharing(&app).start().await;
    app.wait_until_listening(2).await;
    let newsroom = editor(&app, "editor@example.com").await;
    let used = uploaded_id(&upload(&newsroom, "used.png", &png(600, 400), "Used").await);
    let spare = uploaded_id(&upload(&newsroom, "spare.png", &png(620, 400), "Spare").await);
    feature(&app, app.free_ids()[0], used);

    let all = newsroom.get("/editor/media").await;
    assert!(all.body.contains("used.png") && all.body.contains("spare.png"));
    assert!(all.body.contains("Used by 1 article"));
    assert!(
        all.body.contains("disabled"),
        "the delete button of a used picture"
    );
    let unused = newsroom.get("/editor/media?unused=1").await;
    assert!(unused.body.contains("spare.png") && !unused.body.contains("used.png"));

    let token = newsroom.csrf_token().await;
    let page = newsroom
        .post(
            &format!("/editor/media/{used}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(
        page.body.contains("This picture is used by an article"),
        "{}",
        page.body
    );
    let used_paths: Vec<String> = variants_of(&app, used).into_iter().map(|v| v.0).collect();
    assert_eq!(
        get_bytes(&app, &used_paths[0], &[]).await.status(),
        StatusCode::OK
    );

    // Both instances serve the spare one (and keep it in memory) before it is deleted.
    let spare_paths: Vec<String> = variants_of(&app, spare).into_iter().map(|v| v.0).collect();
    for path in &spare_paths {
        for instance in [&app, &other] {
            assert_eq!(
                get_bytes(instance, path, &[]).await.status(),
                StatusCode::OK
            );
        }
    }
    let page = newsroom
        .post(
            &format!("/editor/media/{spare}/delete?unused=1"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/editor/media?unused=1"));
    assert!(
        newsroom
            .follow(&page)
            .await
            .body
            .contains("Deleted spare.png")
    );
    assert_eq!(pictures_in(&app), 1);
    for path in &spare_paths {
        assert_eq!(
            get_bytes(&app, path, &[]).await.status(),
            StatusCode::NOT_FOUND
        );
        let started = Instant::now();
        loop {
            if get_bytes(&other, path, &[]).await.status() == StatusCode::NOT_FOUND {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{path} still served by the other instance"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let page = newsroom
        .post(
            &format!("/editor/media/{spare}/delete"),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "deleted already");
}

#[tokio::test]
async fn unknown_and_malformed_addresses_are_404s() {
    let app = TestApp::spawn().await;
    let visitor = Reader::new(&app);
    for path in [
        format!("/media/{}-800.jpg", "ab".repeat(32)),
        format!("/media/{}-800.svg", "ab".repeat(32)),
        format!("/media/{}-0800.jpg", "ab".repeat(32)),
        "/media/x".to_string(),
        "/media/..%2F..%2Fetc%2Fpasswd".to_string(),
        "/media/".to_string(),
    ] {
        let page = visitor.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let newsroom = editor(&app, "editor@example.com").await;
    for path in ["/editor/media?page=0", "/editor/media?page=x"] {
        assert_eq!(
            newsroom.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let token = newsroom.csrf_token().await;
    for path in ["/editor/media/abc/delete", "/editor/media/-1/alt"] {
        let page = newsroom
            .post(path, &[("csrf_token", &token), ("alt", "x")])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
}

/// Runs `gazette` with these extra environment variables.
async fn gazette_with(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let url = app.db.url.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
            .args(&args)
            .env_clear()
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "off")
            .envs(env)
            .current_dir(std::env::temp_dir())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    })
    .await
    .unwrap()
}

fn assert_one_line_failure((code, stdout, stderr): &(i32, String, String), naming: &str) {
    assert_ne!(*code, 0);
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("gazette: "), "{stderr}");
    assert!(stderr.contains(naming), "names {naming}: {stderr}");
}

#[tokio::test]
async fn media_add_prints_the_addresses_of_the_variants() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("gazette-media-{}", app.port));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("pier.png");
    std::fs::write(&photo, png(1300, 900)).unwrap();
    let photo = photo.display().to_string();

    let (code, stdout, stderr) =
        gazette_with(&app, &["media", "add", &photo, "--alt", "The pier"], &[]).await;
    assert_eq!(code, 0, "{stderr}");
    let paths: Vec<&str> = stdout.lines().collect();
    assert_eq!(paths.len(), 4, "480, 800, 1200 and its own 1300: {stdout}");
    for path in &paths {
        assert!(path.starts_with("/media/"), "{path}");
        assert_eq!(get_bytes(&app, path, &[]).await.status(), StatusCode::OK);
    }
    assert!(stderr.contains("![The pier](media:"), "{stderr}");
    let newsroom = editor(&app, "editor@example.com").await;
    assert!(
        newsroom
            .get("/editor/media")
            .await
            .body
            .contains("value=\"The pier\"")
    );

    // With PUBLIC_URL, full addresses; the same file again is the same picture.
    let public = app.url("");
    let (code, stdout, stderr) = gazette_with(
        &app,
        &["media", "add", &photo, "--alt", ""],
        &[("PUBLIC_URL", &public)],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("already in the library"), "{stderr}");
    for (url, path) in stdout.lines().zip(&paths) {
        assert_eq!(url, format!("{public}{path}"));
        let response = crate::support::http_client()
            .build()
            .unwrap()
            .get(url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(pictures_in(&app), 1);

    // What is refused is one line naming the file, and nothing is added.
    let svg = dir.join("logo.jpg");
    std::fs::write(&svg, SVG).unwrap();
    let svg = svg.display().to_string();
    assert_one_line_failure(
        &gazette_with(&app, &["media", "add", &svg, "--alt", "x"], &[]).await,
        "is not a JPEG, PNG, WebP or GIF",
    );
    assert_one_line_failure(
        &gazette_with(
            &app,
            &["media", "add", "/no/such/picture.png", "--alt", "x"],
            &[],
        )
        .await,
        "/no/such/picture.png",
    );
    let folder = dir.display().to_string();
    assert_one_line_failure(
        &gazette_with(&app, &["media", "add", &folder, "--alt", "x"], &[]).await,
        &folder,
    );
    let large = dir.join("large.png");
    std::fs::write(&large, noise_png(150, 150)).unwrap();
    let large = large.display().to_string();
    assert_one_line_failure(
        &gazette_with(
            &app,
            &["media", "add", &large, "--alt", "x"],
            &[("MEDIA_MAX_BYTES", "20000")],
        )
        .await,
        "larger than",
    );
    assert_one_line_failure(
        &gazette_with(&app, &["media", "add", &photo], &[]).await,
        "--alt",
    );
    assert_eq!(pictures_in(&app), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

fn blobs_named(app: &TestApp, hash: &str) -> i64 {
    use gazette::schema::media_blobs;
    media_blobs::table
        .filter(media_blobs::name.like(format!("{hash}-%")))
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

fn hash_of(app: &TestApp, id: i64) -> String {
    use gazette::schema::media;
    media::table
        .find(gazette::domain::ids::MediaId::new(id))
        .select(media::hash)
        .first(&mut app.connect())
        .unwrap()
}

#[tokio::test]
async fn a_deleted_pictures_bytes_are_swept_later_but_never_under_the_same_file_uploaded_again() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let pool = gazette::db::pool(&app.db.url, 2);
    let library = gazette::media::MediaLibrary::new(
        pool.clone(),
        std::sync::Arc::new(gazette::media::store::PostgresStore::new(pool)),
        &gazette::config::MediaSettings::default(),
    );
    let later = || time::OffsetDateTime::now_utc() + time::Duration::hours(2);

    let gone = uploaded_id(&upload(&newsroom, "gone.png", &png(900, 600), "Gone").await);
    let back = uploaded_id(&upload(&newsroom, "back.png", &png(700, 500), "Back").await);
    let (gone_hash, back_hash) = (hash_of(&app, gone), hash_of(&app, back));
    let variants = blobs_named(&app, &gone_hash);
    assert!(variants >= 2, "{variants}");

    for id in [gone, back] {
        let token = newsroom.csrf_token().await;
        let deleted = newsroom
            .post(
                &format!("/editor/media/{id}/delete"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    }
    // The same file as `back`, uploaded again at once: its bytes are put again.
    let again = uploaded_id(&upload(&newsroom, "back-again.png", &png(700, 500), "Back").await);
    assert_eq!(hash_of(&app, again), back_hash);

    // Within the hour, nothing is swept; after it, only what no picture names.
    assert_eq!(
        library
            .sweep(time::OffsetDateTime::now_utc())
            .await
            .unwrap(),
        0
    );
    assert_eq!(blobs_named(&app, &gone_hash), variants);
    let swept = library.sweep(later()).await.unwrap();
    assert_eq!(swept, usize::try_from(variants).unwrap());
    assert_eq!(blobs_named(&app, &gone_hash), 0);
    let served = variants_of(&app, again);
    assert!(!served.is_empty());
    for (path, ..) in served {
        let answer = get_bytes(&app, &path, &[]).await;
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn the_librarys_alt_text_cannot_be_emptied_while_a_feature_image_shows_it() {
    let app = TestApp::spawn().await;
    let newsroom = editor(&app, "editor@example.com").await;
    let id = uploaded_id(&upload(&newsroom, "lamp.png", &png(640, 480), "A lamp").await);
    // The article has no alt text of its own: it shows the library's.
    feature(&app, app.free_ids()[0], id);
    let token = newsroom.csrf_token().await;
    let emptied = newsroom
        .post(
            &format!("/editor/media/{id}/alt"),
            &[("csrf_token", &token), ("alt", "  ")],
        )
        .await;
    assert_eq!(emptied.status, StatusCode::CONFLICT, "{}", emptied.body);
    assert!(emptied.body.contains("cannot be empty"), "{}", emptied.body);
    let page = newsroom.get("/editor/media").await;
    assert!(page.body.contains("value=\"A lamp\""), "unchanged");

    // Changing it is fine, and so is emptying it once the article has words of its own.
    let changed = newsroom
        .post(
            &format!("/editor/media/{id}/alt"),
            &[("csrf_token", &token), ("alt", "A street lamp at dusk")],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    diesel::sql_query("UPDATE articles SET feature_alt = 'Its own words'")
        .execute(&mut app.connect())
        .unwrap();
    let emptied = newsroom
        .post(
            &format!("/editor/media/{id}/alt"),
            &[("csrf_token", &token), ("alt", "")],
        )
        .await;
    assert_eq!(emptied.status, StatusCode::SEE_OTHER, "{}", emptied.body);
}
