//! Properties of the pure rules, for any input: the paywall never grants more than the
//! allowance, the meter survives the cookie, a change of plan never credits more than was paid,
//! `next` never leaves the site, a month's gifts never pass their allowance, and a gift link
//! opens only what it was signed for.

use std::collections::{BTreeSet, HashMap};

use actix_web::cookie::{Cookie, CookieJar, Key};
use gazette::domain::access::{Access, ReaderKind, decide};
use gazette::domain::article_gift::{self, GiftLinks, GiftPass, Gifting};
use gazette::domain::ids::{ArticleGiftId, ArticleId, SubscriptionId};
use gazette::domain::meter::{MAX_FREE_ARTICLES_PER_MONTH, Meter, Month};
use gazette::domain::redirect::safe_next;
use gazette::domain::subscription::{Change, Current, Standing, Terms, change};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

fn month() -> impl Strategy<Value = Month> {
    (1971i32..2200, 1u8..=12).prop_map(|(year, month)| {
        Month::parse(&format!("{year:04}-{month:02}")).expect("a valid month")
    })
}

fn moment() -> impl Strategy<Value = OffsetDateTime> {
    // 1990 to 2100.
    (631_152_000i64..4_102_444_800).prop_map(|seconds| {
        OffsetDateTime::from_unix_timestamp(seconds).expect("a representable moment")
    })
}

