//! The character encoding of a roster file, detected from its first bytes or named by the
//! operator, and a reader that hands the CSV parser UTF-8 whatever the file was written in.
//!
//! Japanese HR and membership systems commonly export Shift_JIS as Windows writes it (CP932,
//! with the NEC and IBM extensions that hold characters such as 髙 and 﨑). encoding_rs's
//! `Shift_JIS` is that encoding (the WHATWG one), so it is used for CP932.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, DecoderResult, SHIFT_JIS};

/// The encodings a roster may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RosterEncoding {
    /// UTF-8, with or without a byte-order mark.
    #[default]
    Utf8,
    /// Shift_JIS as Windows writes it (CP932, Windows-31J).
    Cp932,
}

impl RosterEncoding {
    /// The name reports use: `UTF-8` or `CP932`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::Cp932 => "CP932",
        }
    }

    /// Reads the operator's spelling: `utf-8`, `utf8`, `cp932`, `shift_jis`, `sjis`,
    /// `windows-31j`, `ms932` (any case).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "cp932" | "shift-jis" | "sjis" | "windows-31j" | "ms932" => Some(Self::Cp932),
            _ => None,
        }
    }
}

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How much of the file detection looks at: enough for the header and many rows, little enough
/// to cost nothing next to the import.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Guesses the encoding of a file from its first bytes (`at_eof`: `head` is the whole file).
///
/// A byte-order mark or valid UTF-8 means UTF-8. Text that is mostly UTF-8 stays UTF-8 even
/// with a few broken bytes, because UTF-8 Japanese often also decodes as (wrong) Shift_JIS: the
/// broken lines are then refused one by one instead of every name being imported garbled. Only
/// when UTF-8 fails more often than it succeeds, and CP932 fails less, is the file CP932.
pub fn detect(head: &[u8], at_eof: bool) -> RosterEncoding {
    if head.starts_with(BOM) {
        return RosterEncoding::Utf8;
    }
    let (good, bad) = utf8_tally(head);
    if bad == 0 || good > bad {
        return RosterEncoding::Utf8;
    }
    if cp932_errors(head, at_eof) < bad {
        RosterEncoding::Cp932
    } else {
        RosterEncoding::Utf8
    }
}

/// Valid non-ASCII characters and invalid sequences in `bytes` read as UTF-8 (a character cut
/// at the end counts as neither).
fn utf8_tally(bytes: &[u8]) -> (usize, usize) {
    let lead_bytes = |b: &[u8]| b.iter().filter(|&&c| c >= 0xC0).count();
    let (mut good, mut bad) = (0, 0);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => return (good + lead_bytes(rest), bad),
            Err(e) => {
                good += lead_bytes(&rest[..e.valid_up_to()]);
                match e.error_len() {
                    None => return (good, bad),
                    Some(n) => {
                        bad += 1;
                        rest = &rest[e.valid_up_to() + n..];
                    }
                }
            }
        }
    }
}

/// Malformed sequences in `bytes` read as CP932.
fn cp932_errors(bytes: &[u8], last: bool) -> usize {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(bytes.len())
            .unwrap_or(bytes.len() * 3),
    );
    let mut errors = 0;
    let mut rest = bytes;
    loop {
        let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut out, last);
        rest = &rest[read..];
        match result {
            DecoderResult::InputEmpty => return errors,
            DecoderResult::Malformed(..) => errors += 1,
            DecoderResult::OutputFull => out.clear(),
        }
    }
}

/// A reader of a roster file that yields UTF-8: the bytes as they are for UTF-8 (without the
/// byte-order mark), decoded for CP932 (a malformed sequence becomes U+FFFD, which the row
/// check refuses with the field named).
pub struct Utf8Reader<R> {
    inner: R,
    /// The look-ahead's read error, handed to the first `read`.
    failed: Option<io::Error>,
    encoding: RosterEncoding,
    /// Bytes read from `inner` but not yet used (the detection's look-ahead first).
    input: Vec<u8>,
    input_pos: usize,
    input_eof: bool,
    /// CP932 only: the decoder and the UTF-8 it produced but not yet handed out.
    decoder: Option<Decoder>,
    output: Vec<u8>,
    output_pos: usize,
    /// CP932 only: the decoder has flushed its last character.
    finished: bool,
}

