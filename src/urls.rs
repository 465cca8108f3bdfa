//! The public URLs of pengyou's things, built in one place so pages, API
//! entities and rendered links agree.

use url::form_urlencoded::byte_serialize;

pub fn account(base: &str, username: &str) -> String {
    format!("{base}/@{username}")
}

/// The account's ActivityPub-style id URI.
pub fn account_uri(base: &str, username: &str) -> String {
    format!("{base}/users/{username}")
}

pub fn note(base: &str, username: &str, id: impl std::fmt::Display) -> String {
    format!("{base}/@{username}/{id}")
}

pub fn note_uri(base: &str, username: &str, id: impl std::fmt::Display) -> String {
    format!("{base}/users/{username}/statuses/{id}")
}

pub fn tag(base: &str, tag: &str) -> String {
    let encoded: String = byte_serialize(tag.as_bytes()).collect();
    format!("{base}/tags/{encoded}")
}

pub fn default_avatar(base: &str) -> String {
    format!("{base}/static/avatar.png")
}

pub fn default_header(base: &str) -> String {
    format!("{base}/static/header.png")
}
