//! Composing a note from what its author typed: validate, parse once, resolve
//! mentions, render HTML. The API and the web composer both come through here.

use pengyou_store::{Account, NoteUpdate};

use super::text::{self, LinkTarget};
use super::{language, validate};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::urls;

/// What an author submits for a new note or an edit.
#[derive(Clone, Debug, Default)]
pub struct NoteInput {
    pub title: Option<String>,
    pub body: String,
    pub spoiler_text: Option<String>,
    pub sensitive: bool,
    /// A note with photos or a video may have no text.
    pub has_media: bool,
    pub language: Option<String>,
}

/// Rendered links point at this instance's tag pages and at the profiles of
/// mentioned accounts that exist; other mentions stay plain text.
struct SiteLinks<'a> {
    base: &'a str,
    known: &'a [Account],
}

impl LinkTarget for SiteLinks<'_> {
    fn tag_url(&self, tag: &str) -> String {
        urls::tag(self.base, tag)
    }

    fn mention_url(&self, username: &str) -> Option<String> {
        self.known
            .iter()
            .find(|a| a.username.eq_ignore_ascii_case(username))
            .map(|a| urls::account(self.base, &a.username))
    }
}

/// Validates, parses and renders what an author typed into the store's
/// `NoteUpdate`: used as is for an edit, and as the content of a new note.
pub async fn compose(state: &AppState, input: NoteInput) -> AppResult<NoteUpdate> {
    let title = validate::note_title(input.title.as_deref()).map_err(|e| AppError::field("title", e))?;
    let body = if input.has_media && input.body.trim().is_empty() {
        String::new()
    } else {
        validate::note_body(&input.body).map_err(|e| AppError::field("status", e))?
    };
    let spoiler_text = validate::spoiler_text(input.spoiler_text.as_deref().unwrap_or_default())
        .map_err(|e| AppError::field("spoiler_text", e))?;
    let segments = text::parse(&body);
    let language = match input.language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(code) => Some(validate::language(code).map_err(|e| AppError::field("language", e))?),
        None => language::guess(&text::prose(title.as_deref(), &segments)),
    };
    let tags = text::tags(&segments);
    let mentioned = state.store.accounts_by_usernames(&text::local_mentions(&segments)).await?;
    let content_html = text::render_html(&segments, &SiteLinks { base: &state.base_url, known: &mentioned });
    Ok(NoteUpdate {
        title,
        body,
        content_html,
        language,
        spoiler_text,
        sensitive: input.sensitive,
        tags,
        mention_ids: mentioned.iter().map(|a| a.id).collect(),
    })
}
