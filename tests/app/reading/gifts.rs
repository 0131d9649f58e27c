//! Gifted articles: a subscriber gifts a premium article, up to the month's allowance (the same
//! article again costs nothing), and its link opens the whole article for anyone for 14 days
//! with nothing written (no meter, no cookie), `no-store` and `noindex`. Every other token
//! gives the page anyone else gets; non-subscribers cannot gift; the form needs its CSRF
//! token; simultaneous clicks of many subscribers on two instances never give more gifts than
//! the month allows.

use std::future::Future;
use std::pin::Pin;

use diesel::prelude::*;
use gazette::domain::article_gift::{GiftLinks, GiftPass, PURPOSE};
use gazette::domain::ids::{ArticleGiftId, ArticleId};
use gazette::domain::signed_link::LinkSigner;
use reqwest::StatusCode;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::helpers::*;

/// Words of the newest premium demo article's body ("Learning to See the Night Sky Again").
const BODY: &str = "Ask an older relative";
/// What the gift view says above the article.
const SHARED: &str = "A subscriber shared this article with you";
/// A moment early in a month, so 14 days later is the same month (the visitors' meters hold).
const EARLY_DECEMBER: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

fn newest_premium(app: &TestApp) -> i64 {
    *app.premium_ids().last().expect("premium demo articles")
}

/// A visitor who read five premium articles (none of them the newest): the meter is used up.
async fn past_the_meter(app: &TestApp) -> Reader<'_> {
    let visitor = Reader::new(app);
    for id in &app.premium_ids()[..5] {
        assert_eq!(visitor.read_article(*id).await.status, StatusCode::OK);
    }
    assert_eq!(
        visitor.read_article(newest_premium(app)).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
    visitor
}

/// Gifts `id` as `giver`; the gift link, as a path.
async fn gift_link(giver: &Reader<'_>, id: i64) -> String {
    let answer = giver.gift_article(id).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("Your gift link"));
    assert!(!answer.body.contains(BODY), "the answer has no body");
    gift_link_in(&answer.body)
}

fn gifts_kept(app: &TestApp) -> i64 {
    rows_in(app, "article_gifts")
}

/// The page anyone without the gift gets: never the body, never the gift's words.
fn assert_not_gifted(page: &Page, what: &str) {
    assert!(page.status.as_u16() < 500, "{what}: {}", page.status);
    assert!(!page.body.contains(BODY), "{what}: the body");
    assert!(!page.body.contains(SHARED), "{what}: the gift's note");
}

