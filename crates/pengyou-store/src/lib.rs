//! pengyou's storage layer: the `Store` trait with one coarse method per use case,
//! and its two backends, embedded SQLite (the default) and PostgreSQL (scale-out).
//!
//! All SQL in pengyou lives under this crate. Both backends pass the same
//! conformance suite (`tests/it/store.rs` in the application crate).

mod error;
mod id;
mod model;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use error::StoreError;
pub use id::next_id;
pub use model::*;
pub use postgres::PostgresStore;
pub use sql::{JOB_MEDIA_PROCESS, JOB_MEDIA_PURGE, JOB_NOTE_CREATED};
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
    /// The account's unexpired browser sessions, newest first.
    async fn sessions_of(&self, account: AccountId, now: i64) -> Result<Vec<SessionInfo>>;
    /// Logs the account out everywhere: every browser session and every app token.
    async fn delete_sessions_of(&self, account: AccountId) -> Result<()>;

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

    /// Top-level comments of a note, a page after `after` in `sort` order.
    async fn list_comments(
        &self,
        note: NoteId,
        sort: CommentSort,
        after: Option<CommentCursor>,
        filter: FeedFilter,
        limit: u32,
    ) -> Result<Vec<NoteView>>;
    /// Replies under top-level comments, oldest first: at most `per_comment` for each.
    async fn first_replies(&self, comments: &[NoteId], per_comment: u32, filter: FeedFilter) -> Result<Vec<NoteView>>;
    /// Replies under one top-level comment, oldest first, after `after`.
    async fn list_replies(
        &self,
        comment: NoteId,
        after: Option<NoteId>,
        filter: FeedFilter,
        limit: u32,
    ) -> Result<Vec<NoteView>>;
    /// Every comment of a note, oldest first, at most `limit` (the Mastodon context view).
    async fn thread(&self, note: NoteId, filter: FeedFilter, limit: u32) -> Result<Vec<NoteView>>;
    /// Pins one comment on a note (or unpins with `None`).
    async fn pin_comment(&self, note: NoteId, comment: Option<NoteId>) -> Result<()>;

    // ---- feeds ----
    /// The reader's home feed: their own notes and those of accounts they follow.
    async fn home_feed(&self, account: AccountId, page: Page) -> Result<Vec<NoteView>>;
    /// Public, top-level notes of everyone (the local timeline).
    async fn public_feed(&self, filter: FeedFilter, page: Page) -> Result<Vec<NoteView>>;
    /// Public, top-level notes with a tag.
    async fn tag_feed(&self, tag: &str, filter: FeedFilter, page: Page) -> Result<Vec<NoteView>>;
    /// Public, top-level notes since `since` with the most engagement: the
    /// candidates the discover ranking scores (the same for every reader).
    async fn discover_candidates(&self, since: i64, limit: u32) -> Result<Vec<NoteView>>;
    /// Tags used most by public notes since `since`, with daily use.
    async fn trending_tags(&self, since: i64, limit: u32) -> Result<Vec<TagTrend>>;
    /// Copies a note into the home feeds of its author's followers with ids
    /// above `after`, at most `limit` of them; returns the last follower done
    /// when there may be more.
    async fn fan_out(&self, note: NoteId, after: Option<AccountId>, limit: u32) -> Result<Option<AccountId>>;
    /// Adds absorbed view counts to notes in one transaction.
    async fn add_note_views(&self, views: &[(NoteId, i64)]) -> Result<()>;

    // ---- likes and collects ----
    /// Likes a note; `false` when it was already liked. Notifies the author.
    async fn favourite(&self, account: AccountId, note: NoteId) -> Result<bool>;
    async fn unfavourite(&self, account: AccountId, note: NoteId) -> Result<bool>;
    async fn favourited_by(&self, note: NoteId, page: Page) -> Result<Vec<Listed<Account>>>;
    async fn list_favourites(&self, account: AccountId, page: Page) -> Result<Vec<Listed<NoteView>>>;
    /// Collects a note into a board (`None`: the default board, made if needed),
    /// moving it if it sat in another; `false` when it was already there.
    async fn collect(&self, account: AccountId, note: NoteId, board: Option<BoardId>) -> Result<bool>;
    async fn uncollect(&self, account: AccountId, note: NoteId) -> Result<bool>;
    /// Collected notes, newest collect first; all boards when `board` is `None`.
    async fn list_collects(
        &self,
        account: AccountId,
        board: Option<BoardId>,
        page: Page,
    ) -> Result<Vec<Listed<NoteView>>>;
    /// Likes and collects of `account` on these notes.
    async fn note_interactions(&self, account: AccountId, notes: &[NoteId]) -> Result<Vec<NoteInteraction>>;
    async fn create_board(&self, new: NewBoard) -> Result<Board>;
    async fn update_board(&self, id: BoardId, update: BoardUpdate) -> Result<Board>;
    /// Deletes a board; its notes move to the default board. The default board stays.
    async fn delete_board(&self, id: BoardId) -> Result<()>;
    async fn board_by_id(&self, id: BoardId) -> Result<Option<Board>>;
    /// An account's boards, default first, then oldest first.
    async fn boards_of(&self, account: AccountId) -> Result<Vec<Board>>;

    // ---- relationships ----
    async fn is_following(&self, follower: AccountId, followee: AccountId) -> Result<bool>;
    /// Follows `followee`, or asks when `request` (a locked account). Following
    /// again is not an error. Counters, the home feed and notifications follow.
    async fn follow(&self, follower: AccountId, followee: AccountId, request: bool) -> Result<FollowOutcome>;
    /// Stops following (or withdraws a request); the followee's notes leave the home feed.
    async fn unfollow(&self, follower: AccountId, followee: AccountId) -> Result<()>;
    async fn follow_requests(&self, account: AccountId, page: Page) -> Result<Vec<Listed<Account>>>;
    /// Accepts or rejects a pending request; `false` when there was none.
    async fn answer_follow_request(&self, followee: AccountId, follower: AccountId, accept: bool) -> Result<bool>;
    async fn list_follows(
        &self,
        account: AccountId,
        direction: FollowDirection,
        page: Page,
    ) -> Result<Vec<Listed<Account>>>;
    /// How `viewer` stands towards each of `others`, in the same order.
    async fn relationships(&self, viewer: AccountId, others: &[AccountId]) -> Result<Vec<Relationship>>;
    /// Blocks: removes follows and requests both ways and each other's notes from home feeds.
    async fn block(&self, account: AccountId, target: AccountId) -> Result<()>;
    async fn unblock(&self, account: AccountId, target: AccountId) -> Result<()>;
    async fn mute(
        &self,
        account: AccountId,
        target: AccountId,
        notifications: bool,
        expires_at: Option<i64>,
    ) -> Result<()>;
    async fn unmute(&self, account: AccountId, target: AccountId) -> Result<()>;
    async fn list_blocks(&self, account: AccountId, page: Page) -> Result<Vec<Listed<Account>>>;
    async fn list_mutes(&self, account: AccountId, page: Page) -> Result<Vec<Listed<Account>>>;
    async fn follow_tag(&self, account: AccountId, tag: &str) -> Result<()>;
    async fn unfollow_tag(&self, account: AccountId, tag: &str) -> Result<()>;
    async fn followed_tags(&self, account: AccountId) -> Result<Vec<String>>;

    // ---- keyword filters ----
    async fn create_filter(&self, new: NewFilter) -> Result<Filter>;
    async fn update_filter(&self, id: FilterId, update: FilterUpdate) -> Result<Filter>;
    async fn delete_filter(&self, id: FilterId) -> Result<()>;
    async fn filter_by_id(&self, id: FilterId) -> Result<Option<Filter>>;
    /// An account's filters, expired ones included (the caller decides).
    async fn filters_of(&self, account: AccountId) -> Result<Vec<Filter>>;

    // ---- notifications ----
    /// Records notifications; repeats of one (recipient, kind, sender, note) are ignored.
    async fn create_notifications(&self, new: Vec<NewNotification>) -> Result<()>;
    async fn list_notifications(
        &self,
        account: AccountId,
        filter: NotificationFilter,
        page: Page,
    ) -> Result<Vec<Notification>>;
    /// Groups, newest activity first; the page's ids are the groups' latest ids.
    async fn list_notification_groups(
        &self,
        account: AccountId,
        filter: NotificationFilter,
        page: Page,
    ) -> Result<Vec<NotificationGroup>>;
    /// Notifications newer than `after`, up to `cap`.
    async fn count_notifications(&self, account: AccountId, after: i64, cap: u32) -> Result<i64>;
    async fn notification_by_id(&self, account: AccountId, id: i64) -> Result<Option<Notification>>;
    async fn dismiss_notification(&self, account: AccountId, id: i64) -> Result<()>;
    /// Removes notifications: all of them, or those of one group.
    async fn clear_notifications(&self, account: AccountId, group_key: Option<&str>) -> Result<()>;
    async fn markers(&self, account: AccountId) -> Result<Vec<Marker>>;
    async fn set_marker(&self, account: AccountId, timeline: &str, last_read_id: i64) -> Result<Marker>;

    // ---- jobs ----
    async fn enqueue_job(&self, kind: &str, payload: &str, run_at: i64) -> Result<i64>;
    /// Takes up to `limit` due jobs for `lease_ms`; a job whose lease runs out
    /// (its worker died) is taken again. Safe with several processes.
    async fn claim_jobs(&self, queue: &str, limit: u32, lease_ms: i64) -> Result<Vec<Job>>;
    async fn complete_job(&self, id: i64) -> Result<()>;
    /// Puts a failed job back for `retry_at`, or marks it failed for good when `retry_at` is `None`.
    async fn fail_job(&self, id: i64, error: &str, retry_at: Option<i64>) -> Result<()>;
    /// Jobs waiting or running (failed ones excluded).
    async fn pending_jobs(&self) -> Result<i64>;

    // ---- media ----
    /// Records an upload; a `Processing` one gets its `media_process` job in the same transaction.
    async fn create_media(&self, new: NewMedia) -> Result<Media>;
    async fn media_by_id(&self, id: MediaId) -> Result<Option<Media>>;
    async fn media_by_key(&self, key: &str) -> Result<Option<Media>>;
    /// Changes the description and/or focal point.
    async fn update_media(&self, id: MediaId, description: Option<String>, focus: Option<(f64, f64)>) -> Result<Media>;
    /// Records the outcome of background processing.
    async fn finish_media(&self, id: MediaId, result: MediaResult) -> Result<()>;
    /// Sets (`Some(file)`) or removes a language's subtitle track; returns the file it replaced.
    async fn set_subtitle(&self, id: MediaId, language: &str, file: Option<String>) -> Result<Option<String>>;
    /// Media whose files are due for deletion (see the SQL for the rule), oldest first.
    async fn expired_media(&self, unattached_before: i64, limit: u32) -> Result<Vec<Media>>;
    /// Forgets a media row once its files are gone.
    async fn delete_media(&self, id: MediaId) -> Result<()>;
    /// A random secret shared by every app node, made on first use.
    async fn server_secret(&self, name: &str, fresh: &str) -> Result<String>;
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
