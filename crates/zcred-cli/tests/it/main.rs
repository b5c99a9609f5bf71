//! Integration tests for the zcred binary.
