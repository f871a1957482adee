//! What a run reports: each scenario's outcome, JUnit XML, JSON lines, and for a failure the
//! screen at that moment, the last frames and an asciicast v2 recording (secrets masked
//! before anything is kept).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Why a scenario failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The failing step's line.
    pub line: usize,
    /// The step as written.
    pub step: String,
    /// What went wrong.
    pub message: String,
    /// The screen at that moment (masked), when a terminal was open.
    pub screen: Option<String>,
    /// The name of the screen on display.
    pub screen_name: Option<String>,
    /// The last frames before it, oldest first (masked).
    pub frames: Vec<String>,
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The scenario's name.
    pub name: String,
    /// Its file (or `builtin:NAME`).
    pub origin: String,
    /// None when it passed.
    pub failure: Option<Failure>,
    /// Steps run (all of them when it passed).
    pub steps: usize,
    /// Wall-clock time of the last attempt.
    pub duration: Duration,
    /// Attempts made (more than one with `--retries`).
    pub attempts: u32,
    /// The recording of the last attempt.
    pub recording: Recording,
    /// Golden files rewritten.
    pub snapshots_written: Vec<String>,
}

impl Outcome {
    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The failure as a tester reads it: where, what, and the screen.
    pub fn failure_text(&self) -> Option<String> {
        let f = self.failure.as_ref()?;
        let mut s = format!(
            "{}:{}: {}\n  step: {}\n",
            self.origin, f.line, f.message, f.step
        );
        if let Some(name) = &f.screen_name {
            let _ = writeln!(s, "  screen: {name}");
        }
        if let Some(screen) = &f.screen {
            s.push_str(screen);
        }
        Some(s)
    }
}

/// An asciicast v2 recording: headless, one frame per change of the screen, half a second apart
/// (a headless run has no real timing worth replaying); with `--pty`, the real output as it came,
/// with its times.
#[derive(Debug, Clone)]
pub struct Recording {
    width: u16,
    height: u16,
    frames: Vec<String>,
    timed: Option<Vec<(f64, String)>>,
}

impl Recording {
    /// An empty recording of a `width`x`height` terminal.
    pub fn new(width: u16, height: u16) -> Self {
        Self {
            width,
            height,
            frames: Vec::new(),
            timed: None,
        }
    }

    /// Replaces the frames with a pseudo-terminal's output as it came (chunks with their time
    /// since the start), every secret in it replaced by stars byte for byte, so a secret split
    /// across two chunks is masked too.
    pub fn timed(&mut self, chunks: Vec<(std::time::Duration, Vec<u8>)>, secrets: &[String]) {
        let mut all: Vec<u8> = chunks.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        for secret in secrets {
            let needle = secret.as_bytes();
            if needle.is_empty() {
                continue;
            }
            let mut i = 0;
            while i + needle.len() <= all.len() {
                if &all[i..i + needle.len()] == needle {
                    all[i..i + needle.len()].fill(b'*');
                    i += needle.len();
                } else {
                    i += 1;
                }
            }
        }
        let mut events = Vec::new();
        let mut start = 0;
        // Bytes of a character cut by a chunk's end wait for the next chunk.
        let mut pending = Vec::new();
        for (at, bytes) in &chunks {
            pending.extend_from_slice(&all[start..start + bytes.len()]);
            start += bytes.len();
            let cut = match std::str::from_utf8(&pending) {
                Ok(_) => pending.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => pending.len(),
            };
            let rest = pending.split_off(cut);
            if !pending.is_empty() {
                events.push((
                    at.as_secs_f64(),
                    String::from_utf8_lossy(&pending).into_owned(),
                ));
            }
            pending = rest;
        }
        if !pending.is_empty() {
            let end = chunks.last().map_or(0.0, |(at, _)| at.as_secs_f64());
            events.push((end, String::from_utf8_lossy(&pending).into_owned()));
        }
        self.timed = Some(events);
    }

    /// Adds a frame (the screen as text between `|` bars, already masked).
    pub fn frame(&mut self, text: &str) {
        self.frames.push(text.to_owned());
    }