proptest! {
    /// A reader on the meter, opening any sequence of articles, reads at most the allowance of
    /// distinct premium articles beyond those already on the meter; re-reading never counts.
    #[test]
    fn the_paywall_never_grants_more_than_the_allowance(
        already in proptest::collection::vec((1i64..200).prop_map(ArticleId::new), 0..60),
        opens in proptest::collection::vec(((1i64..200).prop_map(ArticleId::new), any::<bool>()), 0..120),
        allowance in 0u32..=MAX_FREE_ARTICLES_PER_MONTH,
        month in month(),
    ) {
        let mut meter = Meter::with_opened(month, already);
        let before: BTreeSet<ArticleId> = meter.opened().iter().copied().collect();
        let mut read_premium = BTreeSet::new();
        for (article, premium) in opens {
            match decide(article, premium, ReaderKind::OnTheMeter, &meter, allowance) {
                Access::Open => prop_assert!(!premium, "a premium article opened off the meter"),
                Access::Metered { newly_counted } => {
                    prop_assert!(premium);
                    prop_assert_eq!(newly_counted, !meter.has_opened(article));
                    if newly_counted {
                        prop_assert!(meter.used() < allowance);
                        meter.record(article);
                    }
                    read_premium.insert(article);
                }
                Access::Paywalled => {
                    prop_assert!(premium && !meter.has_opened(article));
                    prop_assert!(meter.used() >= allowance);
                }
            }
        }
        let new: Vec<&ArticleId> = read_premium.difference(&before).collect();
        prop_assert!(new.len() <= allowance.saturating_sub(u32::try_from(before.len()).unwrap()) as usize);
    }

    /// Whatever the reader, a free article is open and a subscriber reads everything.
    #[test]
    fn free_articles_and_subscribers_never_touch_the_meter(
        opened in proptest::collection::vec((1i64..200).prop_map(ArticleId::new), 0..60),
        article in (1i64..200).prop_map(ArticleId::new),
        allowance in 0u32..=MAX_FREE_ARTICLES_PER_MONTH,
        month in month(),
    ) {
        let meter = Meter::with_opened(month, opened);
        prop_assert_eq!(decide(article, false, ReaderKind::OnTheMeter, &meter, allowance), Access::Open);
        prop_assert_eq!(decide(article, true, ReaderKind::ReadsEverything, &meter, allowance), Access::Open);
    }

    /// The meter goes into the encrypted session cookie as the session store writes it, comes
    /// back the same, and the cookie stays under the 4 KB browsers keep.
    #[test]
    fn a_meter_round_trips_through_the_cookie(
        opened in proptest::collection::vec(any::<i64>().prop_map(ArticleId::new), 0..200),
        month in month(),
    ) {
        let meter = Meter::with_opened(month, opened);
        prop_assert!(meter.used() <= MAX_FREE_ARTICLES_PER_MONTH);
        let key = Key::generate();
        let state: HashMap<String, String> =
            HashMap::from([("meter".to_string(), serde_json::to_string(&meter).unwrap())]);
        let mut jar = CookieJar::new();
        jar.private_mut(&key)
            .add(Cookie::new("gazette_session", serde_json::to_string(&state).unwrap()));
        let sealed = jar.get("gazette_session").unwrap().to_string();
        prop_assert!(sealed.len() < 4096, "the cookie is {} bytes", sealed.len());

        let mut arriving = CookieJar::new();
        arriving.add_original(Cookie::parse(sealed).unwrap());
        let opened = arriving.private(&key).get("gazette_session").expect("it decrypts");
        let state: HashMap<String, String> = serde_json::from_str(opened.value()).unwrap();
        let back: Meter = serde_json::from_str(&state["meter"]).unwrap();
        prop_assert_eq!(Meter::for_month(Some(back), month), meter);
    }

    /// Switching plans credits at most the unused value of what the current period was worth,
    /// never charges a negative amount nor more than the new plan's price, and never shortens
    /// what was paid for.
    #[test]
    fn a_plan_switch_never_credits_more_than_was_paid(
        value_cents in 0i32..2_000_000,
        price_cents in 1i32..2_000_000,
        period_months in 1i32..=36,
        start in moment(),
        length_days in 1i64..1200,
        elapsed_permille in 0i64..=1200,
        canceled in any::<bool>(),
    ) {
        let end = start + Duration::days(length_days);
        let now = start + Duration::seconds((end - start).whole_seconds() * elapsed_permille / 1000);
        let current = Current {
            id: SubscriptionId::new(1),
            plan_code: "monthly".to_string(),
            value_cents,
            standing: Standing::of(
                if canceled {
                    gazette::domain::subscription::Status::Canceled
                } else {
                    gazette::domain::subscription::Status::Active
                },
                end,
                now,
            ),
            period_start: start,
        };
        let plan = Terms { plan_code: "yearly".to_string(), price_cents, period_months };
        match change(Some(&current), &plan, now) {
            Change::Start { charge_cents, value_cents: new_value, period_end } => {
                prop_assert!((0..=price_cents).contains(&charge_cents));
                let credit = if charge_cents == 0 { new_value } else { price_cents - charge_cents };
                prop_assert!(credit <= value_cents, "credit {credit} of a period worth {value_cents}");
                prop_assert!(new_value >= charge_cents);
                prop_assert!(period_end > now);
                if charge_cents == 0 && now < end {
                    prop_assert!(period_end >= end, "a switch on credit shortened the paid period");
                }
            }
            other => prop_assert!(false, "switching plans gave {other:?}"),
        }
    }

    /// Wherever `next` points, the reader is sent to a path on this site.
    #[test]
    fn safe_next_never_leaves_the_site(next in any::<String>(), tricky in "[/\\\\@:.a-z%\t ]{0,12}") {
        let site = url::Url::parse("https://gazette.example/account").unwrap();
        for candidate in [next.as_str(), tricky.as_str()] {
            let target = safe_next(Some(candidate));
            prop_assert!(target.starts_with('/'));
            let joined = site.join(&target);
            prop_assert!(joined.is_ok(), "{target:?} is not a usable address");
            let joined = joined.unwrap();
            prop_assert_eq!(joined.host_str(), Some("gazette.example"), "{:?} leaves the site", target);
            prop_assert_eq!(joined.scheme(), "https");
        }
    }

    /// Any sequence of gift requests gives at most the allowance of distinct articles, and an
    /// article asked for again is the same gift, whatever is left.
    #[test]
    fn a_months_gifts_never_pass_the_allowance(
        asks in proptest::collection::vec((1i64..40).prop_map(ArticleId::new), 0..80),
        allowance in 0u32..=article_gift::MAX_GIFT_ARTICLES_PER_MONTH,
    ) {
        let mut given: Vec<ArticleId> = Vec::new();
        for article in asks {
            let was_given = given.contains(&article);
            match article_gift::decide(&given, article, allowance) {
                Gifting::Again => prop_assert!(was_given),
                Gifting::New => {
                    prop_assert!(!was_given);
                    prop_assert!(article_gift::left(&given, allowance) > 0);
                    given.push(article);
                }
                Gifting::UsedUp => {
                    prop_assert!(!was_given, "an article gifted already was refused");
                    prop_assert_eq!(article_gift::left(&given, allowance), 0);
                }
            }
            prop_assert!(given.len() <= allowance as usize);
        }
    }

    /// A gift link reads back as what was signed; any one byte changed, or another key, reads
    /// as nothing; and it opens its own article only, before its end only.
    #[test]
    fn a_gift_link_opens_only_what_it_was_signed_for(
        gift in 1i64..i64::MAX,
        article in 1i64..i64::MAX,
        expires_at in moment(),
        now in moment(),
        other_article in 1i64..i64::MAX,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let links = GiftLinks::new(b"the site's secret, long enough for the property tests");
        let pass = GiftPass {
            gift_id: ArticleGiftId::new(gift),
            article_id: ArticleId::new(article),
            expires_at,
        };
        let token = links.token(&pass);
        prop_assert_eq!(links.read(&token), Some(pass));
        prop_assert_eq!(GiftLinks::new(b"another site's secret").read(&token), None);
        let mut changed = token.clone().into_bytes();
        let at = at.index(changed.len());
        prop_assume!(changed[at] != byte);
        changed[at] = byte;
        let changed = String::from_utf8_lossy(&changed).into_owned();
        prop_assert_eq!(links.read(&changed), None, "{} opened as {}", changed, token);
        prop_assert_eq!(pass.opens(ArticleId::new(article), now), now < expires_at);
        if other_article != article {
            prop_assert!(!pass.opens(ArticleId::new(other_article), now));
        }
    }
}
