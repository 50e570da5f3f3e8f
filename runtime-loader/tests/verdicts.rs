//! Table-driven verdicts of the datapath under BPF_PROG_TEST_RUN, for both attach kinds, on the
//! hand-made tables of `common::tables()`: allow/deny/default-deny, range edges, unknown
//! identities, ICMP types, IPv6 extension headers, fragments, truncated and malformed packets.

use crate::common;

use common::*;
use policyc_backends::layout::{Direction, Reason, Verdict};
use policyc_backends::{DatapathOptions, EndpointTables};
use policyc_kernel::packet::{raw_frame, ExtHeader, Packet};
use policyc_kernel::AttachKind;
use test_case::test_case;

/// What a packet must get.
#[derive(Debug, Clone, Copy)]
struct Expect {
    passed: bool,
    verdict: Option<Verdict>,
    reason: Reason,
    rule_id: u32,
}

const fn allow(rule_id: u32) -> Expect {
    Expect {
        passed: true,
        verdict: Some(Verdict::Allow),
        reason: Reason::Policy,
        rule_id,
    }
}

const fn deny(rule_id: u32) -> Expect {
    Expect {
        passed: false,
        verdict: Some(Verdict::Deny),
        reason: Reason::Policy,
        rule_id,
    }
}

const DEFAULT_DENY: Expect = Expect {
    passed: false,
    verdict: Some(Verdict::DefaultDeny),
    reason: Reason::Policy,
    rule_id: 0,
};
const NO_FUNCTION: Expect = Expect {
    passed: false,
    verdict: Some(Verdict::DefaultDeny),
    reason: Reason::PolicyDefault,
    rule_id: 0,
};
const MALFORMED: Expect = Expect {
    passed: false,
    verdict: None,
    reason: Reason::Malformed,
    rule_id: 0,
};
const FRAGMENT_UNTRACKED: Expect = Expect {
    passed: false,
    verdict: None,
    reason: Reason::FragmentUntracked,
    rule_id: 0,
};

fn check(tables: &EndpointTables, direction: Direction, packet: &Packet, expect: Expect) {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(tables, &ipcache());
    for kind in AttachKind::ALL {
        h.flush_flows().unwrap_or_else(|e| panic!("flush: {e}"));
        let outcome = h
            .run(direction, kind, &packet.frame())
            .unwrap_or_else(|e| panic!("{kind:?} {}: {e}", dir_name(direction)));
        let event = outcome
            .event
            .unwrap_or_else(|| panic!("{kind:?}: no event"));
        let got = (
            outcome.passed,
            outcome.verdict(),
            outcome.reason(),
            event.rule_id,
        );
        let want = (
            expect.passed,
            expect.verdict,
            Some(expect.reason),
            expect.rule_id,
        );
        assert_eq!(got, want, "{kind:?} {} {packet:?}", dir_name(direction));
        assert_eq!(event.endpoint_id, 77);
        assert_eq!(event.direction, direction.code());
    }
}

fn tcp_in(port: u16) -> Packet {
    Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40000, port)
}

