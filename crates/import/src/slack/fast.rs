//! A specialised reader for Slack day files: it builds the same [`RawMessage`]s as the serde
//! path, reading only the fields the timeline needs and validating the rest without building it.
//!
//! It accepts only input that `serde_json` would accept and turn into the same messages; anything
//! else it does not handle (invalid JSON, a key with escapes, a duplicate field, a number where a
//! string is expected, a lone surrogate, deep nesting …) makes it give up (`None`), and the caller
//! parses the file again with `serde_json`, which produces the exact value or error message. Valid
//! exports almost never take that path, so its cost does not matter.

use std::borrow::Cow;

use super::{RawAttachment, RawBotProfile, RawEdited, RawFile, RawMessage, Scalar};

mod blocks;

/// `None`: not handled here; parse the file with `serde_json` instead.
type Fast<T> = Option<T>;

/// Deeper than this, give up (`serde_json` stops at 128).
const MAX_DEPTH: usize = 100;

/// Calls `each` with every message of the day file, in order; `None` if the file is not one the
/// fast path handles (then nothing it produced may be used).
pub(super) fn for_each_message<'a>(
    bytes: &'a [u8],
    mut each: impl FnMut(usize, RawMessage<'a>),
) -> Fast<()> {
    let mut s = Scanner {
        b: bytes,
        pos: 0,
        skip: blocks::Skipper::new(),
    };
    s.ws();
    s.expect(b'[')?;
    s.ws();
    let mut index = 0;
    if s.peek()? == b']' {
        s.pos += 1;
    } else {
        loop {
            s.ws();
            let message = s.message()?;
            each(index, message);
            index += 1;
            s.ws();
            match s.next()? {
                b',' => continue,
                b']' => break,
                _ => return None,
            }
        }
    }
    s.ws();
    (s.pos == s.b.len()).then_some(())
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    /// Finds the end of whitespace and of string bodies.
    skip: blocks::Skipper,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Fast<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn next(&mut self) -> Fast<u8> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Fast<()> {
        (self.next()? == c).then_some(())
    }

    /// Skips whitespace.
    #[inline]
    fn ws(&mut self) {
        self.pos = self.skip.ws(self.b, self.pos);
    }

    /// Moves to the next `"`, `\` or control character of a string (or the end of input).
    #[inline]
    fn skip_to_special(&mut self) {
        self.pos = self.skip.string_stop(self.b, self.pos);
    }

    /// After the opening `"`: the raw bytes up to the closing quote and whether they hold escapes.
    /// Escapes are checked as `serde_json` checks skipped strings (valid escape letter, four hex
    /// digits after `\u`); control characters are refused.
    fn raw_string(&mut self) -> Fast<(&'a [u8], bool)> {
        let start = self.pos;
        let escaped = self.skip_string()?;
        Some((self.b.get(start..self.pos - 1)?, escaped))
    }

    /// [`Self::raw_string`] for a string that is not kept: checked, moved past, and whether it
    /// holds escapes.
    #[inline(always)]
    fn skip_string(&mut self) -> Fast<bool> {
        let mut escaped = false;
        loop {
            self.skip_to_special();
            match self.next()? {
                b'"' => return Some(escaped),
                b'\\' => {
                    escaped = true;
                    match self.next()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            self.hex4()?;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    fn hex4(&mut self) -> Fast<u16> {
        let digits = self.b.get(self.pos..self.pos + 4)?;
        let mut value = 0u16;
        for &d in digits {
            value = value * 16 + u16::try_from((d as char).to_digit(16)?).ok()?;
        }
        self.pos += 4;
        Some(value)
    }

    /// A string value the caller keeps: UTF-8 checked, escapes decoded (borrowed when it has
    /// none), lone surrogates refused, as `serde_json` does for a `&str`/`Cow<str>`.
    fn string(&mut self) -> Fast<Cow<'a, str>> {
        let (raw, escaped) = self.raw_string()?;
        if !escaped {
            return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
        }
        decode(raw).map(Cow::Owned)
    }

    /// An object key: plain ASCII without escapes, else not handled here; as a [`Key`].
    fn key(&mut self) -> Fast<Key> {
        self.expect(b'"')?;
        let start = self.pos;
        let (raw, escaped) = self.raw_string()?;
        if escaped || !raw.is_ascii() {
            return None;
        }
        if raw.len() > 16 {
            return Some(LONG_KEY);
        }
        // The sixteen bytes from the key's start (read at once when the input has them), cut to
        // its length.
        let word = match self.b.get(start..start + 16) {
            Some(chunk) => {
                let mut word = [0u8; 16];
                word.copy_from_slice(chunk);
                u128::from_le_bytes(word)
            }
            None => key(raw),
        };
        let bits = 8 * raw.len() as u32;
        Some(word & u128::MAX.checked_shr(128 - bits).unwrap_or(0))
    }

    /// Iterates the members of an object (after its `{`), calling `member` with each key; the
    /// callback must consume the value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, Key) -> Fast<()>) -> Fast<()> {
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.key()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            member(self, key)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// [`Self::skip`], with the most common value, a string, read in line.
    #[inline]
    fn skip_value(&mut self, depth: usize) -> Fast<()> {
        if self.peek()? == b'"' {
            self.pos += 1;
            return self.skip_string().map(drop);
        }
        self.skip(depth)
    }

    /// Skips any JSON value, checking its syntax.
    fn skip(&mut self, depth: usize) -> Fast<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.next()? {
            b'"' => self.skip_string().map(drop),
            b'{' => self.skipped_object(depth),
            b'[' => {
                self.ws();
                if self.peek()? == b']' {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => continue,
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"rue"),
            b'f' => self.literal(b"alse"),
            b'n' => self.literal(b"ull"),
            b'-' => {
                let first = self.next()?;
                self.number(first)
            }
            first @ b'0'..=b'9' => self.number(first),
            _ => None,
        }
    }

    /// The members of an object no field is read from (after its `{`): keys are only checked,
    /// as serde checks the keys of a value it ignores.
    fn skipped_object(&mut self, depth: usize) -> Fast<()> {
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.ws();
            self.expect(b'"')?;
            self.skip_string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            self.skip_value(depth + 1)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn literal(&mut self, rest: &[u8]) -> Fast<()> {
        let found = self.b.get(self.pos..self.pos + rest.len())?;
        self.pos += rest.len();
        (found == rest).then_some(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// The rest of a number whose first digit was `first`: `0` or `[1-9][0-9]*`, then an optional
    /// fraction and exponent, each with at least one digit.
    fn number(&mut self, first: u8) -> Fast<()> {
        match first {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// `null` (then `None`) or what `read` reads.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Fast<T>) -> Fast<Option<T>> {
        if self.peek()? == b'n' {
            self.pos += 1;
            self.literal(b"ull")?;
            return Some(None);
        }
        read(self).map(Some)
    }

    fn opt_string(&mut self) -> Fast<Option<Cow<'a, str>>> {
        self.nullable(|s| {
            s.expect(b'"')?;
            s.string()
        })
    }

    /// A field read as [`Scalar`]: only strings (and `null`) are handled here; anything else is
    /// an error message the serde path words.
    fn opt_scalar(&mut self) -> Fast<Option<Scalar<'a>>> {
        Some(self.opt_string()?.map(Scalar::Text))
    }

    /// An array of objects, each read by `item` after its `{`.
    fn opt_objects<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Fast<T>,
    ) -> Fast<Option<Vec<T>>> {
        self.nullable(|s| {
            s.expect(b'[')?;
            let mut items = Vec::new();
            s.ws();
            if s.peek()? == b']' {
                s.pos += 1;
                return Some(items);
            }
            loop {
                s.ws();
                s.expect(b'{')?;
                items.push(item(s)?);
                s.ws();
                match s.next()? {
                    b',' => continue,
                    b']' => return Some(items),
                    _ => return None,
                }
            }
        })
    }

    fn message(&mut self) -> Fast<RawMessage<'a>> {
        self.expect(b'{')?;
        let mut m = RawMessage::default();
        let mut seen = Seen(0);
        self.object(|s, key| match key {
            K_TS => seen.set(0, &mut m.ts, s.opt_scalar()?),
            K_USER => seen.set(1, &mut m.user, s.opt_scalar()?),
            K_SUBTYPE => seen.set(2, &mut m.subtype, s.opt_string()?),
            K_TEXT => seen.set(3, &mut m.text, s.opt_scalar()?),
            K_THREAD_TS => seen.set(4, &mut m.thread_ts, s.opt_string()?),
            K_USERNAME => seen.set(5, &mut m.username, s.opt_string()?),
            K_BOT_PROFILE => {
                let profile = s.nullable(|s| {
                    s.expect(b'{')?;
                    let mut p = RawBotProfile { name: None };
                    let mut seen = Seen(0);
                    s.object(|s, key| match key {
                        K_NAME => seen.set(0, &mut p.name, s.opt_string()?),
                        _ => s.skip(2),
                    })?;
                    Some(p)
                })?;
                seen.set(6, &mut m.bot_profile, profile)
            }
            K_EDITED => {
                let edited = s.nullable(|s| {
                    s.expect(b'{')?;
                    let mut e = RawEdited { ts: None };
                    let mut seen = Seen(0);
                    s.object(|s, key| match key {
                        K_TS => seen.set(0, &mut e.ts, s.opt_string()?),
                        _ => s.skip(2),
                    })?;
                    Some(e)
                })?;
                seen.set(7, &mut m.edited, edited)
            }
            K_ATTACHMENTS => {
                let attachments = s.opt_objects(|s| {
                    let mut a = RawAttachment::default();
                    let mut seen = Seen(0);
                    s.object(|s, key| match key {
                        K_FALLBACK => seen.set(0, &mut a.fallback, s.opt_string()?),
                        K_TITLE => seen.set(1, &mut a.title, s.opt_string()?),
                        K_TEXT => seen.set(2, &mut a.text, s.opt_string()?),
                        K_TITLE_LINK => seen.set(3, &mut a.title_link, s.opt_string()?),
                        _ => s.skip(3),
                    })?;
                    Some(a)
                })?;
                seen.set(8, &mut m.attachments, attachments)
            }
            K_FILES => {
                let files = s.opt_objects(|s| {
                    let mut f = RawFile::default();
                    let mut seen = Seen(0);
                    s.object(|s, key| match key {
                        K_MODE => seen.set(0, &mut f.mode, s.opt_string()?),
                        K_TITLE => seen.set(1, &mut f.title, s.opt_string()?),
                        K_NAME => seen.set(2, &mut f.name, s.opt_string()?),
                        K_PERMALINK => seen.set(3, &mut f.permalink, s.opt_string()?),
                        K_URL_PRIVATE => seen.set(4, &mut f.url_private, s.opt_string()?),
                        _ => s.skip(3),
                    })?;
                    Some(f)
                })?;
                seen.set(9, &mut m.files, files)
            }
            _ => s.skip_value(1),
        })?;
        Some(m)
    }
}

/// An object key of at most sixteen bytes as a number (its bytes little-endian, zero-padded): keys
/// hold no control characters, so no two keys share one. Longer keys are [`LONG_KEY`].
type Key = u128;

/// Any key longer than sixteen bytes (no ASCII key has this value).
const LONG_KEY: Key = u128::MAX;

const fn key(bytes: &[u8]) -> Key {
    let mut value = 0;
    let mut i = 0;
    while i < bytes.len() && i < 16 {
        value |= (bytes[i] as u128) << (8 * i);
        i += 1;
    }
    value
}

const K_ATTACHMENTS: Key = key(b"attachments");
const K_BOT_PROFILE: Key = key(b"bot_profile");
const K_EDITED: Key = key(b"edited");
const K_FALLBACK: Key = key(b"fallback");
const K_FILES: Key = key(b"files");
const K_MODE: Key = key(b"mode");
const K_NAME: Key = key(b"name");
const K_PERMALINK: Key = key(b"permalink");
const K_SUBTYPE: Key = key(b"subtype");
const K_TEXT: Key = key(b"text");
const K_THREAD_TS: Key = key(b"thread_ts");
const K_TITLE: Key = key(b"title");
const K_TITLE_LINK: Key = key(b"title_link");
const K_TS: Key = key(b"ts");
const K_URL_PRIVATE: Key = key(b"url_private");
const K_USER: Key = key(b"user");
const K_USERNAME: Key = key(b"username");

/// The fields of one object already read: serde's derive refuses a field given twice (even when
/// the first was `null`), so a duplicate is left to the serde path to word.
struct Seen(u32);

impl Seen {
    fn set<T>(&mut self, bit: u32, slot: &mut Option<T>, value: Option<T>) -> Fast<()> {
        let mask = 1 << bit;
        if self.0 & mask != 0 {
            return None;
        }
        self.0 |= mask;
        *slot = value;
        Some(())
    }
}

/// Decodes a string's escapes (already validated by `raw_string`), as `serde_json` does; `None`
/// for invalid UTF-8 or a lone surrogate.
fn decode(raw: &[u8]) -> Fast<String> {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'\\', &raw[i..]) {
        out.extend_from_slice(&raw[i..i + offset]);
        i += offset + 1;
        let c = *raw.get(i)?;
        i += 1;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let unit = hex(raw.get(i..i + 4)?)?;
                i += 4;
                let code = match unit {
                    0xD800..=0xDBFF => {
                        if raw.get(i..i + 2)? != b"\\u" {
                            return None;
                        }
                        let low = hex(raw.get(i + 2..i + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        i += 6;
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return None,
                    other => u32::from(other),
                };
                let ch = char::from_u32(code)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(byte);
    }
    out.extend_from_slice(&raw[i..]);
    String::from_utf8(out).ok()
}

fn hex(digits: &[u8]) -> Fast<u16> {
    let mut value = 0u16;
    for &d in digits {
        value = value * 16 + u16::try_from((d as char).to_digit(16)?).ok()?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::super::check_day_file_readers_agree;

    /// `json` shifted by every offset across two 64-byte blocks (leading whitespace), so that each
    /// of its bytes lands on every position of a block.
    fn check_at_every_offset(json: &str) {
        for pad in 0..130 {
            let shifted = format!("{}{json}", " ".repeat(pad));
            check_day_file_readers_agree(shifted.as_bytes(), None);
            let indented = format!("{}{json}\n", "\n\t\r ".repeat(pad / 4));
            check_day_file_readers_agree(indented.as_bytes(), None);
        }
    }

    fn message(field: &str) -> String {
        format!(r#"[{{"user":"U1","ts":"1.000001",{field},"text":"end"}}]"#)
    }

    #[test]
    fn escaped_quotes_and_backslash_runs_at_every_block_position() {
        for value in [
            r#"a\"b"#,
            r#"\\"#,
            r#"\\\\\\\\"#,
            r#"x\\\"y\\\\\"z"#,
            r#"\"\"\"\"\"\"\"\""#,
            r#"ends with a backslash \\"#,
            r#"\/\b\f\n\r\t\\\""#,
        ] {
            check_at_every_offset(&message(&format!(r#""k":"{value}""#)));
            check_at_every_offset(&format!(
                r#"[{{"user":"U1","ts":"1.000001","text":"{value}"}}]"#
            ));
        }
        // Invalid escapes and a string that ends inside an escape.
        for value in [r#"\x"#, r#"\u12"#, r#"\u12G4"#, r#"\"#] {
            check_at_every_offset(&message(&format!(r#""k":"{value}""#)));
        }
    }

    #[test]
    fn strings_spanning_blocks_and_unicode_escapes() {
        let long = "ab\u{e9}\u{1F600}cd".repeat(40);
        check_at_every_offset(&message(&format!(r#""k":"{long}""#)));
        check_at_every_offset(&format!(
            r#"[{{"user":"U1","ts":"1.000001","text":"{long}"}}]"#
        ));
        for value in [
            r#"caf\u00e9 \u00E9"#,
            r#"\ud83d\ude00 smile"#,
            r#"lone \ud83d high"#,
            r#"lone \ude00 low"#,
            r#"\u0000 nul"#,
            r#"\u005c\u0022"#,
        ] {
            check_at_every_offset(&format!(
                r#"[{{"user":"U1","ts":"1.000001","text":"{value}"}}]"#
            ));
            check_at_every_offset(&message(&format!(r#""k":"{value}""#)));
        }
    }

    #[test]
    fn control_characters_in_strings_and_whitespace() {
        for control in [
            '\u{0}', '\u{1}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1f}', '\u{7f}',
        ] {
            check_at_every_offset(&format!(
                r#"[{{"user":"U1","ts":"1.000001","text":"a{control}b"}}]"#
            ));
            check_at_every_offset(&message(&format!(r#""k":"a{control}b""#)));
            // As whitespace between tokens: only space, tab, line feed and return are.
            check_at_every_offset(&format!(
                r#"[{{"user":"U1",{control}"ts":"1.000001","text":"x"}}]"#
            ));
        }
    }

    #[test]
    fn truncated_input_at_every_length() {
        let day = format!(
            "[\n    {{\n        \"user\": \"U1\",\n        \"ts\": \"1.000001\",\n        \"text\": \"{}\",\n        \"k\": [1, -2.5e3, true, false, null, {{\"a\": \"\\\\\\\"\"}}]\n    }}\n]\n",
            r#"x\"y\\z \u00e9"#.repeat(6)
        );
        for end in 0..=day.len() {
            if let Some(prefix) = day.get(..end) {
                check_day_file_readers_agree(prefix.as_bytes(), None);
            }
        }
        for end in 0..=day.len() {
            check_day_file_readers_agree(&day.as_bytes()[..end], None);
        }
    }

    #[test]
    fn deep_nesting_around_the_limit() {
        for depth in [1, 50, 98, 99, 100, 101, 102, 127, 128, 129, 300] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                check_at_every_offset(&message(&format!(r#""d":{nested}"#)));
                check_day_file_readers_agree(nested.as_bytes(), None);
            }
        }
    }
}
