//! Bounds-checked reading and writing of protocol messages: every read can
//! fail, none can panic, and counts are checked against a limit before
//! anything is allocated. Protocol crates map [`WireError`] into their own
//! error type (`impl From<WireError> for …`).

/// Why a message did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Truncated, trailing bytes, wrong kind, bad value.
    #[error("malformed {message}: {reason}")]
    Malformed {
        /// Which message.
        message: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A version this code does not speak.
    #[error("{message}: version {found}, expected {expected}")]
    Version {
        /// Which message.
        message: &'static str,
        /// The version received.
        found: u8,
        /// The version expected.
        expected: u8,
    },
    /// More items than the limit.
    #[error("{message}: {count} items, more than the limit of {max}")]
    TooMany {
        /// Which message.
        message: &'static str,
        /// Items announced.
        count: u64,
        /// The limit.
        max: u64,
    },
}

/// Reads one message.
#[derive(Debug)]
pub struct Reader<'a> {
    message: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, naming the message `message` in errors.
    pub fn new(message: &'static str, bytes: &'a [u8]) -> Self {
        Self { message, bytes }
    }

    /// A `Malformed` error for this message, converted into the caller's error type.
    pub fn malformed<E: From<WireError>>(&self, reason: impl Into<String>) -> E {
        WireError::Malformed { message: self.message, reason: reason.into() }.into()
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(self.malformed(format!("truncated: needed {n} more bytes, {} left", self.bytes.len())));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A big-endian u64.
    pub fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }

    /// A finite f64 (its IEEE bits, big-endian).
    pub fn f64(&mut self) -> Result<f64, WireError> {
        let x = f64::from_bits(self.u64()?);
        if !x.is_finite() {
            return Err(self.malformed(format!("non-finite number {x}")));
        }
        Ok(x)
    }

    /// The version and kind bytes a message starts with.
    pub fn header(&mut self, version: u8, kind: u8) -> Result<(), WireError> {
        let found = self.u8()?;
        if found != version {
            return Err(WireError::Version { message: self.message, found, expected: version });
        }
        let k = self.u8()?;
        if k != kind {
            return Err(self.malformed(format!("message kind {k}, expected {kind}")));
        }
        Ok(())
    }

    /// A u32 count, checked against `max` before anything is allocated.
    pub fn count(&mut self, max: usize) -> Result<usize, WireError> {
        let count = self.u32()?;
        if count as usize > max {
            return Err(WireError::TooMany { message: self.message, count: count.into(), max: max as u64 });
        }
        Ok(count as usize)
    }

    /// `count` fixed-size records, after checking that they fit in what is left.
    pub fn records(&mut self, count: usize, size: usize) -> Result<Vec<&'a [u8]>, WireError> {
        let total = count.checked_mul(size).ok_or_else(|| self.malformed::<WireError>("length overflow"))?;
        Ok(self.take(total)?.chunks_exact(size.max(1)).collect())
    }

    /// `count` 32-byte records.
    pub fn arrays32(&mut self, count: usize) -> Result<Vec<[u8; 32]>, WireError> {
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

    /// A length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Result<&'a [u8], WireError> {
        let len = self.count(max)?;
        self.take(len)
    }

    /// Ends the message: trailing bytes are an error.
    pub fn finish(self) -> Result<(), WireError> {
        if !self.bytes.is_empty() {
            return Err(self.malformed(format!("{} trailing bytes", self.bytes.len())));
        }
        Ok(())
    }
}

/// Appends a big-endian u32.
pub fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_be_bytes());
}

/// Appends a big-endian u64.
pub fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_be_bytes());
}

/// Appends an f64's IEEE bits.
pub fn put_f64(out: &mut Vec<u8>, x: f64) {
    put_u64(out, x.to_bits());
}

/// Appends a u32 count. Protocol limits keep counts far below `u32::MAX`;
/// a larger one is written as `u32::MAX`, which every reader refuses.
pub fn put_count(out: &mut Vec<u8>, count: usize) {
    put_u32(out, u32::try_from(count).unwrap_or(u32::MAX));
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_count(out, b.len());
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_and_refuses_the_rest() {
        let mut out = vec![1, 7];
        put_count(&mut out, 2);
        put_f64(&mut out, 1.5);
        put_bytes(&mut out, b"ab");
        let mut r = Reader::new("test", &out);
        r.header(1, 7).unwrap();
        assert_eq!(r.count(2).unwrap(), 2);
        assert_eq!(r.f64().unwrap(), 1.5);
        assert_eq!(r.bytes(2).unwrap(), b"ab");
        r.finish().unwrap();

        assert!(matches!(Reader::new("t", &[2, 7]).header(1, 7), Err(WireError::Version { found: 2, .. })));
        assert!(matches!(Reader::new("t", &[0, 0, 0, 9]).count(8), Err(WireError::TooMany { count: 9, .. })));
        assert!(matches!(Reader::new("t", &[1]).u32(), Err(WireError::Malformed { .. })));
        assert!(Reader::new("t", &[1, 2]).finish().is_err());
        let mut nan = Vec::new();
        put_f64(&mut nan, f64::NAN);
        assert!(Reader::new("t", &nan).f64().is_err());
        assert!(Reader::new("t", &[0xff; 4]).records(usize::MAX, 2).is_err());
    }
}
