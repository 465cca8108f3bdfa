//! View counts absorbed in memory and written in batches, so a note read ten
//! million times never turns its database row into a bottleneck.
//!
//! A view counts once per viewer (account, or client address when logged out)
//! per clock hour. Counts are flushed every `view_flush_seconds` and on a clean
//! shutdown; a crash loses at most the last interval.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use pengyou_store::{NoteId, Store, now_ms};

use crate::error::AppResult;

/// Viewer/note pairs remembered per hour; past this the set starts over, which
/// at worst counts a repeat viewer twice in that hour instead of using unbounded memory.
const MAX_REMEMBERED: usize = 2_000_000;

#[derive(Default)]
pub struct ViewCounter {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    pending: HashMap<NoteId, i64>,
    /// Hashes of (viewer, note) seen this hour.
    seen: HashSet<u64>,
    hour: i64,
}

impl ViewCounter {
    /// Records a view of `note` by `viewer` (any stable key); `true` when it counted.
    pub fn record(&self, note: NoteId, viewer: impl Hash) -> bool {
        let mut hasher = DefaultHasher::new();
        (note, viewer).hash(&mut hasher);
        let key = hasher.finish();
        let hour = now_ms() / 3_600_000;
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.hour != hour || inner.seen.len() >= MAX_REMEMBERED {
            inner.seen.clear();
            inner.hour = hour;
        }
        if !inner.seen.insert(key) {
            return false;
        }
        *inner.pending.entry(note).or_insert(0) += 1;
        true
    }

    /// Views counted but not yet written, to add to the stored count when showing it.
    pub fn pending(&self, note: NoteId) -> i64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).pending.get(&note).copied().unwrap_or(0)
    }

    /// Writes the pending counts in one transaction. On failure they are kept for the next flush.
    pub async fn flush(&self, store: &dyn Store) -> AppResult<usize> {
        let batch: Vec<(NoteId, i64)> = {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner.pending.drain().collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        if let Err(error) = store.add_note_views(&batch).await {
            let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            for (note, count) in batch {
                *inner.pending.entry(note).or_insert(0) += count;
            }
            return Err(error.into());
        }
        Ok(batch.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_view_per_viewer_per_hour() {
        let counter = ViewCounter::default();
        assert!(counter.record(NoteId(1), 7_i64));
        assert!(!counter.record(NoteId(1), 7_i64));
        assert!(counter.record(NoteId(1), 8_i64));
        assert!(counter.record(NoteId(2), 7_i64));
        assert_eq!(counter.pending(NoteId(1)), 2);
        assert_eq!(counter.pending(NoteId(2)), 1);
    }
}
