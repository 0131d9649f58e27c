//! An article as the newsletter's two letters: the whole article (for subscribers, and for
//! everyone when the article is free) and its opening (title and teaser, as the paywall shows
//! them, with an invitation to subscribe), and a letter made out to one reader.
//!
//! Rules: the opening is rendered from the article's title, teaser and feature image only; its
//! body is never given to the template. Pictures are addressed absolutely (a mail program is
//! not on the site). A reader's links are the signed ones of `domain::newsletter`.

use lettre::Address;
use lettre::message::Mailbox;

use crate::domain::ids::{SignupId, UserId};
use crate::domain::media::scaled_height;
use crate::domain::newsletter::{Member, NewsletterLinks, preferences_url, unsubscribe_url};
use crate::mail::messages::SITE_NAME;
use crate::mail::newsletter::{self as letter, Article, Body, COLUMN_WIDTH, Letter, MailPicture};
use crate::markdown::{self, with_absolute_media};
use crate::models::{DeskArticle, Feature, article_path};

/// Both letters of one article.
pub struct Letters {
    pub whole: Letter,
    pub opening: Letter,
}

impl Letters {
    /// The letters of `article` with its feature image `feature`, whose links lead to
    /// `public_url`.
    pub fn of(
        article: &DeskArticle,
        feature: Option<&Feature>,
        public_url: &str,
    ) -> Result<Self, askama::Error> {
        let site = public_url.trim_end_matches('/');
        let body_html = with_absolute_media(&article.body_html, site);
        // Sharp on screens of two pixels a point: twice the column.
        let src = feature.and_then(|feature| {
            let picture = &feature.picture;
            let variant = picture.variant_for(COLUMN_WIDTH * 2)?;
            Some(format!("{site}{}", picture.path_of(variant)))
        });
        let picture = || {
            let feature = feature?;
            let width = feature.picture.width.min(COLUMN_WIDTH);
            Some(MailPicture {
                src: src.as_deref()?,
                width,
                height: scaled_height(width, feature.picture.width, feature.picture.height),
                alt: &feature.alt,
                credit: &feature.credit,
            })
        };
        let url = format!("{site}{}", article_path(article.id, &article.slug));
        let subscribe_url = format!(
            "{site}/subscribe?next={}",
            article_path(article.id, &article.slug)
        );
        // The text part names each picture by what it shows.
        let text = markdown::pictures_as_words(&article.body_markdown);
        let version = |body| Article {
            site_name: SITE_NAME,
            title: &article.title,
            author: &article.author,
            teaser: &article.teaser,
            url: &url,
            subscribe_url: &subscribe_url,
            picture: picture(),
            body,
        };
        Ok(Self {
            whole: Letter::render(&version(Body::Whole {
                html: &body_html,
                markdown: &text,
            }))?,
            opening: if article.is_premium {
                Letter::render(&version(Body::Opening))?
            } else {
                // A free article is whole for everyone.
                Letter::render(&version(Body::Whole {
                    html: &body_html,
                    markdown: &text,
                }))?
            },
        })
    }

    pub fn version(&self, whole: bool) -> &Letter {
        if whole { &self.whole } else { &self.opening }
    }
}

/// Who a delivery is for, as the list knows them.
pub fn member_of(user_id: Option<UserId>, signup_id: Option<SignupId>) -> Option<Member> {
    user_id
        .map(Member::Account)
        .or(signup_id.map(Member::Signup))
}

/// What one letter needs to go out: who it is from, and the list's name.
#[derive(Clone)]
pub struct Envelope {
    pub from: Mailbox,
    /// `List-Id`'s address part, `newsletter.HOST`.
    pub list_id: String,
    pub public_url: String,
    pub links: NewsletterLinks,
}

impl Envelope {
    pub fn new(from: Mailbox, public_url: &str, links: NewsletterLinks) -> Self {
        let host = url::Url::parse(public_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".to_string());
        Self {
            from,
            list_id: format!("newsletter.{host}"),
            public_url: public_url.trim_end_matches('/').to_string(),
            links,
        }
    }

    /// `letter` made out to `member` at `to`, as the bytes that travel.
    pub fn message(
        &self,
        letter: &Letter,
        member: Member,
        to: &Address,
    ) -> Result<Vec<u8>, String> {
        let token = self.links.unsubscribe_token(member);
        let addressed = letter.for_reader(
            &unsubscribe_url(&self.public_url, &token),
            &preferences_url(&self.public_url, &token),
        );
        letter::message(&self.from, to, &addressed, &self.list_id, SITE_NAME)
    }
}
