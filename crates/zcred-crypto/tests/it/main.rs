//! Integration tests for zcred-crypto: known-answer vectors from files, and the `bbs` 0.4.1
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose
//! crate as a test oracle.

mod bbs_oracle;
mod bip39_vectors;
mod mattr_vectors;
mod zetrix_vectors;
