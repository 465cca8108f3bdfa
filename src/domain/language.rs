//! A script-based language guess for text whose author did not say. Chinese
//! and English are told apart by their scripts; Japanese and Korean by kana and
//! hangul. The author's choice always wins over this guess.

/// Guesses an ISO 639-1 code from the scripts in `text`, or `None` when there
/// are no letters to go by (emoji, numbers).
pub fn guess(text: &str) -> Option<String> {
    let (mut han, mut kana, mut hangul, mut latin_words) = (0usize, 0usize, 0usize, 0usize);
    let mut in_latin_word = false;
    for c in text.chars() {
        let latin = c.is_ascii_alphabetic();
        if latin && !in_latin_word {
            latin_words += 1;
        }
        in_latin_word = latin;
        match c {
            '\u{3040}'..='\u{30FF}' => kana += 1,
            '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' => hangul += 1,
            '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' => han += 1,
            _ => {}
        }
    }
    // A Chinese character carries about as much as an English word; compare
    // words with characters / 1.5 (the average Chinese word is ~1.5 characters).
    let code = if kana > 0 && kana * 4 >= han {
        "ja"
    } else if hangul > 0 && hangul >= han {
        "ko"
    } else if han > 0 && han * 2 >= latin_words * 3 {
        "zh"
    } else if latin_words > 0 {
        "en"
    } else if han > 0 {
        "zh"
    } else {
        return None;
    };
    Some(code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::guess;

    #[test]
    fn guesses_by_script() {
        assert_eq!(guess("今天的猫咪好可爱").as_deref(), Some("zh"));
        assert_eq!(guess("My cat is sleeping on the sofa").as_deref(), Some("en"));
        assert_eq!(guess("brunch 打卡 in 上海").as_deref(), Some("zh"));
        assert_eq!(guess("ねこがかわいい").as_deref(), Some("ja"));
        assert_eq!(guess("고양이 귀여워").as_deref(), Some("ko"));
        assert_eq!(guess("👍 123"), None);
    }
}
