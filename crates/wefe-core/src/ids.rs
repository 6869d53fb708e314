use std::fmt;
use std::str::FromStr;

use crate::transport::PeerId;

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
    /// A dataset reference without its owner.
    #[error("dataset '{0}' needs its owner: write NAME@0xOWNER (a member address)")]
    MissingOwner(String),
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

/// A dataset's identity on chain: its owner (a member) and the name the owner
/// registered it under. Names are per owner, so two members may both have a
/// `customers` dataset. The text form is `NAME@0xOWNER`; a name can never end
/// with `@0x` + 40 hex digits (it is at most 32 bytes), so the split is
/// unambiguous.
///
/// ```
/// use wefe_core::DatasetRef;
/// let r: DatasetRef = "customers@0x70997970c51812dc3a010c7d01b50e0d17dc79c8".parse().unwrap();
/// assert_eq!(r.name.to_string(), "customers");
/// assert_eq!(r.to_string(), "customers@0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
/// assert!(wefe_core::DatasetRef::parse("customers").is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatasetRef {
    /// The member that registered it.
    pub owner: PeerId,
    /// Its name in the owner's namespace.
    pub name: DatasetId,
}

impl DatasetRef {
    /// Parses `NAME@0xOWNER`.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        match Self::split(text)? {
            (name, Some(owner)) => Ok(Self { owner, name }),
            (_, None) => Err(IdError::MissingOwner(text.to_owned())),
        }
    }

    /// Splits `NAME` or `NAME@0xOWNER` into the name and, when given, the owner.
    pub fn split(text: &str) -> Result<(DatasetId, Option<PeerId>), IdError> {
        if let Some(at) = text.len().checked_sub(43)
            && text.is_char_boundary(at)
            && text[at..].starts_with("@0x")
            && let Ok(owner) = PeerId::parse(&text[at + 1..])
        {
            return Ok((DatasetId::parse(&text[..at])?, Some(owner)));
        }
        Ok((DatasetId::parse(text)?, None))
    }
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.owner)
    }
}

impl fmt::Debug for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatasetRef({self})")
    }
}

impl FromStr for DatasetRef {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_refs_split_at_the_owner_suffix_only() {
        let owner = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
        let r = DatasetRef::parse(&format!("a@b@{owner}")).unwrap();
        assert_eq!(r.name.to_string(), "a@b");
        assert_eq!(r.owner.to_string(), owner);
        assert_eq!(DatasetRef::parse(&r.to_string()).unwrap(), r);
        let upper = DatasetRef::parse(&format!("x@{}", owner.to_uppercase().replacen("0X", "0x", 1))).unwrap();
        assert_eq!(upper, DatasetRef::parse(&format!("x@{owner}")).unwrap());
        // A bare name, or a name with an @ but no address after it.
        assert_eq!(DatasetRef::split("a@b").unwrap(), (DatasetId::parse("a@b").unwrap(), None));
        assert_eq!(DatasetRef::parse("customers"), Err(IdError::MissingOwner("customers".into())));
        assert!(matches!(DatasetRef::parse(&format!("@{owner}")), Err(IdError::Empty)));
        let hex_name = format!("0x{}", "ab".repeat(32));
        assert_eq!(DatasetRef::parse(&format!("{hex_name}@{owner}")).unwrap().name.to_bytes(), [0xab; 32]);
        // Multi-byte text never panics on the split.
        assert!(DatasetRef::split(&"é".repeat(30)).is_err());
    }

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
