//! The one parser for note text: splits a body into plain text, #tags, @mentions
//! and links, and renders Mastodon-style HTML from that parse (never from user HTML).
//!
//! Written for Chinese as much as English: a tag ends at whitespace or any
//! punctuation, CJK punctuation included (，。、！？・～…), so `#猫咪，好可爱`
//! tags 猫咪; full-width `＃` starts a tag as `#` does, because Chinese input
//! methods type it.

/// One piece of parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    /// A tag as written (without `#`).
    Tag(&'a str),
    /// A mention's username (without `@`); `domain` is set for `@user@host`.
    Mention {
        username: &'a str,
        domain: Option<&'a str>,
    },
    Link(&'a str),
}

/// The longest tag kept; longer runs are left as text.
const MAX_TAG_CHARS: usize = 64;

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_combining_mark(c)
}

/// Combining marks and joiners that belong inside a word (e.g. Devanagari vowel
/// signs, or the zero-width joiner), which `is_alphanumeric` does not cover.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{200C}' | '\u{200D}' | '\u{3099}' | '\u{309A}')
}

fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A `#` or `@` only starts a tag or mention after the start of the text, or a
/// character that is not part of an ASCII word (so `a#b`, `me@mail.com` and
/// URL fragments are not tags, but `今天#猫咪` is).
fn can_start_after(previous: Option<char>) -> bool {
    match previous {
        None => true,
        Some(c) => !(c.is_ascii_alphanumeric() || c == '_' || c == '/' || c == '&' || c == '#' || c == '@' || c == '.'),
    }
}

/// Characters that may end a URL but are almost always sentence punctuation.
fn is_trailing_url_punctuation(c: char) -> bool {
    matches!(c, '.' | ',' | ':' | ';' | '!' | '?' | '\'' | '"' | ')' | ']' | '}' | '>' | '*')
}

/// Parses `text` into segments. Adjacent plain text is merged.
pub fn parse(text: &str) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    let mut text_start = 0;
    let mut index = 0;
    let bytes_len = text.len();
    let mut previous: Option<char> = None;
    while index < bytes_len {
        let rest = &text[index..];
        let c = rest.chars().next().unwrap_or_default();
        let found = if (c == '#' || c == '＃') && can_start_after(previous) {
            parse_tag(rest, c.len_utf8()).map(|(len, name)| (len, Segment::Tag(name)))
        } else if c == '@' && can_start_after(previous) {
            parse_mention(rest)
        } else if (c == 'h' || c == 'H') && can_start_after(previous) {
            parse_link(rest).map(|len| (len, Segment::Link(&rest[..len])))
        } else {
            None
        };
        match found {
            Some((len, segment)) => {
                if text_start < index {
                    segments.push(Segment::Text(&text[text_start..index]));
                }
                segments.push(segment);
                index += len;
                text_start = index;
                previous = text[..index].chars().next_back();
            }
            None => {
                index += c.len_utf8();
                previous = Some(c);
            }
        }
    }
    if text_start < bytes_len {
        segments.push(Segment::Text(&text[text_start..]));
    }
    segments
}

fn parse_tag(rest: &str, marker_len: usize) -> Option<(usize, &str)> {
    let body = &rest[marker_len..];
    let end = body.char_indices().find(|&(_, c)| !is_tag_char(c)).map(|(i, _)| i).unwrap_or(body.len());
    let name = &body[..end];
    let chars = name.chars().count();
    // Mastodon's rule: a tag needs something besides digits ("#1" is a number).
    if chars == 0 || chars > MAX_TAG_CHARS || name.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((marker_len + end, name))
}

fn parse_mention(rest: &str) -> Option<(usize, Segment<'_>)> {
    let body = &rest[1..];
    let end = body.find(|c: char| !is_username_char(c)).unwrap_or(body.len());
    if end == 0 || end > 30 {
        return None;
    }
    let username = &body[..end];
    // `@user@host.example` addresses a remote account.
    let after = &body[end..];
    if let Some(domain_part) = after.strip_prefix('@') {
        let domain_end = domain_part
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(domain_part.len());
        let domain = domain_part[..domain_end].trim_end_matches('.');
        if domain.contains('.') {
            return Some((1 + end + 1 + domain.len(), Segment::Mention { username, domain: Some(domain) }));
        }
    }
    Some((1 + end, Segment::Mention { username, domain: None }))
}

