//! What the templates show: notes, people, pictures and comments made from
//! the API's entities (so a page shows exactly what the API would answer for
//! the same reader), with URLs made relative to this site.

use pengyou_store::{Account as AccountRow, NoteView};

use crate::api::entities::{Account, MediaAttachment, Status};
use crate::api::present;
use crate::error::AppResult;
use crate::state::AppState;

/// A URL under this site's base, as a path (pages never name another origin).
pub fn local(state: &AppState, url: &str) -> String {
    match url.strip_prefix(state.base_url.as_ref()) {
        Some("") => "/".to_owned(),
        Some(path) => path.to_owned(),
        None => url.to_owned(),
    }
}

#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub username: String,
    pub name: String,
    pub url: String,
    pub avatar: String,
}

impl Person {
    pub fn new(state: &AppState, account: &Account) -> Self {
        Person {
            id: account.id.clone(),
            username: account.username.clone(),
            name: if account.display_name.is_empty() { account.username.clone() } else { account.display_name.clone() },
            url: local(state, &account.url),
            avatar: local(state, &account.avatar),
        }
    }

    pub fn from_row(state: &AppState, row: &AccountRow) -> Self {
        Person::new(state, &Account::new(&state.base_url, row))
    }
}

/// A processed photo (or a video's poster) with what a page needs to lay it
/// out before it loads: its aspect (from width and height) and blurhash.
#[derive(Clone, Debug)]
pub struct Picture {
    pub id: String,
    pub small: String,
    pub small_jpeg: String,
    pub large: String,
    pub large_jpeg: String,
    pub width: u64,
    pub height: u64,
    pub blurhash: String,
    pub alt: String,
}

impl Picture {
    pub fn new(state: &AppState, media: &MediaAttachment) -> Option<Picture> {
        let small = local(state, media.preview_url.as_deref()?);
        let size = media.meta.get("small").or_else(|| media.meta.get("original"));
        let dim = |key: &str| size.and_then(|s| s.get(key)).and_then(|v| v.as_u64()).unwrap_or(1).max(1);
        let large = match media.kind {
            "image" => media.url.as_deref().map(|u| local(state, u)).unwrap_or_else(|| small.clone()),
            _ => small.clone(),
        };
        Some(Picture {
            id: media.id.clone(),
            small_jpeg: media.pengyou.jpeg_preview_url.as_deref().map(|u| local(state, u)).unwrap_or(small.clone()),
            large_jpeg: media.pengyou.jpeg_url.as_deref().map(|u| local(state, u)).unwrap_or(large.clone()),
            small,
            large,
            width: dim("width"),
            height: dim("height"),
            blurhash: media.blurhash.clone().unwrap_or_default(),
            alt: media.description.clone().unwrap_or_default(),
        })
    }

    /// Portrait covers taller than 3:4 are cropped to 3:4 in the waterfall, as RedNote does.
    pub fn card_height(&self) -> u64 {
        self.height.min(self.width * 4 / 3)
    }
}

#[derive(Clone, Debug)]
pub struct Track {
    pub language: String,
    pub label: String,
    pub url: String,
}

#[derive(Clone, Debug)]
pub struct Video {
    pub url: String,
    pub poster: Option<Picture>,
    pub tracks: Vec<Track>,
    pub looping: bool,
}

/// A note as the reader sees it: its card in a feed, or its page.
#[derive(Clone, Debug)]
pub struct NoteItem {
    pub id: String,
    pub url: String,
    pub title: String,
    pub has_title: bool,
    pub html: String,
    pub language: String,
    pub author: Person,
    pub pictures: Vec<Picture>,
    pub video: Option<Video>,
    pub tags: Vec<(String, String)>,
    pub created_at: i64,
    pub edited: bool,
    pub visibility: &'static str,
    pub likes: i64,
    pub liked: bool,
    pub collects: i64,
    pub collected: bool,
    pub board_id: String,
    pub comments: i64,
    pub views: i64,
    pub pinned_comment_id: String,
    pub is_comment: bool,
    pub parent_comment_id: String,
    pub replying_to: String,
}

