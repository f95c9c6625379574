//! At connect the store reads Redis's eviction policy and durability, when Redis lets it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestStore;

#[tokio::test]
async fn the_store_reads_the_eviction_policy_and_the_aof_settings() {
    let test = TestStore::new().await;
    let settings = test
        .store
        .server_settings()
        .expect("the test Redis allows CONFIG GET");
    assert!(settings.maxmemory_policy.is_some(), "{settings:?}");
    assert!(settings.appendonly.is_some(), "{settings:?}");
    assert!(settings.appendfsync.is_some(), "{settings:?}");
    assert_eq!(
        settings.evicts(),
        settings.maxmemory_policy.as_deref() != Some("noeviction")
    );
    assert!(!settings.durability().is_empty());
}
