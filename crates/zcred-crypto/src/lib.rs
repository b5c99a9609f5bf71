//! zcred-crypto: the cryptography zcred speaks, byte-compatible with Zetrix's VC service.
//!
//! - [`zetrix`]: Ed25519 keys in Zetrix's text forms (`priv…`, `b001…`, `ZTX3…`, `did:zid:…`),
//!   signing and verification over raw bytes, signatures as hex.
//! - [`bbs`]: BBS+ as `BbsBlsSignature2020` (the `bbs` 0.4.1 / MATTR scheme): keys, sign, verify,
//!   and the selective-disclosure proof of knowledge in MATTR's framing.
//! - [`jws`]: the issuer's compact JWS with Zetrix's third-segment quirk.
//! - [`enc`]: zcred-enc-v1, the envelope of the `/enc/` endpoints, for server and client.
//! - [`multibase`]: the `z` (base58btc) and `u` (base64url) multibase forms.
//!
//! Invariants: no I/O, no clock, no `serde_json`. Secret keys never derive `Debug`, `Clone` or
//! `Serialize`, print as `finish_non_exhaustive()`, and are zeroized on drop.

pub mod bbs;
pub mod enc;
pub mod jws;
pub mod multibase;
pub mod zetrix;

pub use rand_core::{CryptoRng, OsRng, RngCore};