#[test_case(tcp_in(80), allow(1) ; "tcp port of an allow rule")]
#[test_case(tcp_in(79), DEFAULT_DENY ; "tcp port below a single-port rule")]
#[test_case(tcp_in(81), DEFAULT_DENY ; "tcp port above a single-port rule")]
#[test_case(tcp_in(7999), DEFAULT_DENY ; "range lo minus one")]
#[test_case(tcp_in(8000), allow(2) ; "range lo")]
#[test_case(tcp_in(8007), allow(2) ; "just below a deny hole")]
#[test_case(tcp_in(8008), deny(3) ; "explicit deny inside an allowed range")]
#[test_case(tcp_in(8009), allow(2) ; "just above a deny hole")]
#[test_case(tcp_in(8080), allow(2) ; "range hi")]
#[test_case(tcp_in(8081), DEFAULT_DENY ; "range hi plus one")]
#[test_case(tcp_in(0), DEFAULT_DENY ; "port zero")]
#[test_case(tcp_in(65535), DEFAULT_DENY ; "port 65535")]
#[test_case(tcp_in(8443), Expect { passed: false, verdict: Some(Verdict::RedirectL7), reason: Reason::L7Unsupported, rule_id: 8 } ; "l7 redirect is dropped without l7 enforcement")]
#[test_case(tcp_in(7000), Expect { passed: false, verdict: Some(Verdict::AuthRequired), reason: Reason::AuthUnsupported, rule_id: 9 } ; "auth required is dropped")]
#[test_case(Packet::udp(ip(WEB_V4), ip(ENDPOINT_V4), 5353, 53), allow(4) ; "udp allowed port")]
#[test_case(Packet::udp(ip(WEB_V4), ip(ENDPOINT_V4), 5353, 54), DEFAULT_DENY ; "udp other port")]
#[test_case(Packet::udp(ip(WEB_V4), ip(ENDPOINT_V4), 5353, 80), DEFAULT_DENY ; "tcp rule does not allow udp")]
#[test_case(Packet::sctp(ip(WEB_V4), ip(ENDPOINT_V4), 1, 9000), allow(5) ; "sctp range lo")]
#[test_case(Packet::sctp(ip(WEB_V4), ip(ENDPOINT_V4), 1, 9100), allow(5) ; "sctp range hi")]
#[test_case(Packet::sctp(ip(WEB_V4), ip(ENDPOINT_V4), 1, 9101), DEFAULT_DENY ; "sctp range hi plus one")]
#[test_case(Packet::sctp(ip(WEB_V4), ip(ENDPOINT_V4), 1, 8999), DEFAULT_DENY ; "sctp range lo minus one")]
#[test_case(Packet::echo_request(ip(WEB_V4), ip(ENDPOINT_V4), 7), allow(6) ; "icmp echo request type allowed")]
#[test_case(Packet::icmp(ip(WEB_V4), ip(ENDPOINT_V4), 13, 0), DEFAULT_DENY ; "icmp timestamp type denied")]
#[test_case(Packet::echo_request(ip(WEB_V6), ip(ENDPOINT_V6), 7), allow(7) ; "icmpv6 echo request type allowed")]
#[test_case(Packet::icmp(ip(WEB_V6), ip(ENDPOINT_V6), 130, 0), DEFAULT_DENY ; "icmpv6 other type denied")]
#[test_case(Packet::tcp(ip(DB_V4), ip(ENDPOINT_V4), 1, 5000), allow(10) ; "class with a tcp function allows other tcp ports")]
#[test_case(Packet::tcp(ip(DB_V4), ip(ENDPOINT_V4), 1, 22), deny(11) ; "class with a tcp function denies port 22")]
#[test_case(Packet::udp(ip(DB_V4), ip(ENDPOINT_V4), 1, 9999), allow(10) ; "protocol without a function uses the any-protocol fallback")]
#[test_case(Packet::other(ip(DB_V4), ip(ENDPOINT_V4), 47), allow(10) ; "protocol without ports uses the fallback")]
#[test_case(Packet::other(ip(WEB_V4), ip(ENDPOINT_V4), 47), NO_FUNCTION ; "protocol without a function and no fallback")]
#[test_case(Packet::udp(ip(WORLD_V4), ip(ENDPOINT_V4), 1, 80), NO_FUNCTION ; "world class without functions")]
#[test_case(Packet::udp(ip(WORLD_V6), ip(ENDPOINT_V6), 1, 80), NO_FUNCTION ; "ipv6 world")]
#[test_case(Packet::tcp(ip(WORLD_V4), ip(ENDPOINT_V4), 1, 443), allow(12) ; "class without a function falls back to the unknown class")]
#[test_case(Packet::tcp(ip(WORLD_V4), ip(ENDPOINT_V4), 1, 80), DEFAULT_DENY ; "unknown class function default")]
#[test_case(Packet::udp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 5000), allow(13) ; "identity-keyed first inline range")]
#[test_case(Packet::udp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 5006), allow(13) ; "identity-keyed last inline range")]
#[test_case(Packet::udp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 5008), allow(13) ; "identity-keyed first overflow range")]
#[test_case(Packet::udp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 5010), allow(13) ; "identity-keyed last overflow range")]
#[test_case(Packet::udp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 5009), DEFAULT_DENY ; "identity-keyed gap between overflow ranges")]
#[test_case(Packet::udp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 5011), DEFAULT_DENY ; "identity-keyed above the last range")]
#[test_case(Packet::udp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 4999), DEFAULT_DENY ; "identity-keyed below the first range")]
#[test_case(Packet::tcp(ip(KEYED_V4), ip(ENDPOINT_V4), 1, 443), allow(12) ; "identity-keyed peer falls back to the unknown class")]
#[test_case(Packet::tcp(ip(STRANGER_V4), ip(ENDPOINT_V4), 1, 443), allow(12) ; "unknown identity gets the unknown class")]
#[test_case(Packet::tcp(ip(STRANGER_V4), ip(ENDPOINT_V4), 1, 80), DEFAULT_DENY ; "unknown identity does not get web's rules")]
#[test_case(Packet::tcp(ip(HOST_V4), ip(ENDPOINT_V4), 1, 9), Expect { passed: true, verdict: None, reason: Reason::HostAllowed, rule_id: 0 } ; "host is allowed with allow_localhost")]
#[test_case(tcp_in(80).with_ipv4_options(&[1, 1, 1, 1, 1, 1, 1, 0]), allow(1) ; "ipv4 options are skipped")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 80), allow(1) ; "ipv6 tcp")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 81), DEFAULT_DENY ; "ipv6 tcp denied port")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 80).with_ipv6_ext(&[ExtHeader::HopByHop, ExtHeader::Routing, ExtHeader::DestOpts]), allow(1) ; "ipv6 extension headers are walked")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 81).with_ipv6_ext(&[ExtHeader::HopByHop, ExtHeader::Auth]), DEFAULT_DENY ; "ipv6 auth header is walked")]
#[test_case(Packet::udp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 53).with_ipv6_ext(&[ExtHeader::DestOpts]).fragment(0, true, 99), allow(4) ; "ipv6 first fragment is judged by its ports")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 80).with_ipv6_ext(&[ExtHeader::DestOpts; 9]), MALFORMED ; "too many ipv6 extension headers")]
#[test_case(tcp_in(80).fragment(10, false, 5).with_payload(&[0; 16]), FRAGMENT_UNTRACKED ; "ipv4 non-first fragment without its first fragment")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 80).fragment(10, true, 5).with_payload(&[0; 16]), FRAGMENT_UNTRACKED ; "ipv6 non-first fragment without its first fragment")]
#[test_case(tcp_in(80).truncated_to(14 + 20 + 10), MALFORMED ; "tcp header cut short")]
// BPF_PROG_TEST_RUN itself refuses frames shorter than a basic IPv4/IPv6 header, so header
// truncation is tested with options/extension headers and length fields beyond the frame.
#[test_case(tcp_in(80).with_ipv4_options(&[1; 8]).truncated_to(14 + 22), MALFORMED ; "ipv4 options cut short")]
#[test_case(Packet::udp(ip(WEB_V4), ip(ENDPOINT_V4), 1, 53).truncated_to(14 + 20 + 4), MALFORMED ; "udp header cut short")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 80).truncated_to(14 + 40 + 2), MALFORMED ; "ipv6 payload cut short")]
#[test_case(Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 1, 80).with_ipv6_ext(&[ExtHeader::HopByHop]).truncated_to(14 + 40 + 4), MALFORMED ; "ipv6 extension header cut short")]
#[test_case(Packet::sctp(ip(WEB_V4), ip(ENDPOINT_V4), 1, 9000).truncated_to(14 + 20 + 8), MALFORMED ; "sctp header cut short")]
#[test_case(Packet::echo_request(ip(WEB_V4), ip(ENDPOINT_V4), 7).truncated_to(14 + 20 + 4), MALFORMED ; "icmp header cut short")]
fn ingress_verdicts(packet: Packet, expect: Expect) {
    check(&tables(), Direction::Ingress, &packet, expect);
}

