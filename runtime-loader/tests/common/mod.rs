//! Shared fixtures of the kernel tests: the kernel gate, hand-made endpoint tables and a
//! private bpffs mount.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use libbpf_rs::btf::HasSize;

use policyc_backends::layout::{Direction, Verdict};
use policyc_backends::{
    DatapathOptions, DirectionTables, EndpointTables, IpcacheEntry, PortFunction, PortInterval,
};
use policyc_kernel::{AttachKind, LoaderError, TestHarness};

/// The endpoint under test.
pub const ENDPOINT_V4: &str = "10.0.0.10";
pub const ENDPOINT_V6: &str = "fd00::10";
/// A peer with identity 1000 (class 1): web.
pub const WEB_V4: &str = "10.0.1.5";
pub const WEB_V6: &str = "fd00:1::5";
/// A peer with identity 2000 (class 2): db.
pub const DB_V4: &str = "10.0.2.5";
/// A peer with identity 3000, not in any class map (unknown class 9).
pub const STRANGER_V4: &str = "10.0.3.5";
/// Identity 4000: identity-keyed functions (no class entry).
pub const KEYED_V4: &str = "10.0.4.5";
/// An address missing from the ipcache: world (2, class 3 in ingress).
pub const WORLD_V4: &str = "198.18.0.1";
pub const WORLD_V6: &str = "fd99::1";
/// The host (identity 1).
pub const HOST_V4: &str = "10.0.0.1";

/// The test endpoint's own addresses: the sources its egress may use.
pub fn endpoint_addrs() -> Vec<IpAddr> {
    vec![ip(ENDPOINT_V4), ip(ENDPOINT_V6)]
}

pub fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("bad test address {s}: {e}"))
}

/// Kernel tests must not skip silently: they fail when BPF is unavailable unless
/// POLICYC_SKIP_KERNEL_TESTS=1 is set. Returns false when the test should be skipped.
pub fn kernel_tests_enabled() -> bool {
    if std::env::var("POLICYC_SKIP_KERNEL_TESTS").as_deref() == Ok("1") {
        eprintln!("POLICYC_SKIP_KERNEL_TESTS=1: skipping a BPF kernel test");
        return false;
    }
    true
}

/// Loads a harness or fails with the verifier log.
pub fn harness(tables: &EndpointTables, ipcache: &[IpcacheEntry]) -> TestHarness {
    match TestHarness::from_tables(tables, ipcache, &AttachKind::ALL) {
        Ok(h) => h,
        Err(e) => panic!(
            "loading the datapath failed (BPF unavailable? run as root, or set \
             POLICYC_SKIP_KERNEL_TESTS=1 to skip kernel tests explicitly): {e}"
        ),
    }
}

pub fn iv(lo: u16, hi: u16, verdict: Verdict, rule_id: u32) -> PortInterval {
    PortInterval {
        lo,
        hi,
        verdict,
        rule_id,
    }
}

pub fn function(ranges: &[PortInterval]) -> PortFunction {
    PortFunction::from_ranges((Verdict::DefaultDeny, 0), ranges)
        .unwrap_or_else(|e| panic!("bad test function: {e}"))
}

pub fn ipcache() -> Vec<IpcacheEntry> {
    let entry = |p: &str, identity| IpcacheEntry {
        prefix: p.parse().unwrap_or_else(|e| panic!("bad prefix {p}: {e}")),
        identity,
    };
    vec![
        entry("10.0.1.0/24", 1000),
        entry("fd00:1::/64", 1000),
        entry("10.0.2.0/24", 2000),
        entry("10.0.3.0/24", 3000),
        entry("10.0.4.0/24", 4000),
        entry("10.0.0.1/32", 1),
        entry("10.0.0.10/32", 4242),
        entry("fd00::10/128", 4242),
    ]
}

