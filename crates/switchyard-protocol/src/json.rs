//! JSON text from `Serialize` values, byte for byte what `serde_json::to_string` writes, for
//! the text the gateway writes on every request: upstream request bodies, answers, evidence
//! payloads, decision digests.
//!
//! serde_json checks every byte of a string (and of every struct key) against its escape table,
//! about nine instructions a byte. This writer checks eight bytes at a time for the three
//! things JSON escapes (`"`, `\`, controls) and copies clean strings whole. Measured with
//! callgrind on a plain chat request: the upstream body (a 1 KB prompt) costs 7.3k instead of
//! 12.1k instructions. Field and variant names are checked once per process and remembered
//! (`push_static`): the evidence payloads of a plain request write ~150 of them, and checking
//! each every time cost 6k instructions per request. Everything else follows serde_json's
//! compact format exactly, floats through serde_json's own formatter: the tests compare both
//! writers on every serde shape and on arbitrary values.

use serde::ser::{self, Serialize};
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

mod compound;
#[cfg(test)]
mod tests;

use compound::{Compound, KeyWriter};

/// Why a value could not be written as JSON: a map key that is not a string, number, bool or
/// char, a non-finite float key, or a type's own serialization error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// `value` as compact JSON text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut out = String::with_capacity(128);
    append(&mut out, value)?;
    Ok(out)
}

/// Appends `value` as compact JSON text to `out`; on error `out` is left as it was.
pub fn append<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), Error> {
    let mark = out.len();
    let mut writer = Writer { out, raw: false };
    let written = value.serialize(&mut writer);
    if written.is_err() {
        out.truncate(mark);
    }
    written
}

/// The name serde_json gives a `RawValue` when serializing it: its text is written as it is.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The table of escapes: 0 for bytes written as they are, else the letter after the backslash
/// (`u` for `\u00XX`).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// A mask whose lowest set bit (if any) is the high bit of the first byte of `word` (little
/// endian) that JSON escapes. Each test is the classic "has a byte less than n" trick: a borrow
/// only leaves a byte that matched, so bits above the first match may be wrong but the lowest
/// one never is.
fn escapes_in(word: u64) -> u64 {
    let controls = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quotes = quote.wrapping_sub(ONES) & !quote;
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let backslashes = backslash.wrapping_sub(ONES) & !backslash;
    (controls | quotes | backslashes) & HIGHS
}

/// Appends `s` as a JSON string, quotes included.
#[inline]
pub fn push_str(out: &mut String, s: &str) {
    escape(out, s);
}

/// Appends a string that lives as long as the program (a struct's field name, a variant's
/// name) as a JSON string. Serde hands every field name over as such a string, so payloads of
/// many short keys check the same few hundred strings again and again: each is checked once,
/// and a clean one is remembered by where it lives and how long it is (see [`known_clean`]).
#[inline]
pub(crate) fn push_static(out: &mut String, s: &'static str) {
    if known_clean(s) {
        quoted(out, s);
    } else {
        escape(out, s);
    }
}

/// Slots of the table of program-lifetime strings known to need no escape.
const CLEAN_SLOTS: usize = 1024;

/// Each slot holds a clean string's address with its length in the top 16 bits (0: empty).
/// A `&'static str` never changes, so a string found clean stays clean; two strings that share
/// an address (one a prefix of the other) differ in length. Slots are only ever overwritten
/// with another clean string, so a lost race or a collision costs a re-check, never a wrong
/// answer.
static CLEAN: [AtomicU64; CLEAN_SLOTS] = [const { AtomicU64::new(0) }; CLEAN_SLOTS];

