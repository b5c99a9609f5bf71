//! The tests that need PostgreSQL are compiled as ignored, with their reason, when
//! `ZCRED_TEST_DATABASE_URL` is not set, so that `cargo test` reports them as ignored rather
//! than as passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-env-changed=ZCRED_TEST_DATABASE_URL");
    if std::env::var_os("ZCRED_TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
