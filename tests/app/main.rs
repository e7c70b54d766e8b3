//! The one integration test binary: real servers on port 0, real HTTP, real SQLite.
// A test that cannot unwrap has failed: the lints for the server do not apply.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod browser;
mod btp;
mod conformance;
mod handover;
mod judged;
mod landscape;
mod pasted;
mod postgres;
mod s4_api;
mod sap;
mod scale;
mod security;
mod support;
mod watch;
mod wizard;
