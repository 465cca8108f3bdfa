//! Video through the ffmpeg command-line tools: probe, transcode to H.264/AAC
//! MP4 with every piece of metadata dropped, and grab a poster frame. Each run
//! has a time limit and is killed when it passes it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Command;

use super::MediaError;

/// The tools, where they were found.
#[derive(Clone, Debug)]
pub struct Ffmpeg {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

/// Limits a video must meet.
#[derive(Clone, Copy, Debug)]
pub struct VideoLimits {
    pub max_seconds: f64,
    /// Longest side of the source, in pixels.
    pub max_side: u32,
    /// Longest side of the output.
    pub output_side: u32,
    pub timeout: Duration,
}

/// What ffprobe says about a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub width: u32,
    pub height: u32,
    pub seconds: f64,
    pub fps: f64,
    pub has_audio: bool,
}

impl Ffmpeg {
    /// Finds both tools (by name on PATH or by path); `None` when either is missing.
    pub async fn detect(ffmpeg: &str, ffprobe: &str) -> Option<Ffmpeg> {
        for tool in [ffmpeg, ffprobe] {
            let ok = Command::new(tool)
                .arg("-version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .await
                .is_ok_and(|status| status.success());
            if !ok {
                return None;
            }
        }
        Some(Ffmpeg { ffmpeg: ffmpeg.into(), ffprobe: ffprobe.into() })
    }

    pub async fn probe(&self, file: &Path, limits: &VideoLimits) -> Result<Probe, MediaError> {
        let mut command = Command::new(&self.ffprobe);
        command.args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"]).arg(file);
        let output = run(command, Duration::from_secs(30)).await?;
        let parsed: ProbeOutput = serde_json::from_slice(&output).map_err(|_| unreadable())?;
        let video = parsed
            .streams
            .iter()
            .find(|s| s.codec_type == "video" && s.disposition.as_ref().is_none_or(|d| d.attached_pic == 0))
            .ok_or_else(unreadable)?;
        let (mut width, mut height) = (video.width.unwrap_or(0), video.height.unwrap_or(0));
        if width == 0 || height == 0 {
            return Err(unreadable());
        }
        if video.rotation().is_some_and(|r| r.rem_euclid(180) == 90) {
            std::mem::swap(&mut width, &mut height);
        }
        let seconds = parsed
            .format
            .duration
            .as_deref()
            .or(video.duration.as_deref())
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d > 0.0)
            .ok_or_else(unreadable)?;
        let probe = Probe {
            width,
            height,
            seconds,
            fps: video.avg_frame_rate.as_deref().and_then(ratio).unwrap_or(0.0),
            has_audio: parsed.streams.iter().any(|s| s.codec_type == "audio"),
        };
        if probe.seconds > limits.max_seconds {
            return Err(MediaError::new(
                "video_too_long",
                format!(
                    "The video is {:.0} seconds long; the limit is {:.0} seconds.",
                    probe.seconds, limits.max_seconds
                ),
            ));
        }
        if width.max(height) > limits.max_side {
            return Err(MediaError::new(
                "video_too_large",
                format!("The video is {width}×{height}; the longest side may be at most {} pixels.", limits.max_side),
            ));
        }
        Ok(probe)
    }

    /// Transcodes to an MP4 every browser plays, with no metadata, chapters,
    /// subtitles or data streams; the picture is turned upright and shrunk to the output size.
    pub async fn transcode(&self, input: &Path, output: &Path, limits: &VideoLimits) -> Result<(), MediaError> {
        let side = limits.output_side;
        let scale =
            format!("scale='if(gte(iw,ih),min({side},iw),-2)':'if(gte(iw,ih),-2,min({side},ih))',format=yuv420p");
        let mut command = Command::new(&self.ffmpeg);
        command
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(input)
            .args(["-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"])
            .args(["-vf", &scale])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high"])
            .args(["-c:a", "aac", "-b:a", "128k", "-ac", "2"])
            .args(["-movflags", "+faststart", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"])
            .args(["-metadata:s:v", "handler_name=", "-metadata:s:a", "handler_name="])
            .args(["-f", "mp4"])
            .arg(output);
        run(command, limits.timeout).await.map(drop)
    }

    /// One frame from `at` seconds in, as PNG bytes.
    pub async fn poster(&self, input: &Path, at: f64) -> Result<Vec<u8>, MediaError> {
        let mut command = Command::new(&self.ffmpeg);
        command.args(["-nostdin", "-v", "error", "-ss", &format!("{at:.3}"), "-i"]).arg(input).args([
            "-frames:v",
            "1",
            "-map_metadata",
            "-1",
            "-f",
            "image2",
            "-c:v",
            "png",
            "pipe:1",
        ]);
        let png = run(command, Duration::from_secs(60)).await?;
        if png.is_empty() {
            return Err(unreadable());
        }
        Ok(png)
    }
}

fn unreadable() -> MediaError {
    MediaError::new("video_unreadable", "The video could not be read.")
}

/// Runs a tool with a time limit; its stdout on success.
async fn run(mut command: Command, limit: Duration) -> Result<Vec<u8>, MediaError> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = command.spawn().map_err(|e| MediaError::internal(format!("cannot start ffmpeg: {e}")))?;
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Err(_) => Err(MediaError::new(
            "video_processing_timeout",
            format!("Processing the video took longer than {} seconds.", limit.as_secs()),
        )),
        Ok(Err(e)) => Err(MediaError::internal(format!("ffmpeg: {e}"))),
        Ok(Ok(output)) if !output.status.success() => {
            tracing::info!(stderr = %String::from_utf8_lossy(&output.stderr).chars().take(500).collect::<String>(), "ffmpeg refused a file");
            Err(unreadable())
        }
        Ok(Ok(output)) => Ok(output.stdout),
    }
}

fn ratio(value: &str) -> Option<f64> {
    let (a, b) = value.split_once('/')?;
    let (a, b): (f64, f64) = (a.parse().ok()?, b.parse().ok()?);
    (b > 0.0).then_some(a / b)
}

#[derive(Deserialize)]
struct ProbeOutput {
    #[serde(default)]
    streams: Vec<Stream>,
    format: FormatInfo,
}

#[derive(Deserialize)]
struct FormatInfo {
    duration: Option<String>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: String,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<String>,
    avg_frame_rate: Option<String>,
    disposition: Option<Disposition>,
    #[serde(default)]
    tags: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    side_data_list: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Disposition {
    #[serde(default)]
    attached_pic: i64,
}

impl Stream {
    /// Rotation in degrees from the display matrix or the old `rotate` tag.
    fn rotation(&self) -> Option<i64> {
        self.side_data_list
            .iter()
            .find_map(|d| d.get("rotation").and_then(serde_json::Value::as_i64))
            .or_else(|| self.tags.get("rotate").and_then(|v| v.as_str()).and_then(|v| v.parse().ok()))
    }
}
