//! Conntrack in the datapath: replies of allowed flows pass in the other direction's program,
//! replies of never-seen or denied flows are judged by policy, ICMP errors about known flows
//! pass, entries expire, and per-rule counters count. Both attach kinds.

use crate::common;

use std::time::Duration;

use common::*;
use policyc_backends::layout::{Direction, Reason, Verdict};
use policyc_loader::packet::Packet;
use policyc_loader::{AttachKind, Outcome, TestHarness};

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

        // ICMPv6 packet-too-big about an IPv6 flow from web.
        let web6 = Packet::tcp(ip(WEB_V6), ip(ENDPOINT_V6), 40004, 80);
        assert!(run(h, kind, Direction::Ingress, &web6).passed);
        let response = web6.reply();
        let too_big = Packet::icmp_error(ip(WORLD_V6), ip(ENDPOINT_V6), 2, 0, response);
        let o = run(h, kind, Direction::Ingress, &too_big);
        assert_eq!(
            (o.passed, o.reason()),
            (true, Some(Reason::CtRelated)),
            "{kind:?} v6"
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
