//! Source validation in the datapath (issue 17, finding 1): whatever an endpoint sends must
//! come from one of its own addresses — checked before conntrack and policy, in both attach
//! kinds — so a pod cannot borrow another pod's identity, the node's (`host`), or the DNS
//! server's address. Neighbor discovery from link-local or unspecified sources still works.

use crate::common;

use common::*;
use policyc_backends::layout::{Direction, Reason};
use policyc_kernel::packet::Packet;
use policyc_kernel::{AttachKind, TestHarness};
use test_case::test_case;

fn each_kind(source_addrs: Vec<std::net::IpAddr>, body: impl Fn(&TestHarness, AttachKind)) {
    if !kernel_tests_enabled() {
        return;
    }
    let mut t = tables();
    t.source_addrs = source_addrs;
    let h = harness(&t, &ipcache());
    for kind in AttachKind::ALL {
        h.flush_flows().unwrap_or_else(|e| panic!("{e}"));
        body(&h, kind);
    }
}

fn neighbor_solicitation(src: &str) -> Packet {
    Packet::icmp(ip(src), ip("ff02::1:ff00:1"), 135, 0)
        .with_payload(&[0; 16])
        .with_hop_limit(255)
}

#[test_case(Packet::tcp(ip(ENDPOINT_V4), ip(WEB_V4), 40000, 5432), true, Reason::Policy ; "its own IPv4 address is judged by policy")]
#[test_case(Packet::udp(ip(ENDPOINT_V6), ip(WORLD_V6), 40000, 53), true, Reason::Policy ; "its own IPv6 address is judged by policy")]
#[test_case(Packet::tcp(ip(WEB_V4), ip(WEB_V4), 40000, 5432), false, Reason::SourceInvalid ; "another pod's address is dropped")]
#[test_case(Packet::tcp(ip(DB_V4), ip(WEB_V4), 40000, 5432), false, Reason::SourceInvalid ; "a forged source toward an allowed peer is dropped")]
#[test_case(Packet::udp(ip(HOST_V4), ip(WORLD_V4), 40000, 53), false, Reason::SourceInvalid ; "the node's address is dropped")]
#[test_case(Packet::udp(ip(WEB_V6), ip(WORLD_V6), 40000, 53), false, Reason::SourceInvalid ; "another IPv6 address is dropped")]
#[test_case(Packet::udp(ip("0.0.0.0"), ip(WORLD_V4), 68, 67), false, Reason::SourceInvalid ; "the unspecified IPv4 address is dropped")]
#[test_case(Packet::echo_request(ip("fe80::1"), ip(WEB_V6), 7), false, Reason::SourceInvalid ; "a link-local source outside neighbor discovery is dropped")]
#[test_case(neighbor_solicitation("fe80::1"), true, Reason::NeighborDiscovery ; "neighbor discovery from a link-local address passes")]
#[test_case(neighbor_solicitation("::"), true, Reason::NeighborDiscovery ; "duplicate address detection from the unspecified address passes")]
fn egress_must_come_from_the_endpoints_own_addresses(packet: Packet, passed: bool, reason: Reason) {
    each_kind(endpoint_addrs(), |h, kind| {
        let o = h
            .run(Direction::Egress, kind, &packet.frame())
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!((o.passed, o.reason()), (passed, Some(reason)), "{kind:?}");
    });
}

#[test]
fn a_forged_source_creates_no_conntrack_entry() {
    each_kind(endpoint_addrs(), |h, kind| {
        // Forged as web toward the world (UDP 53 is allowed to the world): dropped, so the
        // world's answer to web is no reply of a known flow at this endpoint's ingress.
        let forged = Packet::udp(ip(WEB_V4), ip(WORLD_V4), 40001, 53);
        let o = h
            .run(Direction::Egress, kind, &forged.frame())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.reason(), Some(Reason::SourceInvalid), "{kind:?}");
        let answer = h
            .run(Direction::Ingress, kind, &forged.reply().frame())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(answer.reason(), Some(Reason::CtReply), "{kind:?}");
    });
}

#[test]
fn ingress_sources_are_judged_by_policy_not_validated() {
    each_kind(endpoint_addrs(), |h, kind| {
        let o = h
            .run(
                Direction::Ingress,
                kind,
                &Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40002, 80).frame(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::Policy)),
            "{kind:?}"
        );
    });
}

#[test]
fn an_endpoint_without_addresses_sends_nothing() {
    each_kind(Vec::new(), |h, kind| {
        let o = h
            .run(
                Direction::Egress,
                kind,
                &Packet::tcp(ip(ENDPOINT_V4), ip(WEB_V4), 40003, 5432).frame(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (o.passed, o.reason()),
            (false, Some(Reason::SourceInvalid)),
            "{kind:?}: fail closed"
        );
    });
}
