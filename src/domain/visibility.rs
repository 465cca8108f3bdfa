//! Who may see what, decided in one place for every read path.

use pengyou_store::{Account, AccountId, Note, Store, Visibility};

use crate::error::AppResult;

/// Whether `viewer` (None: a logged-out visitor) may see `note` by `author`.
pub async fn can_view(store: &dyn Store, note: &Note, author: &Account, viewer: Option<&Account>) -> AppResult<bool> {
    if viewer.is_some_and(|v| v.id == note.account_id) {
        return Ok(true);
    }
    if author.suspended {
        return Ok(false);
    }
    Ok(match note.visibility {
        Visibility::Public | Visibility::Unlisted => true,
        Visibility::Private => match viewer {
            Some(viewer) => store.is_following(viewer.id, author.id).await?,
            None => false,
        },
        Visibility::Direct => viewer.is_some_and(|v| note.mentions.iter().any(|m| m.account_id == v.id)),
    })
}

/// The visibilities of `author`'s notes that `viewer` may list on their profile.
/// Direct notes are listed to their author only (recipients see them in conversations).
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
    if let Some(viewer) = viewer
        && store.is_following(viewer, author.id).await?
    {
        visibilities.push(Visibility::Private);
    }
    Ok(visibilities)
}
