//! Real attachment: in a private network namespace (the test re-executes itself under
//! `unshare -n`), the endpoint-ingress program on loopback's tcx egress lets UDP to the allowed
//! port through and drops the other port until the link is dropped; the endpoint-egress
//! program as cgroup_skb does the same for a process moved into a fresh cgroup v2.

use crate::common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use policyc_backends::layout::{Direction, Verdict};
use policyc_backends::{
    endpoint_images, ipcache_image, DatapathOptions, DirectionTables, EndpointTables, IpcacheEntry,
};
use policyc_kernel::attach::{attach_cgroup, attach_tcx};
use policyc_kernel::datapath::{DatapathInstance, LoadRequest};
use policyc_kernel::AttachKind;

const INNER: &str = "POLICYC_ATTACH_TEST_IN_NETNS";
const ALLOWED: u16 = 7777;
const DENIED: u16 = 7778;

/// Runs `test` of this binary again inside a new network namespace.
fn in_private_netns(test: &str) -> bool {
    if std::env::var(INNER).is_ok() {
        return true;
    }
    if !kernel_tests_enabled() {
        return false;
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    // libtest names a test by its module path without the crate: `attach::<test>`.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let status = Command::new("unshare")
        .arg("-n")
        .arg(exe)
        .args([
            "--exact",
            &format!("{module}::{test}"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .status()
        .unwrap_or_else(|e| panic!("running unshare -n (needed for attach tests): {e}"));
    assert!(
        status.success(),
        "{test} failed inside its network namespace"
    );
    false
}

fn loopback_up() {
    let status = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "ip link set lo up");
}

/// Policy in `direction`: identity of 127.0.0.0/8 may use UDP ALLOWED only.
fn udp_tables(direction: Direction) -> (EndpointTables, Vec<IpcacheEntry>) {
    let mut enforced = DirectionTables::default_deny();
    enforced.class_of_identity.insert(5000, 1);
    enforced.port_functions.insert(
        (1, 17),
        function(&[iv(ALLOWED, ALLOWED, Verdict::Allow, 1)]),
    );
    let (ingress, egress) = match direction {
        Direction::Ingress => (enforced, DirectionTables::not_enforced()),
        Direction::Egress => (DirectionTables::not_enforced(), enforced),
    };
    let tables = EndpointTables {
        endpoint_id: 5,
        ingress,
        egress,
        options: DatapathOptions::default(),
        // The endpoint sends from 127.0.0.1 (loopback).
        source_addrs: vec![ip("127.0.0.1")],
    };
    let prefix = "127.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"));
    (
        tables,
        vec![IpcacheEntry {
            prefix,
            identity: 5000,
        }],
    )
}

fn load(tables: &EndpointTables, ipcache: &[IpcacheEntry], kind: AttachKind) -> DatapathInstance {
    let images = endpoint_images(tables).unwrap_or_else(|e| panic!("{e}"));
    let ipcache = ipcache_image(ipcache).unwrap_or_else(|e| panic!("{e}"));
    let mut maps: Vec<_> = images.maps.iter().collect();
    maps.push(&ipcache);
    let request = LoadRequest {
        config: images.config,
        maps,
        kinds: vec![kind],
    };
    DatapathInstance::load(&request).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether one datagram sent to 127.0.0.1:port arrives.
fn delivered(port: u16) -> bool {
    let receiver =
        UdpSocket::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("bind {port}: {e}"));
    receiver
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap_or_else(|e| panic!("{e}"));
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    // A drop may surface as a send error (EPERM from cgroup egress, ENOBUFS from tc).
    if sender.send_to(b"policyc", ("127.0.0.1", port)).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    receiver.recv_from(&mut buf).is_ok()
}

#[test]
fn tcx_program_enforces_on_a_real_interface() {
    if !in_private_netns("tcx_program_enforces_on_a_real_interface") {
        return;
    }
    loopback_up();
    let ifindex: u32 = std::fs::read_to_string("/sys/class/net/lo/ifindex")
        .unwrap_or_else(|e| panic!("{e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let (tables, ipcache) = udp_tables(Direction::Ingress);
    let instance = load(&tables, &ipcache, AttachKind::Tcx);
    assert!(
        delivered(DENIED),
        "before attaching, everything is delivered"
    );
    let link = attach_tcx(&instance, Direction::Ingress, ifindex).unwrap_or_else(|e| panic!("{e}"));
    assert!(delivered(ALLOWED), "allowed port delivered");
    assert!(
        !delivered(DENIED),
        "other port dropped by the attached program"
    );
    drop(link);
    assert!(delivered(DENIED), "detached when the link is dropped");
}

struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let parent = self.0.parent().map(Path::to_path_buf).unwrap_or_default();
        let _ = std::fs::write(parent.join("cgroup.procs"), std::process::id().to_string());
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn cgroup2_root() -> PathBuf {
    for candidate in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
        let path = PathBuf::from(candidate);
        if path.join("cgroup.procs").exists() && !path.join("tasks").exists() {
            return path;
        }
    }
    panic!("no cgroup v2 hierarchy found (needed for the cgroup_skb attach test)");
}

#[test]
fn cgroup_program_enforces_on_a_process() {
    if !in_private_netns("cgroup_program_enforces_on_a_process") {
        return;
    }
    loopback_up();
    let dir = cgroup2_root().join(format!("policyc-test-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let cgroup = Cgroup(dir);
    std::fs::write(
        cgroup.0.join("cgroup.procs"),
        std::process::id().to_string(),
    )
    .unwrap_or_else(|e| panic!("joining the test cgroup: {e}"));

    let (tables, ipcache) = udp_tables(Direction::Egress);
    let instance = load(&tables, &ipcache, AttachKind::CgroupSkb);
    let link =
        attach_cgroup(&instance, Direction::Egress, &cgroup.0).unwrap_or_else(|e| panic!("{e}"));
    assert!(delivered(ALLOWED), "allowed port delivered");
    assert!(
        !delivered(DENIED),
        "other port dropped by the attached program"
    );
    drop(link);
    assert!(delivered(DENIED), "detached when the link is dropped");
}
