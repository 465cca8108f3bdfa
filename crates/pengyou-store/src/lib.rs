//! pengyou's storage layer: the `Store` trait with one coarse method per use case,
//! and its two backends, embedded SQLite (the default) and PostgreSQL (scale-out).
//!
//! All SQL in pengyou lives under this crate. Both backends pass the same
//! conformance suite (`tests/it/store.rs` in the application crate).

mod error;
mod id;
mod model;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use error::StoreError;
pub use id::next_id;
pub use model::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything pengyou keeps durably. Methods are per use case, not per table:
/// a write that touches several tables is one transaction inside the backend.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name, for logs and `print-config`.
    fn backend(&self) -> &'static str;

    /// Cheap liveness probe used by `/healthz`.
    async fn ping(&self) -> Result<()>;

    // ---- accounts ----
    /// Creates an account; `Conflict("username_taken" | "email_taken")` when taken.
    async fn create_account(&self, new: NewAccount) -> Result<Account>;
    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>>;
    /// Case-insensitive lookup by local username.
    async fn account_by_username(&self, username: &str) -> Result<Option<Account>>;
    /// Accounts for a set of case-insensitive usernames (mention resolution).
    async fn accounts_by_usernames(&self, usernames: &[String]) -> Result<Vec<Account>>;
    /// The account and its password hash, by username or e-mail address.
    async fn credentials_by_login(&self, login: &str) -> Result<Option<Credentials>>;
    async fn update_account(&self, id: AccountId, update: AccountUpdate) -> Result<Account>;
    async fn instance_stats(&self) -> Result<InstanceStats>;

    // ---- web sessions ----
    async fn create_session(&self, new: NewSession) -> Result<()>;
    /// The live session for a token hash, or `None` when unknown or expired.
    async fn session_by_token(&self, token_hash: &[u8], now: i64) -> Result<Option<WebSession>>;
    async fn delete_session(&self, token_hash: &[u8]) -> Result<()>;

    // ---- OAuth ----
    async fn create_app(&self, new: NewApp) -> Result<App>;
    async fn app_by_client_id(&self, client_id: &str) -> Result<Option<App>>;
    async fn create_auth_code(&self, new: AuthCode) -> Result<()>;
    /// Removes and returns a code: a code works once, even under concurrent use.
    async fn take_auth_code(&self, code_hash: &[u8]) -> Result<Option<AuthCode>>;
    async fn create_token(&self, new: NewToken) -> Result<()>;
    /// The grant behind a bearer token, with its app and account.
    async fn token_grant(&self, token_hash: &[u8]) -> Result<Option<TokenGrant>>;
    /// Revokes a token issued to `app_id`; unknown tokens are not an error (RFC 7009).
    async fn revoke_token(&self, token_hash: &[u8], app_id: AppId) -> Result<()>;

    // ---- notes ----
    /// Creates a note. With an idempotency key already used by this account,
    /// returns the earlier note and `false` instead of creating a second one.
    async fn create_note(&self, new: NewNote) -> Result<(NoteView, bool)>;
    async fn note_by_id(&self, id: NoteId) -> Result<Option<NoteView>>;
    /// Applies an edit and records the new revision.
    async fn update_note(&self, id: NoteId, update: NoteUpdate) -> Result<NoteView>;
    /// Deletes a note for real, with its tags, mentions and history.
    async fn delete_note(&self, id: NoteId) -> Result<()>;
    /// Every revision of a note, oldest first (the first is the original).
    async fn note_revisions(&self, id: NoteId) -> Result<Vec<NoteRevision>>;
    async fn list_account_notes(
        &self,
        account: AccountId,
        filter: AccountNotesFilter,
        page: Page,
    ) -> Result<Vec<NoteView>>;

    // ---- relationships ----
    async fn is_following(&self, follower: AccountId, followee: AccountId) -> Result<bool>;
}

/// Opens the store a database URL names, running migrations first.
/// `sqlite://PATH` (or a bare path) selects SQLite; `postgres://` PostgreSQL.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(Arc::new(SqliteStore::open(path).await?))
    }
}
