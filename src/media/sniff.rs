//! What an upload really is, read from its first bytes: never from its name
//! or the Content-Type the client sent.

/// The formats pengyou recognises in an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Heic,
    Avif,
    Mp4,
    Mov,
    Webm,
}

/// The broad kind of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Image,
    Video,
}

impl Format {
    pub fn family(self) -> Family {
        match self {
            Format::Jpeg | Format::Png | Format::Gif | Format::Webp | Format::Heic | Format::Avif => Family::Image,
            Format::Mp4 | Format::Mov | Format::Webm => Family::Video,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::Webp => "WebP",
            Format::Heic => "HEIC",
            Format::Avif => "AVIF",
            Format::Mp4 => "MP4",
            Format::Mov => "QuickTime",
            Format::Webm => "WebM",
        }
    }
}

/// Bytes needed to tell every format apart.
pub const SNIFF_LEN: usize = 64;

/// The upload's format, or why it is refused.
pub fn sniff(head: &[u8]) -> Result<Format, Refusal> {
    if head.is_empty() {
        return Err(Refusal::Empty);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Format::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Format::Png);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Ok(Format::Gif);
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Ok(Format::Webp);
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Ok(Format::Webm);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return iso_media(head);
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(SNIFF_LEN)]).trim_start().to_ascii_lowercase();
    if text.starts_with("<svg") || (text.starts_with("<?xml") && text.contains("svg")) {
        return Err(Refusal::Svg);
    }
    Err(Refusal::Unknown)
}

/// ISO base media files: the major brand, then the compatible brands, say what is inside.
fn iso_media(head: &[u8]) -> Result<Format, Refusal> {
    let box_len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = box_len.clamp(12, head.len());
    let brands: Vec<&[u8]> = std::iter::once(&head[8..12]).chain(head[16.min(end)..end].chunks_exact(4)).collect();
    let has = |wanted: &[&[u8]]| brands.iter().any(|b| wanted.contains(b));
    if has(&[b"avif", b"avis"]) {
        Ok(Format::Avif)
    } else if has(&[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"]) {
        Ok(Format::Heic)
    } else if &head[8..12] == b"qt  " {
        Ok(Format::Mov)
    } else {
        Ok(Format::Mp4)
    }
}

/// Why an upload's first bytes were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    Svg,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Ok(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Ok(Format::Png));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Ok(Format::Gif));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Ok(Format::Webp));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"), Ok(Format::Heic));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"), Ok(Format::Avif));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\0\0qt  "), Ok(Format::Mov));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41"), Ok(Format::Mp4));
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]), Ok(Format::Webm));
    }

    #[test]
    fn everything_else_is_refused() {
        assert_eq!(sniff(b""), Err(Refusal::Empty));
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), Err(Refusal::Svg));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg/>"), Err(Refusal::Svg));
        assert_eq!(sniff(b"<!doctype html><html>"), Err(Refusal::Unknown));
        assert_eq!(sniff(b"PK\x03\x04\x14\0\0\0"), Err(Refusal::Unknown));
    }
}
