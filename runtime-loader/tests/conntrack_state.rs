//! Stateful conntrack (issue 17, finding 5): TCP entries live by their state as in Cilium's
//! bpf/lib/conntrack.h (a SYN or a lone ACK 60 s, an established flow 6 h, a closed one 10 s;
//! a RST opens nothing), entries judged under another generation are judged again (revoked
//! access ends with the flow's next packet, in either direction), a new identity on a peer's
//! address inherits no flow, peers cannot evict the flows the endpoint opened, and one ICMP
//! entry serves one exchange.

use crate::common;

use common::*;
use policyc_backends::layout::{CtValue, Direction, Reason, Verdict};
use policyc_backends::{EndpointTables, IpcacheEntry};
use policyc_kernel::packet::Packet;
use policyc_kernel::{AttachKind, Outcome, TestHarness};
use test_case::test_case;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;
const S: u64 = 1_000_000_000;

fn run(h: &TestHarness, kind: AttachKind, direction: Direction, p: &Packet) -> Outcome {
    h.run(direction, kind, &p.frame())
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

fn each_kind(body: impl Fn(&TestHarness, AttachKind)) {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    for kind in AttachKind::ALL {
        h.flush_flows().unwrap_or_else(|e| panic!("{e}"));
        body(&h, kind);
    }
}

/// CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns().
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec the call writes.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    u64::try_from(ts.tv_sec).unwrap_or(0) * S + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// The only conntrack entry, if any.
fn only_entry(h: &TestHarness) -> Option<CtValue> {
    let entries = h.ct_entries().unwrap_or_else(|e| panic!("{e}"));
    assert!(entries.len() <= 1, "more than one entry: {entries:?}");
    entries.first().map(|(_, v)| *v)
}

/// Seconds the only entry has left.
fn lifetime_s(h: &TestHarness) -> Option<u64> {
    only_entry(h).map(|v| v.expires_ns.saturating_sub(now_ns()).div_ceil(S))
}

/// web -> endpoint:80 (allowed at ingress) with the given flags.
fn web_in(flags: u8) -> Packet {
    Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 41000, 80).with_tcp_flags(flags)
}

/// The endpoint's answer to web_in.
fn endpoint_out(flags: u8) -> Packet {
    web_in(SYN).reply().with_tcp_flags(flags)
}

type Step = (Direction, Packet);

fn i(flags: u8) -> Step {
    (Direction::Ingress, web_in(flags))
}

fn o(flags: u8) -> Step {
    (Direction::Egress, endpoint_out(flags))
}

#[test_case(vec![i(ACK)], Some(60) ; "a lone ACK lives no longer than an unanswered SYN")]
#[test_case(vec![i(ACK | 0x08)], Some(60) ; "a lone PSH-ACK lives no longer than an unanswered SYN")]
#[test_case(vec![i(RST)], None ; "a lone RST opens no entry")]
#[test_case(vec![i(RST | ACK)], None ; "a lone RST-ACK opens no entry")]
#[test_case(vec![i(SYN)], Some(60) ; "a SYN lives 60 s")]
#[test_case(vec![i(SYN), o(SYN | ACK)], Some(60) ; "a reply SYN-ACK refreshes to 60 s only")]
#[test_case(vec![i(SYN), o(SYN | ACK), i(ACK)], Some(21_600) ; "the completed handshake lives 6 h")]
#[test_case(vec![i(ACK), o(ACK), i(ACK), o(ACK)], Some(60) ; "mid-stream traffic without a handshake stays at 60 s")]
#[test_case(vec![i(SYN), o(SYN | ACK), i(ACK), i(FIN | ACK)], Some(21_600) ; "one FIN half-closes")]
#[test_case(vec![i(SYN), o(SYN | ACK), i(ACK), i(FIN | ACK), o(FIN | ACK)], Some(10) ; "FIN both ways closes: 10 s")]
#[test_case(vec![i(SYN), o(SYN | ACK), i(ACK), i(FIN | ACK), o(FIN | ACK), i(ACK), o(ACK)], Some(10) ; "a closed flow is kept alive by nothing")]
#[test_case(vec![i(SYN), o(SYN | ACK), i(ACK), o(RST)], Some(10) ; "a RST from either side closes: 10 s")]
#[test_case(vec![i(SYN), o(RST | ACK)], Some(10) ; "a refused connection closes")]
fn tcp_entries_live_by_their_state(steps: Vec<Step>, lifetime: Option<u64>) {
    each_kind(|h, kind| {
        for (n, (direction, packet)) in steps.iter().enumerate() {
            let out = run(h, kind, *direction, packet);
            assert!(out.passed, "{kind:?}: step {n} dropped: {out:?}");
        }
        assert_eq!(lifetime_s(h), lifetime, "{kind:?}");
    });
}

