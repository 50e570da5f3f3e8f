//! toFQDNs in the L3/L4 datapath: new egress flows to learned addresses outside the cluster get
//! the verdict of the FQDN-class pseudo-identities their learned bitmap names (within the
//! endpoint's `fqdn_mask`), deny rules of the peer's own identity win, expired entries allow no
//! new flow (established ones keep passing), cluster identities never use the learned map;
//! verifier cost stays flat. (The shared learned-map layout is checked against both objects'
//! BTF in layout_btf.rs.)

use crate::common;

use std::net::IpAddr;

use common::*;
use policyc_backends::fqdn::{self, LearnedValue};
use policyc_backends::layout::{Direction, Reason, Verdict};
use policyc_backends::{
    endpoint_images, ipcache_image, DatapathOptions, DirectionTables, EndpointTables, IpcacheEntry,
    PortFunction,
};
use policyc_kernel::fqdn::{ktime_now_ns, LearnedMap};
use policyc_kernel::packet::Packet;
use policyc_kernel::{AttachKind, TestHarness};
use test_case::test_case;

const CIDR_PEER: &str = "203.0.113.7";
const CIDR_IDENTITY: u32 = (1 << 24) | 1;
const OTHER_WORLD_V4: &str = "198.18.0.2";

fn pseudo(class: u32) -> u32 {
    fqdn::IDENTITY_FQDN_SCOPE | class
}

/// Egress (enforced):
///   world (2) class 3: UDP 53 allow (21), TCP 25 deny (22);
///   CIDR 203.0.113.0/24 (1<<24|1) class 4: TCP 443 deny (30);
///   web (1000) class 1: TCP 5432 allow (20);
///   FQDN class 0 → class 5: TCP 443 allow (40), TCP 25 allow (41);
///   FQDN class 1 → class 6: TCP 80 allow (43), TCP 8443 redirect-l7 (42);
///   FQDN class 2 → class 7: TCP 22 allow (44) — not in the endpoint's mask.
/// fqdn_mask = classes 0 and 1.
fn fqdn_tables() -> (EndpointTables, Vec<IpcacheEntry>) {
    let mut egress = DirectionTables::default_deny();
    egress.unknown_class = 9;
    egress.class_of_identity.insert(1000, 1);
    egress.class_of_identity.insert(2, 3);
    egress.class_of_identity.insert(CIDR_IDENTITY, 4);
    egress.class_of_identity.insert(pseudo(0), 5);
    egress.class_of_identity.insert(pseudo(1), 6);
    egress.class_of_identity.insert(pseudo(2), 7);
    egress
        .port_functions
        .insert((1, 6), function(&[iv(5432, 5432, Verdict::Allow, 20)]));
    egress
        .port_functions
        .insert((3, 17), function(&[iv(53, 53, Verdict::Allow, 21)]));
    egress
        .port_functions
        .insert((3, 6), function(&[iv(25, 25, Verdict::Deny, 22)]));
    egress
        .port_functions
        .insert((4, 6), function(&[iv(443, 443, Verdict::Deny, 30)]));
    egress.port_functions.insert(
        (5, 6),
        function(&[
            iv(25, 25, Verdict::Allow, 41),
            iv(443, 443, Verdict::Allow, 40),
        ]),
    );
    egress.port_functions.insert(
        (6, 6),
        function(&[
            iv(80, 80, Verdict::Allow, 43),
            iv(8443, 8443, Verdict::RedirectL7, 42),
        ]),
    );
    egress
        .port_functions
        .insert((7, 6), function(&[iv(22, 22, Verdict::Allow, 44)]));
    let tables = EndpointTables {
        endpoint_id: 5,
        ingress: DirectionTables::default_deny(),
        egress,
        options: DatapathOptions::default(),
        source_addrs: endpoint_addrs(),
    };
    let mut entries = ipcache();
    entries.push(IpcacheEntry {
        prefix: "203.0.113.0/24".parse().unwrap_or_else(|e| panic!("{e}")),
        identity: CIDR_IDENTITY,
    });
    (tables, entries)
}

fn fqdn_harness(mask: u64, learned: &LearnedMap) -> TestHarness {
    let (tables, entries) = fqdn_tables();
    let mut images = endpoint_images(&tables).unwrap_or_else(|e| panic!("{e}"));
    images.config.fqdn_mask = mask;
    let ipcache = ipcache_image(&entries).unwrap_or_else(|e| panic!("{e}"));
    TestHarness::from_images_sharing(&images, &ipcache, &AttachKind::ALL, Some(learned))
        .unwrap_or_else(|e| panic!("the datapath with an FQDN mask did not load: {e}"))
}

