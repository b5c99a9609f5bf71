//! Zetrix Ed25519 keys and their text forms (zetrix.md §1, api.md §2.1–§2.4).
//!
//! | form | bytes | text |
//! |---|---|---|
//! | private key | `DA 37 9F 01` ‖ seed(32) ‖ `00` ‖ checksum(4) | Base58, starts with `priv` |
//! | public key | `B0 01` ‖ key(32) ‖ checksum(4) | hex, 76 characters, emitted lowercase |
//! | address | `F0 26 01` ‖ sha256(key)[12..32] ‖ checksum(4) | Base58, starts with `ZTX3` |
//! | DID | – | `did:zid:` + lowercase hex of the raw 32-byte key |
//!
//! The checksum is the first four bytes of `sha256(sha256(everything before it))`.
//! Signatures are plain Ed25519 (RFC 8032) over the message bytes, written as 128 hex characters:
//! emitted UPPERCASE, accepted in either case.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::Signer as _;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const PRIVATE_PREFIX: [u8; 3] = [0xDA, 0x37, 0x9F];
const PUBLIC_PREFIX: u8 = 0xB0;
const ADDRESS_PREFIX: [u8; 3] = [0xF0, 0x26, 0x01];
const ED25519: u8 = 0x01;
const PRIVATE_LEN: usize = 41;
const PUBLIC_LEN: usize = 38;
const ADDRESS_LEN: usize = 27;
/// The method prefix of a Zetrix DID.
pub const DID_PREFIX: &str = "did:zid:";

/// Why a key, address, DID or signature text was refused. Each variant names the form and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not valid Base58 (Bitcoin alphabet).
    #[error("{what} is not valid Base58")]
    Base58 {
        /// Which form was being parsed.
        what: &'static str,
    },
    /// The text is not valid hex.
    #[error("{what} is not valid hex")]
    Hex {
        /// Which form was being parsed.
        what: &'static str,
    },
    /// The decoded value has the wrong length.
    #[error("{what} has the wrong length: expected {expected} {unit}, found {found}")]
    Length {
        /// Which form was being parsed.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Actual length.
        found: usize,
        /// `"bytes"` or `"characters"`.
        unit: &'static str,
    },
    /// The leading bytes or characters are not those of this form.
    #[error("{what} has the wrong prefix: it must start with {expected}")]
    Prefix {
        /// Which form was being parsed.
        what: &'static str,
        /// The prefix required.
        expected: &'static str,
    },
    /// The key-type byte is not Ed25519 (`01`).
    #[error("{what} has key type {found:#04x}; only 0x01 (Ed25519) is supported")]
    KeyType {
        /// Which form was being parsed.
        what: &'static str,
        /// The key-type byte found.
        found: u8,
    },
    /// The private key's compression flag (the byte before the checksum) is not `00`.
    #[error("private key has compression flag {found:#04x}; it must be 0x00")]
    CompressionFlag {
        /// The flag byte found.
        found: u8,
    },
    /// The checksum does not match the bytes before it.
    #[error("{what} has a bad checksum")]
    Checksum {
        /// Which form was being parsed.
        what: &'static str,
    },
    /// The 32 bytes are not a valid Ed25519 public key.
    #[error("{what} is not a valid Ed25519 public key")]
    InvalidPoint {
        /// Which form was being parsed.
        what: &'static str,
    },
}

/// A signature or a key did not verify. Deliberately carries no detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct SignatureMismatch;

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let digest = Sha256::digest(Sha256::digest(bytes));
    [digest[0], digest[1], digest[2], digest[3]]
}

fn check_checksum(bytes: &[u8], what: &'static str) -> Result<(), KeyError> {
    let (body, sum) = bytes.split_at(bytes.len() - 4);
    if checksum(body) == sum {
        Ok(())
    } else {
        Err(KeyError::Checksum { what })
    }
}

fn check_len(
    found: usize,
    expected: usize,
    what: &'static str,
    unit: &'static str,
) -> Result<(), KeyError> {
    if found == expected {
        Ok(())
    } else {
        Err(KeyError::Length {
            what,
            expected,
            found,
            unit,
        })
    }
}

