//! The Mastodon entities pengyou serves (Account, Status, Application, Token,
//! Instance…). Ids are strings and times ISO 8601, as clients expect. pengyou's
//! extensions (`title`, `pengyou` blocks) are extra fields standard clients ignore.

use pengyou_store::{Account as AccountRow, App, NoteRevision, NoteView};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::text::render_plain;
use crate::urls;

/// Formats milliseconds since the epoch as ISO 8601 with milliseconds, UTC.
pub fn iso8601(ms: i64) -> String {
    let time =
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let time = time.replace_nanosecond((ms.rem_euclid(1000) as u32) * 1_000_000).unwrap_or(time);
    time.format(&Rfc3339).unwrap_or_default()
}

/// Mastodon gives an account's creation as midnight of that day.
fn iso_date(ms: i64) -> String {
    iso8601(ms - ms.rem_euclid(86_400_000))
}

#[derive(Clone, Debug, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub verified_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub display_name: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub group: bool,
    pub created_at: String,
    pub note: String,
    pub url: String,
    pub uri: String,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    pub last_status_at: Option<String>,
    pub hide_collections: bool,
    pub emojis: Vec<()>,
    pub fields: Vec<Field>,
    /// pengyou: the languages this person reads.
    pub pengyou: AccountExtension,
}

#[derive(Clone, Debug, Serialize)]
pub struct AccountExtension {
    pub languages: Vec<String>,
}

impl Account {
    pub fn new(base: &str, row: &AccountRow) -> Self {
        Account {
            id: row.id.to_string(),
            username: row.username.clone(),
            acct: row.username.clone(),
            display_name: row.display_name.clone(),
            locked: row.locked,
            bot: false,
            discoverable: true,
            indexable: false,
            group: false,
            created_at: iso_date(row.created_at),
            note: render_plain(&row.bio),
            url: urls::account(base, &row.username),
            uri: urls::account_uri(base, &row.username),
            avatar: urls::default_avatar(base),
            avatar_static: urls::default_avatar(base),
            header: urls::default_header(base),
            header_static: urls::default_header(base),
            followers_count: row.followers_count,
            following_count: row.following_count,
            statuses_count: row.notes_count,
            last_status_at: row.last_note_at.map(|ms| iso8601(ms)[..10].to_owned()),
            hide_collections: false,
            emojis: Vec::new(),
            fields: Vec::new(),
            pengyou: AccountExtension { languages: row.languages.clone() },
        }
    }
}

/// The account as its owner sees it (`verify_credentials`), with `source`.
#[derive(Clone, Debug, Serialize)]
pub struct CredentialAccount {
    #[serde(flatten)]
    pub account: Account,
    pub source: Source,
    pub role: Role,
}

