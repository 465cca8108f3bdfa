//! Validated input types: each is built by `parse`, which either returns a value
//! that meets pengyou's limits or a `ValidationError` with a stable code.
//! Lengths are counted in grapheme clusters, so 猫 or 👍🏽 counts as one.

use unicode_segmentation::UnicodeSegmentation;

/// Why an input was refused: a stable snake_case code for clients and the UI,
/// and an English message for people reading raw API answers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub code: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ValidationError { code, message: message.into() }
    }
}

/// Counts user-perceived characters.
pub fn grapheme_count(text: &str) -> usize {
    text.graphemes(true).count()
}

pub const MAX_TITLE: usize = 64;
pub const MAX_BODY: usize = 2_000;
pub const MAX_BIO: usize = 500;
pub const MAX_DISPLAY_NAME: usize = 30;
pub const MAX_SPOILER: usize = 200;
pub const MAX_USERNAME: usize = 30;

/// A local username: 1–30 ASCII letters, digits or underscores (what Mastodon
/// clients and @mentions expect); unique regardless of case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

/// Names people would mistake for the instance speaking.
const RESERVED_USERNAMES: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "support",
    "help",
    "moderator",
    "mod",
    "staff",
    "system",
    "pengyou",
    "api",
    "oauth",
    "settings",
    "about",
    "tags",
    "explore",
    "discover",
    "search",
    "notifications",
    "messages",
    "auth",
    "nodeinfo",
    "well_known",
    "static",
    "media",
    "postmaster",
    "webmaster",
    "security",
    "official",
];