#[tokio::test]
async fn a_gift_opens_the_whole_article_past_the_meter_and_stops_after_fourteen_days() {
    let app = TestApp::spawn().await;
    app.clock.set(EARLY_DECEMBER);
    let newest = newest_premium(&app);
    let giver = subscriber(&app, "giver@example.com").await;
    let link = gift_link(&giver, newest).await;
    let plain = format!("/articles/{newest}/learning-to-see-the-night-sky-again");
    assert!(link.starts_with(&format!("{plain}?gift=")), "{link}");

    // A browser whose meter is used up reads it all, and its cookie stays as it was.
    let visitor = past_the_meter(&app).await;
    let cookie = visitor.session_cookie();
    let page = visitor.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(BODY), "the whole article");
    assert!(page.body.contains(SHARED));
    assert!(page.body.contains("until 15 December 2026"));
    assert!(!page.body.contains("giver"), "the giver is not named");
    assert!(
        page.body.contains("href=\"/signup?next="),
        "sign-up offered"
    );
    assert!(
        page.body.contains("href=\"/subscribe?next="),
        "subscribing offered"
    );
    assert!(
        page.body
            .contains("You have read your 5 free articles this month"),
        "the meter as it was"
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-robots-tag"), Some("noindex"));
    assert!(
        page.body
            .contains("<meta name=\"robots\" content=\"noindex\">")
    );
    assert_eq!(canonical_of(&page.body), Some(app.url(&plain)));
    assert!(page.set_cookies().is_empty(), "{:?}", page.set_cookies());
    assert_eq!(visitor.session_cookie(), cookie);

    // The gift never reaches the same browser's requests without its token.
    let token = gift_token_of(&link);
    for path in [
        format!("/articles/{newest}"),
        plain.clone(),
        format!("{plain}?gift="),
        format!("{plain}?gifts={token}"),
        format!("{plain}?Gift={token}"),
        format!("{plain}?token={token}"),
        format!("/articles/{newest}/wrong-slug"),
    ] {
        let page = visitor.get(&path).await;
        assert_not_gifted(&page, &path);
        assert!(
            matches!(
                page.status,
                StatusCode::PAYMENT_REQUIRED | StatusCode::MOVED_PERMANENTLY
            ),
            "{path}: {}",
            page.status
        );
    }
    // A wrong slug keeps the token on the way to the right one.
    let moved = visitor
        .get(&format!("/articles/{newest}/old-slug?gift={token}"))
        .await;
    assert_eq!(moved.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(moved.location(), Some(link.as_str()));

    // A browser with no cookie at all reads it too, and is given none.
    let fresh = Reader::new(&app);
    let page = fresh.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(BODY));
    assert!(page.set_cookies().is_empty());
    assert_eq!(fresh.session_cookie(), None);
    assert!(
        fresh
            .read_article(app.premium_ids()[0])
            .await
            .body
            .contains("4 of 5 free articles left"),
        "the gift took nothing from the meter"
    );

    // Still open a second before the fourteen days are up; not at fourteen days.
    app.clock
        .set(EARLY_DECEMBER + Duration::days(14) - Duration::seconds(1));
    assert!(visitor.get(&link).await.body.contains(BODY));
    app.clock.set(EARLY_DECEMBER + Duration::days(14));
    let ended = visitor.get(&link).await;
    assert_eq!(ended.status, StatusCode::PAYMENT_REQUIRED, "the paywall");
    assert_not_gifted(&ended, "after fourteen days");
    assert_eq!(ended.header("x-robots-tag"), Some("noindex"));
    let metered = Reader::new(&app).get(&link).await;
    assert_eq!(metered.status, StatusCode::OK, "the metered page");
    assert!(
        metered.body.contains("4 of 5 free articles left"),
        "counted"
    );
    assert!(!metered.body.contains(SHARED));
}

#[tokio::test]
async fn opening_a_gift_writes_nothing_for_a_visitor_or_a_member_on_the_meter() {
    let app = TestApp::spawn().await;
    let premium = app.premium_ids();
    let newest = newest_premium(&app);
    let giver = subscriber(&app, "giver@example.com").await;
    let link = gift_link(&giver, newest).await;

    let visitor = Reader::new(&app);
    visitor.read_article(premium[0]).await;
    visitor.read_article(premium[1]).await;
    let cookie = visitor.session_cookie();
    for _ in 0..3 {
        let page = visitor.get(&link).await;
        assert!(page.body.contains(BODY));
        assert!(page.body.contains("3 of 5 free articles left"));
        assert!(page.set_cookies().is_empty());
    }
    assert_eq!(visitor.session_cookie(), cookie);
    assert!(
        visitor
            .read_article(newest)
            .await
            .body
            .contains("2 of 5 free articles left"),
        "read without the gift, it counts as any article"
    );

    let member = Reader::signed_up(&app, "member@example.com").await;
    member.read_article(premium[0]).await;
    let page = member.get(&link).await;
    assert!(page.body.contains(BODY));
    assert!(page.body.contains(SHARED));
    assert!(
        !page.body.contains("Create an account"),
        "a member is offered a subscription, not an account"
    );
    assert!(page.body.contains("href=\"/subscribe?next="));
    assert!(page.set_cookies().is_empty());
    assert_eq!(
        rows_in(&app, "meter_reads"),
        1,
        "the member's meter as it was"
    );
    assert!(
        member
            .get("/account")
            .await
            .body
            .contains("4 of 5 free articles left")
    );

    // A subscriber following a gift link reads the article as always.
    let other = subscriber(&app, "other@example.com").await;
    let page = other.get(&link).await;
    assert!(page.body.contains(BODY));
    assert!(!page.body.contains(SHARED));
    assert_eq!(page.header("x-robots-tag"), Some("noindex"));
}

