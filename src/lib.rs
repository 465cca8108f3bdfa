//! pengyou (朋友): a self-hostable, bilingual social platform for photo and
//! video notes. This crate is the one binary: HTTP (web pages, the
//! Mastodon-compatible API, OAuth), the domain rules, configuration and the CLI.
//! Storage lives in the `pengyou-store` crate.

pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod media;
pub mod server;
pub mod state;
pub mod urls;
pub mod web;
