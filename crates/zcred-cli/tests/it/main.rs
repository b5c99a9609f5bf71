//! Integration tests for the `zcred` binary: each runs the built executable as a user would.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod authz;
mod bbs_utils;
mod bench;
mod client;
mod commands;
mod concurrency;
mod crash;
mod defects;
mod encrypted;
mod ledger;
mod lifecycle;
mod limits;
mod nodes;
mod presentation;
mod serve;
