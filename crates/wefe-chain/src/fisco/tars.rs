//! The Tars binary encoding, as far as FISCO BCOS 3.x transactions use it
//! (TarsCpp `servant/tup/Tars.h`): each field is a head — type in the low
//! nibble, tag in the high one (tags ≥ 15 in a second byte) — then its value.
//! Integers take the smallest form that holds them (0 is a bare `ZeroTag`
//! head), big-endian; strings up to 255 bytes a one-byte length, longer ones
//! four; `vector<byte>` is a `SimpleList` head, a `Char` head and the length
//! as an integer field of tag 0; a nested struct sits between `StructBegin`
//! and `StructEnd` heads. A top-level struct is its fields, with no begin or
//! end around them.
//!
//! [`Reader`] reads every type (skipping unknown fields by their type), so a
//! transaction a FISCO SDK wrote decodes whatever optional fields it carries.

use crate::error::{ChainError, Result};

/// Type codes of a field head.
mod kind {
    pub const CHAR: u8 = 0;
    pub const SHORT: u8 = 1;
    pub const INT32: u8 = 2;
    pub const INT64: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const STRING1: u8 = 6;
    pub const STRING4: u8 = 7;
    pub const MAP: u8 = 8;
    pub const LIST: u8 = 9;
    pub const STRUCT_BEGIN: u8 = 10;
    pub const STRUCT_END: u8 = 11;
    pub const ZERO: u8 = 12;
    pub const SIMPLE_LIST: u8 = 13;
}

/// Writes Tars fields into a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    fn head(&mut self, kind: u8, tag: u8) {
        if tag < 15 {
            self.out.push(kind | (tag << 4));
        } else {
            self.out.push(kind | 0xf0);
            self.out.push(tag);
        }
    }

    /// An integer field (`char`, `short`, `int` or `long`: the same on the wire).
    pub fn int(&mut self, tag: u8, value: i64) {
        if value == 0 {
            self.head(kind::ZERO, tag);
        } else if let Ok(v) = i8::try_from(value) {
            self.head(kind::CHAR, tag);
            self.out.push(v as u8);
        } else if let Ok(v) = i16::try_from(value) {
            self.head(kind::SHORT, tag);
            self.out.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = i32::try_from(value) {
            self.head(kind::INT32, tag);
            self.out.extend_from_slice(&v.to_be_bytes());
        } else {
            self.head(kind::INT64, tag);
            self.out.extend_from_slice(&value.to_be_bytes());
        }
    }

    /// A string field (any bytes; FISCO's strings are UTF-8 or hex text).
    pub fn string(&mut self, tag: u8, value: &[u8]) {
        match u8::try_from(value.len()) {
            Ok(len) => {
                self.head(kind::STRING1, tag);
                self.out.push(len);
            }
            Err(_) => {
                self.head(kind::STRING4, tag);
                self.out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            }
        }
        self.out.extend_from_slice(value);
    }

    /// A `vector<byte>` field.
    pub fn bytes(&mut self, tag: u8, value: &[u8]) {
        self.head(kind::SIMPLE_LIST, tag);
        self.head(kind::CHAR, 0);
        self.int(0, value.len() as i64);
        self.out.extend_from_slice(value);
    }

    /// A nested struct field whose fields `write` writes.
    pub fn structure(&mut self, tag: u8, write: impl FnOnce(&mut Writer)) {
        self.head(kind::STRUCT_BEGIN, tag);
        write(self);
        self.head(kind::STRUCT_END, 0);
    }
}

/// One decoded field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any integer type.
    Int(i64),
    /// A string or a `vector<byte>`.
    Bytes(Vec<u8>),
    /// A nested struct: its fields by tag, in order.
    Struct(Vec<(u8, Value)>),
    /// A float, double, list or map: read past, not kept.
    Other,
}

/// Reads Tars fields; every error says at which byte and why.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    at: usize,
    what: &'static str,
}

/// Deepest struct nesting read (a transaction uses two levels).
const MAX_DEPTH: usize = 8;

/// Longest `vector<byte>` or string accepted (a transaction is far smaller).
const MAX_LEN: usize = 64 << 20;

impl<'a> Reader<'a> {
    /// A reader over `input`, naming it `what` in errors.
    pub fn new(what: &'static str, input: &'a [u8]) -> Self {
        Self { input, at: 0, what }
    }