impl Username {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let value = value.trim().trim_start_matches('@');
        if value.is_empty() {
            return Err(ValidationError::new("username_blank", "Choose a username."));
        }
        if value.len() > MAX_USERNAME {
            return Err(ValidationError::new("username_too_long", "A username has at most 30 characters."));
        }
        if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ValidationError::new(
                "username_invalid",
                "A username may use only letters a–z, digits and underscores.",
            ));
        }
        Ok(Username(value.to_owned()))
    }

    /// Like `parse`, but also refuses reserved names; used for sign-ups, not by admins.
    pub fn parse_for_signup(value: &str) -> Result<Self, ValidationError> {
        let username = Self::parse(value)?;
        if RESERVED_USERNAMES.contains(&username.0.to_lowercase().as_str()) {
            return Err(ValidationError::new("username_reserved", "That username is reserved."));
        }
        Ok(username)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a free-text field's grapheme length and trims surrounding whitespace.
fn bounded(value: &str, max: usize, code: &'static str, what: &str) -> Result<String, ValidationError> {
    let value = value.trim();
    if grapheme_count(value) > max {
        return Err(ValidationError::new(code, format!("{what} has at most {max} characters.")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(ValidationError::new("control_characters", format!("{what} contains control characters.")));
    }
    Ok(value.to_owned())
}

/// Alt text for a photo or video (0–1,500 graphemes).
pub fn media_description(value: &str) -> Result<String, ValidationError> {
    bounded(value, 1_500, "description_too_long", "A description")
}

/// A display name (0–30 graphemes, one line).
pub fn display_name(value: &str) -> Result<String, ValidationError> {
    let value = bounded(value, MAX_DISPLAY_NAME, "display_name_too_long", "A display name")?;
    Ok(value.replace(['\n', '\r', '\t'], " "))
}

/// A bio (0–500 graphemes).
pub fn bio(value: &str) -> Result<String, ValidationError> {
    bounded(value, MAX_BIO, "bio_too_long", "A bio")
}

/// A note title: optional, at most 64 graphemes, one line. Blank means none.
pub fn note_title(value: Option<&str>) -> Result<Option<String>, ValidationError> {
    let Some(value) = value else { return Ok(None) };
    let value = bounded(value, MAX_TITLE, "title_too_long", "A title")?;
    if value.contains(['\n', '\r']) {
        return Err(ValidationError::new("title_invalid", "A title is one line."));
    }
    Ok((!value.is_empty()).then_some(value))
}

/// A note body: 1–2,000 graphemes.
pub fn note_body(value: &str) -> Result<String, ValidationError> {
    let value = bounded(value, MAX_BODY, "body_too_long", "A note")?;
    if value.is_empty() {
        return Err(ValidationError::new("body_blank", "Write something first."));
    }
    Ok(value)
}

/// A board's name: 1–40 graphemes, one line.
pub fn board_name(value: &str) -> Result<String, ValidationError> {
    one_line(bounded(value, 40, "board_name_too_long", "A board name")?, "board_name_blank", "Give the board a name.")
}

/// A board's description (0–200 graphemes).
pub fn board_description(value: &str) -> Result<String, ValidationError> {
    bounded(value, 200, "board_description_too_long", "A board description")
}

/// A keyword filter's title: 1–100 graphemes, one line.
pub fn filter_title(value: &str) -> Result<String, ValidationError> {
    one_line(
        bounded(value, 100, "filter_title_too_long", "A filter title")?,
        "filter_title_blank",
        "Give the filter a title.",
    )
}

/// A filtered keyword: 1–100 graphemes, one line.
pub fn filter_keyword(value: &str) -> Result<String, ValidationError> {
    one_line(bounded(value, 100, "keyword_too_long", "A keyword")?, "keyword_blank", "A keyword cannot be blank.")
}

/// Refuses blank values and folds line breaks into spaces.
fn one_line(value: String, blank_code: &'static str, blank_message: &str) -> Result<String, ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::new(blank_code, blank_message.to_owned()));
    }
    Ok(value.replace(['\n', '\r', '\t'], " "))
}

/// A content warning (0–200 graphemes).
pub fn spoiler_text(value: &str) -> Result<String, ValidationError> {
    bounded(value, MAX_SPOILER, "spoiler_text_too_long", "A content warning")
}

/// An ISO 639-1 language code (two lower-case letters), as Mastodon uses.
/// Accepts regional forms such as `zh-CN` or `en_US` and keeps the language.
pub fn language(value: &str) -> Result<String, ValidationError> {
    let primary = value.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    if primary.len() == 2 && primary.chars().all(|c| c.is_ascii_lowercase()) {
        Ok(primary)
    } else {
        Err(ValidationError::new("language_invalid", format!("'{value}' is not an ISO 639-1 language code.")))
    }
}

/// A BCP 47 tag such as `en`, `zh-Hans` or `pt-BR`, normalised in case; unlike `language`,
/// it keeps script and region (subtitles in zh-Hans and zh-Hant differ).
pub fn language_tag(value: &str) -> Result<String, ValidationError> {
    let bad = || ValidationError::new("language_invalid", "Give the language as a code such as en or zh-Hans.");
    let mut parts = value.trim().split('-');
    let primary = parts
        .next()
        .filter(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()))
        .ok_or_else(bad)?;
    let mut tag = primary.to_ascii_lowercase();
    for part in parts {
        if !(2..=8).contains(&part.len()) || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        tag.push('-');
        tag.push_str(&match part.len() {
            2 => part.to_ascii_uppercase(),
            4 => format!("{}{}", &part[..1].to_ascii_uppercase(), part[1..].to_ascii_lowercase()),
            _ => part.to_ascii_lowercase(),
        });
    }
    if tag.len() > 20 {
        return Err(bad());
    }
    Ok(tag)
}

/// A list of languages read, deduplicated, at most 10.
pub fn languages(values: &[String]) -> Result<Vec<String>, ValidationError> {
    let mut out: Vec<String> = Vec::new();
    for value in values.iter().flat_map(|v| v.split(',')).filter(|v| !v.trim().is_empty()) {
        let code = language(value)?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.len() > 10 {
        return Err(ValidationError::new("languages_too_many", "Choose at most 10 languages."));
    }
    Ok(out)
}

/// An e-mail address, lower-cased. Only its shape is checked.
pub fn email(value: &str) -> Result<String, ValidationError> {
    let value = value.trim().to_lowercase();
    let valid = value.len() <= 254
        && value
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        && !value.chars().any(char::is_whitespace);
    if valid { Ok(value) } else { Err(ValidationError::new("email_invalid", "That is not an e-mail address.")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphemes_not_bytes() {
        assert!(note_title(Some(&"猫".repeat(64))).is_ok());
        assert_eq!(note_title(Some(&"猫".repeat(65))).unwrap_err().code, "title_too_long");
        assert!(note_title(Some(&"👍🏽".repeat(64))).is_ok());
        assert_eq!(note_title(Some("  ")).unwrap(), None);
        assert!(note_body(&"字".repeat(2000)).is_ok());
        assert_eq!(note_body(&"字".repeat(2001)).unwrap_err().code, "body_too_long");
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("@Alice_1").unwrap().as_str(), "Alice_1");
        assert_eq!(Username::parse("爱丽丝").unwrap_err().code, "username_invalid");
        assert_eq!(Username::parse_for_signup("Admin").unwrap_err().code, "username_reserved");
    }

    #[test]
    fn language_codes() {
        assert_eq!(language("zh-CN").unwrap(), "zh");
        assert_eq!(languages(&["en,zh".into(), "EN".into()]).unwrap(), ["en", "zh"]);
        assert!(language("chinese").is_err());
    }
}
