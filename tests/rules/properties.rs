//! Properties of the pure rules, for any input: the paywall never grants more than the
//! allowance, the meter survives the cookie, a change of plan never credits more than was paid,
//! and `next` never leaves the site.

use std::collections::{BTreeSet, HashMap};

use actix_web::cookie::{Cookie, CookieJar, Key};
use gazette::domain::access::{Access, ReaderKind, decide};
use gazette::domain::ids::{ArticleId, SubscriptionId};
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
}
