//! zcred-model: the data zcred issues and checks, independent of storage and transport.
//!
//! - [`canonical`]: canonical JSON (api.md §2.8), the payload of every JWS.
//! - [`did`]: `did:zid:` identifiers.
//! - [`json`]: strict JSON for request bodies (no duplicate members, bounded nesting).
//! - [`template`]: credential templates and attribute rules (api.md §3), and camelCase of
//!   template names (api.md §2.7).
//! - [`credential`]: the Verifiable Credential as issued (api.md §2.10; VCDM 1.1 and 2.0 date
//!   names) and its BBS+ message list (api.md §2.6).
//! - [`verify`]: offline verification of a credential against given issuer keys.
//! - [`presentation`]: presentations: selective disclosure, range proofs, the holder's proof,
//!   and their complete verification (api.md §10).
//! - [`time`]: the date and time forms of api.md §2.11.
//!
//! Invariant: no I/O and no clock; the time of a check is passed in.

pub mod canonical;
pub mod credential;
pub mod did;
pub mod json;
pub mod presentation;
pub mod template;
pub mod time;
pub mod verify;

pub use credential::{Credential, CredentialError};
pub use did::Did;