/// Whether `s` needs no escape, from the table when it is there.
#[inline]
fn known_clean(s: &'static str) -> bool {
    let (addr, len) = (s.as_ptr().addr() as u64, s.len() as u64);
    if addr >> 48 != 0 || len >> 16 != 0 {
        // Not representable in a slot (no such address on today's 64-bit targets).
        return first_escape(s.as_bytes(), 0).is_none();
    }
    let tag = addr | len << 48;
    // Fibonacci hashing: the top bits of the product spread nearby addresses over the table.
    let slot = &CLEAN[(tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize % CLEAN_SLOTS];
    if slot.load(Ordering::Relaxed) == tag {
        return true;
    }
    let clean = first_escape(s.as_bytes(), 0).is_none();
    if clean {
        slot.store(tag, Ordering::Relaxed);
    }
    clean
}

/// Appends `s` as a JSON string, quotes included, to a byte buffer.
pub fn push_str_bytes(out: &mut Vec<u8>, s: &str) {
    escape(out, s);
}

/// What escaped text is appended to.
trait Sink {
    fn reserve_more(&mut self, n: usize);
    fn text(&mut self, s: &str);
    fn ascii(&mut self, b: u8);
}

impl Sink for String {
    #[inline]
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
    #[inline]
    fn text(&mut self, s: &str) {
        self.push_str(s);
    }
    #[inline]
    fn ascii(&mut self, b: u8) {
        self.push(char::from(b));
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn reserve_more(&mut self, n: usize) {
        self.reserve(n);
    }
    #[inline]
    fn text(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
    #[inline]
    fn ascii(&mut self, b: u8) {
        self.push(b);
    }
}

/// Most strings (every key, most values) need no escape: they are checked, then copied whole.
#[inline]
fn escape(out: &mut impl Sink, s: &str) {
    match first_escape(s.as_bytes(), 0) {
        None => quoted(out, s),
        Some(at) => escape_from(out, s, at),
    }
}

/// Writes `s`, which needs no escape, between quotes.
#[inline]
fn quoted(out: &mut impl Sink, s: &str) {
    out.reserve_more(s.len() + 2);
    out.ascii(b'"');
    out.text(s);
    out.ascii(b'"');
}

/// Eight bytes of `bytes` from `at`, little endian.
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut eight = [0u8; 8];
    if let Some(word) = bytes.get(at..at + 8) {
        eight.copy_from_slice(word);
    }
    u64::from_le_bytes(eight)
}

/// The bytes of a string shorter than eight packed into a word, padded with spaces (never
/// escaped): from four bytes up, its first four and last four (overlapping); from two, its first
/// two and last two.
#[inline]
fn short_word(bytes: &[u8]) -> u64 {
    let spaces = ONES * u64::from(b' ');
    let len = bytes.len();
    let u32_at = |at: usize| {
        let mut four = [0u8; 4];
        if let Some(b) = bytes.get(at..at + 4) {
            four.copy_from_slice(b);
        }
        u64::from(u32::from_le_bytes(four))
    };
    let u16_at = |at: usize| {
        let mut two = [0u8; 2];
        if let Some(b) = bytes.get(at..at + 2) {
            two.copy_from_slice(b);
        }
        u64::from(u16::from_le_bytes(two))
    };
    match len {
        4.. => u32_at(0) | (u32_at(len - 4) << 32),
        2.. => (spaces & !0xffff_ffff) | u16_at(0) | (u16_at(len - 2) << 16),
        1 => (spaces & !0xff) | bytes.first().map_or(0x20, |&b| u64::from(b)),
        0 => spaces,
    }
}

/// Where the first byte at or after `from` that JSON escapes is, eight bytes at a time. The
/// last few bytes are read as the string's last eight (those before `from` masked off); a
/// string shorter than eight is looked up byte by byte.
#[inline]
fn first_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let len = bytes.len();
    let mut i = from;
    while i + 8 <= len {
        let found = escapes_in(word_at(bytes, i));
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i >= len {
        return None;
    }
    if len < 8 {
        // A short string (most keys): one check of its bytes packed into a word, and the
        // table only when that finds something.
        if i == 0 && escapes_in(short_word(bytes)) == 0 {
            return None;
        }
        return bytes
            .iter()
            .skip(i)
            .position(|&b| ESCAPE[usize::from(b)] != 0)
            .map(|k| i + k);
    }
    // The last eight bytes, those before `i` already checked and masked off.
    let base = len - 8;
    let found = escapes_in(word_at(bytes, base)) & (u64::MAX << (8 * (i - base) as u32));
    (found != 0).then(|| base + (found.trailing_zeros() / 8) as usize)
}

/// Writes `s`, whose first escaped byte is at `at`.
fn escape_from(out: &mut impl Sink, s: &str, mut at: usize) {
    out.reserve_more(s.len() + 8);
    out.ascii(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(&byte) = bytes.get(at) {
        let escape = ESCAPE[usize::from(byte)];
        if escape != 0 {
            // Escaped bytes are ASCII, so both ends of the run are character boundaries.
            out.text(s.get(start..at).unwrap_or_default());
            out.ascii(b'\\');
            out.ascii(escape);
            if escape == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.text("00");
                out.ascii(HEX[usize::from(byte >> 4)]);
                out.ascii(HEX[usize::from(byte & 0xf)]);
            }
            start = at + 1;
        }
        match first_escape(bytes, at + 1) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.text(s.get(start..).unwrap_or_default());
    out.ascii(b'"');
}

/// Appends `v` in decimal, two digits at a time.
fn push_u64(out: &mut String, mut v: u64) {
    const PAIRS: &[u8; 200] = b"\
        0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while v >= 100 {
        let pair = usize::try_from(v % 100).unwrap_or(0) * 2;
        v /= 100;
        at -= 2;
        digits[at] = PAIRS[pair];
        digits[at + 1] = PAIRS[pair + 1];
    }
    if v >= 10 {
        let pair = usize::try_from(v).unwrap_or(0) * 2;
        at -= 2;
        digits[at] = PAIRS[pair];
        digits[at + 1] = PAIRS[pair + 1];
    } else {
        at -= 1;
        digits[at] = b'0' + v as u8;
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends a finite float as serde_json writes it (its shortest round-trip form, by its own
/// formatter, into a stack buffer); `null` should the formatter fail.
fn push_float(out: &mut String, write: impl FnOnce(&mut &mut [u8]) -> std::io::Result<()>) {
    let mut text = [0u8; 32];
    let mut rest: &mut [u8] = &mut text;
    if write(&mut rest).is_ok() {
        let used = 32 - rest.len();
        out.push_str(std::str::from_utf8(&text[..used]).unwrap_or("null"));
    } else {
        out.push_str("null");
    }
}

fn push_f64(out: &mut String, v: f64) {
    use serde_json::ser::Formatter;
    if v.is_finite() {
        push_float(out, |w| serde_json::ser::CompactFormatter.write_f64(w, v));
    } else {
        out.push_str("null");
    }
}

fn push_f32(out: &mut String, v: f32) {
    use serde_json::ser::Formatter;
    if v.is_finite() {
        push_float(out, |w| serde_json::ser::CompactFormatter.write_f32(w, v));
    } else {
        out.push_str("null");
    }
}

/// The serializer: appends to `out`. `raw` is set while a `RawValue`'s text is written.
pub(crate) struct Writer<'o> {
    out: &'o mut String,
    raw: bool,
}

impl<'a, 'o> ser::Serializer for &'a mut Writer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        push_i64(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        write!(self.out, "{v}").map_err(ser::Error::custom)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        push_u64(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        write!(self.out, "{v}").map_err(ser::Error::custom)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        push_f32(self.out, v);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        push_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if std::mem::take(&mut self.raw) {
            self.out.push_str(v);
        } else {
            push_str(self.out, v);
        }
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        if std::mem::take(&mut self.raw) {
            self.out.push_str(variant);
        } else {
            push_static(self.out, variant);
        }
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push('{');
        push_static(self.out, variant);
        self.out.push(':');
        value.serialize(&mut *self)?;
        self.out.push('}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.out.push('[');
        Ok(Compound::new(self, "]"))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.out.push('{');
        push_static(self.out, variant);
        self.out.push_str(":[");
        Ok(Compound::new(self, "]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.out.push('{');
        Ok(Compound::new(self, "}"))
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'a, 'o>, Error> {
        if name == RAW_VALUE_TOKEN {
            return Ok(Compound::raw(self));
        }
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.out.push('{');
        push_static(self.out, variant);
        self.out.push_str(":{");
        Ok(Compound::new(self, "}}"))
    }
}

/// The error serde_json gives for a map key it cannot write.
fn key_must_be_a_string() -> Error {
    Error("key must be a string".to_owned())
}

impl<'o> Writer<'o> {
    /// Writes a map key: strings as they are, numbers, bools and chars quoted.
    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(KeyWriter { out: self.out })
    }
}