#[test_case(Packet::tcp(ip(ENDPOINT_V4), ip(WEB_V4), 40000, 5432), allow(20) ; "egress to web's allowed port")]
#[test_case(Packet::tcp(ip(ENDPOINT_V4), ip(WEB_V4), 40000, 5433), DEFAULT_DENY ; "egress to web's other port")]
#[test_case(Packet::udp(ip(ENDPOINT_V4), ip(WORLD_V4), 40000, 53), allow(21) ; "egress to world dns")]
#[test_case(Packet::tcp(ip(ENDPOINT_V4), ip(WORLD_V4), 40000, 53), NO_FUNCTION ; "egress to world tcp has no function")]
#[test_case(Packet::tcp(ip(ENDPOINT_V4), ip(DB_V4), 40000, 5432), NO_FUNCTION ; "egress peer is the destination not the source")]
fn egress_verdicts(packet: Packet, expect: Expect) {
    check(&tables(), Direction::Egress, &packet, expect);
}

fn with_options(change: impl FnOnce(&mut DatapathOptions)) -> EndpointTables {
    let mut t = tables();
    change(&mut t.options);
    t
}

#[test]
fn l7_fallback_knob_passes_redirects_at_l4() {
    let t = with_options(|o| o.l7_fallback_allow_l4 = true);
    let expect = Expect {
        passed: true,
        verdict: Some(Verdict::RedirectL7),
        reason: Reason::L7Fallback,
        rule_id: 8,
    };
    check(&t, Direction::Ingress, &tcp_in(8443), expect);
}

