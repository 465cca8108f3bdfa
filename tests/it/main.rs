//! pengyou's integration tests: one binary, the app in-process on a fresh
//! database per test, the same suites on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

mod api;
mod durability;
mod media;
mod oauth;
mod pages;
mod s3;
mod social;
mod store;
mod support;
mod web;
