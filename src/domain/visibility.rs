//! Who may see what, decided in one place for every read path: notes and
//! comments by visibility, follows and blocks; profiles by blocks.
//!
//! Listings ask the store to leave out blocked and muted authors (so pages stay
//! full), then pass every note through [`Audience::can_view`], the one rule.

use std::collections::HashMap;

use pengyou_store::{Account, AccountId, Note, NoteId, NoteView, Relationship, Store, Visibility};

use crate::error::AppResult;

/// A reader and how they stand towards the authors of the notes at hand.
pub struct Audience {
    viewer: Option<AccountId>,
    relations: HashMap<AccountId, Relationship>,
}

impl Audience {
    /// Loads the viewer's relationships with `authors` in one query.
    pub async fn load(
        store: &dyn Store,
        viewer: Option<&Account>,
        authors: impl IntoIterator<Item = AccountId>,
    ) -> AppResult<Audience> {
        let Some(viewer) = viewer else { return Ok(Audience { viewer: None, relations: HashMap::new() }) };
        let mut others: Vec<AccountId> = authors.into_iter().filter(|a| *a != viewer.id).collect();
        others.sort_unstable();
        others.dedup();
        let relations = if others.is_empty() {
            HashMap::new()
        } else {
            store.relationships(viewer.id, &others).await?.into_iter().map(|r| (r.account_id, r)).collect()
        };
        Ok(Audience { viewer: Some(viewer.id), relations })
    }

    /// The audience for a page of notes: their authors.
    pub async fn for_views(store: &dyn Store, viewer: Option<&Account>, views: &[NoteView]) -> AppResult<Audience> {
        Audience::load(store, viewer, views.iter().map(|v| v.author.id)).await
    }

    pub fn relationship(&self, other: AccountId) -> Option<&Relationship> {
        self.relations.get(&other)
    }

    /// Whether the viewer and `other` have blocked each other in either direction.
    pub fn blocked(&self, other: AccountId) -> bool {
        self.relations.get(&other).is_some_and(Relationship::blocked_either_way)
    }

    /// The rule: authors see their own notes; nobody sees a suspended author's
    /// notes or notes across a block; public and unlisted notes are for everyone,
    /// followers-only notes for followers, direct notes for the people they mention.
    pub fn can_view(&self, note: &Note, author: &Account) -> bool {
        if self.viewer == Some(note.account_id) {
            return true;
        }
        if author.suspended || self.blocked(author.id) {
            return false;
        }
        match note.visibility {
            Visibility::Public | Visibility::Unlisted => true,
            Visibility::Private => self.relations.get(&author.id).is_some_and(|r| r.following),
            Visibility::Direct => self.viewer.is_some_and(|v| note.mentions.iter().any(|m| m.account_id == v)),
        }
    }

    /// Keeps the notes the viewer may see, in order.
    pub fn retain(&self, views: Vec<NoteView>) -> Vec<NoteView> {
        views.into_iter().filter(|v| self.can_view(&v.note, &v.author)).collect()
    }
}

/// Whether `viewer` may see one note. A comment is visible only where its note is.
pub async fn can_view(store: &dyn Store, view: &NoteView, viewer: Option<&Account>) -> AppResult<bool> {
    Ok(!visible(store, viewer, vec![view.clone()]).await?.is_empty())
}

/// The notes of a listing that `viewer` may see, in order: the one rule applied
/// to each, and to the note every comment belongs to.
pub async fn visible(store: &dyn Store, viewer: Option<&Account>, views: Vec<NoteView>) -> AppResult<Vec<NoteView>> {
    let audience = Audience::for_views(store, viewer, &views).await?;
    let mut views = audience.retain(views);
    let mut roots: Vec<NoteId> = views.iter().filter_map(|v| v.note.root_id).collect();
    roots.sort_unstable();
    roots.dedup();
    if roots.is_empty() {
        return Ok(views);
    }
    let mut root_views = Vec::with_capacity(roots.len());
    for root in roots {
        root_views.extend(store.note_by_id(root).await?);
    }
    let root_audience = Audience::for_views(store, viewer, &root_views).await?;
    let visible_roots: Vec<NoteId> =
        root_views.iter().filter(|r| root_audience.can_view(&r.note, &r.author)).map(|r| r.note.id).collect();
    views.retain(|v| v.note.root_id.is_none_or(|root| visible_roots.contains(&root)));
    Ok(views)
}

/// The visibilities of `author`'s notes that `viewer` may list on their profile.
/// Direct notes are listed to their author only (recipients see them in conversations).
/// Across a block, nothing.
pub async fn listable_visibilities(
    store: &dyn Store,
    author: &Account,
    viewer: Option<AccountId>,
) -> AppResult<Vec<Visibility>> {
    if viewer == Some(author.id) {
        return Ok(vec![Visibility::Public, Visibility::Unlisted, Visibility::Private, Visibility::Direct]);
    }
    if author.suspended {
        return Ok(Vec::new());
    }
    let mut visibilities = vec![Visibility::Public, Visibility::Unlisted];
    if let Some(viewer) = viewer {
        let relation = store.relationships(viewer, &[author.id]).await?.pop().unwrap_or_default();
        if relation.blocked_either_way() {
            return Ok(Vec::new());
        }
        if relation.following {
            visibilities.push(Visibility::Private);
        }
    }
    Ok(visibilities)
}

/// Whether `viewer` may see `account`'s profile at all: not when that account
/// blocks them (the blocker can still see whom they blocked, to undo it).
pub async fn can_see_profile(store: &dyn Store, account: &Account, viewer: Option<AccountId>) -> AppResult<bool> {
    if account.suspended {
        return Ok(false);
    }
    match viewer {
        Some(viewer) if viewer != account.id => {
            Ok(!store.relationships(viewer, &[account.id]).await?.pop().unwrap_or_default().blocked_by)
        }
        _ => Ok(true),
    }
}