impl NoteItem {
    pub fn new(state: &AppState, view: &NoteView, status: &Status) -> Self {
        let pictures: Vec<Picture> = status
            .media_attachments
            .iter()
            .filter(|m| m.kind == "image")
            .filter_map(|m| Picture::new(state, m))
            .collect();
        let video = status.media_attachments.iter().find(|m| m.kind == "video" || m.kind == "gifv").and_then(|m| {
            Some(Video {
                url: local(state, m.url.as_deref()?),
                poster: Picture::new(state, m),
                tracks: m
                    .pengyou
                    .subtitles
                    .iter()
                    .map(|s| Track {
                        language: s.language.clone(),
                        label: language_name(&s.language),
                        url: local(state, &s.url),
                    })
                    .collect(),
                looping: m.kind == "gifv",
            })
        });
        let title = match view.note.title.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(title) => title.to_owned(),
            None => excerpt(&view.note.body, 40),
        };
        NoteItem {
            id: status.id.clone(),
            url: local(state, &status.url),
            has_title: view.note.title.as_deref().is_some_and(|t| !t.trim().is_empty()),
            title,
            html: status.content.clone(),
            language: status.language.clone().unwrap_or_default(),
            author: Person::new(state, &status.account),
            pictures,
            video,
            tags: status.tags.iter().map(|t| (t.name.clone(), local(state, &t.url))).collect(),
            created_at: view.note.created_at,
            edited: view.note.edited_at.is_some(),
            visibility: status.visibility,
            likes: status.favourites_count,
            liked: status.favourited,
            collects: status.pengyou.collects_count,
            collected: status.bookmarked,
            board_id: status.pengyou.board_id.clone().unwrap_or_default(),
            comments: status.replies_count,
            views: status.pengyou.views_count,
            pinned_comment_id: status.pengyou.pinned_comment_id.clone().unwrap_or_default(),
            is_comment: view.note.root_id.is_some(),
            parent_comment_id: view.note.parent_comment_id.map(|id| id.to_string()).unwrap_or_default(),
            replying_to: String::new(),
        }
    }

    /// The picture a card shows: the first photo, or the video's poster.
    pub fn cover(&self) -> Option<&Picture> {
        self.pictures.first().or_else(|| self.video.as_ref().and_then(|v| v.poster.as_ref()))
    }

    pub fn lang_attr(&self) -> &str {
        match self.language.as_str() {
            "zh" => "zh-Hans",
            other => other,
        }
    }
}

/// The notes as `viewer` sees them, in order, leaving out what their filters hide.
pub async fn notes(
    state: &AppState,
    viewer: Option<&AccountRow>,
    views: Vec<NoteView>,
    context: &str,
) -> AppResult<Vec<NoteItem>> {
    Ok(present::with_statuses(state, viewer, views, context)
        .await?
        .iter()
        .map(|(view, status)| NoteItem::new(state, view, status))
        .collect())
}

/// The start of a text, cut at a grapheme boundary, for cards without a title.
pub fn excerpt(text: &str, graphemes: usize) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let mut out: String = line.graphemes(true).take(graphemes).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
}

/// A language's own name for subtitle menus.
pub fn language_name(tag: &str) -> String {
    let lower = tag.to_ascii_lowercase();
    match lower.as_str() {
        t if t.starts_with("zh-hant") || t == "zh-tw" || t == "zh-hk" => "繁體中文".into(),
        t if t.starts_with("zh") => "简体中文".into(),
        t if t.starts_with("en") => "English".into(),
        t if t.starts_with("ja") => "日本語".into(),
        t if t.starts_with("ko") => "한국어".into(),
        t if t.starts_with("fr") => "Français".into(),
        t if t.starts_with("es") => "Español".into(),
        t if t.starts_with("de") => "Deutsch".into(),
        _ => tag.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_graphemes() {
        assert_eq!(excerpt("\n  今天去了西湖，风景很美", 5), "今天去了西…");
        assert_eq!(excerpt("short", 40), "short");
        assert_eq!(excerpt("👨‍👩‍👧 family day", 1), "👨‍👩‍👧…");
    }
}
