//! Mail as an operator meets it: the sender stops between messages, never in the middle of
//! one, and the tokens of mailed links never reach the logs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gazette::mail::{MailWakeup, Mailer, Message, SendFuture};
use gazette::models::NewOutboxMail;
use tokio::sync::Semaphore;

use crate::operations::running::RunningBinary;
use crate::support::mailbox::Mailbox;
use crate::support::{START, TestApp, TestDatabase};

/// A mail server that takes its time: each message waits until the test lets it through.
struct HeldMailer {
    started: Semaphore,
    release: Semaphore,
    sent: Mutex<Vec<String>>,
}

impl Mailer for HeldMailer {
    fn send<'a>(&'a self, message: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            self.started.add_permits(1);
            let _through = self.release.acquire().await.expect("the gate stays open");
            self.sent.lock().unwrap().push(message.to.clone());
            Ok(())
        })
    }

    fn describe(&self) -> String {
        "a held mailer".to_string()
    }
}

#[tokio::test]
async fn the_mail_sender_finishes_the_message_it_is_sending_then_stops() {
    let db = Arc::new(
        tokio::task::spawn_blocking(TestDatabase::create)
            .await
            .unwrap(),
    );
    let mut conn = db.connect();
    for recipient in ["first@example.com", "second@example.com"] {
        gazette::db::outbox::enqueue(
            &mut conn,
            &NewOutboxMail {
                kind: "account_deleted",
                recipient,
                user_id: None,
                detail: "",
                created_at: START,
                next_attempt_at: START,
                expires_at: START + time::Duration::days(3),
            },
        )
        .unwrap();
    }
    let mailer = Arc::new(HeldMailer {
        started: Semaphore::new(0),
        release: Semaphore::new(0),
        sent: Mutex::new(Vec::new()),
    });
    let lifecycle = gazette::lifecycle::Lifecycle::default();
    let sender = gazette::outbox::Outbox {
        pool: gazette::db::pool(&db.url, 2),
        clock: Arc::new(gazette::clock::ManualClock::new(START)),
        mailer: mailer.clone(),
        wakeup: MailWakeup::default(),
        site_url: "http://gazette.test".to_string(),
        newsletter_links: gazette::domain::newsletter::NewsletterLinks::new(
            b"a secret of the test site, long enough",
        ),
        gift_links: gazette::domain::gift_subscription::GiftSubscriptionLinks::new(
            b"a secret of the test site, long enough",
        ),
    }
    .spawn(lifecycle.clone());

    let _first = tokio::time::timeout(Duration::from_secs(10), mailer.started.acquire())
        .await
        .expect("the first message is being sent");
    lifecycle.advance(gazette::lifecycle::Phase::Stopping);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !sender.is_finished(),
        "a message being sent is not abandoned"
    );

    mailer.release.add_permits(10);
    tokio::time::timeout(Duration::from_secs(5), sender)
        .await
        .expect("the sender stops once the message is sent")
        .unwrap();
    assert_eq!(*mailer.sent.lock().unwrap(), ["first@example.com"]);
    let waiting: i64 = {
        use diesel::prelude::*;
        gazette::schema::mail_outbox::table
            .count()
            .get_result(&mut conn)
            .unwrap()
    };
    assert_eq!(waiting, 1, "the second message waits for the next start");
}

#[tokio::test]
async fn the_tokens_of_mailed_links_never_reach_the_logs() {
    let mailbox = Mailbox::start().await;
    let binary = RunningBinary::start(&[
        ("RUST_LOG", "debug"),
        ("SMTP_URL", &mailbox.url()),
        ("SESSION_KEY", &"k".repeat(64)),
    ])
    .await;
    let app = TestApp {
        mailbox: mailbox.clone(),
        address: binary.address.clone(),
        port: binary.port,
        clock: Arc::new(gazette::clock::ManualClock::new(START)),
        db: binary.db.clone(),
        settings: gazette::config::Settings::for_database(&binary.db.url),
    };
    let owner = crate::helpers::Reader::signed_up(&app, "owner@example.com").await;
    owner.forgot_password("owner@example.com").await;
    let reset = mailbox.next_for("owner@example.com", 0).await;
    assert_eq!(
        owner.get(&reset.link_path()).await.status,
        reqwest::StatusCode::OK
    );
    owner
        .reset_password(&reset.token(), "copper kettle meadow 77")
        .await;
    owner
        .change_email("moved@example.com", "copper kettle meadow 77")
        .await;
    let confirm = mailbox.next_for("moved@example.com", 0).await;
    assert_eq!(
        owner.get(&confirm.link_path()).await.status,
        reqwest::StatusCode::OK
    );
    owner.confirm_email(&confirm.token()).await;
    let lines = binary.stop().await;

    let all = lines.join("\n");
    assert!(
        all.contains("/password/reset?token=[redacted]"),
        "the request is logged"
    );
    for token in [reset.token(), confirm.token()] {
        assert!(!all.contains(&token), "a mailed token is in the logs");
    }
    assert!(all.contains("mail sent") && all.contains("mail sender stopped"));
}
