//! Bounds-checked reading of wire messages: every read can fail, none can panic.

use crate::{Error, Result};

pub(crate) struct Reader<'a> {
    message: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(message: &'static str, bytes: &'a [u8]) -> Self {
        Self { message, bytes }
    }

    pub(crate) fn malformed(&self, reason: impl Into<String>) -> Error {
        Error::Malformed { message: self.message, reason: reason.into() }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(self.malformed(format!("truncated: needed {n} more bytes, {} left", self.bytes.len())));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads the version and kind bytes every message starts with.
    pub(crate) fn header(&mut self, version: u8, kind: u8) -> Result<()> {
        let found = self.u8()?;
        if found != version {
            return Err(Error::Version { message: self.message, found, expected: version });
        }
        let k = self.u8()?;
        if k != kind {
            return Err(self.malformed(format!("message kind {k}, expected {kind}")));
        }
        Ok(())
    }

    /// Reads a u32 count and checks it against `max` before anything is allocated.
    pub(crate) fn count(&mut self, max: u32) -> Result<usize> {
        let count = self.u32()?;
        if count > max {
            return Err(Error::TooManyItems { message: self.message, count: count.into(), max: max.into() });
        }
        Ok(count as usize)
    }

    /// Reads `count` fixed-size records after checking that they fit in what is left.
    pub(crate) fn records(&mut self, count: usize, size: usize) -> Result<Vec<&'a [u8]>> {
        let total = count.checked_mul(size).ok_or_else(|| self.malformed("length overflow"))?;
        Ok(self.take(total)?.chunks_exact(size.max(1)).collect())
    }

    /// Reads `count` 32-byte records.
    pub(crate) fn arrays32(&mut self, count: usize) -> Result<Vec<[u8; 32]>> {
        Ok(self
            .records(count, 32)?
            .into_iter()
            .map(|r| {
                let mut a = [0u8; 32];
                a.copy_from_slice(r);
                a
            })
            .collect())
    }

    pub(crate) fn finish(self) -> Result<()> {
        if !self.bytes.is_empty() {
            return Err(self.malformed(format!("{} trailing bytes", self.bytes.len())));
        }
        Ok(())
    }
}

/// Appends a u32 count; counts above u32::MAX cannot be encoded (the limits keep them far below).
pub(crate) fn put_count(out: &mut Vec<u8>, count: usize) {
    let count = u32::try_from(count).expect("item counts are bounded by max_items (u32)");
    out.extend_from_slice(&count.to_be_bytes());
}
