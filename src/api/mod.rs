//! The Mastodon-compatible API's shapes: entities, and how notes become statuses for one reader.

pub mod entities;
pub mod present;
