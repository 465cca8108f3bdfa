//! Rules shared by the web pages and the API: validation, text parsing,
//! passwords, visibility, feeds, filters, view counts, and composing notes and
//! accounts from input.

pub mod accounts;
pub mod discover;
pub mod filters;
pub mod language;
pub mod notes;
pub mod password;
pub mod text;
pub mod validate;
pub mod views;
pub mod visibility;
