//! The live-map operations of `endpoint add|remove` in the kernel (root; a private bpffs): a
//! journal restores previous values and deletes new keys, a rollback that cannot undo a write
//! names it and says the maps may be mixed, and a failed lookup is an error, never an absent
//! key.

use crate::common;

use std::path::Path;

use common::*;
use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType};
use policyc_loader::node::map_ops::{delete_if_present, lookup, Journal};
use policyc_loader::node::NodeError;

const ENDPOINT: &str = "test/journal";

/// A `key_size`-byte → 4-byte hash map pinned at `path` (`extra_flags`: e.g. `BPF_F_WRONLY`).
fn pinned_map(path: &Path, key_size: u32, extra_flags: u32) -> MapHandle {
    let opts = libbpf_sys::bpf_map_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as libbpf_sys::size_t,
        map_flags: extra_flags,
        ..Default::default()
    };
    let mut map = MapHandle::create(MapType::Hash, Some("pc_test"), key_size, 4, 8, &opts)
        .unwrap_or_else(|e| panic!("creating a map: {e}"));
    map.pin(path).unwrap_or_else(|e| panic!("pinning: {e}"));
    map
}

fn value(map: &MapHandle, key: u32) -> Option<u32> {
    map.lookup(&key.to_ne_bytes(), MapFlags::ANY)
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|v| u32::from_ne_bytes([v[0], v[1], v[2], v[3]]))
}

fn cause() -> NodeError {
    NodeError::Admission("the write that failed".into())
}

#[test]
fn a_rollback_restores_previous_values_and_deletes_new_keys() {
    let bpffs = Bpffs::mount("map-ops", "restore");
    let path = bpffs.0.join("pc_test");
    let map = pinned_map(&path, 4, 0);
    map.update(&1u32.to_ne_bytes(), &10u32.to_ne_bytes(), MapFlags::ANY)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut journal = Journal::default();
    for (key, v) in [(1u32, 11u32), (2, 20)] {
        journal
            .put(
                ENDPOINT,
                "pc_test",
                &path,
                key.to_ne_bytes().to_vec(),
                &v.to_ne_bytes(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!((value(&map, 1), value(&map, 2)), (Some(11), Some(20)));
    let error = journal.roll_back(cause(), "policy-loader apply DIR");
    assert!(matches!(error, NodeError::Admission(_)), "{error}");
    assert_eq!((value(&map, 1), value(&map, 2)), (Some(10), None));
}

#[test]
fn a_rollback_that_cannot_undo_a_write_names_it_and_says_the_maps_may_be_mixed() {
    let bpffs = Bpffs::mount("map-ops", "unpinned");
    let path = bpffs.0.join("pc_test");
    let map = pinned_map(&path, 4, 0);
    let mut journal = Journal::default();
    journal
        .put(
            ENDPOINT,
            "pc_test",
            &path,
            7u32.to_ne_bytes().to_vec(),
            &70u32.to_ne_bytes(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // Unpinned meanwhile (e.g. an unload): the rollback cannot reach the map any more.
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let error = journal.roll_back(cause(), "policy-loader apply DIR");
    let text = error.to_string();
    assert!(matches!(error, NodeError::RollbackFailed { .. }), "{text}");
    for expected in [
        "the write that failed",
        "ROLLBACK FAILED",
        "MIXED",
        &path.display().to_string(),
        &hex::encode(7u32.to_ne_bytes()),
        "policy-loader apply DIR",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from: {text}");
    }
    assert_eq!(
        value(&map, 7),
        Some(70),
        "the write stays: reported, not hidden"
    );
}

#[test]
fn a_failed_lookup_is_an_error_not_an_absent_key() {
    let bpffs = Bpffs::mount("map-ops", "unreadable");
    // A descriptor user space may write but not read (EPERM on lookup).
    let write_only = pinned_map(&bpffs.0.join("pc_wronly"), 4, libbpf_sys::BPF_F_WRONLY);
    let key = 3u32.to_ne_bytes();
    match lookup(&write_only, ENDPOINT, "pc_test", &key) {
        Err(e @ NodeError::Kernel { .. }) => {
            assert!(e.to_string().contains("reading pc_test"), "{e}")
        }
        other => panic!("a failed lookup returned {other:?}"),
    }
    // A map whose keys are not the layout's: the journal refuses at the read, before writing.
    let path = bpffs.0.join("pc_test");
    let other_layout = pinned_map(&path, 5, 0);
    let mut journal = Journal::default();
    match journal.put(
        ENDPOINT,
        "pc_test",
        &path,
        key.to_vec(),
        &30u32.to_ne_bytes(),
    ) {
        Err(e) => assert!(e.to_string().contains("reading pc_test"), "{e}"),
        Ok(()) => panic!("a write whose previous value cannot be read happened"),
    }
    assert_eq!(other_layout.keys().count(), 0, "nothing was written");
    // An absent key is not an error.
    let plain = pinned_map(&bpffs.0.join("pc_plain"), 4, 0);
    assert_eq!(lookup(&plain, ENDPOINT, "pc_test", &key).ok(), Some(None));
    assert!(!delete_if_present(&plain, ENDPOINT, "pc_test", &key).unwrap_or_else(|e| panic!("{e}")));
}