/// `token` in a gift link's place, percent-encoded.
fn with_token(id: i64, token: &str) -> String {
    format!("/articles/{id}?gift={}", gazette::views::encode_next(token))
}

#[tokio::test]
async fn forged_changed_run_out_and_misdirected_tokens_give_the_normal_page() {
    let app = TestApp::spawn().await;
    app.clock.set(EARLY_DECEMBER);
    let premium = app.premium_ids();
    let newest = newest_premium(&app);
    let giver = subscriber(&app, "giver@example.com").await;
    let real = gift_token_of(&gift_link(&giver, newest).await);
    let for_another = gift_token_of(&gift_link(&giver, premium[6]).await);

    // The test holds the site's key, so it can sign what an attacker could not.
    let key = app.settings.session_key.master();
    let links = GiftLinks::new(key);
    let pass = links.read(&real).expect("the site's own token");
    let other_pass = links.read(&for_another).expect("the site's own token");
    let mut tokens: Vec<(String, String)> = Vec::new();
    let mut add = |what: &str, token: String| tokens.push((what.to_string(), token));

    // Every other character of the real token changed.
    for at in (0..real.len()).step_by(2) {
        let mut bytes = real.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        add(
            &format!("changed at {at}"),
            String::from_utf8(bytes).unwrap(),
        );
    }
    let (payload, tag) = real.split_once('.').unwrap();
    add("cut short", real[..real.len() - 1].to_string());
    add("half", real[..real.len() / 2].to_string());
    add("the payload alone", payload.to_string());
    add("the tag alone", tag.to_string());
    add("tag and payload swapped", format!("{tag}.{payload}"));
    add("one character more", format!("{real}A"));
    add("twice", format!("{real}{real}"));
    for other in [newest + 1, newest - 1, premium[0], 999_999] {
        let payload = base64_of(&format!("{}:{other}:1900000000", pass.gift_id));
        add(
            &format!("article {other}, the real tag"),
            format!("{payload}.{tag}"),
        );
    }
    let longer = base64_of(&format!("{}:{newest}:4102444800", pass.gift_id));
    add("a later end, old tag", format!("{longer}.{tag}"));
    add("the other article's gift", for_another.clone());
    // Signed with the site's key, but not a gift that opens this article now.
    let signed = |pass: GiftPass| links.token(&pass);
    add(
        "run out",
        signed(GiftPass {
            expires_at: EARLY_DECEMBER - Duration::seconds(1),
            ..pass
        }),
    );
    add(
        "run out long ago",
        signed(GiftPass {
            expires_at: datetime!(2020-01-01 0:00 UTC),
            ..pass
        }),
    );
    add(
        "a gift never given",
        signed(GiftPass {
            gift_id: ArticleGiftId::new(other_pass.gift_id.get() + 1000),
            ..pass
        }),
    );
    add(
        "the other gift's id, this article",
        signed(GiftPass {
            article_id: ArticleId::new(newest),
            ..other_pass
        }),
    );
    add(
        "this gift, another article",
        signed(GiftPass {
            article_id: ArticleId::new(premium[5]),
            ..pass
        }),
    );
    // This site's key for another purpose; another site's key for this one.
    let payload_text = format!(
        "{}:{newest}:{}",
        pass.gift_id,
        pass.expires_at.unix_timestamp()
    );
    for purpose in ["newsletter-unsubscribe", "newsletter-confirm", "gift", ""] {
        add(
            &format!("purpose {purpose:?}"),
            LinkSigner::new(key, purpose).sign(&payload_text),
        );
    }
    for secret in [
        &b"another site's secret, as long as one should be"[..],
        b"",
        b"x",
    ] {
        add(
            "another site's key",
            LinkSigner::new(secret, PURPOSE).sign(&payload_text),
        );
    }
    for junk in [
        "",
        ".",
        "..",
        "x",
        "a.b",
        "null",
        "\0",
        "ü.ü",
        "   ",
        "%",
        "<script>alert(1)</script>",
        "1:2:3",
    ] {
        add(&format!("junk {junk:?}"), junk.to_string());
    }
    add("very long", "A".repeat(600));
    add(
        "long and dotted",
        format!("{}.{}", "A".repeat(300), "B".repeat(300)),
    );
    assert!(tokens.len() >= 60, "{} tokens", tokens.len());

    // A browser past the meter gets the paywall for every one of them; the real token is the
    // control, so the search can find the body.
    let visitor = past_the_meter(&app).await;
    let control = visitor.get(&with_token(newest, &real)).await;
    assert!(control.body.contains(BODY) && control.body.contains(SHARED));
    for (what, token) in &tokens {
        let page = visitor.get(&with_token(newest, token)).await;
        assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED, "{what}");
        assert_not_gifted(&page, what);
        assert!(
            page.body.contains("You have read your 5 free articles"),
            "{what}"
        );
        assert_eq!(page.header("x-robots-tag"), Some("noindex"), "{what}");
    }
    // The real token on other articles: the pages anyone past the meter gets.
    for other in [premium[5], premium[7]] {
        let page = visitor.get(&with_token(other, &real)).await;
        assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED, "article {other}");
        assert!(!page.body.contains(SHARED));
    }
    // A browser with articles left gets the metered page, counted.
    for (n, (what, token)) in tokens.iter().step_by(7).enumerate() {
        let fresh = Reader::new(&app);
        let page = fresh.get(&with_token(newest, token)).await;
        assert_eq!(page.status, StatusCode::OK, "{what} ({n})");
        assert!(page.body.contains("4 of 5 free articles left"), "{what}");
        assert!(!page.body.contains(SHARED), "{what}");
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

type Answer<'r> = Pin<Box<dyn Future<Output = Page> + 'r>>;

#[tokio::test]
async fn bursts_from_many_subscribers_on_two_instances_never_pass_the_allowance() {
    const ALLOWANCE: usize = 3;
    const SUBSCRIBERS: usize = 8;
    const ARTICLES: usize = 6;
    const CLICKS: usize = 4;
    let one = TestApp::builder()
        .settings(|s| s.gift_articles_per_month = ALLOWANCE as u32)
        .start()
        .await;
    let two = TestApp::builder().sharing(&one).start().await;
    one.wait_until_listening(2).await;
    let premium = one.premium_ids();

    let mut givers = Vec::new();
    for n in 0..SUBSCRIBERS {
        givers.push(subscriber(&one, &format!("giver{n}@example.com")).await);
    }
    let on_two: Vec<Reader<'_>> = givers.iter().map(|giver| giver.via(&two)).collect();
    let mut tokens = Vec::new();
    for giver in &givers {
        tokens.push(giver.csrf_token().await);
    }

    // Every subscriber clicks "Gift this article" four times on each of six articles, all at
    // once, the clicks shared between the two instances.
    let mut requests: Vec<Answer<'_>> = Vec::new();
    for ((giver, other), token) in givers.iter().zip(&on_two).zip(&tokens) {
        for id in &premium[..ARTICLES] {
            for click in 0..CLICKS {
                let path = format!("/articles/{id}/gift");
                let reader = if click % 2 == 0 { giver } else { other };
                requests.push(Box::pin(reader.post(&path, &[("csrf_token", token)])));
            }
        }
    }
    let pages = join_all(requests).await;
    assert_eq!(pages.len(), SUBSCRIBERS * ARTICLES * CLICKS);

    let (mut links, mut refused) = (0, 0);
    for (n, giver_pages) in pages.chunks(ARTICLES * CLICKS).enumerate() {
        let mut gifted = 0;
        for (article, clicks) in giver_pages.chunks(CLICKS).enumerate() {
            let what = format!("giver {n}, article {article}");
            let status = clicks[0].status;
            assert!(
                clicks.iter().all(|page| page.status == status),
                "{what}: {:?}",
                clicks.iter().map(|p| p.status).collect::<Vec<_>>()
            );
            match status {
                StatusCode::OK => {
                    let link = gift_link_in(&clicks[0].body);
                    for page in clicks {
                        assert_eq!(gift_link_in(&page.body), link, "{what}");
                    }
                    gifted += 1;
                    links += CLICKS;
                }
                StatusCode::CONFLICT => {
                    assert!(clicks[0].body.contains("No gifts left this month"));
                    refused += CLICKS;
                }
                other => panic!("{what}: {other}"),
            }
        }
        assert_eq!(gifted, ALLOWANCE, "giver {n} gave exactly the allowance");
        let id = user_id(&one, &format!("giver{n}@example.com"));
        let kept: i64 = gazette::schema::article_gifts::table
            .filter(gazette::schema::article_gifts::user_id.eq(id))
            .count()
            .get_result(&mut one.connect())
            .unwrap();
        assert_eq!(kept, ALLOWANCE as i64, "giver {n}'s gifts in the database");
    }
    assert_eq!(gifts_kept(&one), (SUBSCRIBERS * ALLOWANCE) as i64);
    eprintln!(
        "gift burst: {} simultaneous requests from {SUBSCRIBERS} subscribers on 2 instances, \
         {} gifts kept ({ALLOWANCE} each), {links} answers with a link (one link per article), \
         {refused} refused as past the allowance, no 5xx",
        pages.len(),
        gifts_kept(&one)
    );

    // Each instance says none are left, and refuses one more.
    for (giver, other) in givers.iter().zip(&on_two).take(2) {
        for reader in [giver, other] {
            let page = reader.read_article(premium[ARTICLES]).await;
            assert!(page.body.contains("0 of 3 gifts left this month"));
            let more = reader.gift_article(premium[ARTICLES]).await;
            assert_eq!(more.status, StatusCode::CONFLICT);
        }
    }
}

#[tokio::test]
async fn the_same_article_clicked_many_times_at_once_is_one_gift() {
    let app = TestApp::spawn().await;
    let newest = newest_premium(&app);
    let giver = subscriber(&app, "giver@example.com").await;
    let token = giver.csrf_token().await;
    let path = format!("/articles/{newest}/gift");
    let pages = join_all((0..12).map(|_| giver.post(&path, &[("csrf_token", &token)]))).await;
    let link = gift_link_in(&pages[0].body);
    for page in &pages {
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(gift_link_in(&page.body), link);
        assert!(page.body.contains("9 of 10 gifts left this month"));
    }
    let new = pages
        .iter()
        .filter(|page| page.body.contains("That was one of your gifts"))
        .count();
    assert_eq!(new, 1, "one click gave the gift, the others its link");
    assert_eq!(gifts_kept(&app), 1);
    let page = giver.read_article(newest).await;
    assert!(page.body.contains("Get the gift link again"));
    assert!(page.body.contains("9 of 10 gifts left this month"));
}

#[tokio::test]
async fn visitors_free_members_lapsed_subscribers_and_editors_cannot_gift() {
    let app = TestApp::spawn().await;
    let newest = newest_premium(&app);
    let form = format!("action=\"/articles/{newest}/gift\"");

    let visitor = Reader::new(&app);
    let page = visitor.gift_article(newest).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        Some(format!("/login?next=/articles/{newest}").as_str())
    );
    assert!(!visitor.read_article(newest).await.body.contains(&form));

    let member = Reader::signed_up(&app, "member@example.com").await;
    assert!(!member.read_article(newest).await.body.contains(&form));
    let lapsed = subscriber(&app, "lapsed@example.com").await;
    assert!(lapsed.read_article(newest).await.body.contains(&form));
    let newsroom = editor(&app, "editor@example.com").await;
    assert!(!newsroom.read_article(newest).await.body.contains(&form));
    lapsed.cancel_subscription().await;
    app.clock.advance(Duration::days(40));
    // Their logins ended meanwhile (idle): they log in again.
    for (reader, address) in [
        (&member, "member@example.com"),
        (&lapsed, "lapsed@example.com"),
        (&newsroom, "editor@example.com"),
    ] {
        assert_eq!(
            reader.log_in(address, PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
    }
    for (who, reader) in [
        ("a free member", &member),
        ("a lapsed subscriber", &lapsed),
        ("an editor", &newsroom),
    ] {
        for _ in 0..3 {
            let page = reader.gift_article(newest).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{who}");
            assert!(
                page.body.contains("Gifting articles is for subscribers"),
                "{who}"
            );
            assert!(!page.body.contains("?gift="), "{who}");
        }
    }
    assert_eq!(gifts_kept(&app), 0);

    // Control: a subscriber sees the form and gifts.
    let giver = subscriber(&app, "giver@example.com").await;
    let page = giver.read_article(newest).await;
    assert!(page.body.contains(&form));
    assert!(page.body.contains("10 of 10 gifts left this month"));
    assert_eq!(giver.gift_article(newest).await.status, StatusCode::OK);
    assert_eq!(gifts_kept(&app), 1);
    assert_eq!(
        giver.gift_article(999_999).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_gift_form_needs_the_sessions_csrf_token_from_this_site() {
    let app = TestApp::spawn().await;
    let newest = newest_premium(&app);
    let giver = subscriber(&app, "giver@example.com").await;
    let path = format!("/articles/{newest}/gift");
    let page = giver.read_article(newest).await;
    let token = page.csrf_token();
    let someone_elses = Reader::new(&app).csrf_token().await;

    let refused = [
        giver.post(&path, &[]).await,
        giver.post(&path, &[("csrf_token", "")]).await,
        giver.post(&path, &[("csrf_token", "not the token")]).await,
        giver.post(&path, &[("csrf_token", &someone_elses)]).await,
        giver
            .post_with_headers(
                &path,
                &[("csrf_token", &token)],
                &[("Origin", "https://evil.example")],
            )
            .await,
        giver
            .post_with_headers(
                &path,
                &[("csrf_token", &token)],
                &[("Sec-Fetch-Site", "cross-site")],
            )
            .await,
        giver
            .post_raw(&path, Some("application/json"), b"{}".to_vec())
            .await,
    ];
    for (n, page) in refused.iter().enumerate() {
        assert_eq!(page.status, StatusCode::FORBIDDEN, "attempt {n}");
    }
    assert_eq!(gifts_kept(&app), 0);
    let page = giver.post(&path, &[("csrf_token", &token)]).await;
    assert_eq!(page.status, StatusCode::OK, "control");
    assert_eq!(gifts_kept(&app), 1);
}

#[tokio::test]
async fn a_month_allows_its_gifts_the_same_article_again_is_free_and_renews_the_link() {
    let app = TestApp::builder()
        .settings(|s| s.gift_articles_per_month = 2)
        .start()
        .await;
    app.clock.set(EARLY_DECEMBER);
    let premium = app.premium_ids();
    let (a, b, c) = (newest_premium(&app), premium[6], premium[5]);
    let giver = subscriber(&app, "giver@example.com").await;
    assert!(
        giver
            .read_article(a)
            .await
            .body
            .contains("2 of 2 gifts left this month")
    );

    let first = giver.gift_article(a).await;
    assert!(first.body.contains("That was one of your gifts"));
    assert!(first.body.contains("1 of 2 gifts left this month"));
    let first_link = gift_link_in(&first.body);

    app.clock.advance(Duration::days(5));
    let again = giver.gift_article(a).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.body.contains("this cost no gift"));
    assert!(again.body.contains("1 of 2 gifts left this month"));
    assert!(again.body.contains("until 20 December 2026"));
    let renewed_link = gift_link_in(&again.body);
    assert_ne!(renewed_link, first_link, "the link opens for longer");

    assert!(
        giver
            .gift_article(b)
            .await
            .body
            .contains("0 of 2 gifts left")
    );
    let page = giver.read_article(c).await;
    assert!(page.body.contains("0 of 2 gifts left this month"));
    let refused = giver.gift_article(c).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("No gifts left this month"));
    assert!(refused.body.contains("1 January 2027"));
    assert!(!refused.body.contains("?gift="));
    assert_eq!(giver.gift_article(a).await.status, StatusCode::OK, "again");
    assert_eq!(gifts_kept(&app), 2);

    // Both links open the article until their own end.
    let visitor = past_the_meter(&app).await;
    app.clock.set(EARLY_DECEMBER + Duration::days(15));
    assert!(!visitor.get(&first_link).await.body.contains(BODY));
    assert!(visitor.get(&renewed_link).await.body.contains(BODY));

    // A new month brings new gifts (the giver's login has ended meanwhile).
    app.clock.set(datetime!(2027-01-01 0:00 UTC));
    giver.log_in("giver@example.com", PASSWORD).await;
    let page = giver.read_article(a).await;
    assert!(page.body.contains("2 of 2 gifts left this month"));
    assert!(
        page.body.contains(">Gift this article<"),
        "not gifted this month"
    );
    let new_month = giver.gift_article(c).await;
    assert_eq!(new_month.status, StatusCode::OK);
    assert!(new_month.body.contains("1 of 2 gifts left this month"));
    assert_eq!(gifts_kept(&app), 3);
}

#[tokio::test]
async fn a_free_article_costs_no_gift_and_gifting_can_be_turned_off() {
    let app = TestApp::builder()
        .settings(|s| s.gift_articles_per_month = 0)
        .start()
        .await;
    let giver = subscriber(&app, "giver@example.com").await;
    let free = app.free_ids()[0];
    let page = giver.gift_article(free).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("This article is free to read"));
    assert!(!gift_link_in(&page.body).contains("?gift="));
    let newest = newest_premium(&app);
    assert!(
        !giver
            .read_article(newest)
            .await
            .body
            .contains("Gift this article"),
        "no form when gifting is off"
    );
    let off = giver.gift_article(newest).await;
    assert_eq!(off.status, StatusCode::CONFLICT);
    assert!(off.body.contains("Gifting articles is turned off"));
    assert_eq!(gifts_kept(&app), 0);
}

#[tokio::test]
async fn a_deleted_accounts_gifts_open_nothing_more() {
    let app = TestApp::spawn().await;
    let newest = newest_premium(&app);
    let giver = subscriber(&app, "giver@example.com").await;
    let link = gift_link(&giver, newest).await;
    let visitor = past_the_meter(&app).await;
    assert!(visitor.get(&link).await.body.contains(BODY));

    let deleted = giver.delete_account("delete my account", PASSWORD).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(gifts_kept(&app), 0);
    let page = visitor.get(&link).await;
    assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED);
    assert_not_gifted(&page, "after the giver left");
}

