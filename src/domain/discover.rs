//! The discover feed (发现): recent public notes ranked by recency-decayed
//! engagement, boosted by the reader's followed tags and languages, with a
//! configurable cross-border share of notes from the other language community.
//!
//! Deterministic for a seed (ties and a small jitter come from hashing the seed
//! with the note id) and explainable: every part of a score is kept.

use std::hash::{DefaultHasher, Hash, Hasher};

use pengyou_store::NoteView;
use serde::Serialize;

/// How far back candidates reach.
pub const WINDOW_MS: i64 = 7 * 24 * 3_600_000;
/// How many candidates are scored.
pub const CANDIDATES: u32 = 1000;

/// The parts of a note's score; `total` is their product.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Score {
    /// 1 + likes + 2·collects + 1.5·comments + views/50.
    pub engagement: f64,
    /// (age in hours + 2)^-1.5.
    pub decay: f64,
    /// 1.5 when the note has a tag the reader follows.
    pub tag_boost: f64,
    /// 1.2 when the note is in a language the reader reads.
    pub language_boost: f64,
    /// 1 to 1.1, from the seed: varies the order between refreshes, reproducibly.
    pub jitter: f64,
    pub total: f64,
    /// In a language the reader does not read: part of the cross-border share.
    pub cross_border: bool,
}

/// What the ranking knows about the reader.
#[derive(Clone, Debug, Default)]
pub struct Reader {
    pub languages: Vec<String>,
    pub followed_tags: Vec<String>,
}

pub struct Ranked {
    pub view: NoteView,
    pub score: Score,
}

fn jitter(seed: u64, id: i64) -> f64 {
    let mut hasher = DefaultHasher::new();
    (seed, id).hash(&mut hasher);
    1.0 + (hasher.finish() % 10_000) as f64 / 100_000.0
}

pub fn score(view: &NoteView, reader: &Reader, seed: u64, now: i64) -> Score {
    let note = &view.note;
    let engagement = 1.0
        + note.favourites_count as f64
        + 2.0 * note.collects_count as f64
        + 1.5 * note.replies_count as f64
        + note.views_count as f64 / 50.0;
    let age_hours = ((now - note.created_at).max(0) as f64) / 3_600_000.0;
    let decay = (age_hours + 2.0).powf(-1.5);
    let tag_boost = if note.tags.iter().any(|t| reader.followed_tags.contains(t)) { 1.5 } else { 1.0 };
    let reads = |language: &String| reader.languages.iter().any(|l| l == language);
    let cross_border = !reader.languages.is_empty() && note.language.as_ref().is_some_and(|l| !reads(l));
    let language_boost = if note.language.as_ref().is_some_and(reads) { 1.2 } else { 1.0 };
    let jitter = jitter(seed, note.id.0);
    Score {
        engagement,
        decay,
        tag_boost,
        language_boost,
        jitter,
        total: engagement * decay * tag_boost * language_boost * jitter,
        cross_border,
    }
}

/// Orders candidates: by score within each community, then interleaved so that
/// about `cross_border_share` of every prefix comes from the other community.
pub fn rank(candidates: Vec<NoteView>, reader: &Reader, seed: u64, cross_border_share: f64, now: i64) -> Vec<Ranked> {
    let mut scored: Vec<Ranked> = candidates
        .into_iter()
        .map(|view| {
            let score = score(&view, reader, seed, now);
            Ranked { view, score }
        })
        .collect();
    scored.sort_by(|a, b| b.score.total.total_cmp(&a.score.total).then(b.view.note.id.cmp(&a.view.note.id)));
    let (foreign, home): (Vec<Ranked>, Vec<Ranked>) = scored.into_iter().partition(|r| r.score.cross_border);
    let share = cross_border_share.clamp(0.0, 1.0);
    let mut foreign = foreign.into_iter().peekable();
    let mut home = home.into_iter().peekable();
    let mut out = Vec::new();
    let mut foreign_taken = 0usize;
    loop {
        let position = out.len() + 1;
        let want_foreign = (foreign_taken as f64 + 1.0) <= share * position as f64 + 1e-9;
        let next = match (want_foreign, foreign.peek().is_some(), home.peek().is_some()) {
            (_, false, false) => break,
            (true, true, _) | (_, true, false) => {
                foreign_taken += 1;
                foreign.next()
            }
            _ => home.next(),
        };
        out.extend(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pengyou_store::{Account, Note, NoteId, Visibility};

    fn view(id: i64, language: &str, likes: i64, age_hours: i64, now: i64) -> NoteView {
        NoteView {
            note: Note {
                id: NoteId(id),
                account_id: Default::default(),
                title: None,
                body: String::new(),
                content_html: String::new(),
                language: Some(language.into()),
                visibility: Visibility::Public,
                spoiler_text: String::new(),
                sensitive: false,
                in_reply_to_id: None,
                root_id: None,
                parent_comment_id: None,
                replies_count: 0,
                favourites_count: likes,
                collects_count: 0,
                views_count: 0,
                pinned_comment_id: None,
                created_at: now - age_hours * 3_600_000,
                edited_at: None,
                tags: Vec::new(),
                mentions: Vec::new(),
                media: Vec::new(),
            },
            author: Account {
                id: Default::default(),
                username: "a".into(),
                display_name: String::new(),
                bio: String::new(),
                languages: Vec::new(),
                ui_language: None,
                locked: false,
                is_admin: false,
                suspended: false,
                notes_count: 0,
                followers_count: 0,
                following_count: 0,
                last_note_at: None,
                created_at: 0,
                updated_at: 0,
            },
        }
    }

    #[test]
    fn fresh_engagement_wins_and_the_mix_holds() {
        let now = 1_800_000_000_000;
        let reader = Reader { languages: vec!["en".into()], followed_tags: Vec::new() };
        let mut notes = Vec::new();
        for i in 0..8 {
            notes.push(view(i, "en", 10 - i, 1, now));
        }
        for i in 8..12 {
            notes.push(view(i, "zh", 50, 1, now));
        }
        notes.push(view(99, "en", 1000, 24 * 6, now));
        let ranked = rank(notes.clone(), &reader, 7, 0.25, now);
        assert_eq!(ranked.len(), 13);
        let first_eight = &ranked[..8];
        assert_eq!(first_eight.iter().filter(|r| r.score.cross_border).count(), 2);
        assert_eq!(ranked[0].view.note.id, NoteId(0));
        let again = rank(notes, &reader, 7, 0.25, now);
        let ids = |r: &[Ranked]| r.iter().map(|r| r.view.note.id).collect::<Vec<_>>();
        assert_eq!(ids(&ranked), ids(&again));
    }
}
