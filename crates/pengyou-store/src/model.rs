//! The rows the store reads and writes, as plain structs. API and page types are
//! built from these in the application crate; these are never serialised to clients.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::id::{id_floor_for_time, now_ms};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type!(
    /// An account's id.
    AccountId
);
id_type!(
    /// An uploaded photo or video's id.
    MediaId
);
id_type!(
    /// A note's (or comment's) id.
    NoteId
);
id_type!(
    /// A registered OAuth application's id.
    AppId
);
id_type!(
    /// A board (a named collection of collected notes).
    BoardId
);
id_type!(
    /// A keyword filter.
    FilterId
);

/// A local account as the rest of the app sees it (no secrets).
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    /// ISO 639-1 codes of the languages this person reads, most preferred first.
    pub languages: Vec<String>,
    pub ui_language: Option<String>,
    pub locked: bool,
    pub is_admin: bool,
    pub suspended: bool,
    pub notes_count: i64,
    pub followers_count: i64,
    pub following_count: i64,
    pub last_note_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Everything needed to create an account. The password is already hashed.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    /// Lower-cased; optional, because pengyou asks for no contact details.
    pub email: Option<String>,
    pub password_hash: String,
    pub languages: Vec<String>,
    pub ui_language: Option<String>,
    pub is_admin: bool,
}

/// A profile edit; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct AccountUpdate {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub languages: Option<Vec<String>>,
    pub ui_language: Option<Option<String>>,
    pub locked: Option<bool>,
}

/// An account with its password hash, for logging in.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub account: Account,
    pub password_hash: String,
}

/// Counts shown by the instance endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct InstanceStats {
    pub accounts: i64,
    pub notes: i64,
}

/// A web login. Only the SHA-256 of the cookie's token is stored.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub token_hash: Vec<u8>,
    pub account_id: AccountId,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A live web session and its account.
#[derive(Clone, Debug)]
pub struct WebSession {
    pub account: Account,
    pub created_at: i64,
    pub expires_at: i64,
}

/// One signed-in browser, as listed in the account's settings.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub token_hash: Vec<u8>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A registered OAuth client.
#[derive(Clone, Debug)]
pub struct App {
    pub id: AppId,
    pub client_id: String,
    /// SHA-256 of the client secret; the secret itself is shown once, at creation.
    pub secret_hash: Vec<u8>,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    /// Space-separated scopes the app may ask for.
    pub scopes: String,
    pub created_at: i64,
}

/// A new OAuth client.
#[derive(Clone, Debug)]
pub struct NewApp {
    pub client_id: String,
    pub secret_hash: Vec<u8>,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
}

/// An authorization code waiting to be exchanged (stored hashed, short-lived).
#[derive(Clone, Debug, PartialEq)]
pub struct AuthCode {
    pub code_hash: Vec<u8>,
    pub app_id: AppId,
    pub account_id: AccountId,
    pub redirect_uri: String,
    pub scopes: String,
    /// The PKCE S256 challenge, when the client sent one.
    pub code_challenge: Option<String>,
    pub expires_at: i64,
}

/// A new bearer token (stored hashed). App-only tokens have no account.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub token_hash: Vec<u8>,
    pub app_id: AppId,
    pub account_id: Option<AccountId>,
    pub scopes: String,
}

/// What a bearer token grants.
#[derive(Clone, Debug)]
pub struct TokenGrant {
    pub app: App,
    pub account: Option<Account>,
    pub scopes: String,
    pub created_at: i64,
}

/// Who may see a note. Stored under Mastodon's names: `private` is followers-only
/// and `direct` is the author plus mentioned accounts ("only me" when it mentions nobody).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Unlisted,
    Private,
    Direct,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "public" => Visibility::Public,
            "unlisted" => Visibility::Unlisted,
            "private" => Visibility::Private,
            "direct" => Visibility::Direct,
            _ => return None,
        })
    }
}

/// An account mentioned by a note.
#[derive(Clone, Debug, PartialEq)]
pub struct MentionRef {
    pub account_id: AccountId,
    pub username: String,
}

/// A note (or a comment, which is a note with `in_reply_to_id`).
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub id: NoteId,
    pub account_id: AccountId,
    pub title: Option<String>,
    /// The text as written; `content_html` is rendered from its parse.
    pub body: String,
    pub content_html: String,
    pub language: Option<String>,
    pub visibility: Visibility,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub in_reply_to_id: Option<NoteId>,
    /// For a comment, the note it belongs to (however deep the reply).
    pub root_id: Option<NoteId>,
    /// For a reply inside a comment thread, the top-level comment it sits under.
    pub parent_comment_id: Option<NoteId>,
    /// Comments under a note, or replies under a top-level comment.
    pub replies_count: i64,
    pub favourites_count: i64,
    pub collects_count: i64,
    /// Views written to the database so far (the in-memory counter adds the rest).
    pub views_count: i64,
    pub pinned_comment_id: Option<NoteId>,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    /// Normalised (lower-case) tag names, in order of first appearance.
    pub tags: Vec<String>,
    pub mentions: Vec<MentionRef>,
    /// Photos or the video, in the author's order.
    pub media: Vec<Media>,
}

