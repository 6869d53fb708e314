//! The shared bounds-checked reader ([`wefe_core::wire`]) with this crate's errors.

use wefe_core::wire::WireError;
pub(crate) use wefe_core::wire::{Reader, put_count};

use crate::Error;

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Malformed { message, reason } => Error::Malformed { message, reason },
            WireError::Version { message, found, expected } => Error::Version { message, found, expected },
            WireError::TooMany { message, count, max } => Error::TooManyItems { message, count, max },
        }
    }
}

/// One numbered batch of a streamed list: `version ‖ kind ‖ index:u32 ‖
/// len:u32 ‖ bytes`. The receiver checks `index` and the length against what
/// it expects at that point of the stream.
pub(crate) fn encode_batch(version: u8, kind: u8, index: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + bytes.len());
    out.extend_from_slice(&[version, kind]);
    wefe_core::wire::put_u32(&mut out, index);
    put_count(&mut out, bytes.len());
    out.extend_from_slice(bytes);
    out
}

/// Parses [`encode_batch`]'s format, refusing more than `max` bytes.
pub(crate) fn decode_batch(
    message: &'static str,
    version: u8,
    kind: u8,
    bytes: &[u8],
    max: usize,
) -> crate::Result<(u32, Vec<u8>)> {
    let mut r = Reader::new(message, bytes);
    r.header(version, kind)?;
    let index = r.u32()?;
    let payload = r.bytes(max)?.to_vec();
    r.finish()?;
    Ok((index, payload))
}