#[tokio::test]
async fn gifts_are_pruned_once_their_month_is_past_and_their_link_has_run_out() {
    let app = TestApp::spawn().await;
    let premium = app.premium_ids();
    let giver = subscriber(&app, "giver@example.com").await;
    gift_link(&giver, premium[0]).await; // 26 November, open until 10 December
    app.clock.set(EARLY_DECEMBER);
    gift_link(&giver, premium[1]).await; // 1 December, open until 15 December
    let mut conn = app.connect();
    let prune = |conn: &mut PgConnection, now: OffsetDateTime| {
        gazette::db::article_gifts::prune(
            conn,
            now,
            gazette::domain::meter::Month::of(now).first_day(),
        )
        .unwrap()
    };

    assert_eq!(prune(&mut conn, datetime!(2026-12-09 0:00 UTC)), 0, "open");
    assert_eq!(prune(&mut conn, datetime!(2026-12-20 0:00 UTC)), 1);
    assert_eq!(
        gifts_kept(&app),
        1,
        "December's gift still counts in December"
    );
    app.clock.set(datetime!(2026-12-12 0:00 UTC));
    giver.get("/").await; // the login stays alive
    app.clock.set(datetime!(2026-12-20 0:00 UTC));
    assert!(
        giver
            .read_article(premium[2])
            .await
            .body
            .contains("9 of 10 gifts left this month")
    );
    assert_eq!(prune(&mut conn, datetime!(2027-01-01 0:00 UTC)), 1);
    assert_eq!(gifts_kept(&app), 0);
}