#[derive(Clone, Debug, Serialize)]
pub struct Source {
    pub privacy: &'static str,
    pub sensitive: bool,
    pub language: Option<String>,
    pub note: String,
    pub fields: Vec<Field>,
    pub follow_requests_count: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Role {
    pub id: String,
    pub name: &'static str,
    pub color: &'static str,
    pub permissions: String,
    pub highlighted: bool,
}

impl CredentialAccount {
    pub fn new(base: &str, row: &AccountRow) -> Self {
        CredentialAccount {
            account: Account::new(base, row),
            source: Source {
                privacy: "public",
                sensitive: false,
                language: row.languages.first().cloned(),
                note: row.bio.clone(),
                fields: Vec::new(),
                follow_requests_count: 0,
            },
            role: if row.is_admin {
                Role { id: "3".into(), name: "Admin", color: "", permissions: "1".into(), highlighted: true }
            } else {
                Role { id: "-99".into(), name: "", color: "", permissions: "0".into(), highlighted: false }
            },
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Mention {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tag {
    pub name: String,
    pub url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub id: String,
    pub uri: String,
    pub url: String,
    pub created_at: String,
    pub account: Account,
    pub content: String,
    pub visibility: &'static str,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub media_attachments: Vec<MediaAttachment>,
    pub application: Option<()>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<Tag>,
    pub emojis: Vec<()>,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub replies_count: i64,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_account_id: Option<String>,
    pub reblog: Option<()>,
    pub poll: Option<()>,
    pub card: Option<()>,
    pub language: Option<String>,
    /// The source text; Mastodon sets it only when answering a delete (for redrafting).
    pub text: Option<String>,
    pub edited_at: Option<String>,
    pub favourited: bool,
    pub reblogged: bool,
    pub muted: bool,
    pub bookmarked: bool,
    pub pinned: bool,
    pub filtered: Vec<FilterResult>,
    /// pengyou: the note's title (RedNote notes have one; Mastodon statuses do not).
    pub title: Option<String>,
    pub pengyou: StatusExtension,
}

/// Mastodon's `MediaAttachment`, with pengyou's JPEG fallbacks and subtitle tracks.
#[derive(Clone, Debug, Serialize)]
pub struct MediaAttachment {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The display size (WebP), the animation, or the video; `None` while processing.
    pub url: Option<String>,
    /// The card size (WebP).
    pub preview_url: Option<String>,
    pub remote_url: Option<String>,
    pub preview_remote_url: Option<String>,
    pub text_url: Option<String>,
    pub meta: serde_json::Value,
    pub description: Option<String>,
    pub blurhash: Option<String>,
    pub pengyou: MediaExtension,
}

/// pengyou's additions to a media attachment.
#[derive(Clone, Debug, Serialize)]
pub struct MediaExtension {
    /// processing, ready or failed.
    pub state: &'static str,
    pub jpeg_url: Option<String>,
    pub jpeg_preview_url: Option<String>,
    pub subtitles: Vec<SubtitleTrack>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SubtitleTrack {
    pub language: String,
    pub url: String,
}

fn size_json(size: crate::media::Size) -> serde_json::Value {
    let aspect = if size.height == 0 { 1.0 } else { f64::from(size.width) / f64::from(size.height) };
    serde_json::json!({
        "width": size.width,
        "height": size.height,
        "size": format!("{}x{}", size.width, size.height),
        "aspect": aspect,
    })
}

impl MediaAttachment {
    /// The attachment with URLs under `base`; with a signer, URLs carry a
    /// signature so that readers of a non-public note can load the files.
    pub fn new(base: &str, media: &pengyou_store::Media, signer: Option<&crate::media::Signer>) -> Self {
        use crate::media::picture::names;
        let meta = crate::media::MediaMeta::parse(&media.meta);
        let ready = media.state == pengyou_store::MediaState::Ready;
        let query = signer.map(|s| s.query(&media.storage_key));
        let url = |file: &str| -> Option<String> {
            ready.then(|| match &query {
                Some(query) => format!("{base}/media/{}/{file}?{query}", media.storage_key),
                None => format!("{base}/media/{}/{file}", media.storage_key),
            })
        };
        let main = match media.kind {
            pengyou_store::MediaKind::Video => url(crate::media::VIDEO_FILE),
            pengyou_store::MediaKind::Gifv => url(names::ANIMATION),
            pengyou_store::MediaKind::Image => url(names::DISPLAY_WEBP),
        };
        let mut meta_json = serde_json::json!({
            "focus": { "x": media.focus.0, "y": media.focus.1 },
        });
        if ready {
            let mut original = size_json(meta.original);
            if let Some(duration) = meta.duration {
                original["duration"] = serde_json::json!(duration);
                original["length"] = serde_json::json!(format_length(duration));
                original["frame_rate"] = serde_json::json!(format!("{:.0}/1", meta.fps.unwrap_or(0.0)));
            }
            meta_json["original"] = original;
            if let Some(small) = meta.small {
                meta_json["small"] = size_json(small);
            }
            if let Some(duration) = meta.duration {
                meta_json["length"] = serde_json::json!(format_length(duration));
                meta_json["duration"] = serde_json::json!(duration);
                meta_json["audio_channels"] =
                    serde_json::json!(if meta.audio == Some(true) { "stereo" } else { "none" });
            }
        }
        MediaAttachment {
            id: media.id.to_string(),
            kind: media.kind.as_str(),
            url: main,
            preview_url: url(names::SMALL_WEBP),
            remote_url: None,
            preview_remote_url: None,
            text_url: None,
            meta: meta_json,
            description: (!media.description.is_empty()).then(|| media.description.clone()),
            blurhash: media.blurhash.clone(),
            pengyou: MediaExtension {
                state: media.state.as_str(),
                jpeg_url: url(names::DISPLAY_JPEG),
                jpeg_preview_url: url(names::SMALL_JPEG),
                subtitles: media
                    .subtitles
                    .iter()
                    .filter_map(|(language, file)| {
                        url(file).map(|url| SubtitleTrack { language: language.clone(), url })
                    })
                    .collect(),
            },
        }
    }
}

/// `h:mm:ss.ss`, as Mastodon writes a video's length.
fn format_length(seconds: f64) -> String {
    let whole = seconds.max(0.0);
    let hours = (whole / 3600.0).floor();
    let minutes = ((whole - hours * 3600.0) / 60.0).floor();
    let rest = whole - hours * 3600.0 - minutes * 60.0;
    format!("{hours:.0}:{minutes:02.0}:{rest:05.2}")
}

/// pengyou's additions to a status.
#[derive(Clone, Debug, Serialize)]
pub struct StatusExtension {
    pub collects_count: i64,
    pub views_count: i64,
    /// The board the reader collected this note into, if any.
    pub board_id: Option<String>,
    /// For comments: the note they belong to.
    pub root_id: Option<String>,
    /// For replies: the top-level comment they sit under.
    pub parent_comment_id: Option<String>,
    pub pinned_comment_id: Option<String>,
    /// The discover feed's score parts, for admins who ask (`explain=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<crate::domain::discover::Score>,
}

/// Why a status matched one of the reader's filters.
#[derive(Clone, Debug, Serialize)]
pub struct FilterResult {
    pub filter: FilterEntity,
    pub keyword_matches: Vec<String>,
    pub status_matches: Vec<String>,
}

/// Mastodon's v2 `Filter`.
#[derive(Clone, Debug, Serialize)]
pub struct FilterEntity {
    pub id: String,
    pub title: String,
    pub context: Vec<String>,
    pub expires_at: Option<String>,
    pub filter_action: String,
    pub keywords: Vec<FilterKeywordEntity>,
    pub statuses: Vec<()>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FilterKeywordEntity {
    pub id: String,
    pub keyword: String,
    pub whole_word: bool,
}

impl FilterEntity {
    pub fn new(filter: &pengyou_store::Filter) -> Self {
        FilterEntity {
            id: filter.id.to_string(),
            title: filter.title.clone(),
            context: filter.context.clone(),
            expires_at: filter.expires_at.map(iso8601),
            filter_action: filter.action.clone(),
            keywords: filter
                .keywords
                .iter()
                .map(|k| FilterKeywordEntity {
                    id: k.id.to_string(),
                    keyword: k.keyword.clone(),
                    whole_word: k.whole_word,
                })
                .collect(),
            statuses: Vec::new(),
        }
    }
}

impl Status {
    pub fn new(base: &str, view: &NoteView) -> Self {
        let note = &view.note;
        let author = &view.author;
        Status {
            id: note.id.to_string(),
            uri: urls::note_uri(base, &author.username, note.id),
            url: urls::note(base, &author.username, note.id),
            created_at: iso8601(note.created_at),
            account: Account::new(base, author),
            content: note.content_html.clone(),
            visibility: note.visibility.as_str(),
            sensitive: note.sensitive,
            spoiler_text: note.spoiler_text.clone(),
            media_attachments: Vec::new(),
            application: None,
            mentions: note
                .mentions
                .iter()
                .map(|m| Mention {
                    id: m.account_id.to_string(),
                    username: m.username.clone(),
                    acct: m.username.clone(),
                    url: urls::account(base, &m.username),
                })
                .collect(),
            tags: note.tags.iter().map(|t| Tag { name: t.clone(), url: urls::tag(base, t) }).collect(),
            emojis: Vec::new(),
            reblogs_count: 0,
            favourites_count: note.favourites_count,
            replies_count: note.replies_count,
            in_reply_to_id: note.in_reply_to_id.map(|id| id.to_string()),
            in_reply_to_account_id: None,
            reblog: None,
            poll: None,
            card: None,
            language: note.language.clone(),
            text: None,
            edited_at: note.edited_at.map(iso8601),
            favourited: false,
            reblogged: false,
            muted: false,
            bookmarked: false,
            pinned: false,
            filtered: Vec::new(),
            title: note.title.clone(),
            pengyou: StatusExtension {
                collects_count: note.collects_count,
                views_count: note.views_count,
                board_id: None,
                root_id: note.root_id.map(|id| id.to_string()),
                parent_comment_id: note.parent_comment_id.map(|id| id.to_string()),
                pinned_comment_id: note.pinned_comment_id.map(|id| id.to_string()),
                score: None,
            },
        }
    }
}

/// One entry of `GET /api/v1/statuses/:id/history`.
#[derive(Clone, Debug, Serialize)]
pub struct StatusEdit {
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: String,
    pub account: Account,
    pub media_attachments: Vec<MediaAttachment>,
    pub emojis: Vec<()>,
    pub title: Option<String>,
    pub language: Option<String>,
}

impl StatusEdit {
    pub fn new(base: &str, author: &AccountRow, revision: &NoteRevision) -> Self {
        StatusEdit {
            content: revision.content_html.clone(),
            spoiler_text: revision.spoiler_text.clone(),
            sensitive: revision.sensitive,
            created_at: iso8601(revision.created_at),
            account: Account::new(base, author),
            media_attachments: Vec::new(),
            emojis: Vec::new(),
            title: revision.title.clone(),
            language: revision.language.clone(),
        }
    }
}

/// `GET /api/v1/statuses/:id/source`.
#[derive(Clone, Debug, Serialize)]
pub struct StatusSource {
    pub id: String,
    pub text: String,
    pub spoiler_text: String,
    pub title: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub redirect_uris: Vec<String>,
    pub vapid_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
}

impl Application {
    /// The app as shown to anyone; `secret` only at creation.
    pub fn new(app: &App, secret: Option<String>) -> Self {
        Application {
            id: app.id.to_string(),
            name: app.name.clone(),
            website: app.website.clone(),
            scopes: app.scopes.split_whitespace().map(str::to_owned).collect(),
            redirect_uri: app.redirect_uris.join("\n"),
            redirect_uris: app.redirect_uris.clone(),
            vapid_key: String::new(),
            client_id: secret.as_ref().map(|_| app.client_id.clone()),
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Token {
    pub access_token: String,
    pub token_type: &'static str,
    pub scope: String,
    pub created_at: i64,
}

/// `GET /api/v1/accounts/relationships`.
#[derive(Clone, Debug, Serialize)]
pub struct RelationshipEntity {
    pub id: String,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub languages: Option<Vec<String>>,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: String,
}

impl RelationshipEntity {
    pub fn new(relation: &pengyou_store::Relationship) -> Self {
        RelationshipEntity {
            id: relation.account_id.to_string(),
            following: relation.following,
            showing_reblogs: relation.following,
            notifying: false,
            languages: None,
            followed_by: relation.followed_by,
            blocking: relation.blocking,
            blocked_by: relation.blocked_by,
            muting: relation.muting,
            muting_notifications: relation.muting_notifications,
            requested: relation.requested,
            requested_by: relation.requested_by,
            domain_blocking: false,
            endorsed: false,
            note: String::new(),
        }
    }
}

/// `GET /api/v1/statuses/:id/context`.
#[derive(Clone, Debug, Serialize)]
pub struct Context {
    pub ancestors: Vec<Status>,
    pub descendants: Vec<Status>,
}

/// Mastodon's notification type for each pengyou kind: comments and replies are
/// reply statuses, which Mastodon reports as `mention`; a collect has no Mastodon
/// equivalent and keeps its own type, which standard clients skip.
pub fn mastodon_notification_type(kind: &str) -> &str {
    match kind {
        "comment" | "reply" => "mention",
        other => other,
    }
}

/// pengyou kinds asked for by a Mastodon type (`types[]=mention` includes comments and replies).
pub fn kinds_for_type(kind: &str) -> Vec<String> {
    match kind {
        "mention" => vec!["mention".into(), "comment".into(), "reply".into()],
        other => vec![other.to_owned()],
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct NotificationEntity {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub group_key: String,
    pub created_at: String,
    pub account: Account,
    pub status: Option<Status>,
    pub pengyou: NotificationExtension,
}

#[derive(Clone, Debug, Serialize)]
pub struct NotificationExtension {
    /// pengyou's own kind: favourite, collect, comment, reply, mention, follow, follow_request.
    pub kind: String,
}

/// `GET /api/v2/notifications`: groups plus the accounts and statuses they refer to.
#[derive(Clone, Debug, Serialize)]
pub struct GroupedNotifications {
    pub accounts: Vec<Account>,
    pub statuses: Vec<Status>,
    pub notification_groups: Vec<NotificationGroupEntity>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NotificationGroupEntity {
    pub group_key: String,
    pub notifications_count: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub most_recent_notification_id: String,
    pub page_min_id: String,
    pub page_max_id: String,
    pub latest_page_notification_at: String,
    pub sample_account_ids: Vec<String>,
    pub status_id: Option<String>,
    pub pengyou: NotificationExtension,
}

#[derive(Clone, Debug, Serialize)]
pub struct TagHistory {
    pub day: String,
    pub uses: String,
    pub accounts: String,
}

/// Mastodon's `Tag` with its use history and whether the reader follows it.
#[derive(Clone, Debug, Serialize)]
pub struct TagEntity {
    pub name: String,
    pub url: String,
    pub history: Vec<TagHistory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub following: Option<bool>,
}

impl TagEntity {
    pub fn new(base: &str, name: &str, days: &[pengyou_store::TagDay], following: Option<bool>) -> Self {
        TagEntity {
            name: name.to_owned(),
            url: urls::tag(base, name),
            history: days
                .iter()
                .map(|d| TagHistory {
                    day: (d.day / 1000).to_string(),
                    uses: d.uses.to_string(),
                    accounts: d.accounts.to_string(),
                })
                .collect(),
            following,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct MarkerEntity {
    pub last_read_id: String,
    pub version: i64,
    pub updated_at: String,
}

impl MarkerEntity {
    pub fn new(marker: &pengyou_store::Marker) -> Self {
        MarkerEntity {
            last_read_id: marker.last_read_id.to_string(),
            version: marker.version,
            updated_at: iso8601(marker.updated_at),
        }
    }
}

/// pengyou's board (a named collection of collected notes).
#[derive(Clone, Debug, Serialize)]
pub struct BoardEntity {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub is_default: bool,
    pub notes_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl BoardEntity {
    pub fn new(board: &pengyou_store::Board) -> Self {
        BoardEntity {
            id: board.id.to_string(),
            account_id: board.account_id.to_string(),
            name: board.name.clone(),
            description: board.description.clone(),
            public: board.public,
            is_default: board.is_default,
            notes_count: board.notes_count,
            created_at: iso8601(board.created_at),
            updated_at: iso8601(board.updated_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_date(1_700_000_000_123), "2023-11-14T00:00:00Z");
    }
}