fn learn(map: &LearnedMap, addr: &str, classes: &[u8], ttl_s: i64) {
    let now = ktime_now_ns();
    let expiry_ns = if ttl_s >= 0 {
        now + u64::try_from(ttl_s).unwrap_or(0) * 1_000_000_000
    } else {
        now.saturating_sub(u64::try_from(-ttl_s).unwrap_or(0) * 1_000_000_000)
    };
    let mut selectors = fqdn::class_mask(classes.iter().copied());
    selectors |= 1 << fqdn::DNS_RULE_BIT;
    map.insert(
        ip(addr),
        LearnedValue {
            expiry_ns,
            selectors,
            owner: 1,
            pad: 0,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

const MASK: u64 = 0b011;

#[test_case(WORLD_V4, &[0], 60, 443, Some(40), Verdict::Allow; "world address learned for class 0 is allowed by its rule")]
#[test_case(WORLD_V6, &[0], 60, 443, Some(40), Verdict::Allow; "ipv6 world address learned for class 0")]
#[test_case(OTHER_WORLD_V4, &[], -1, 443, None, Verdict::DefaultDeny; "unlearned world address is default denied")]
#[test_case(WORLD_V4, &[0], -5, 443, None, Verdict::DefaultDeny; "expired entry allows no new flow")]
#[test_case(WORLD_V4, &[2], 60, 22, None, Verdict::DefaultDeny; "class outside the endpoint mask is ignored")]
#[test_case(WORLD_V4, &[], 60, 443, None, Verdict::DefaultDeny; "dns rule bit alone allows nothing")]
#[test_case(WORLD_V4, &[0], 60, 25, Some(22), Verdict::Deny; "world deny beats the fqdn allow")]
#[test_case(CIDR_PEER, &[0], 60, 443, Some(30), Verdict::Deny; "cidr deny beats the fqdn allow")]
#[test_case(CIDR_PEER, &[0], 60, 25, Some(41), Verdict::Allow; "cidr peer without a verdict takes the fqdn allow")]
#[test_case(WEB_V4, &[0], 60, 443, None, Verdict::DefaultDeny; "cluster identity never uses the learned map")]
#[test_case(WORLD_V4, &[0, 1], 60, 80, Some(43), Verdict::Allow; "several classes: the one with a rule for the port allows")]
#[test_case(WORLD_V4, &[0, 1], 60, 8443, Some(42), Verdict::RedirectL7; "redirect of an fqdn class is a redirect")]
#[test_case(WORLD_V4, &[0, 1], 60, 9999, None, Verdict::DefaultDeny; "no class covers the port")]
fn new_egress_flows_combine_the_peer_and_its_fqdn_classes(
    peer: &str,
    classes: &[u8],
    ttl_s: i64,
    port: u16,
    rule: Option<u32>,
    verdict: Verdict,
) {
    if !kernel_tests_enabled() {
        return;
    }
    let learned = LearnedMap::create().unwrap_or_else(|e| panic!("{e}"));
    let harness = fqdn_harness(MASK, &learned);
    if ttl_s != -1 {
        learn(&learned, peer, classes, ttl_s);
    }
    let local = if ip(peer).is_ipv6() {
        ENDPOINT_V6
    } else {
        ENDPOINT_V4
    };
    for kind in AttachKind::ALL {
        let packet = Packet::tcp(ip(local), ip(peer), 40000, port);
        let o = harness
            .run(Direction::Egress, kind, &packet.frame())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.verdict(), Some(verdict), "{kind:?} verdict");
        assert_eq!(o.passed, verdict == Verdict::Allow, "{kind:?} action");
        if let Some(rule) = rule {
            assert_eq!(o.event.map(|e| e.rule_id), Some(rule), "{kind:?} rule");
        }
        harness.flush_flows().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn without_a_mask_the_learned_map_is_never_consulted() {
    if !kernel_tests_enabled() {
        return;
    }
    let learned = LearnedMap::create().unwrap_or_else(|e| panic!("{e}"));
    let harness = fqdn_harness(0, &learned);
    learn(&learned, WORLD_V4, &[0, 1], 60);
    let packet = Packet::tcp(ip(ENDPOINT_V4), ip(WORLD_V4), 40000, 443);
    let o = harness
        .run(Direction::Egress, AttachKind::Tcx, &packet.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!o.passed);
    assert_eq!(o.verdict(), Some(Verdict::DefaultDeny));
}

#[test]
fn ingress_from_a_learned_address_is_not_affected() {
    if !kernel_tests_enabled() {
        return;
    }
    let learned = LearnedMap::create().unwrap_or_else(|e| panic!("{e}"));
    let harness = fqdn_harness(MASK, &learned);
    learn(&learned, WORLD_V4, &[0, 1], 60);
    let packet = Packet::tcp(ip(WORLD_V4), ip(ENDPOINT_V4), 40000, 443);
    let o = harness
        .run(Direction::Ingress, AttachKind::Tcx, &packet.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!o.passed);
}

#[test]
fn established_flows_outlive_the_entry_new_ones_do_not() {
    if !kernel_tests_enabled() {
        return;
    }
    let learned = LearnedMap::create().unwrap_or_else(|e| panic!("{e}"));
    let harness = fqdn_harness(MASK, &learned);
    learn(&learned, WORLD_V4, &[0], 60);
    let first = Packet::tcp(ip(ENDPOINT_V4), ip(WORLD_V4), 40001, 443);
    let run = |p: &Packet, d: Direction| {
        harness
            .run(d, AttachKind::Tcx, &p.frame())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert!(run(&first, Direction::Egress).passed);
    learn(&learned, WORLD_V4, &[0], -1);
    let again = run(&first, Direction::Egress);
    assert!(again.passed);
    assert_eq!(again.reason(), Some(Reason::CtEstablished));
    assert!(run(&first.reply(), Direction::Ingress).passed, "reply");
    let fresh = Packet::tcp(ip(ENDPOINT_V4), ip(WORLD_V4), 40002, 443);
    assert!(
        !run(&fresh, Direction::Egress).passed,
        "new flow after expiry"
    );
}

/// `rules` allow rules over classes of 100 (as in verifier.rs), plus every FQDN class.
fn verifier_images(rules: u32) -> (policyc_backends::EndpointImages, policyc_backends::MapImage) {
    let mut egress = DirectionTables::default_deny();
    let mut entries = Vec::new();
    for class in 0..rules.div_ceil(100) {
        let identity = 10_000 + class;
        let ranges: Vec<_> = (class * 100..((class + 1) * 100).min(rules))
            .map(|r| {
                let port = u16::try_from(1000 + (r % 100) * 3).unwrap_or(0);
                iv(port, port, Verdict::Allow, r + 1)
            })
            .collect();
        let f = PortFunction::from_ranges((Verdict::DefaultDeny, 0), &ranges)
            .unwrap_or_else(|e| panic!("{e}"));
        egress.class_of_identity.insert(identity, class + 1);
        egress.port_functions.insert((class + 1, 6), f);
        let [a, b, c, d] = (0x0a80_0000u32 + class).to_be_bytes();
        entries.push(IpcacheEntry {
            prefix: format!("{a}.{b}.{c}.{d}/32")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            identity,
        });
    }
    for class in 0..u32::from(fqdn::FQDN_CLASSES) {
        egress.class_of_identity.insert(pseudo(class), 1);
    }
    let tables = EndpointTables {
        endpoint_id: 1,
        ingress: DirectionTables::default_deny(),
        egress,
        options: DatapathOptions::default(),
        source_addrs: endpoint_addrs(),
    };
    let mut images = endpoint_images(&tables).unwrap_or_else(|e| panic!("{e}"));
    images.config.fqdn_mask = fqdn::class_mask(0..fqdn::FQDN_CLASSES);
    let ipcache = ipcache_image(&entries).unwrap_or_else(|e| panic!("{e}"));
    (images, ipcache)
}

#[test]
fn verified_instructions_with_fqdn_classes_do_not_grow_with_rules() {
    if !kernel_tests_enabled() {
        return;
    }
    let learned = LearnedMap::create().unwrap_or_else(|e| panic!("{e}"));
    let (small, small_ipcache) = verifier_images(10);
    let (large, large_ipcache) = verifier_images(10_000);
    let load = |images, ipcache| {
        TestHarness::from_images_sharing(images, ipcache, &AttachKind::ALL, Some(&learned))
            .unwrap_or_else(|e| panic!("verifier rejected the FQDN datapath: {e}"))
    };
    let a = load(&small, &small_ipcache);
    let b = load(&large, &large_ipcache);
    let plain = {
        let mut images = small.clone();
        images.config.fqdn_mask = 0;
        load(&images, &small_ipcache)
    };
    for kind in AttachKind::ALL {
        for direction in Direction::ALL {
            let count = |h: &TestHarness| {
                h.instance()
                    .verified_insns(*direction, kind)
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let (x, y, z) = (count(&a), count(&b), count(&plain));
            eprintln!(
                "{kind:?} {direction:?}: fqdn 10 rules {x}, fqdn 10000 rules {y}, no fqdn {z}"
            );
            let diff = f64::from(x.abs_diff(y)) / f64::from(x.max(y));
            assert!(diff < 0.10, "{kind:?} {direction:?}: {x} vs {y}");
        }
    }
    // The large instance really consults every class: the last class's rule allows.
    learn(&learned, WORLD_V4, &[62], 60);
    let packet = Packet::tcp(ip(ENDPOINT_V4), ip(WORLD_V4), 40000, 1000 + 99 * 3);
    let o = b
        .run(Direction::Egress, AttachKind::Tcx, &packet.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.passed);
    assert_eq!(o.event.map(|e| e.rule_id), Some(100));
    let _: IpAddr = ip(WORLD_V4);
}
