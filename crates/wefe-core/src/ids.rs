use std::fmt;
use std::str::FromStr;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty text.
    #[error("dataset id is empty")]
    Empty,
    /// Longer than fits in 32 bytes.
    #[error("dataset id '{0}' is longer than 32 bytes (use a shorter name or 0x + 64 hex digits)")]
    TooLong(String),
    /// Contains characters outside printable ASCII.
    #[error("dataset id '{0}' must be printable ASCII without spaces (or 0x + 64 hex digits)")]
    NotPrintable(String),
    /// `0x…` that is not 32 bytes of hex.
    #[error("dataset id '{0}' starts with 0x but is not 0x + 64 hex digits")]
    BadHex(String),
    /// All zero bytes.
    #[error("dataset id must not be zero")]
    Zero,
    /// A peer (member) id that is not `0x` + 40 hex digits.
    #[error("peer id '{0}' is not 0x + 40 hex digits (a member address)")]
    BadPeerId(String),
}

/// A dataset id as stored on chain: 32 bytes. Humans write either a short name
/// (1–32 printable ASCII bytes not starting with `0x`, right-padded with zeros, like Solidity's
/// `bytes32("bank-a")`) or `0x` followed by 64 hex digits. It prints back as the
/// name when the bytes are such a name, else as hex.
///
/// ```
/// use wefe_core::DatasetId;
/// let id: DatasetId = "bank-a-customers".parse().unwrap();
/// assert_eq!(id.to_string(), "bank-a-customers");
/// assert_eq!(&id.to_bytes()[..6], b"bank-a");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatasetId([u8; 32]);

impl DatasetId {
    /// Parses the text form (see the type docs).
    pub fn parse(text: &str) -> Result<Self, IdError> {
        if text.is_empty() {
            return Err(IdError::Empty);
        }
        let bytes = if let Some(hex_part) = text.strip_prefix("0x").filter(|h| h.len() == 64) {
            let mut out = [0u8; 32];
            hex::decode_to_slice(hex_part, &mut out).map_err(|_| IdError::BadHex(text.to_owned()))?;
            out
        } else {
            // Names never start with 0x, so hex and names cannot be confused.
            if text.starts_with("0x") {
                return Err(IdError::BadHex(text.to_owned()));
            }
            if text.len() > 32 {
                return Err(IdError::TooLong(text.to_owned()));
            }
            if !text.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(IdError::NotPrintable(text.to_owned()));
            }
            let mut out = [0u8; 32];
            out[..text.len()].copy_from_slice(text.as_bytes());
            out
        };
        if bytes == [0u8; 32] {
            return Err(IdError::Zero);
        }
        Ok(Self(bytes))
    }

    /// Wraps raw bytes as read from the chain.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes.
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// The name, when the bytes are a printable name padded with zeros.
    pub fn as_name(&self) -> Option<&str> {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(32);
        let (name, rest) = self.0.split_at(len);
        if len == 0 || rest.iter().any(|&b| b != 0) || !name.iter().all(u8::is_ascii_graphic) {
            return None;
        }
        // Text starting with 0x parses as hex, so such bytes print as hex.
        if name.starts_with(b"0x") {
            return None;
        }
        std::str::from_utf8(name).ok()
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{}", hex::encode(self.0)),
        }
    }
}

impl fmt::Debug for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatasetId({self})")
    }
}

impl FromStr for DatasetId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hex_round_trip() {
        for text in ["a", "bank-a-customers", "x".repeat(32).as_str(), "ID_42/v2"] {
            let id = DatasetId::parse(text).unwrap();
            assert_eq!(id.to_string(), text);
            assert_eq!(DatasetId::parse(&id.to_string()).unwrap(), id);
        }
        let hex_form = format!("0x{}", "ab".repeat(32));
        let id = DatasetId::parse(&hex_form).unwrap();
        assert_eq!(id.to_bytes(), [0xab; 32]);
        assert_eq!(id.to_string(), hex_form);
    }

    #[test]
    fn bytes_that_are_not_a_name_print_as_hex() {
        let mut raw = [0u8; 32];
        raw[0] = b'a';
        raw[5] = b'b'; // a zero inside the name
        let id = DatasetId::from_bytes(raw);
        assert!(id.to_string().starts_with("0x61"));
        assert_eq!(DatasetId::parse(&id.to_string()).unwrap(), id);
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(DatasetId::parse(""), Err(IdError::Empty));
        assert!(matches!(DatasetId::parse(&"y".repeat(33)), Err(IdError::TooLong(_))));
        assert!(matches!(DatasetId::parse("has space"), Err(IdError::NotPrintable(_))));
        assert!(matches!(DatasetId::parse("naïve"), Err(IdError::NotPrintable(_))));
        assert!(matches!(DatasetId::parse(&format!("0x{}", "zz".repeat(32))), Err(IdError::BadHex(_))));
        assert!(matches!(DatasetId::parse(&format!("0x{}", "00".repeat(40))), Err(IdError::BadHex(_))));
        assert!(matches!(DatasetId::parse("0x1234"), Err(IdError::BadHex(_))));
        assert_eq!(DatasetId::parse(&format!("0x{}", "00".repeat(32))), Err(IdError::Zero));
    }
}