/// A note with its author, as every read path needs both.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteView {
    pub note: Note,
    pub author: Account,
}

/// A note to create; `content_html`, tags and mentions come from the one parser.
#[derive(Clone, Debug)]
pub struct NewNote {
    pub account_id: AccountId,
    pub title: Option<String>,
    pub body: String,
    pub content_html: String,
    pub language: Option<String>,
    pub visibility: Visibility,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub in_reply_to_id: Option<NoteId>,
    pub tags: Vec<String>,
    pub mention_ids: Vec<AccountId>,
    /// The author's finished, unattached uploads, in display order.
    pub media_ids: Vec<MediaId>,
    pub idempotency_key: Option<String>,
}

/// How long an `Idempotency-Key` keeps pointing at the note it created (Mastodon: one hour).
pub const IDEMPOTENCY_WINDOW_MS: i64 = 60 * 60 * 1000;

/// A full replacement of a note's editable fields.
#[derive(Clone, Debug)]
pub struct NoteUpdate {
    pub title: Option<String>,
    pub body: String,
    pub content_html: String,
    pub language: Option<String>,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub tags: Vec<String>,
    pub mention_ids: Vec<AccountId>,
}

/// One version of a note, for the edit history.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteRevision {
    pub title: Option<String>,
    pub body: String,
    pub content_html: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub language: Option<String>,
    pub created_at: i64,
}

/// Which of an account's notes a listing may include; the caller decides the
/// visibilities from who is asking (see the domain layer's visibility rules).
#[derive(Clone, Debug)]
pub struct AccountNotesFilter {
    pub visibilities: Vec<Visibility>,
    pub exclude_replies: bool,
}

/// Mastodon-style cursor pagination: `max_id` (older than), `since_id` (newer than,
/// newest first), `min_id` (newer than, immediately after it). Results are always
/// returned newest first.
#[derive(Clone, Copy, Debug, Default)]
pub struct Page {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: u32,
}

impl Note {
    /// A comment is a note with a root: a top-level comment or a reply under one.
    pub fn is_comment(&self) -> bool {
        self.root_id.is_some()
    }
}

/// A row of a list paged by the list's own row id (followers, favourites,
/// blocks…), which is what Mastodon's `max_id`/`min_id` refer to there.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed<T> {
    pub cursor: i64,
    pub item: T,
}

/// How one account stands towards another, as `/api/v1/accounts/relationships` shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Relationship {
    pub account_id: AccountId,
    pub following: bool,
    pub requested: bool,
    pub followed_by: bool,
    pub requested_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
}

impl Relationship {
    /// A block in either direction hides the two accounts from each other.
    pub fn blocked_either_way(&self) -> bool {
        self.blocking || self.blocked_by
    }
}

/// What a follow did: followed at once, or asked a locked account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowOutcome {
    Following,
    Requested,
}

/// Which side of the follow graph to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowDirection {
    Followers,
    Following,
}

/// A named collection of collected notes. Every account has one default board,
/// made on first collect; bookmarks are collects into it.
#[derive(Clone, Debug, PartialEq)]
pub struct Board {
    pub id: BoardId,
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub is_default: bool,
    pub notes_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The default board's stored name; pages show it translated.
pub const DEFAULT_BOARD_NAME: &str = "Collected";

#[derive(Clone, Debug)]
pub struct NewBoard {
    pub account_id: AccountId,
    pub name: String,
    pub description: String,
    pub public: bool,
}

#[derive(Clone, Debug, Default)]
pub struct BoardUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub public: Option<bool>,
}

/// What one reader has done to a note: liked it, and which board holds it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoteInteraction {
    pub note_id: NoteId,
    pub favourited: bool,
    pub board_id: Option<BoardId>,
}

/// Order of top-level comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentSort {
    /// Most liked first, then newest.
    Hot,
    /// Newest first.
    New,
}

/// Position after the last comment of a page: its like count (for `Hot`) and id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommentCursor {
    pub favourites: i64,
    pub id: i64,
}

/// A keyword filter (Mastodon v2 filters).
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub id: FilterId,
    pub account_id: AccountId,
    pub title: String,
    /// Where it applies: home, notifications, public, thread, account.
    pub context: Vec<String>,
    /// `warn` (shown behind a warning) or `hide` (removed).
    pub action: String,
    pub expires_at: Option<i64>,
    pub keywords: Vec<FilterKeyword>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FilterKeyword {
    pub id: i64,
    pub keyword: String,
    pub whole_word: bool,
}

#[derive(Clone, Debug)]
pub struct NewFilter {
    pub account_id: AccountId,
    pub title: String,
    pub context: Vec<String>,
    pub action: String,
    pub expires_at: Option<i64>,
    /// Keyword and whether it must match a whole word.
    pub keywords: Vec<(String, bool)>,
}

