//! Integration tests of zcred-store: the conformance story on the in-memory store, and the
//! journal recording zcred's flows, exporting them and replaying them.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod cancel;
mod journal;
mod nodes;
mod roundtrip;

#[tokio::test]
async fn memory_store_passes_the_conformance_story() {
    let store = zcred_store::MemoryStore::new();
    zcred_store::conformance::run(&store, "mem").await;
    zcred_store::conformance::run_access(&store, "mem").await;
    zcred_store::conformance::run_blobs(&store, "mem").await;
    zcred_store::conformance::run_sealed(&store, "mem").await;
    zcred_store::conformance::run_rates(&store, "mem").await;
    zcred_store::conformance::run_blob_steps(&store, "mem").await;
}

#[tokio::test]
async fn two_memory_handles_pass_the_nodes_story() {
    let store = zcred_store::MemoryStore::new();
    zcred_store::conformance::run_nodes(store.clone(), store, "mem").await;
}