impl<R: Read> Utf8Reader<R> {
    /// Reads the first bytes of `inner`, settles the encoding (`given`, else detected), and
    /// wraps it. An I/O error while looking ahead is returned by the first `read`.
    pub fn open(mut inner: R, given: Option<RosterEncoding>) -> Self {
        let mut failed = None;
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let eof = loop {
            let start = head.len();
            if start >= SNIFF_BYTES {
                break false;
            }
            head.resize(SNIFF_BYTES, 0);
            match inner.read(&mut head[start..]) {
                Ok(0) => {
                    head.truncate(start);
                    break true;
                }
                Ok(n) => head.truncate(start + n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => head.truncate(start),
                Err(e) => {
                    head.truncate(start);
                    failed = Some(e);
                    break true;
                }
            }
        };
        let encoding = given.unwrap_or_else(|| detect(&head, eof));
        let skip = if encoding == RosterEncoding::Utf8 && head.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        Self {
            inner,
            failed,
            encoding,
            input: head,
            input_pos: skip,
            input_eof: eof,
            decoder: (encoding == RosterEncoding::Cp932)
                .then(|| SHIFT_JIS.new_decoder_without_bom_handling()),
            output: Vec::new(),
            output_pos: 0,
            finished: false,
        }
    }

    /// The encoding the file is read as.
    pub fn encoding(&self) -> RosterEncoding {
        self.encoding
    }

    /// Refills `input` from `inner` once it is used up.
    fn fill_input(&mut self) -> io::Result<()> {
        if self.input_pos < self.input.len() || self.input_eof {
            return Ok(());
        }
        self.input.resize(SNIFF_BYTES, 0);
        self.input_pos = 0;
        loop {
            match self.inner.read(&mut self.input) {
                Ok(n) => {
                    self.input.truncate(n);
                    self.input_eof = n == 0;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.input.clear();
                    return Err(e);
                }
            }
        }
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.decoder.is_none() {
            // UTF-8: hand out the look-ahead, then read straight through.
            if self.input_pos < self.input.len() {
                let n = buf.len().min(self.input.len() - self.input_pos);
                buf[..n].copy_from_slice(&self.input[self.input_pos..self.input_pos + n]);
                self.input_pos += n;
                return Ok(n);
            }
            return self.inner.read(buf);
        }
        loop {
            if self.output_pos < self.output.len() {
                let n = buf.len().min(self.output.len() - self.output_pos);
                buf[..n].copy_from_slice(&self.output[self.output_pos..self.output_pos + n]);
                self.output_pos += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            self.fill_input()?;
            // At the end of the file every byte left is in `input`.
            let last = self.input_eof;
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            self.output.resize(SNIFF_BYTES * 3 + 16, 0);
            let (result, read, written, _) =
                decoder.decode_to_utf8(&self.input[self.input_pos..], &mut self.output, last);
            self.input_pos += read;
            self.output.truncate(written);
            self.output_pos = 0;
            self.finished = last && result == CoderResult::InputEmpty;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp932(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = SHIFT_JIS.encode(text);
        assert!(!unmappable, "{text} is not CP932");
        bytes.into_owned()
    }

    fn read_all(bytes: &[u8], given: Option<RosterEncoding>) -> (RosterEncoding, String) {
        let mut r = Utf8Reader::open(bytes, given);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        (r.encoding(), out)
    }

    #[test]
    fn names_are_read_in_every_spelling() {
        for n in ["utf-8", "UTF8", "utf_8"] {
            assert_eq!(
                RosterEncoding::from_name(n),
                Some(RosterEncoding::Utf8),
                "{n}"
            );
        }
        for n in ["cp932", "Shift_JIS", "sjis", "Windows-31J", "MS932"] {
            assert_eq!(
                RosterEncoding::from_name(n),
                Some(RosterEncoding::Cp932),
                "{n}"
            );
        }
        assert_eq!(RosterEncoding::from_name("euc-jp"), None);
    }

    #[test]
    fn detects_utf8_with_and_without_bom_and_drops_the_bom() {
        let text = "記号,番号\n12,髙橋 﨑\n";
        assert_eq!(
            read_all(text.as_bytes(), None),
            (RosterEncoding::Utf8, text.to_owned())
        );
        let mut with_bom = BOM.to_vec();
        with_bom.extend_from_slice(text.as_bytes());
        assert_eq!(
            read_all(&with_bom, None),
            (RosterEncoding::Utf8, text.to_owned())
        );
        assert_eq!(detect(b"", true), RosterEncoding::Utf8);
        assert_eq!(detect(b"symbol,number\n", true), RosterEncoding::Utf8);
    }

    #[test]
    fn detects_cp932_with_vendor_extensions_and_decodes_it() {
        // 髙 (IBM extension) and 﨑 (NEC-selected IBM extension) exist only in CP932.
        let text = "記号,番号,氏名\n12,3456789,髙橋 﨑子\n12,3456790,ｶﾀｶﾅ ①\n";
        let bytes = cp932(text);
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(
            read_all(&bytes, None),
            (RosterEncoding::Cp932, text.to_owned())
        );
        assert_eq!(
            read_all(&bytes, Some(RosterEncoding::Cp932)).1,
            text.to_owned()
        );
    }

    #[test]
    fn decodes_across_buffer_boundaries() {
        // Long enough to need several refills, with double-byte characters cut at every offset.
        let line = "12,3456789,髙橋 﨑子,テスト\n";
        let text = line.repeat(20_000);
        let bytes = cp932(&text);
        assert!(bytes.len() > 3 * SNIFF_BYTES);
        let mut r = Utf8Reader::open(bytes.as_slice(), None);
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8(out).unwrap(), text);
        assert_eq!(r.read(&mut buf).unwrap(), 0, "stays at the end");
    }

    #[test]
    fn mostly_utf8_with_a_broken_line_stays_utf8() {
        let mut bytes = "氏名\n山田 太郎\n佐藤 花子\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xff\xfe\n");
        assert_eq!(detect(&bytes, true), RosterEncoding::Utf8);
    }

    #[test]
    fn malformed_cp932_becomes_replacement_characters() {
        let mut bytes = cp932("氏名\n髙橋\n");
        bytes.extend_from_slice(b"\x81\n");
        let (enc, text) = read_all(&bytes, Some(RosterEncoding::Cp932));
        assert_eq!(enc, RosterEncoding::Cp932);
        assert_eq!(text, "氏名\n髙橋\n\u{fffd}\n");
    }
}
