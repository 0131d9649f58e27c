//! Markdown to safe HTML, done once when an article is stored rather than on every request.

use pulldown_cmark::{Options, Parser, html};

/// Renders Markdown and sanitises the result: whatever an author (or an attacker who got hold
/// of an author's account) writes, no script, event handler or foreign frame reaches a reader.
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_common_markdown() {
        let html = to_safe_html("## Heading\n\nSome *emphasis* and a list:\n\n- one\n- two\n");
        assert!(html.contains("<h2>Heading</h2>"));
        assert!(html.contains("<em>emphasis</em>"));
        assert!(html.contains("<li>one</li>"));
    }

    #[test]
    fn strips_scripts_and_event_handlers() {
        let html = to_safe_html(
            "Hi <script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))",
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("onerror"));
        assert!(!html.contains("javascript:"));
    }
}