#[derive(Clone, Debug, Default)]
pub struct FilterUpdate {
    pub title: Option<String>,
    pub context: Option<Vec<String>>,
    pub action: Option<String>,
    pub expires_at: Option<Option<i64>>,
    pub add_keywords: Vec<(String, bool)>,
    pub remove_keyword_ids: Vec<i64>,
}

/// Kinds of notification pengyou records (see docs/API.md for how they map
/// onto Mastodon's types).
pub const NOTIFICATION_KINDS: &[&str] =
    &["favourite", "collect", "comment", "reply", "mention", "follow", "follow_request"];

/// A notification to record; the same (recipient, kind, sender, note) is kept once.
#[derive(Clone, Debug, PartialEq)]
pub struct NewNotification {
    pub account_id: AccountId,
    pub kind: &'static str,
    pub from_account_id: AccountId,
    pub note_id: Option<NoteId>,
}

/// The grouping key: likes and collects group per note, follows per day,
/// everything else stands alone.
pub fn notification_group_key(kind: &str, note: Option<NoteId>, id: i64, created_at: i64) -> String {
    match (kind, note) {
        ("favourite" | "collect", Some(note)) => format!("{kind}-{note}"),
        ("follow", _) => format!("follow-{}", created_at / 86_400_000),
        _ => format!("ungrouped-{id}"),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub from: Account,
    pub note: Option<NoteView>,
    pub group_key: String,
    pub created_at: i64,
}

/// Which notifications to list. Notifications from accounts the reader blocks,
/// is blocked by, or mutes with notifications are never listed.
#[derive(Clone, Debug, Default)]
pub struct NotificationFilter {
    /// Only these kinds (empty: all).
    pub kinds: Vec<String>,
    pub exclude_kinds: Vec<String>,
    pub from_account: Option<AccountId>,
}

/// A group of notifications ("Sylvia and 1,203 others liked your note").
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationGroup {
    pub group_key: String,
    pub kind: String,
    pub count: i64,
    pub latest_id: i64,
    pub oldest_id: i64,
    pub latest_at: i64,
    /// The most recent senders, newest first (at most a few).
    pub sample_accounts: Vec<Account>,
    pub note: Option<NoteView>,
}

/// A reading position (Mastodon markers): `home` or `notifications`.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub timeline: String,
    pub last_read_id: i64,
    pub version: i64,
    pub updated_at: i64,
}

/// A unit of background work taken from the durable queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// JSON, interpreted by the job's handler.
    pub payload: String,
    /// How many times it has been taken, this time included.
    pub attempts: i64,
}

/// A tag's use per day, newest day first.
#[derive(Clone, Debug, PartialEq)]
pub struct TagTrend {
    pub name: String,
    pub days: Vec<TagDay>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TagDay {
    /// Start of the day, ms since the epoch (UTC).
    pub day: i64,
    pub uses: i64,
    pub accounts: i64,
}

/// Whose notes to leave out of a listing: authors the viewer blocks, is blocked
/// by, or mutes. The domain's visibility rule still checks every note; this
/// keeps pages full.
#[derive(Clone, Copy, Debug, Default)]
pub struct FeedFilter {
    pub viewer: Option<AccountId>,
}

/// What an upload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    /// An animated GIF (kept animated).
    Gifv,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Gifv => "gifv",
            MediaKind::Video => "video",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "image" => Some(MediaKind::Image),
            "gifv" => Some(MediaKind::Gifv),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

/// Where an upload is in its processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaState {
    Processing,
    Ready,
    Failed,
}

impl MediaState {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Processing => "processing",
            MediaState::Ready => "ready",
            MediaState::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Self {
        match value {
            "ready" => MediaState::Ready,
            "processing" => MediaState::Processing,
            _ => MediaState::Failed,
        }
    }
}

/// An uploaded photo or video. Its files live in object storage under
/// `storage_key`; `meta` (sizes, duration) is JSON the application writes and reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Media {
    pub id: MediaId,
    pub account_id: AccountId,
    pub note_id: Option<NoteId>,
    pub position: i64,
    pub kind: MediaKind,
    pub state: MediaState,
    /// The stable error code when processing failed.
    pub error: Option<String>,
    pub storage_key: String,
    pub description: String,
    pub focus: (f64, f64),
    pub meta: String,
    /// Subtitle tracks: (language, file name under the storage key).
    pub subtitles: Vec<(String, String)>,
    pub blurhash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An upload to record.
#[derive(Clone, Debug)]
pub struct NewMedia {
    pub account_id: AccountId,
    pub kind: MediaKind,
    /// `Processing` also enqueues a `media_process` job in the same transaction.
    pub state: MediaState,
    pub storage_key: String,
    pub description: String,
    pub focus: (f64, f64),
    pub meta: String,
    pub blurhash: Option<String>,
}

/// Processing's outcome.
#[derive(Clone, Debug)]
pub struct MediaResult {
    pub state: MediaState,
    pub kind: MediaKind,
    pub error: Option<String>,
    pub meta: String,
    pub blurhash: Option<String>,
}

/// Which queue a job kind belongs to: media work is slow and runs apart.
pub fn job_queue(kind: &str) -> &'static str {
    if kind.starts_with("media_") { "media" } else { "main" }
}