/// Ingress (enforced):
///   class 1 (web, 1000): TCP 80 allow (rule 1), TCP 8000-8080 allow (rule 2) except 8008 deny
///     (rule 3); UDP 53 allow (rule 4); SCTP 9000-9100 allow (rule 5); ICMP type 8 allow
///     (rule 6); ICMPv6 type 128 allow (rule 7); TCP 8443 redirect to L7 (rule 8);
///     TCP 7000 auth required (rule 9).
///   class 2 (db, 2000): any protocol allowed (protocol 0 fallback, rule 10) except TCP 22 deny
///     (rule 11).
///   class 3 (world, 2): nothing (no function: the unknown class's functions, then default deny).
///   identity 4000 (no class entry, identity-keyed): UDP 5000, 5002, ..., 5010 allow (rule 13;
///     six listed ranges: four inline, two in pc_intervals).
///   unknown identities: class 9, TCP 443 allow (rule 12).
/// Egress (enforced): class 1 (web) TCP 5432 allow (rule 20); world: UDP 53 allow (rule 21).
pub fn tables() -> EndpointTables {
    let mut ingress = DirectionTables::default_deny();
    ingress.unknown_class = 9;
    ingress.class_of_identity.insert(1000, 1);
    ingress.class_of_identity.insert(2000, 2);
    ingress.class_of_identity.insert(2, 3);
    ingress.port_functions.insert(
        (1, 6),
        function(&[
            iv(80, 80, Verdict::Allow, 1),
            iv(7000, 7000, Verdict::AuthRequired, 9),
            iv(8000, 8007, Verdict::Allow, 2),
            iv(8008, 8008, Verdict::Deny, 3),
            iv(8009, 8080, Verdict::Allow, 2),
            iv(8443, 8443, Verdict::RedirectL7, 8),
        ]),
    );
    ingress
        .port_functions
        .insert((1, 17), function(&[iv(53, 53, Verdict::Allow, 4)]));
    ingress
        .port_functions
        .insert((1, 132), function(&[iv(9000, 9100, Verdict::Allow, 5)]));
    ingress
        .port_functions
        .insert((1, 1), function(&[iv(8, 8, Verdict::Allow, 6)]));
    ingress
        .port_functions
        .insert((1, 58), function(&[iv(128, 128, Verdict::Allow, 7)]));
    ingress
        .port_functions
        .insert((2, 0), PortFunction::constant(Verdict::Allow, 10));
    ingress.port_functions.insert(
        (2, 6),
        PortFunction::from_ranges((Verdict::Allow, 10), &[iv(22, 22, Verdict::Deny, 11)])
            .unwrap_or_else(|e| panic!("{e}")),
    );
    ingress
        .port_functions
        .insert((9, 6), function(&[iv(443, 443, Verdict::Allow, 12)]));
    let keyed: Vec<PortInterval> = (0..6)
        .map(|i| iv(5000 + 2 * i, 5000 + 2 * i, Verdict::Allow, 13))
        .collect();
    ingress
        .identity_functions
        .insert((4000, 17), function(&keyed));

    let mut egress = DirectionTables::default_deny();
    egress.unknown_class = 9;
    egress.class_of_identity.insert(1000, 1);
    egress.class_of_identity.insert(2, 3);
    egress
        .port_functions
        .insert((1, 6), function(&[iv(5432, 5432, Verdict::Allow, 20)]));
    egress
        .port_functions
        .insert((3, 17), function(&[iv(53, 53, Verdict::Allow, 21)]));

    EndpointTables {
        endpoint_id: 77,
        ingress,
        egress,
        options: DatapathOptions::default(),
        source_addrs: endpoint_addrs(),
    }
}

pub fn kinds() -> [AttachKind; 2] {
    AttachKind::ALL
}

pub fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

pub fn expect_loaded(result: Result<TestHarness, LoaderError>) -> TestHarness {
    result.unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// (size, field → offset) of a struct in an object's BTF.
pub fn btf_struct(object: &[u8], name: &str) -> (usize, BTreeMap<String, usize>) {
    let btf = libbpf_rs::btf::Btf::from_raw("policyc", object)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no BTF"));
    let s: libbpf_rs::btf::types::Composite<'_> = btf
        .type_by_name(name)
        .unwrap_or_else(|| panic!("struct {name} is not in the BTF"));
    let mut fields = BTreeMap::new();
    for member in s.iter() {
        let field = member
            .name
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let libbpf_rs::btf::types::MemberAttr::Normal { offset } = member.attr else {
            panic!("{name}.{field} is a bitfield");
        };
        fields.insert(field, offset as usize / 8);
    }
    (s.size(), fields)
}

/// A private bpffs mount (root), unmounted and removed on drop.
pub struct Bpffs(pub PathBuf);

impl Bpffs {
    /// Mounts a fresh bpffs instance for test `test` of suite `suite`.
    pub fn mount(suite: &str, test: &str) -> Bpffs {
        let dir =
            std::env::temp_dir().join(format!("policyc-{suite}-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let mounted = Command::new("mount")
            .args(["-t", "bpf", "bpf"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        let guard = Bpffs(dir);
        assert!(mounted, "mounting a private bpffs (needs root)");
        guard
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
