//! Integration tests for zcred-crypto: known-answer vectors from files, and the `bbs` 0.4.1
//! crate as a test oracle.

mod bbs_oracle;
mod zetrix_vectors;
