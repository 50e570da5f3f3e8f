//! Conntrack in the datapath: replies of allowed flows pass in the other direction's program,
//! replies of never-seen or denied flows are judged by policy, ICMP errors about known flows
//! pass, entries expire, and per-rule counters count. Both attach kinds.

use crate::common;

use std::time::Duration;

use common::*;
use policyc_backends::layout::{Direction, Reason, Verdict};
use policyc_kernel::packet::Packet;
use policyc_kernel::{AttachKind, Outcome, TestHarness};
use test_case::test_case;

fn run(h: &TestHarness, kind: AttachKind, direction: Direction, p: &Packet) -> Outcome {
    h.run(direction, kind, &p.frame())
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

fn each_kind(tables: &policyc_backends::EndpointTables, body: impl Fn(&TestHarness, AttachKind)) {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(tables, &ipcache());
    for kind in AttachKind::ALL {
        h.flush_flows().unwrap_or_else(|e| panic!("{e}"));
        body(&h, kind);
    }
}

#[test]
fn reply_of_an_allowed_ingress_flow_passes_egress() {
    each_kind(&tables(), |h, kind| {
        let request = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40000, 80);
        let reply = request.reply();
        // Without the flow, egress policy has nothing for web:40000.
        let o = run(h, kind, Direction::Egress, &reply);
        assert_eq!(
            (o.passed, o.verdict()),
            (false, Some(Verdict::DefaultDeny)),
            "{kind:?}"
        );

        assert!(run(h, kind, Direction::Ingress, &request).passed);
        let o = run(h, kind, Direction::Egress, &reply);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::CtReply)),
            "{kind:?}"
        );
        assert_eq!(
            o.event.map(|e| e.rule_id),
            Some(1),
            "reply credited to the allowing rule"
        );
        let o = run(h, kind, Direction::Ingress, &request);
        assert_eq!(o.reason(), Some(Reason::CtEstablished), "{kind:?}");
    });
}

#[test]
fn reply_of_an_allowed_egress_flow_passes_ingress() {
    each_kind(&tables(), |h, kind| {
        let request = Packet::tcp(ip(ENDPOINT_V4), ip(WEB_V4), 40001, 5432);
        let reply = request.reply();
        let o = run(h, kind, Direction::Ingress, &reply);
        assert!(
            !o.passed,
            "{kind:?}: ingress policy does not allow web:5432 -> 40001"
        );
        assert!(run(h, kind, Direction::Egress, &request).passed);
        let o = run(h, kind, Direction::Ingress, &reply);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::CtReply)),
            "{kind:?}"
        );
    });
}

#[test]
fn denied_flows_are_not_tracked() {
    each_kind(&tables(), |h, kind| {
        let request = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40002, 81);
        assert!(!run(h, kind, Direction::Ingress, &request).passed);
        let o = run(h, kind, Direction::Egress, &request.reply());
        assert_eq!(
            (o.passed, o.reason()),
            (false, Some(Reason::Policy)),
            "{kind:?}"
        );
    });
}

#[test]
fn ipv6_and_icmp_echo_replies_pass() {
    each_kind(&tables(), |h, kind| {
        let request = Packet::udp(ip(WEB_V6), ip(ENDPOINT_V6), 5353, 53);
        assert!(run(h, kind, Direction::Ingress, &request).passed);
        let o = run(h, kind, Direction::Egress, &request.reply());
        assert_eq!(o.reason(), Some(Reason::CtReply), "{kind:?} udp6");

        let echo = Packet::echo_request(ip(WEB_V4), ip(ENDPOINT_V4), 0x1234);
        let reply = Packet::echo_reply(ip(ENDPOINT_V4), ip(WEB_V4), 0x1234);
        let other_reply = Packet::echo_reply(ip(ENDPOINT_V4), ip(WEB_V4), 0x9999);
        assert!(run(h, kind, Direction::Ingress, &echo).passed);
        let o = run(h, kind, Direction::Egress, &reply);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::CtReply)),
            "{kind:?} echo"
        );
        assert!(
            !run(h, kind, Direction::Egress, &other_reply).passed,
            "{kind:?} other echo id"
        );
    });
}

