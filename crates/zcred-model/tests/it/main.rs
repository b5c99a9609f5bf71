//! Integration tests for zcred-model.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod zetrix_credentials;
