//! Keyword filters (Mastodon v2): which of a reader's filters a note matches,
//! in a given context. Matching ignores case; "whole word" applies to words in
//! scripts with spaces, while Chinese keywords match anywhere (there are no spaces to bound them).

use pengyou_store::{Filter, Note, now_ms};

/// A filter a note matched, with the keywords that did it.
pub struct FilterMatch<'a> {
    pub filter: &'a Filter,
    pub keywords: Vec<String>,
}

/// Filters in force for `context` (home, notifications, public, thread, account).
pub fn active<'a>(filters: &'a [Filter], context: &str) -> Vec<&'a Filter> {
    let now = now_ms();
    filters
        .iter()
        .filter(|f| f.context.iter().any(|c| c == context) && f.expires_at.is_none_or(|at| at > now))
        .collect()
}

/// The filters `note` matches.
pub fn matches<'a>(filters: &[&'a Filter], note: &Note) -> Vec<FilterMatch<'a>> {
    let text =
        format!("{}\n{}\n{}", note.title.as_deref().unwrap_or_default(), note.spoiler_text, note.body).to_lowercase();
    filters
        .iter()
        .filter_map(|filter| {
            let keywords: Vec<String> = filter
                .keywords
                .iter()
                .filter(|k| keyword_in(&text, &k.keyword.to_lowercase(), k.whole_word))
                .map(|k| k.keyword.clone())
                .collect();
            (!keywords.is_empty()).then_some(FilterMatch { filter, keywords })
        })
        .collect()
}

fn keyword_in(text: &str, keyword: &str, whole_word: bool) -> bool {
    if keyword.is_empty() {
        return false;
    }
    if !whole_word {
        return text.contains(keyword);
    }
    let is_word = |c: char| c.is_alphanumeric() && !is_cjk(c);
    text.match_indices(keyword).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + keyword.len()..].chars().next();
        let bounded_before = !keyword.starts_with(is_word) || before.is_none_or(|c| !is_word(c));
        let bounded_after = !keyword.ends_with(is_word) || after.is_none_or(|c| !is_word(c));
        bounded_before && bounded_after
    })
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{ac00}'..='\u{d7af}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_and_chinese() {
        assert!(keyword_in("i love cats", "cat", false));
        assert!(!keyword_in("i love cats", "cat", true));
        assert!(keyword_in("a cat!", "cat", true));
        assert!(keyword_in("我家猫咪很可爱", "猫咪", true));
        assert!(!keyword_in("dog", "", false));
    }
}