#[test]
fn icmp_errors_about_known_flows_are_related() {
    each_kind(&tables(), |h, kind| {
        let dns = Packet::udp(ip(ENDPOINT_V4), ip(WORLD_V4), 40003, 53);
        let unreachable = Packet::icmp_error(ip(WORLD_V4), ip(ENDPOINT_V4), 3, 3, dns.clone());
        // Unknown flow: the error is judged by policy (world has no ICMP rule).
        let o = run(h, kind, Direction::Ingress, &unreachable);
        assert_eq!(
            (o.passed, o.verdict()),
            (false, Some(Verdict::DefaultDeny)),
            "{kind:?}"
        );
        assert_eq!(
            o.event.map(|e| e.port),
            Some(3),
            "ICMP type is the policy port"
        );

        assert!(run(h, kind, Direction::Egress, &dns).passed);
        let o = run(h, kind, Direction::Ingress, &unreachable);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::CtRelated)),
            "{kind:?}"
        );

        // ICMPv6 packet-too-big from web about the endpoint's reply on web's IPv6 flow.
        let web6 = Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 40004, 80);
        assert!(run(h, kind, Direction::Ingress, &web6).passed);
        let response = web6.reply();
        let too_big = Packet::icmp_error(ip(WEB_V6), ip(ENDPOINT_V6), 2, 0, response.clone());
        let o = run(h, kind, Direction::Ingress, &too_big);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::CtRelated)),
            "{kind:?} v6"
        );
        // The same error from a third address (a router) is not related: Cilium keys related
        // entries on the flow's own address pair. (This case used to expect CtRelated.)
        let from_router = Packet::icmp_error(ip(WORLD_V6), ip(ENDPOINT_V6), 2, 0, response);
        let o = run(h, kind, Direction::Ingress, &from_router);
        assert_eq!(
            (o.passed, o.reason()),
            (false, Some(Reason::PolicyDefault)),
            "{kind:?} v6 from a third address"
        );
    });
}

/// How a forged or oversized ICMP error is built from the live flow web → endpoint:80
/// (`request`) and its reply (`reply`).
type ForgedError = fn(request: &Packet, reply: &Packet) -> Packet;

fn error_to_a_denied_peer(request: &Packet, _: &Packet) -> Packet {
    // The endpoint "reports" an error about web's request, but sends it to world, carrying
    // 400 bytes of its own.
    Packet::icmp_error(
        ip(ENDPOINT_V4),
        ip(WORLD_V4),
        3,
        3,
        request.clone().with_payload(&[7; 400]),
    )
}

fn error_from_a_third_address(_: &Packet, reply: &Packet) -> Packet {
    Packet::icmp_error(ip(WORLD_V4), ip(ENDPOINT_V4), 3, 3, reply.clone())
}

fn oversized_error_to_the_peer(request: &Packet, _: &Packet) -> Packet {
    // The right addresses, but 1,200 bytes of data: no error report is that long.
    Packet::icmp_error(
        ip(ENDPOINT_V4),
        ip(WEB_V4),
        3,
        3,
        request.clone().with_payload(&[7; 1200]),
    )
}

fn proper_error_to_the_peer(request: &Packet, _: &Packet) -> Packet {
    Packet::icmp_error(
        ip(ENDPOINT_V4),
        ip(WEB_V4),
        3,
        3,
        request.clone().with_payload(&[7; 64]),
    )
}

fn proper_error_from_the_peer(_: &Packet, reply: &Packet) -> Packet {
    Packet::icmp_error(ip(WEB_V4), ip(ENDPOINT_V4), 3, 3, reply.clone())
}

#[test_case(error_to_a_denied_peer, Direction::Egress, false, Reason::PolicyDefault ; "an error sent to another peer than the flow's is judged by policy")]
#[test_case(error_from_a_third_address, Direction::Ingress, false, Reason::PolicyDefault ; "an error from another address than the flow's is judged by policy")]
#[test_case(oversized_error_to_the_peer, Direction::Egress, false, Reason::PolicyDefault ; "an error longer than 576 bytes is judged by policy")]
#[test_case(proper_error_to_the_peer, Direction::Egress, true, Reason::CtRelated ; "an error to the flow's peer is related")]
#[test_case(proper_error_from_the_peer, Direction::Ingress, true, Reason::CtRelated ; "an error from the flow's peer is related")]
fn icmp_errors_relate_only_between_the_flows_own_addresses(
    forge: ForgedError,
    direction: Direction,
    passed: bool,
    reason: Reason,
) {
    each_kind(&tables(), |h, kind| {
        let request = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40010, 80);
        assert!(run(h, kind, Direction::Ingress, &request).passed);
        let error = forge(&request, &request.reply());
        let o = run(h, kind, direction, &error);
        assert_eq!((o.passed, o.reason()), (passed, Some(reason)), "{kind:?}");
    });
}

