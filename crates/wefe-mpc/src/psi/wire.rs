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