#[test]
fn a_lone_rst_lets_no_reply_through() {
    each_kind(|h, kind| {
        assert!(run(h, kind, Direction::Ingress, &web_in(RST)).passed);
        // Egress policy has nothing for web:80 -> the endpoint: not a reply of any flow.
        let out = run(h, kind, Direction::Egress, &endpoint_out(ACK));
        assert_eq!(
            (out.passed, out.verdict()),
            (false, Some(Verdict::DefaultDeny)),
            "{kind:?}"
        );
    });
}

#[test]
fn a_syn_on_a_closed_flow_is_judged_as_a_new_connection() {
    each_kind(|h, kind| {
        for (direction, packet) in [i(SYN), o(SYN | ACK), i(ACK), o(RST)] {
            assert!(run(h, kind, direction, &packet).passed);
        }
        let again = run(h, kind, Direction::Ingress, &web_in(SYN));
        assert_eq!(
            (again.passed, again.reason()),
            (true, Some(Reason::Policy)),
            "{kind:?}"
        );
        assert_eq!(lifetime_s(h), Some(60), "{kind:?}: a fresh SYN entry");
    });
}

/// Ingress tables without the web TCP 80 rule (the access revoked).
fn tables_without_web_80() -> EndpointTables {
    let mut t = tables();
    t.ingress
        .port_functions
        .insert((1, 6), function(&[iv(8000, 8080, Verdict::Allow, 2)]));
    t
}

fn established(h: &TestHarness, kind: AttachKind) {
    for (direction, packet) in [i(SYN), o(SYN | ACK), i(ACK)] {
        assert!(run(h, kind, direction, &packet).passed, "{kind:?}");
    }
}

#[test]
fn revoked_access_ends_with_the_flows_next_packet() {
    if !kernel_tests_enabled() {
        return;
    }
    for kind in AttachKind::ALL {
        for opener_next in [true, false] {
            let old = harness(&tables(), &ipcache());
            established(&old, kind);
            let new = old
                .next_generation(&tables_without_web_80(), &ipcache(), 1)
                .unwrap_or_else(|e| panic!("{e}"));
            let (direction, packet) = if opener_next { i(ACK) } else { o(ACK) };
            let out = run(&new, kind, direction, &packet);
            assert_eq!(
                (out.passed, out.reason()),
                (false, Some(Reason::CtRevoked)),
                "{kind:?}: {direction:?} after the rule was removed"
            );
            assert_eq!(only_entry(&new), None, "{kind:?}: the entry is gone");
        }
    }
}

