//! Integration tests of zcred-ledger: known-answer vectors from files, the zcred flows, and
//! property tests of whole logs.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod attacks;
mod logs;
mod vectors;