    fn fail(&self, reason: impl std::fmt::Display) -> ChainError {
        ChainError::Decode { what: format!("{} (Tars)", self.what), message: format!("at byte {}: {reason}", self.at) }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.input.len()).ok_or_else(|| self.fail("truncated"))?;
        let bytes = &self.input[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn head(&mut self) -> Result<(u8, u8)> {
        let b = self.take(1)?[0];
        let (kind, tag) = (b & 0x0f, b >> 4);
        if tag == 15 { Ok((kind, self.take(1)?[0])) } else { Ok((kind, tag)) }
    }

    fn int_of(&mut self, kind: u8) -> Result<i64> {
        Ok(match kind {
            kind::ZERO => 0,
            kind::CHAR => i64::from(self.take(1)?[0] as i8),
            kind::SHORT => i64::from(i16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes"))),
            kind::INT32 => i64::from(i32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes"))),
            kind::INT64 => i64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")),
            other => return Err(self.fail(format!("expected an integer, found type {other}"))),
        })
    }

    fn length(&mut self, len: i64) -> Result<usize> {
        usize::try_from(len).ok().filter(|l| *l <= MAX_LEN).ok_or_else(|| self.fail(format!("length {len}")))
    }

    fn value(&mut self, kind: u8, depth: usize) -> Result<Value> {
        Ok(match kind {
            kind::ZERO | kind::CHAR | kind::SHORT | kind::INT32 | kind::INT64 => Value::Int(self.int_of(kind)?),
            kind::FLOAT => {
                self.take(4)?;
                Value::Other
            }
            kind::DOUBLE => {
                self.take(8)?;
                Value::Other
            }
            kind::STRING1 => {
                let len = usize::from(self.take(1)?[0]);
                Value::Bytes(self.take(len)?.to_vec())
            }
            kind::STRING4 => {
                let len = u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes"));
                let len = self.length(i64::from(len))?;
                Value::Bytes(self.take(len)?.to_vec())
            }
            kind::SIMPLE_LIST => {
                let (element, _) = self.head()?;
                if element != kind::CHAR {
                    return Err(self.fail(format!("a simple list holds bytes, found type {element}")));
                }
                let (len_kind, _) = self.head()?;
                let len = self.int_of(len_kind)?;
                let len = self.length(len)?;
                Value::Bytes(self.take(len)?.to_vec())
            }
            kind::LIST | kind::MAP => {
                let (len_kind, _) = self.head()?;
                let len = self.int_of(len_kind)?;
                let items = self.length(len)? * if kind == kind::MAP { 2 } else { 1 };
                for _ in 0..items {
                    let (k, _) = self.head()?;
                    self.nested(k, depth + 1)?;
                }
                Value::Other
            }
            kind::STRUCT_BEGIN => Value::Struct(self.fields_until_end(depth + 1)?),
            other => return Err(self.fail(format!("unknown field type {other}"))),
        })
    }

    fn nested(&mut self, kind: u8, depth: usize) -> Result<Value> {
        if depth >= MAX_DEPTH {
            return Err(self.fail("structs nested too deep"));
        }
        self.value(kind, depth)
    }

    fn fields_until_end(&mut self, depth: usize) -> Result<Vec<(u8, Value)>> {
        if depth >= MAX_DEPTH {
            return Err(self.fail("structs nested too deep"));
        }
        let mut fields = Vec::new();
        loop {
            let (kind, tag) = self.head()?;
            if kind == kind::STRUCT_END {
                return Ok(fields);
            }
            fields.push((tag, self.value(kind, depth)?));
        }
    }

    /// Reads a top-level struct: every field to the end of the input.
    pub fn top_level(mut self) -> Result<Vec<(u8, Value)>> {
        let mut fields = Vec::new();
        while self.at < self.input.len() {
            let (kind, tag) = self.head()?;
            if kind == kind::STRUCT_END {
                return Err(self.fail("a struct end outside any struct"));
            }
            fields.push((tag, self.value(kind, 0)?));
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(write: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        write(&mut w);
        w.finish()
    }

    #[test]
    fn integers_take_their_smallest_form() {
        assert_eq!(one(|w| w.int(1, 0)), [0x1c]);
        assert_eq!(one(|w| w.int(1, 5)), [0x10, 5]);
        assert_eq!(one(|w| w.int(1, -1)), [0x10, 0xff]);
        assert_eq!(one(|w| w.int(4, 509)), [0x41, 0x01, 0xfd]);
        assert_eq!(one(|w| w.int(4, 70_000)), [0x42, 0x00, 0x01, 0x11, 0x70]);
        assert_eq!(one(|w| w.int(4, 1 << 40)), [0x43, 0, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(one(|w| w.int(20, 1)), [0xf0, 20, 1], "tags from 15 take a second byte");
        for v in [0, 1, -1, 127, 128, -129, 32_767, 32_768, i64::from(i32::MAX) + 1, i64::MIN, i64::MAX] {
            let bytes = one(|w| w.int(3, v));
            assert_eq!(Reader::new("test", &bytes).top_level().unwrap(), vec![(3, Value::Int(v))], "{v}");
        }
    }

    #[test]
    fn strings_and_byte_vectors() {
        assert_eq!(one(|w| w.string(2, b"chain0")), b"\x26\x06chain0");
        let long = vec![b'x'; 256];
        assert_eq!(&one(|w| w.string(8, &long))[..5], [0x87, 0, 0, 1, 0]);
        assert_eq!(&one(|w| w.bytes(7, &[0xaa; 100]))[..4], [0x7d, 0x00, 0x00, 100]);
        assert_eq!(&one(|w| w.bytes(3, &[0xaa; 128]))[..5], [0x3d, 0x00, 0x01, 0x00, 0x80]);
        assert_eq!(one(|w| w.bytes(2, &[])), [0x2d, 0x00, 0x0c]);
        for value in [Vec::new(), vec![1u8], long.clone(), vec![7; 70_000]] {
            let bytes = one(|w| {
                w.string(1, &value);
                w.bytes(2, &value);
            });
            let fields = Reader::new("test", &bytes).top_level().unwrap();
            assert_eq!(fields, vec![(1, Value::Bytes(value.clone())), (2, Value::Bytes(value.clone()))]);
        }
    }

    #[test]
    fn structs_nest_and_unknown_fields_are_read_past() {
        let bytes = one(|w| {
            w.structure(1, |w| {
                w.int(1, 7);
                w.string(2, b"x");
            });
            w.int(4, 9);
        });
        assert_eq!(bytes, [0x1a, 0x10, 7, 0x26, 1, b'x', 0x0b, 0x40, 9]);
        let fields = Reader::new("test", &bytes).top_level().unwrap();
        assert_eq!(
            fields,
            vec![(1, Value::Struct(vec![(1, Value::Int(7)), (2, Value::Bytes(b"x".to_vec()))])), (4, Value::Int(9))]
        );
        // A double, a list of ints and a map are skipped by their types.
        let mut other = vec![0x15];
        other.extend_from_slice(&1.5f64.to_be_bytes());
        other.extend_from_slice(&[0x29, 0x00, 2, 0x00, 1, 0x0c]); // list<int> [1, 0]
        other.extend_from_slice(&[0x38, 0x00, 1, 0x06, 1, b'k', 0x16, 1, b'v']); // map<string,string>
        other.extend_from_slice(&[0x40, 9]);
        let fields = Reader::new("test", &other).top_level().unwrap();
        assert_eq!(fields, vec![(1, Value::Other), (2, Value::Other), (3, Value::Other), (4, Value::Int(9))]);
    }

    #[test]
    fn malformed_input_is_an_error_naming_the_byte() {
        for (bytes, part) in [
            (&[0x26, 0x06, b'a'][..], "truncated"),
            (&[0x1a, 0x10, 7][..], "truncated"),
            (&[0x0b][..], "struct end outside"),
            (&[0x0e][..], "unknown field type 14"),
            (&[0x1d, 0x06, 0x00][..], "a simple list holds bytes"),
            (&[0x1d, 0x00, 0x10, 0xff][..], "length -1"),
        ] {
            let err = Reader::new("transaction", bytes).top_level().unwrap_err().to_string();
            assert!(err.contains("cannot decode transaction (Tars): at byte") && err.contains(part), "{err}");
        }
        let deep: Vec<u8> = std::iter::repeat_n(0x1a, 20).collect();
        assert!(Reader::new("t", &deep).top_level().unwrap_err().to_string().contains("too deep"));
        // Lists of lists of … (each `09 00 01`: a list of one element) are bounded too.
        let lists: Vec<u8> = std::iter::repeat_n([0x09u8, 0x00, 0x01], 100_000).flatten().collect();
        assert!(Reader::new("t", &lists).top_level().unwrap_err().to_string().contains("too deep"));
    }
}
