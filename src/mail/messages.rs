//! The messages Gazette sends, one askama template each under `templates/mail/`. A template is
//! plain text whose first line is `Subject: ...`; the HTML part is made from the same text
//! (paragraphs, links on lines of their own, and a footer after a `--` line), escaped by the
//! HTML layout, so the two parts always say the same thing. Every message names the site and
//! says why the reader got it.

use askama::Template;

use super::Message;

/// The site's name in every message.
pub const SITE_NAME: &str = "Gazette";

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
pub struct PasswordReset<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
    pub link: &'a str,
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/email_change.txt")]
pub struct EmailChange<'a> {
    pub site_url: &'a str,
    pub new_email: &'a str,
    pub link: &'a str,
    pub hours: i64,
}

/// Sent instead of a confirmation link when the new address already has an account.
#[derive(Template)]
#[template(path = "mail/address_taken.txt")]
pub struct AddressTaken<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
}

#[derive(Template)]
#[template(path = "mail/password_changed.txt")]
pub struct PasswordChanged<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
    pub forgot_link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/email_changed.txt")]
pub struct EmailChanged<'a> {
    pub site_url: &'a str,
    pub old_email: &'a str,
    pub new_email: &'a str,
}

#[derive(Template)]
#[template(path = "mail/account_deleted.txt")]
pub struct AccountDeleted<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
}

/// The invitation to subscribe, a few days before complimentary or gift access ends.
#[derive(Template)]
#[template(path = "mail/access_ending.txt")]
pub struct AccessEnding<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
    /// The last day of the access, written out.
    pub until: &'a str,
    pub subscribe_link: &'a str,
}

/// A gift subscription, to its recipient, with the link that redeems it.
#[derive(Template)]
#[template(path = "mail/gift_received.txt")]
pub struct GiftReceived<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
    /// Who it is from: the name the buyer gave, else their address.
    pub from: &'a str,
    /// "3 months".
    pub months: &'a str,
    /// The buyer's message, each line quoted (`> `), or empty.
    pub quoted_message: &'a str,
    pub link: &'a str,
}

/// The notice that a free trial ends soon, and what happens then: the plan's price is
/// charged, or (`price` is `None`: no payment method) access ends.
#[derive(Template)]
#[template(path = "mail/trial_ending.txt")]
pub struct TrialEnding<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
    pub ends: &'a str,
    pub plan: &'a str,
    pub price: Option<String>,
}

/// The mail that confirms an address for the newsletter.
#[derive(Template)]
#[template(path = "mail/newsletter_confirmation.txt")]
pub struct ConfirmationMail<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
    pub link: &'a str,
    pub days: i64,
}

/// Sent instead of a confirmation to an address confirmed before that left the list.
#[derive(Template)]
#[template(path = "mail/newsletter_come_back.txt")]
pub struct ComeBackMail<'a> {
    pub site_url: &'a str,
    pub email: &'a str,
    pub link: &'a str,
}

/// One line of the HTML part: text, or a link on a line of its own.
pub struct Line {
    pub text: String,
    pub link: bool,
}

/// A paragraph of the HTML part; the footer is set smaller.
pub struct Block {
    pub lines: Vec<Line>,
    pub footer: bool,
}

#[derive(Template)]
#[template(path = "mail/layout.html")]
struct Html<'a> {
    site_name: &'a str,
    subject: &'a str,
    blocks: Vec<Block>,
}

/// Renders `template` into a message for `to`: the subject from its first line, the rest as
/// the plain text, and the HTML part made from that text.
pub fn compose(to: &str, template: &impl Template) -> Result<Message, askama::Error> {
    let rendered = template.render()?;
    let (first, rest) = rendered.split_once('\n').unwrap_or((&rendered, ""));
    let subject = first
        .strip_prefix("Subject:")
        .unwrap_or(first)
        .trim()
        .to_string();
    let text = format!("{}\n", rest.trim());
    let html = Html {
        site_name: SITE_NAME,
        subject: &subject,
        blocks: blocks_of(&text),
    }
    .render()?;
    Ok(Message {
        to: to.to_string(),
        subject,
        text,
        html,
    })
}

fn blocks_of(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut footer = false;
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let mut lines = Vec::new();
        for line in paragraph.lines() {
            if line.trim() == "--" {
                footer = true;
                continue;
            }
            let text = line.trim().to_string();
            let link = (text.starts_with("https://") || text.starts_with("http://"))
                && !text.contains(char::is_whitespace);
            lines.push(Line { text, link });
        }
        if !lines.is_empty() {
            blocks.push(Block { lines, footer });
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_takes_its_subject_from_the_first_line_and_says_the_same_in_both_parts() {
        let message = compose(
            "reader@example.com",
            &PasswordReset {
                site_url: "https://gazette.example",
                email: "reader@example.com",
                link: "https://gazette.example/password/reset?token=abc",
                minutes: 30,
            },
        )
        .unwrap();
        assert_eq!(
            message.subject,
            "Choose a new password for your Gazette account"
        );
        assert!(!message.text.starts_with("Subject"));
        assert!(
            message
                .text
                .contains("\nhttps://gazette.example/password/reset?token=abc\n")
        );
        assert!(
            message
                .html
                .contains("<a href=\"https://gazette.example/password/reset?token=abc\"")
        );
        assert!(message.text.contains("30 minutes") && message.html.contains("30 minutes"));
        assert!(message.text.contains("Gazette") && message.text.contains("because"));
    }

    #[test]
    fn what_readers_typed_is_escaped_in_the_html_part() {
        let message = compose(
            "x@example.com",
            &AddressTaken {
                site_url: "https://gazette.example",
                email: "<b>x</b>@example.com",
            },
        )
        .unwrap();
        assert!(
            message
                .html
                .contains("&#60;b&#62;x&#60;/b&#62;@example.com")
        );
        assert!(!message.html.contains("<b>x</b>"));
    }
}