/// Recognises `http://` and `https://` links. A link ends at whitespace or the
/// first non-ASCII character: in Chinese text a URL is usually followed directly
/// by words (`https://a.cn/x看这里`), and such URLs are written percent-encoded.
fn parse_link(rest: &str) -> Option<usize> {
    let lower = rest.get(..8).unwrap_or(rest).to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let mut end = rest.find(|c: char| c.is_whitespace() || !c.is_ascii() || c == '<' || c == '"').unwrap_or(rest.len());
    // Drop trailing punctuation, but keep a ')' that closes a '(' inside the link.
    while end > scheme {
        let last = rest[..end].chars().next_back().unwrap_or_default();
        if last == ')' && rest[..end].matches('(').count() >= rest[..end].matches(')').count() {
            break;
        }
        if is_trailing_url_punctuation(last) {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    // A host is required.
    if end <= scheme || !rest[scheme..end].chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(end)
}

/// Normalises a tag for storage and lookup: lower case (Unicode-aware), so
/// `#Cat` and `#cat` are one tag.
pub fn normalize_tag(tag: &str) -> String {
    tag.to_lowercase()
}

/// The distinct normalised tags of a parse, in order of first appearance.
pub fn tags(segments: &[Segment<'_>]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for segment in segments {
        if let Segment::Tag(name) = segment {
            let tag = normalize_tag(name);
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
    }
    tags
}

/// The distinct local usernames mentioned, lower-cased, in order.
pub fn local_mentions(segments: &[Segment<'_>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for segment in segments {
        if let Segment::Mention { username, domain: None } = segment {
            let name = username.to_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The words of a note that say something in a language: the title, plain
/// text and tags, without links and @names (which are Latin letters whatever
/// language the note is in).
pub fn prose(title: Option<&str>, segments: &[Segment<'_>]) -> String {
    let mut out = String::from(title.unwrap_or_default());
    for segment in segments {
        if let Segment::Text(text) | Segment::Tag(text) = segment {
            out.push(' ');
            out.push_str(text);
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// Where rendered links point.
pub trait LinkTarget {
    fn tag_url(&self, tag: &str) -> String;
    /// The profile URL of a mentioned local account, or `None` when no such account exists.
    fn mention_url(&self, username: &str) -> Option<String>;
}

/// Renders a parse as Mastodon-style HTML: paragraphs split at blank lines,
/// `<br>` for single newlines, hashtag and mention links with Mastodon's classes.
pub fn render_html(segments: &[Segment<'_>], links: &dyn LinkTarget) -> String {
    let mut html = String::from("<p>");
    for segment in segments {
        match segment {
            Segment::Text(text) => {
                let mut paragraphs = text.split("\n\n").peekable();
                while let Some(paragraph) = paragraphs.next() {
                    let mut lines = paragraph.split('\n').peekable();
                    while let Some(line) = lines.next() {
                        escape_html(line.trim_end_matches('\r'), &mut html);
                        if lines.peek().is_some() {
                            html.push_str("<br>");
                        }
                    }
                    if paragraphs.peek().is_some() {
                        html.push_str("</p><p>");
                    }
                }
            }
            Segment::Tag(name) => {
                html.push_str("<a href=\"");
                escape_html(&links.tag_url(&normalize_tag(name)), &mut html);
                html.push_str("\" class=\"mention hashtag\" rel=\"tag\">#<span>");
                escape_html(name, &mut html);
                html.push_str("</span></a>");
            }
            Segment::Mention { username, domain } => match (domain, links.mention_url(username)) {
                (None, Some(url)) => {
                    html.push_str("<span class=\"h-card\"><a href=\"");
                    escape_html(&url, &mut html);
                    html.push_str("\" class=\"u-url mention\">@<span>");
                    escape_html(username, &mut html);
                    html.push_str("</span></a></span>");
                }
                _ => {
                    html.push('@');
                    escape_html(username, &mut html);
                    if let Some(domain) = domain {
                        html.push('@');
                        escape_html(domain, &mut html);
                    }
                }
            },
            Segment::Link(url) => {
                html.push_str("<a href=\"");
                escape_html(url, &mut html);
                html.push_str("\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">");
                escape_html(url, &mut html);
                html.push_str("</a>");
            }
        }
    }
    html.push_str("</p>");
    // Drop empty paragraphs left by leading or repeated blank lines.
    let html = html.replace("<p></p>", "");
    if html.is_empty() { String::new() } else { html }
}

/// Renders plain text (a bio, a title) as escaped HTML with line breaks.
pub fn render_plain(text: &str) -> String {
    let mut html = String::new();
    if text.is_empty() {
        return html;
    }
    html.push_str("<p>");
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            html.push_str("<br>");
        }
        escape_html(line, &mut html);
    }
    html.push_str("</p>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Links;
    impl LinkTarget for Links {
        fn tag_url(&self, tag: &str) -> String {
            format!("https://p.example/tags/{tag}")
        }
        fn mention_url(&self, username: &str) -> Option<String> {
            (username != "ghost").then(|| format!("https://p.example/@{username}"))
        }
    }

    fn tag_names(text: &str) -> Vec<String> {
        tags(&parse(text))
    }

    #[test]
    fn chinese_tags_end_at_chinese_punctuation() {
        assert_eq!(tag_names("#猫咪 #cat"), ["猫咪", "cat"]);
        assert_eq!(tag_names("今天#猫咪，好可爱"), ["猫咪"]);
        assert_eq!(tag_names("#猫咪、#狗狗。#兔子！#鸟？"), ["猫咪", "狗狗", "兔子", "鸟"]);
        assert_eq!(tag_names("#東京・#大阪～#旅行…"), ["東京", "大阪", "旅行"]);
        assert_eq!(tag_names("＃全角标签 和 #半角"), ["全角标签", "半角"]);
        assert_eq!(tag_names("#猫咪#日常#"), ["猫咪", "日常"]);
        assert_eq!(tag_names("（#括号）「#引号」"), ["括号", "引号"]);
    }

    #[test]
    fn not_tags() {
        assert!(tag_names("a#b, issue #1, https://x.example/#frag &#39;").is_empty());
        assert_eq!(tag_names("#Cat #cat #CAT"), ["cat"]);
        assert_eq!(tag_names("#cafe_2025"), ["cafe_2025"]);
    }

    #[test]
    fn mentions_and_links() {
        let segments = parse("hi @alice and @bob@remote.example see https://example.com/a_(b). 看https://a.cn/x看这里");
        assert!(segments.contains(&Segment::Mention { username: "alice", domain: None }));
        assert!(segments.contains(&Segment::Mention { username: "bob", domain: Some("remote.example") }));
        assert!(segments.contains(&Segment::Link("https://example.com/a_(b)")));
        assert!(segments.contains(&Segment::Link("https://a.cn/x")));
        assert_eq!(local_mentions(&segments), ["alice"]);
        assert!(!parse("mail me@example.com").iter().any(|s| matches!(s, Segment::Mention { .. })));
    }

    #[test]
    fn renders_escaped_html() {
        let html =
            render_html(&parse("<b>hi</b> @alice @ghost #猫咪\n\nline2\nline3 https://x.example/?a=1&b=\"2\""), &Links);
        assert_eq!(
            html,
            "<p>&lt;b&gt;hi&lt;/b&gt; <span class=\"h-card\"><a href=\"https://p.example/@alice\" class=\"u-url mention\">@<span>alice</span></a></span> \
             @ghost <a href=\"https://p.example/tags/猫咪\" class=\"mention hashtag\" rel=\"tag\">#<span>猫咪</span></a></p>\
             <p>line2<br>line3 <a href=\"https://x.example/?a=1&amp;b=\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">https://x.example/?a=1&amp;b=</a>&quot;2&quot;</p>"
        );
        assert_eq!(render_plain("a<\nb"), "<p>a&lt;<br>b</p>");
    }
}
