//! Integration tests for the `zcred` binary: each runs the built executable as a user would.

mod commands;
