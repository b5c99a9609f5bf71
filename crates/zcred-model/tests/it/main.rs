//! Integration tests for zcred-model.
