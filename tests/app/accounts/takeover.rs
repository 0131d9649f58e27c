//! Taking an account back from someone who learned its password. The intruder asks for the
//! account's address to become theirs; the owner notices and resets the password, changes it,
//! or logs out everywhere. Whatever the intruder started must end with that: their login, the
//! confirmation link already in their inbox, and the mail still waiting in the outbox to carry
//! a link, even one a sender had already taken when the owner acted.

use std::sync::{Arc, Mutex};

use gazette::mail::{MailWakeup, Mailer, Message, SendFuture};
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

const OWNER: &str = "owner@example.com";
const INTRUDER: &str = "intruder@example.com";
const NEW_PASSWORD: &str = "copper kettle meadow 77";

/// How the owner takes the account back.
#[derive(Clone, Copy, Debug)]
enum Recovery {
    /// A reset link asked for at `/password/forgot`, and a new password through it.
    Reset,
    /// A new password from the account's page.
    Change,
    /// Every login ended from the account's page (the password stays).
    LogOutEverywhere,
}

const RECOVERIES: [Recovery; 3] = [
    Recovery::Reset,
    Recovery::Change,
    Recovery::LogOutEverywhere,
];

impl Recovery {
    /// Takes the account back from `owner`'s browser; returns the password it has now.
    async fn take_back(self, app: &TestApp, owner: &Reader<'_>) -> &'static str {
        match self {
            Recovery::Reset => {
                let before = app.mailbox.delivered_to(OWNER).len();
                let browser = Reader::new(app);
                assert_eq!(browser.forgot_password(OWNER).await.status, StatusCode::OK);
                let mail = app.mailbox.next_for(OWNER, before).await;
                let page = browser.reset_password(&mail.token(), NEW_PASSWORD).await;
                assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
                NEW_PASSWORD
            }
            Recovery::Change => {
                let page = owner.change_password(PASSWORD, NEW_PASSWORD).await;
                assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
                NEW_PASSWORD
            }
            Recovery::LogOutEverywhere => {
                let token = owner.csrf_token().await;
                let page = owner
                    .post("/account/sessions/logout-all", &[("csrf_token", &token)])
                    .await;
                assert_eq!(page.status, StatusCode::SEE_OTHER);
                PASSWORD
            }
        }
    }
}

/// The owner signed up, and the intruder logged in with the password from another browser.
async fn intruded(app: &TestApp) -> (Reader<'_>, Reader<'_>) {
    let owner = Reader::signed_up(app, OWNER).await;
    let intruder = Reader::new(app);
    assert_eq!(
        intruder.log_in(OWNER, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    (owner, intruder)
}

/// What the intruder does with a confirmation link once the owner has acted: opens it and
/// presses its button from a browser with no login at all, then, if the address moved, resets
/// the password at their own address. Returns the statuses of the page and of the button.
async fn use_confirmation_link(app: &TestApp, token: &str) -> (StatusCode, StatusCode) {
    let stranger = Reader::new(app);
    let page = stranger
        .get(&format!("/account/email/confirm?token={token}"))
        .await;
    let button = stranger.confirm_email(token).await;
    if button.status == StatusCode::SEE_OTHER {
        let before = app.mailbox.delivered_to(INTRUDER).len();
        stranger.forgot_password(INTRUDER).await;
        let reset = app.mailbox.next_for(INTRUDER, before).await;
        stranger
            .reset_password(&reset.token(), "the intruder's own phrase 5")
            .await;
    }
    (page.status, button.status)
}

/// The account is still the owner's: at its address, with the password it was left with.
async fn assert_still_the_owners(app: &TestApp, how: Recovery, password: &str) {
    assert!(
        user_id_of(app, OWNER).is_some(),
        "{how:?}: the account left the owner's address"
    );
    assert_eq!(user_id_of(app, INTRUDER), None, "{how:?}");
    assert_eq!(
        Reader::new(app).log_in(OWNER, password).await.status,
        StatusCode::SEE_OTHER,
        "{how:?}: the owner can no longer log in"
    );
}

#[tokio::test]
async fn a_confirmation_link_in_the_intruders_inbox_dies_with_each_way_of_taking_the_account_back()
{
    for how in RECOVERIES {
        let app = TestApp::spawn().await;
        let (owner, intruder) = intruded(&app).await;
        let page = intruder.change_email(INTRUDER, PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        let link = app.mailbox.next_for(INTRUDER, 0).await;

        let password = how.take_back(&app, &owner).await;
        assert_eq!(
            intruder.get("/account").await.status,
            StatusCode::SEE_OTHER,
            "{how:?}: the intruder's login ended"
        );

        let (page, button) = use_confirmation_link(&app, &link.token()).await;
        assert_eq!(
            (page, button),
            (StatusCode::GONE, StatusCode::GONE),
            "{how:?}: the intruder's confirmation link still works after the owner took the \
             account back"
        );
        assert_still_the_owners(&app, how, password).await;
        assert_eq!(
            rows_in(&app, "account_tokens"),
            0,
            "{how:?}: no link is left"
        );
    }
}

#[tokio::test]
async fn mail_waiting_to_carry_a_link_brings_no_working_link_once_the_account_is_taken_back() {
    for how in RECOVERIES {
        let app = TestApp::spawn().await;
        let (owner, intruder) = intruded(&app).await;
        // The mail server is down for the intruder's two requests: an address change, and a
        // reset for the account's address. Both wait in the outbox for their next attempt.
        app.mailbox.turn_away(2);
        assert_eq!(
            intruder.change_email(INTRUDER, PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(intruder.forgot_password(OWNER).await.status, StatusCode::OK);
        app.mailbox.wait_turned_away(2).await;
        eventually("both failures are recorded", || {
            outbox_errors(&app).len() == 2
        })
        .await;

        let password = how.take_back(&app, &owner).await;
        let delivered_before = app.mailbox.delivered().len();

        // Past the retry: whatever still waits is sent now.
        app.clock.advance(Duration::seconds(3));
        eventually("the outbox empties", || outbox(&app).is_empty()).await;
        let late = &app.mailbox.delivered()[delivered_before..];
        for mail in late.iter().filter(|mail| mail.text.contains("token=")) {
            let page = Reader::new(&app).get(&mail.link_path()).await;
            assert_eq!(
                page.status,
                StatusCode::GONE,
                "{how:?}: mail asked for before the owner took the account back brought a \
                 working link to {:?}: {}",
                mail.to,
                mail.subject
            );
        }
        assert_eq!(
            rows_in(&app, "account_tokens"),
            0,
            "{how:?}: no link was made"
        );
        assert_still_the_owners(&app, how, password).await;
    }
}

/// A mailer that keeps what it is given, as another instance's mail sender would send it.
#[derive(Default)]
struct KeptMail(Mutex<Vec<Message>>);

impl Mailer for KeptMail {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        self.0.lock().unwrap().push(message.clone());
        Box::pin(async { Ok(()) })
    }

    fn describe(&self) -> String {
        "kept in memory".to_string()
    }
}

#[tokio::test]
async fn a_link_mail_another_sender_took_just_before_the_account_was_taken_back_makes_no_link() {
    for how in RECOVERIES {
        let app = TestApp::spawn().await;
        let (owner, intruder) = intruded(&app).await;
        app.mailbox.turn_away(1);
        intruder.change_email(INTRUDER, PASSWORD).await;
        app.mailbox.wait_turned_away(1).await;
        eventually("the failure is recorded", || outbox_errors(&app).len() == 1).await;

        // Another instance's sender, whose clock is past the retry, takes the mail...
        let later = START + Duration::minutes(1);
        let taken =
            gazette::db::outbox::claim_next(&mut app.connect(), later, Duration::minutes(2))
                .expect("claiming")
                .expect("the address change waits in the outbox");
        assert_eq!(taken.kind, "email_change");

        // ...the owner takes the account back meanwhile...
        let password = how.take_back(&app, &owner).await;

        // ...and the sender carries on with the mail it took.
        let kept = Arc::new(KeptMail::default());
        let sender = gazette::outbox::Outbox {
            pool: gazette::db::pool(&app.db.url, 2),
            clock: Arc::new(gazette::clock::ManualClock::new(later)),
            mailer: kept.clone(),
            wakeup: MailWakeup::default(),
            site_url: app.address.clone(),
            newsletter_links: gazette::domain::newsletter::NewsletterLinks::new(
                b"a secret of the test site, long enough",
            ),
            gift_links: gazette::domain::gift_subscription::GiftSubscriptionLinks::new(
                b"a secret of the test site, long enough",
            ),
        };
        sender.send(taken).await.expect("the sender's database");
        let sent = kept.0.lock().unwrap().clone();
        for message in sent.iter().filter(|m| m.text.contains("token=")) {
            let token = message
                .text
                .split("token=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("a token");
            let (page, button) = use_confirmation_link(&app, token).await;
            assert_eq!(
                (page, button),
                (StatusCode::GONE, StatusCode::GONE),
                "{how:?}: a link made after the owner took the account back works"
            );
        }
        assert_eq!(rows_in(&app, "account_tokens"), 0, "{how:?}");
        assert_still_the_owners(&app, how, password).await;
    }
}

/// What the intruder sends with the password they know.
#[derive(Clone, Copy, Debug)]
enum Attempt {
    LogIn,
    ChangeEmail,
    ChangePassword,
    Delete,
}

impl Attempt {
    async fn send(self, intruder: &Reader<'_>) -> Page {
        match self {
            Attempt::LogIn => intruder.log_in(OWNER, PASSWORD).await,
            Attempt::ChangeEmail => intruder.change_email(INTRUDER, PASSWORD).await,
            Attempt::ChangePassword => intruder.change_password(PASSWORD, NEW_PASSWORD).await,
            Attempt::Delete => intruder.delete_account("delete my account", PASSWORD).await,
        }
    }

    /// Where the refusal sends the intruder: to log in again.
    fn refused_to(self) -> &'static str {
        match self {
            Attempt::LogIn => "/login?next=/account",
            Attempt::ChangeEmail => "/login?next=/account/email",
            Attempt::ChangePassword => "/login?next=/account",
            Attempt::Delete => "/login?next=/account/delete",
        }
    }
}

#[tokio::test]
async fn a_password_checked_just_before_every_login_ended_changes_nothing_after_it() {
    for attempt in [
        Attempt::LogIn,
        Attempt::ChangeEmail,
        Attempt::ChangePassword,
        Attempt::Delete,
    ] {
        let app = TestApp::spawn().await;
        let (_owner, intruder) = intruded(&app).await;
        if let Attempt::LogIn = attempt {
            intruder.log_out().await;
        }
        let id = gazette::domain::ids::UserId::new(user_id(&app, OWNER));
        // The owner logs out everywhere while the intruder's password is being checked: the
        // intruder's request read the account before that committed, and reaches the
        // reader's lock after.
        let page = while_held(
            &app,
            1,
            move |conn| {
                gazette::db::users::lock(conn, id).unwrap();
                gazette::auth::login::end_every_login(conn, id, START).unwrap();
            },
            attempt.send(&intruder),
        )
        .await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, Some(attempt.refused_to())),
            "{attempt:?}: a request whose password was checked before every login ended went \
             through"
        );

        // The owner's change came from outside this instance, as from another one: it reaches
        // this instance's caches through the listener.
        assert!(
            answers_within_a_second(&intruder, "/account", StatusCode::SEE_OTHER).await,
            "{attempt:?}: the intruder is logged in"
        );
        eventually("the outbox empties", || outbox(&app).is_empty()).await;
        assert!(
            app.mailbox.delivered_to(INTRUDER).is_empty(),
            "{attempt:?}: a confirmation link went to the intruder"
        );
        assert_still_the_owners(&app, Recovery::LogOutEverywhere, PASSWORD).await;
    }
}