    /// The recording as an asciicast v2 file.
    pub fn asciicast(&self, title: &str) -> String {
        let header = serde_json::json!({
            "version": 2,
            "width": self.width,
            "height": self.height,
            "title": title,
            "env": {"TERM": "xterm-256color"},
        });
        let mut out = format!("{header}\n");
        if let Some(events) = &self.timed {
            for (t, data) in events {
                let ev = serde_json::json!([t, "o", data]);
                let _ = writeln!(out, "{ev}");
            }
            return out;
        }
        for (i, f) in self.frames.iter().enumerate() {
            let mut data = String::from("\x1b[H\x1b[2J");
            let rows: Vec<String> = super::run::plain(f).lines().map(str::to_owned).collect();
            data.push_str(&rows.join("\r\n"));
            #[allow(clippy::cast_precision_loss)]
            let t = i as f64 * 0.5;
            let ev = serde_json::json!([t, "o", data]);
            let _ = writeln!(out, "{ev}");
        }
        out
    }
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The outcomes as JUnit XML (one test suite `tobira script`).
pub fn junit(outcomes: &[Outcome]) -> String {
    let failures = outcomes.iter().filter(|o| !o.passed()).count();
    let total: f64 = outcomes.iter().map(|o| o.duration.as_secs_f64()).sum();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{total:.3}\">\n  <testsuite name=\"tobira script\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{total:.3}\">",
        outcomes.len(),
        outcomes.len()
    );
    for o in outcomes {
        let _ = write!(
            s,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            xml(&o.origin),
            xml(&o.name),
            o.duration.as_secs_f64()
        );
        match &o.failure {
            None => s.push_str("/>\n"),
            Some(f) => {
                let _ = writeln!(
                    s,
                    ">\n      <failure message=\"{}\" type=\"step failed\">{}</failure>\n    </testcase>",
                    xml(&format!("line {}: {}", f.line, f.message)),
                    xml(&o.failure_text().unwrap_or_default())
                );
            }
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// One outcome as a JSON line.
pub fn json_line(o: &Outcome) -> String {
    let v = serde_json::json!({
        "name": o.name,
        "origin": o.origin,
        "status": if o.passed() { "passed" } else { "failed" },
        "steps": o.steps,
        "attempts": o.attempts,
        "duration_ms": u64::try_from(o.duration.as_millis()).unwrap_or(u64::MAX),
        "failure": o.failure.as_ref().map(|f| serde_json::json!({
            "line": f.line,
            "step": f.step,
            "message": f.message,
            "screen_name": f.screen_name,
            "screen": f.screen,
        })),
    });
    v.to_string()
}

/// Writes a failed scenario's artifacts under `dir/<name>/`: `failure.txt` (where, what, the
/// screen), `frames.txt` (the last frames) and `recording.cast` (asciicast v2).
pub fn write_artifacts(dir: &Path, o: &Outcome) -> std::io::Result<()> {
    let Some(f) = &o.failure else { return Ok(()) };
    let d = dir.join(&o.name);
    std::fs::create_dir_all(&d)?;
    std::fs::write(d.join("failure.txt"), o.failure_text().unwrap_or_default())?;
    let mut frames = String::new();
    for (i, fr) in f.frames.iter().enumerate() {
        let _ = writeln!(frames, "--- frame {} of the last {}", i + 1, f.frames.len());
        frames.push_str(fr);
    }
    std::fs::write(d.join("frames.txt"), frames)?;
    std::fs::write(d.join("recording.cast"), o.recording.asciicast(&o.name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(failed: bool) -> Outcome {
        let mut rec = Recording::new(20, 2);
        rec.frame("|a <b> & \"c\"|\n|second row|\n");
        Outcome {
            name: "n1".into(),
            origin: "dir/n1.tobira".into(),
            failure: failed.then(|| Failure {
                line: 3,
                step: "expect \"x\"".into(),
                message: "\"x\" not on screen <here>".into(),
                screen: Some("|screen|\n".into()),
                screen_name: Some("terms".into()),
                frames: vec!["|f1|\n".into(), "|f2|\n".into()],
            }),
            steps: 3,
            duration: Duration::from_millis(1500),
            attempts: 1,
            recording: rec,
            snapshots_written: Vec::new(),
        }
    }

    #[test]
    fn junit_escapes_and_counts_failures() {
        let x = junit(&[outcome(false), outcome(true)]);
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert!(
            x.contains("<testcase classname=\"dir/n1.tobira\" name=\"n1\" time=\"1.500\"/>"),
            "{x}"
        );
        assert!(
            x.contains("message=\"line 3: &quot;x&quot; not on screen &lt;here&gt;\""),
            "{x}"
        );
        assert!(x.contains("screen: terms"), "{x}");
    }

    #[test]
    fn a_pty_recording_keeps_its_times_and_masks_a_secret_split_across_chunks() {
        use std::time::Duration;
        let mut rec = Recording::new(20, 2);
        let chunks = vec![
            (Duration::from_millis(0), b"code 1234".to_vec()),
            (
                Duration::from_millis(250),
                "56 \u{6249}".as_bytes()[..5].to_vec(),
            ),
            (
                Duration::from_millis(500),
                "56 \u{6249}".as_bytes()[5..].to_vec(),
            ),
        ];
        rec.timed(chunks, &["123456".to_owned()]);
        let cast = rec.asciicast("t");
        let events: Vec<serde_json::Value> = cast
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let text: String = events.iter().map(|e| e[2].as_str().unwrap()).collect();
        assert_eq!(text, "code ****** \u{6249}");
        assert!(!cast.contains("1234"), "{cast}");
        assert_eq!(events[0][0], 0.0);
        assert_eq!(events.last().unwrap()[0], 0.5);
    }

    #[test]
    fn json_lines_and_asciicast_are_valid_json() {
        let v: serde_json::Value = serde_json::from_str(&json_line(&outcome(true))).unwrap();
        assert_eq!(v["status"], "failed");
        assert_eq!(v["failure"]["line"], 3);
        assert_eq!(v["duration_ms"], 1500);
        let cast = outcome(true).recording.asciicast("n1");
        let mut lines = cast.lines();
        let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(header["version"], 2);
        assert_eq!(header["width"], 20);
        let ev: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(ev[1], "o");
        assert!(
            ev[2]
                .as_str()
                .unwrap()
                .ends_with("a <b> & \"c\"\r\nsecond row"),
            "{ev}"
        );
    }

    #[test]
    fn artifacts_are_written_for_a_failure_only() {
        let dir = tempfile::tempdir().unwrap();
        write_artifacts(dir.path(), &outcome(false)).unwrap();
        assert!(!dir.path().join("n1").exists());
        write_artifacts(dir.path(), &outcome(true)).unwrap();
        let failure = std::fs::read_to_string(dir.path().join("n1/failure.txt")).unwrap();
        assert!(
            failure
                .starts_with("dir/n1.tobira:3: \"x\" not on screen <here>\n  step: expect \"x\"\n"),
            "{failure}"
        );
        let frames = std::fs::read_to_string(dir.path().join("n1/frames.txt")).unwrap();
        assert!(
            frames.contains("--- frame 2 of the last 2\n|f2|"),
            "{frames}"
        );
        assert!(dir.path().join("n1/recording.cast").exists());
    }
}