#[test]
fn fragmented_icmp_errors_drop_and_open_nothing_for_their_later_fragments() {
    each_kind(&tables(), |h, kind| {
        let request = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40011, 80);
        assert!(run(h, kind, Direction::Ingress, &request).passed);
        let first = Packet::icmp_error(ip(ENDPOINT_V4), ip(WEB_V4), 3, 3, request.clone())
            .fragment(0, true, 77);
        let o = run(h, kind, Direction::Egress, &first);
        assert_eq!(
            (o.passed, o.reason()),
            (false, Some(Reason::IcmpErrorFragmented)),
            "{kind:?}"
        );
        let later = Packet::icmp_error(ip(ENDPOINT_V4), ip(WEB_V4), 3, 3, request)
            .fragment(16, false, 77)
            .with_payload(&[7; 64]);
        let o = run(h, kind, Direction::Egress, &later);
        assert_eq!(
            (o.passed, o.reason()),
            (false, Some(Reason::FragmentUntracked)),
            "{kind:?}"
        );
    });
}

#[test]
fn expired_entries_are_treated_as_new() {
    let mut t = tables();
    t.options.ct_lifetime_other = Duration::from_nanos(1);
    t.options.ct_lifetime_tcp = Duration::from_nanos(1);
    each_kind(&t, |h, kind| {
        let request = Packet::udp(ip(WEB_V4), ip(ENDPOINT_V4), 5353, 53);
        assert!(run(h, kind, Direction::Ingress, &request).passed);
        std::thread::sleep(Duration::from_millis(2));
        let o = run(h, kind, Direction::Egress, &request.reply());
        assert_eq!(
            (o.passed, o.verdict()),
            (false, Some(Verdict::DefaultDeny)),
            "{kind:?}"
        );
    });
}

#[test]
fn one_object_shares_conntrack_between_attach_kinds() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    let request = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40005, 80);
    assert!(run(&h, AttachKind::Tcx, Direction::Ingress, &request).passed);
    let o = run(
        &h,
        AttachKind::CgroupSkb,
        Direction::Egress,
        &request.reply(),
    );
    assert_eq!(o.reason(), Some(Reason::CtReply));
}

#[test]
fn rule_counters_count_packets_and_bytes() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    let request = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40006, 8010);
    let frame_len = request.frame().len() as u64;
    for _ in 0..3 {
        assert!(run(&h, AttachKind::Tcx, Direction::Ingress, &request).passed);
    }
    let denied = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40006, 8008);
    assert!(!run(&h, AttachKind::Tcx, Direction::Ingress, &denied).passed);
    let allowed = h.rule_counter(2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((allowed.packets, allowed.bytes), (3, 3 * frame_len));
    let deny_rule = h.rule_counter(3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(deny_rule.packets, 1);
    assert_eq!(h.rule_counter(1).map(|c| c.packets).unwrap_or(u64::MAX), 0);
}

#[test]
fn allowed_icmp_errors_do_not_become_flows() {
    let mut t = tables();
    // web may send any ICMP type 3 to the endpoint
    t.ingress
        .port_functions
        .insert((1, 1), function(&[iv(3, 3, Verdict::Allow, 30)]));
    each_kind(&t, |h, kind| {
        // An error about a GRE packet: no flow can be recovered from it, so it is judged (and
        // allowed) by policy only, and must not create a flow of its own.
        let original = Packet::other(ip(ENDPOINT_V4), ip(WEB_V4), 47).with_payload(&[0; 8]);
        let error = Packet::icmp_error(ip(WEB_V4), ip(ENDPOINT_V4), 3, 1, original);
        let o = run(h, kind, Direction::Ingress, &error);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::Policy)),
            "{kind:?}"
        );
        let o = run(h, kind, Direction::Ingress, &error);
        assert_eq!(
            o.reason(),
            Some(Reason::Policy),
            "{kind:?}: not tracked as a flow"
        );
    });
}