/// An issuer's or holder's Ed25519 signing key.
///
/// Invariant: the secret seed never leaves this type except through [`SigningKey::to_zetrix`],
/// which returns a zeroizing string. It is zeroized on drop (by `ed25519-dalek`), is not `Clone`,
/// and its `Debug` shows only the public key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from a cryptographic RNG.
    pub fn generate<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The key whose RFC 8032 seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// Parses the Zetrix private-key text (`priv…`).
    pub fn from_zetrix(text: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "private key";
        let bytes = Zeroizing::new(
            bs58::decode(text)
                .into_vec()
                .map_err(|_| KeyError::Base58 { what: WHAT })?,
        );
        check_len(bytes.len(), PRIVATE_LEN, WHAT, "bytes")?;
        if bytes[..3] != PRIVATE_PREFIX {
            return Err(KeyError::Prefix {
                what: WHAT,
                expected: "\"priv\" (bytes DA 37 9F)",
            });
        }
        if bytes[3] != ED25519 {
            return Err(KeyError::KeyType {
                what: WHAT,
                found: bytes[3],
            });
        }
        if bytes[36] != 0 {
            return Err(KeyError::CompressionFlag { found: bytes[36] });
        }
        check_checksum(&bytes, WHAT)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&bytes[4..36]);
        Ok(Self::from_seed(&seed))
    }

    /// The Zetrix private-key text (`priv…`), in a string that is zeroized on drop.
    pub fn to_zetrix(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; PRIVATE_LEN]);
        bytes[..3].copy_from_slice(&PRIVATE_PREFIX);
        bytes[3] = ED25519;
        bytes[4..36].copy_from_slice(self.0.as_bytes());
        bytes[36] = 0;
        let sum = checksum(&bytes[..37]);
        bytes[37..].copy_from_slice(&sum);
        Zeroizing::new(bs58::encode(bytes.as_ref()).into_string())
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Ed25519 over `message` (no prehash).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("verifying_key", &self.verifying_key())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key. Displays as the Zetrix `b001…` form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// From the raw 32-byte key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidPoint { what: "public key" })
    }

    /// The raw 32-byte key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses the Zetrix `b001…` hex form (76 characters, either case).
    pub fn from_zetrix(text: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "public key";
        check_len(text.len(), PUBLIC_LEN * 2, WHAT, "hex characters")?;
        let bytes = hex::decode(text).map_err(|_| KeyError::Hex { what: WHAT })?;
        if bytes[0] != PUBLIC_PREFIX {
            return Err(KeyError::Prefix {
                what: WHAT,
                expected: "\"b0\"",
            });
        }
        if bytes[1] != ED25519 {
            return Err(KeyError::KeyType {
                what: WHAT,
                found: bytes[1],
            });
        }
        check_checksum(&bytes, WHAT)?;
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&bytes[2..34]);
        Self::from_bytes(&raw).map_err(|_| KeyError::InvalidPoint { what: WHAT })
    }

    /// The Zetrix `b001…` form, lowercase hex.
    pub fn to_zetrix(&self) -> String {
        let mut bytes = [0u8; PUBLIC_LEN];
        bytes[0] = PUBLIC_PREFIX;
        bytes[1] = ED25519;
        bytes[2..34].copy_from_slice(self.0.as_bytes());
        let sum = checksum(&bytes[..34]);
        bytes[34..].copy_from_slice(&sum);
        hex::encode(bytes)
    }

    /// The `publicKeyMultibase` of a DID document: base58btc (`z…`) of the `ed25519-pub`
    /// multicodec prefix (0xed 0x01) and the raw key.
    pub fn to_multibase(&self) -> String {
        let mut bytes = [0u8; 34];
        bytes[..2].copy_from_slice(&[0xed, 0x01]);
        bytes[2..].copy_from_slice(self.0.as_bytes());
        crate::multibase::encode_base58btc(&bytes)
    }

    /// Parses `did:zid:<64 hex>` as the account key it names (hex in either case).
    pub fn from_did(did: &str) -> Result<Self, KeyError> {
        let raw = parse_did(did)?;
        Self::from_bytes(&raw).map_err(|_| KeyError::InvalidPoint { what: "DID" })
    }

    /// `did:zid:` + lowercase hex of the raw key.
    pub fn did(&self) -> String {
        format_did(self.0.as_bytes())
    }

    /// The Zetrix account address of this key.
    pub fn address(&self) -> Address {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut hash = [0u8; 20];
        hash.copy_from_slice(&digest[12..32]);
        Address(hash)
    }

    /// Verifies an Ed25519 signature over `message` (RFC 8032, strict: rejects small-order keys
    /// and non-canonical signatures).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureMismatch> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| SignatureMismatch)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.to_zetrix())
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_zetrix())
    }
}

