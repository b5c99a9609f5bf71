//! Integration tests for zcred-model.

mod zetrix_credentials;
