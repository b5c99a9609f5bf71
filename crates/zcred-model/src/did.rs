//! `did:zid:` identifiers (api.md §2.1): `did:zid:` + 64 lowercase hex characters. Input hex in
//! either case is accepted and lowercased; the method prefix must be lowercase.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zcred_crypto::zetrix::{self, KeyError, VerifyingKey};

/// A `did:zid:` identifier: an account DID (holder, issuer) or a server-generated id
/// (templateId, vcId). Always stored lowercase.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did(String);

impl Did {
    /// Parses and normalizes to lowercase hex.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let raw = zetrix::parse_did(text)?;
        Ok(Self::from_bytes(&raw))
    }

    /// `did:zid:` + hex of 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(zetrix::format_did(bytes))
    }

    /// The account DID of an Ed25519 key.
    pub fn of_key(key: &VerifyingKey) -> Self {
        Self(key.did())
    }

    /// The Ed25519 key this DID names, when it is an account DID.
    pub fn key(&self) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_did(&self.0)
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Did({})", self.0)
    }
}

impl FromStr for Did {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Did {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Did {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_hex_and_refuses_bad_forms() {
        let upper = format!("did:zid:{}", "AB".repeat(32));
        assert_eq!(
            Did::parse(&upper).unwrap().as_str(),
            format!("did:zid:{}", "ab".repeat(32))
        );
        assert!(matches!(
            Did::parse(&format!("DID:ZID:{}", "ab".repeat(32))),
            Err(KeyError::Prefix { .. })
        ));
        assert!(matches!(
            Did::parse("did:zid:abc"),
            Err(KeyError::Length { .. })
        ));
        assert!(matches!(
            Did::parse(&format!("did:zid:{}", "zz".repeat(32))),
            Err(KeyError::Hex { .. })
        ));
    }
}