impl FromStr for VerifyingKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_zetrix(s)
    }
}

/// `did:zid:` + lowercase hex of 32 bytes (an account key, or a server-generated id).
pub fn format_did(bytes: &[u8; 32]) -> String {
    format!("{DID_PREFIX}{}", hex::encode(bytes))
}

/// Parses `did:zid:<64 hex>` into the 32 bytes it carries. The method prefix is case-sensitive
/// (lowercase, as DID syntax requires); the hex is accepted in either case.
pub fn parse_did(did: &str) -> Result<[u8; 32], KeyError> {
    const WHAT: &str = "DID";
    let hex_part = did.strip_prefix(DID_PREFIX).ok_or(KeyError::Prefix {
        what: WHAT,
        expected: "\"did:zid:\" (lowercase)",
    })?;
    check_len(
        hex_part.len(),
        64,
        WHAT,
        "hex characters after \"did:zid:\"",
    )?;
    let mut raw = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut raw).map_err(|_| KeyError::Hex { what: WHAT })?;
    Ok(raw)
}

/// A Zetrix account address (`ZTX3…`): the last 20 bytes of `sha256(public key)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address([u8; 20]);

impl Address {
    /// Parses the Base58 text form, checking length, prefix and checksum.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "address";
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(|_| KeyError::Base58 { what: WHAT })?;
        check_len(bytes.len(), ADDRESS_LEN, WHAT, "bytes")?;
        if bytes[..3] != ADDRESS_PREFIX {
            return Err(KeyError::Prefix {
                what: WHAT,
                expected: "\"ZTX3\" (bytes F0 26 01)",
            });
        }
        check_checksum(&bytes, WHAT)?;
        let mut hash = [0u8; 20];
        hash.copy_from_slice(&bytes[3..23]);
        Ok(Self(hash))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = [0u8; ADDRESS_LEN];
        bytes[..3].copy_from_slice(&ADDRESS_PREFIX);
        bytes[3..23].copy_from_slice(&self.0);
        let sum = checksum(&bytes[..23]);
        bytes[23..].copy_from_slice(&sum);
        f.write_str(&bs58::encode(bytes).into_string())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A 64-byte Ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    /// From the raw 64 bytes.
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// The raw 64 bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    /// Parses 128 hex characters, in either case.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        const WHAT: &str = "signature";
        check_len(text.len(), 128, WHAT, "hex characters")?;
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| KeyError::Hex { what: WHAT })?;
        Ok(Self(bytes))
    }

    /// 128 UPPERCASE hex characters, as the Zetrix service emits.
    pub fn to_hex(&self) -> String {
        hex::encode_upper(self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_a_signing_key_hides_the_seed() {
        let seed = [0x42u8; 32];
        let key = SigningKey::from_seed(&seed);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex::encode(seed)), "{shown}");
        assert!(!shown.contains(&hex::encode_upper(seed)), "{shown}");
        assert!(!shown.contains(&format!("{:?}", seed)), "{shown}");
        assert!(!shown.contains(key.to_zetrix().as_str()), "{shown}");
        assert!(shown.contains(&key.verifying_key().to_zetrix()), "{shown}");
    }

    #[test]
    fn round_trips() {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        let text = key.to_zetrix();
        assert!(text.starts_with("priv"));
        let back = SigningKey::from_zetrix(&text).unwrap();
        assert_eq!(back.verifying_key(), key.verifying_key());
        let vk = key.verifying_key();
        assert_eq!(VerifyingKey::from_zetrix(&vk.to_zetrix()).unwrap(), vk);
        assert_eq!(
            VerifyingKey::from_zetrix(&vk.to_zetrix().to_uppercase()).unwrap(),
            vk
        );
        assert_eq!(VerifyingKey::from_did(&vk.did()).unwrap(), vk);
        let addr = vk.address().to_string();
        assert!(addr.starts_with("ZTX3"), "{addr}");
        assert_eq!(Address::parse(&addr).unwrap(), vk.address());
        let sig = key.sign(b"hello");
        assert_eq!(
            Signature::from_hex(&sig.to_hex().to_lowercase()).unwrap(),
            sig
        );
        vk.verify(b"hello", &sig).unwrap();
        assert_eq!(vk.verify(b"hellO", &sig), Err(SignatureMismatch));
    }
}
