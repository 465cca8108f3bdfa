//! Subtitle tracks: WebVTT or SRT in, validated, normalised WebVTT out, ready
//! for a `<track>` element. Cue text keeps its words and line breaks; markup
//! is dropped and the rest escaped, so a track can never carry HTML.

use super::MediaError;

/// Largest accepted subtitle file.
pub const MAX_BYTES: usize = 512 * 1024;
/// Most cues in one track.
pub const MAX_CUES: usize = 20_000;

/// One timed line (or lines) of text.
#[derive(Clone, Debug, PartialEq)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// Parses WebVTT or SRT (told apart by the `WEBVTT` signature).
pub fn parse(bytes: &[u8]) -> Result<Vec<Cue>, MediaError> {
    if bytes.is_empty() {
        return Err(invalid("The subtitle file is empty."));
    }
    if bytes.len() > MAX_BYTES {
        return Err(MediaError::new("subtitles_too_large", "A subtitle file may be at most 512 KB."));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("Subtitles must be UTF-8 text."))?;
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n").replace('\r', "\n");
    let webvtt = text.starts_with("WEBVTT");
    let mut cues = Vec::new();
    for block in text.split("\n\n").map(|b| b.trim_matches('\n')).filter(|b| !b.is_empty()) {
        let mut lines = block.lines();
        let Some(mut first) = lines.next() else { continue };
        if webvtt
            && (first.starts_with("WEBVTT")
                || first.starts_with("NOTE")
                || first.starts_with("STYLE")
                || first.starts_with("REGION"))
        {
            continue;
        }
        if !first.contains("-->") {
            // A cue identifier (SRT's counter, or a WebVTT id).
            first = lines.next().ok_or_else(|| invalid("A subtitle cue has no timing line."))?;
        }
        let (start, end) = first.split_once("-->").ok_or_else(|| invalid("A subtitle cue has no timing line."))?;
        let start_ms = timestamp(start.trim())?;
        // WebVTT settings ("line:0 position:50%") follow the end time.
        let end_ms = timestamp(end.split_whitespace().next().unwrap_or(""))?;
        if end_ms <= start_ms {
            return Err(invalid("A subtitle cue ends before it starts."));
        }
        let text = lines.map(clean_line).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
        if text.is_empty() {
            continue;
        }
        cues.push(Cue { start_ms, end_ms, text });
        if cues.len() > MAX_CUES {
            return Err(invalid("The subtitle file has too many cues."));
        }
    }
    if cues.is_empty() {
        return Err(invalid("The subtitle file has no cues."));
    }
    Ok(cues)
}

/// The normalised WebVTT file.
pub fn to_webvtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n");
    for (index, cue) in cues.iter().enumerate() {
        out.push_str(&format!(
            "\n{}\n{} --> {}\n{}\n",
            index + 1,
            format_ms(cue.start_ms),
            format_ms(cue.end_ms),
            cue.text
        ));
    }
    out
}

fn invalid(message: &str) -> MediaError {
    MediaError::new("subtitles_invalid", message)
}

/// `hh:mm:ss.mmm`, `mm:ss.mmm` (WebVTT) or `hh:mm:ss,mmm` (SRT).
fn timestamp(value: &str) -> Result<u64, MediaError> {
    let bad = || invalid("A subtitle timestamp is malformed.");
    let value = value.replace(',', ".");
    let (clock, millis) = value.split_once('.').ok_or_else(bad)?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let parts: Vec<u64> = clock.split(':').map(|p| p.parse::<u64>().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let (h, m, s) = match parts.as_slice() {
        [h, m, s] => (*h, *m, *s),
        [m, s] => (0, *m, *s),
        _ => return Err(bad()),
    };
    if m >= 60 || s >= 60 {
        return Err(bad());
    }
    Ok(((h * 60 + m) * 60 + s) * 1000 + millis.parse::<u64>().map_err(|_| bad())?)
}

fn format_ms(ms: u64) -> String {
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

/// Drops markup (`<i>`, `<font …>`, `{\an8}`) and escapes what is left.
fn clean_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_tag = false;
    let mut in_brace = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            '{' if line.contains("{\\") => in_brace = true,
            '}' if in_brace => in_brace = false,
            _ if in_tag || in_brace => {}
            '&' => out.push_str("&amp;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.replace("--&gt;", "—&gt;").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_becomes_webvtt() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>你好</i>, world\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nA & B <script>x</script>\r\n";
        let cues = parse(srt.as_bytes()).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!(
            to_webvtt(&cues),
            "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\n你好, world\n\n2\n00:00:03.000 --> 00:00:04.000\nA &amp; B x\n"
        );
    }

    #[test]
    fn webvtt_with_settings_and_notes() {
        let vtt = "WEBVTT - title\n\nNOTE a comment\n\nintro\n00:01.000 --> 00:02.000 line:0\nHi\n";
        let cues = parse(vtt.as_bytes()).unwrap();
        assert_eq!(cues, [Cue { start_ms: 1000, end_ms: 2000, text: "Hi".into() }]);
    }

    #[test]
    fn bad_tracks_are_refused() {
        for bad in [
            "",
            "not subtitles",
            "1\n00:00:05,000 --> 00:00:01,000\nbackwards\n",
            "1\n00:00:01 --> 00:00:02\nno millis\n",
        ] {
            assert_eq!(parse(bad.as_bytes()).unwrap_err().code, "subtitles_invalid", "{bad:?}");
        }
        assert_eq!(parse(&[0xff, 0xfe, 0x00]).unwrap_err().code, "subtitles_invalid");
    }
}
