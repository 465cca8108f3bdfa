//! Mastodon-compatible API entities: plain serde structs in Mastodon's JSON
//! shapes, built from store rows with `From`-style constructors.

pub mod entities;