#[test]
fn a_new_generation_that_still_allows_keeps_the_flow() {
    if !kernel_tests_enabled() {
        return;
    }
    for kind in AttachKind::ALL {
        let old = harness(&tables(), &ipcache());
        established(&old, kind);
        let new = old
            .next_generation(&tables(), &ipcache(), 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let out = run(&new, kind, Direction::Egress, &endpoint_out(ACK));
        assert_eq!(
            (out.passed, out.reason()),
            (true, Some(Reason::CtReply)),
            "{kind:?}"
        );
        let entry = only_entry(&new).unwrap_or_else(|| panic!("{kind:?}: entry kept"));
        assert_eq!(
            (entry.generation, entry.rule_id),
            (1, 1),
            "{kind:?}: judged again"
        );
        assert_eq!(
            lifetime_s(&new),
            Some(21_600),
            "{kind:?}: still established"
        );
    }
}

fn ipcache_web_is_stranger() -> Vec<IpcacheEntry> {
    let mut entries = ipcache();
    for e in &mut entries {
        if e.identity == 1000 {
            e.identity = 3000;
        }
    }
    entries
}

#[test]
fn a_new_identity_on_a_peers_address_inherits_no_flow() {
    if !kernel_tests_enabled() {
        return;
    }
    for kind in AttachKind::ALL {
        let old = harness(&tables(), &ipcache());
        // The endpoint opened a flow to web:5432 (egress allows it).
        let request = Packet::tcp(ip(ENDPOINT_V4), ip(WEB_V4), 42000, 5432);
        assert!(run(&old, kind, Direction::Egress, &request).passed);
        // The same generation number, but web's address now belongs to another identity (a
        // new pod): its "reply" is judged by ingress policy, which has nothing for it.
        let new = old
            .next_generation(&tables(), &ipcache_web_is_stranger(), 0)
            .unwrap_or_else(|e| panic!("{e}"));
        let out = run(&new, kind, Direction::Ingress, &request.reply());
        assert_eq!(
            (out.passed, out.reason()),
            (false, Some(Reason::Policy)),
            "{kind:?}"
        );
        assert_eq!(only_entry(&new), None, "{kind:?}: the stale entry is gone");
    }
}

#[test]
fn a_peer_flooding_new_flows_cannot_evict_the_endpoints_own_flows() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    let kind = AttachKind::Tcx;
    let own = Packet::tcp(ip(ENDPOINT_V4), ip(WEB_V4), 43000, 5432);
    assert!(run(&h, kind, Direction::Egress, &own).passed);
    // db may send anything: it opens more flows than the conntrack map holds.
    let capacity = policyc_backends::layout::CT_MAX_ENTRIES;
    for n in 0..capacity + 2048 {
        let sport = u16::try_from(n % 60_000).unwrap_or(0) + 1024;
        let dport = u16::try_from(n / 60_000).unwrap_or(0) + 1;
        let flood = Packet::udp(ip(DB_V4), ip(ENDPOINT_V4), sport, dport);
        assert!(run(&h, kind, Direction::Ingress, &flood).passed);
    }
    let out = run(&h, kind, Direction::Ingress, &own.reply());
    assert_eq!(
        (out.passed, out.reason()),
        (true, Some(Reason::CtReply)),
        "the endpoint's own flow survived the flood"
    );
}

#[test]
fn one_icmp_entry_serves_one_exchange() {
    each_kind(|h, kind| {
        // db -> endpoint timestamp request (ingress allows anything from db).
        let request = Packet::icmp(ip(DB_V4), ip(ENDPOINT_V4), 13, 0);
        assert!(run(h, kind, Direction::Ingress, &request).passed);
        let reply = Packet::icmp(ip(ENDPOINT_V4), ip(DB_V4), 14, 0);
        let out = run(h, kind, Direction::Egress, &reply);
        assert_eq!(
            (out.passed, out.reason()),
            (true, Some(Reason::CtReply)),
            "{kind:?}: the timestamp reply"
        );
        // Another ICMP type toward db is no reply of that exchange: egress policy has
        // nothing for db.
        for other in [17, 42, 9] {
            let p = Packet::icmp(ip(ENDPOINT_V4), ip(DB_V4), other, 0);
            let out = run(h, kind, Direction::Egress, &p);
            assert_eq!(
                (out.passed, out.verdict()),
                (false, Some(Verdict::DefaultDeny)),
                "{kind:?}: ICMP type {other}"
            );
        }
    });
}