/// `TC_ACT_REDIRECT`: what `bpf_redirect` returns.
const TC_ACT_REDIRECT: u32 = 7;

#[test]
fn with_a_filter_port_an_ingress_l7_redirect_is_steered_to_the_filter_and_recorded() {
    use libbpf_rs::{MapCore, MapFlags};
    use policyc_backends::layout::{map_names, L7RedirectKey, L7RedirectValue, CT_FLAG_L7};
    use policyc_kernel::TestHarness;
    if !kernel_tests_enabled() {
        return;
    }
    let h = TestHarness::from_tables_with(&tables(), &ipcache(), &AttachKind::ALL, |c| {
        c.l7_proxy_port = 15_079;
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let syn = tcp_in(8443);
    // tcx egress (endpoint ingress) cannot sk-assign: the SYN is marked and redirected to the
    // veth's ingress, where the endpoint's program hands it to the filter.
    let outcome = h
        .run(Direction::Ingress, AttachKind::Tcx, &syn.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.return_value, TC_ACT_REDIRECT);
    assert_eq!(outcome.reason(), Some(Reason::L7Redirected));
    assert_eq!(outcome.verdict(), Some(Verdict::RedirectL7));
    // Recorded for the filter: who it is from, which endpoint's policy in which direction.
    let map = h
        .instance()
        .map(map_names::L7_REDIRECT)
        .unwrap_or_else(|e| panic!("{e}"));
    let key = L7RedirectKey::new(
        std::net::SocketAddr::new(ip(WEB_V4), 40000),
        std::net::SocketAddr::new(ip(ENDPOINT_V4), 8443),
    );
    let value = map
        .lookup(&key.encode(), MapFlags::ANY)
        .unwrap_or_else(|e| panic!("{e}"))
        .and_then(|v| L7RedirectValue::decode(&v))
        .unwrap_or_else(|| panic!("no pc_l7_redir entry"));
    assert_eq!(
        (value.endpoint_id, value.identity, value.direction),
        (77, 1000, Direction::Ingress.code())
    );
    // The flow is tracked as redirected: its next packet goes the same way.
    let entries = h.ct_entries().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        entries
            .iter()
            .any(|(k, v)| k.dport == 8443 && v.flags & CT_FLAG_L7 != 0),
        "{entries:?}"
    );
    let ack = tcp_in(8443).with_tcp_flags(0x10);
    let outcome = h
        .run(Direction::Ingress, AttachKind::Tcx, &ack.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.return_value, TC_ACT_REDIRECT);
    // cgroup_skb cannot steer: the redirect drops there (fail closed).
    h.flush_flows().unwrap_or_else(|e| panic!("{e}"));
    let outcome = h
        .run(Direction::Ingress, AttachKind::CgroupSkb, &syn.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!outcome.passed);
    assert_eq!(outcome.reason(), Some(Reason::L7Unsupported));
}

#[test]
fn host_is_judged_by_policy_without_allow_localhost() {
    let t = with_options(|o| o.allow_localhost = false);
    let host = Packet::tcp(ip(HOST_V4), ip(ENDPOINT_V4), 1, 443);
    // identity 1 is not in the class map: unknown class 9, which allows TCP 443 only.
    check(&t, Direction::Ingress, &host, allow(12));
    let host = Packet::tcp(ip(HOST_V4), ip(ENDPOINT_V4), 1, 9);
    check(&t, Direction::Ingress, &host, DEFAULT_DENY);
}

#[test]
fn unenforced_direction_passes_everything() {
    let mut t = tables();
    t.egress = policyc_backends::DirectionTables::not_enforced();
    let expect = Expect {
        passed: true,
        verdict: None,
        reason: Reason::NotEnforced,
        rule_id: 0,
    };
    check(
        &t,
        Direction::Egress,
        &Packet::tcp(ip(ENDPOINT_V4), ip(WORLD_V4), 1, 25),
        expect,
    );
}

#[test]
fn world_identities_per_family_come_from_the_config() {
    let mut t = with_options(|o| {
        o.world_identity_ipv4 = 9;
        o.world_identity_ipv6 = 10;
    });
    t.ingress.class_of_identity.insert(9, 1); // world-ipv4 gets web's rules
    check(
        &t,
        Direction::Ingress,
        &Packet::tcp(ip(WORLD_V4), ip(ENDPOINT_V4), 1, 80),
        allow(1),
    );
    // world-ipv6 (10) is unknown: class 9
    check(
        &t,
        Direction::Ingress,
        &Packet::tcp(ip(WORLD_V6), ip(ENDPOINT_V6), 1, 443),
        allow(12),
    );
}

const NEIGHBOR_DISCOVERY: Expect = Expect {
    passed: true,
    verdict: None,
    reason: Reason::NeighborDiscovery,
    rule_id: 0,
};

/// Neighbor discovery as a router or a pod sends it: hop limit 255, link-scope addresses.
fn ndp(src: &str, dst: &str, icmp_type: u8, body: usize) -> Packet {
    Packet::icmp(ip(src), ip(dst), icmp_type, 0)
        .with_payload(&vec![0; body])
        .with_hop_limit(255)
}

#[test]
fn neighbor_discovery_passes_unless_disabled() {
    // A router's solicitation to the endpoint's solicited-node group; the endpoint's answer.
    let solicitation = ndp("fe80::1", "ff02::1:ff00:10", 135, 24);
    check(
        &tables(),
        Direction::Ingress,
        &solicitation,
        NEIGHBOR_DISCOVERY,
    );
    let advertisement = ndp(ENDPOINT_V6, "fe80::1", 136, 24);
    check(
        &tables(),
        Direction::Egress,
        &advertisement,
        NEIGHBOR_DISCOVERY,
    );
    let t = with_options(|o| o.allow_neighbor_discovery = false);
    check(&t, Direction::Ingress, &solicitation, NO_FUNCTION);
}

// The exemption used to pass ICMPv6 133..137 in both directions, to and from any address,
// with any payload and hop limit: a channel past policy. Now only link-scope, hop-limit-255,
// bounded neighbor discovery passes, and never a router advertisement or redirect from the
// endpoint; the rest is judged by policy (no ICMPv6 rule here: default deny).
#[test_case(ndp("fe80::1", "ff02::1", 134, 48), Direction::Ingress, NEIGHBOR_DISCOVERY ; "a router advertisement from the router passes")]
#[test_case(ndp("::", "ff02::1:ff00:10", 135, 24), Direction::Egress, NEIGHBOR_DISCOVERY ; "duplicate address detection passes")]
#[test_case(ndp("fe80::10", "ff02::2", 133, 8), Direction::Egress, NEIGHBOR_DISCOVERY ; "a router solicitation from the endpoint passes")]
#[test_case(ndp("fe80::10", "ff02::1", 134, 48), Direction::Egress, NO_FUNCTION ; "a router advertisement from the endpoint is judged by policy")]
#[test_case(ndp("fe80::10", "fe80::1", 137, 48), Direction::Egress, NO_FUNCTION ; "a redirect from the endpoint is judged by policy")]
#[test_case(ndp(ENDPOINT_V6, WEB_V6, 135, 24), Direction::Egress, NO_FUNCTION ; "a solicitation to a global address is judged by policy")]
#[test_case(ndp(ENDPOINT_V6, "ff02::1:ff00:1", 135, 1000), Direction::Egress, NO_FUNCTION ; "a solicitation carrying 1000 bytes is judged by policy")]
#[test_case(Packet::icmp(ip("fe80::1"), ip("ff02::1:ff00:10"), 135, 0).with_payload(&[0; 24]), Direction::Ingress, NO_FUNCTION ; "a solicitation with hop limit 64 is judged by policy")]
#[test_case(ndp(WORLD_V6, ENDPOINT_V6, 135, 24), Direction::Ingress, NO_FUNCTION ; "a solicitation from a global address to the endpoint is judged by policy")]
fn only_link_scope_neighbor_discovery_passes_without_policy(
    packet: Packet,
    direction: Direction,
    expect: Expect,
) {
    check(&tables(), direction, &packet, expect);
}

#[test]
fn non_ip_frames_on_tcx() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    let arp = raw_frame(0x0806, &[0; 28]);
    let outcome = h
        .run(Direction::Ingress, AttachKind::Tcx, &arp)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.passed, "ARP passes");
    let lldp = raw_frame(0x88cc, &[0; 46]);
    let outcome = h
        .run(Direction::Egress, AttachKind::Tcx, &lldp)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!outcome.passed, "unknown ethertypes are dropped");
    assert_eq!(outcome.reason(), Some(Reason::UnknownL3));
}

#[test]
fn first_fragment_lets_its_later_fragments_through() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    for kind in AttachKind::ALL {
        h.flush_flows().unwrap_or_else(|e| panic!("{e}"));
        let first = tcp_in(80).with_payload(&[0; 16]).fragment(0, true, 42);
        let later = tcp_in(80).with_payload(&[0; 16]).fragment(5, false, 42);
        let other_id = tcp_in(80).with_payload(&[0; 16]).fragment(5, false, 43);
        let run = |p: &Packet| {
            h.run(Direction::Ingress, kind, &p.frame())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert!(run(&first).passed);
        let o = run(&later);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::FragmentTracked)),
            "{kind:?}"
        );
        let o = run(&other_id);
        assert_eq!(
            (o.passed, o.reason()),
            (false, Some(Reason::FragmentUntracked)),
            "{kind:?}"
        );

        let denied_first = tcp_in(81).with_payload(&[0; 16]).fragment(0, true, 44);
        let denied_later = tcp_in(81).with_payload(&[0; 16]).fragment(5, false, 44);
        assert!(!run(&denied_first).passed);
        assert!(
            !run(&denied_later).passed,
            "{kind:?}: later fragment of a denied first"
        );
    }
}
