//! Issue 17, finding 7: the ARP an endpoint sends must be its own (sender address one of its
//! IPv4 addresses, sender MAC the frame's source), and one peer cannot fill the event ring:
//! events beyond the per-peer budget are counted and reported with the peer's next event.

use crate::common;

use common::*;
use policyc_backends::layout::{Direction, Reason};
use policyc_kernel::packet::{raw_frame, Packet};
use policyc_kernel::{AttachKind, TestHarness};
use test_case::test_case;

/// The source MAC of every test frame (`policyc_kernel::packet::raw_frame`).
const FRAME_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const OTHER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

fn arp(op: u16, sender_mac: [u8; 6], sender: &str, target: &str) -> Vec<u8> {
    let v4 = |s: &str| match ip(s) {
        std::net::IpAddr::V4(a) => a.octets(),
        std::net::IpAddr::V6(_) => panic!("ARP is IPv4"),
    };
    let mut p = vec![0, 1, 0x08, 0, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sender_mac);
    p.extend_from_slice(&v4(sender));
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&v4(target));
    raw_frame(0x0806, &p)
}

#[test_case(arp(1, FRAME_MAC, ENDPOINT_V4, HOST_V4), true ; "a request from its own address passes")]
#[test_case(arp(2, FRAME_MAC, ENDPOINT_V4, HOST_V4), true ; "a reply from its own address passes")]
#[test_case(arp(1, FRAME_MAC, "0.0.0.0", ENDPOINT_V4), true ; "an address probe passes")]
#[test_case(arp(2, FRAME_MAC, HOST_V4, WEB_V4), false ; "claiming the node's address is dropped")]
#[test_case(arp(2, FRAME_MAC, WEB_V4, HOST_V4), false ; "claiming another pod's address is dropped")]
#[test_case(arp(1, OTHER_MAC, ENDPOINT_V4, HOST_V4), false ; "a sender MAC other than the frame's is dropped")]
#[test_case(arp(2, FRAME_MAC, "0.0.0.0", ENDPOINT_V4), false ; "a reply from no address is dropped")]
#[test_case(arp(3, FRAME_MAC, ENDPOINT_V4, HOST_V4), false ; "RARP opcodes are dropped")]
#[test_case(raw_frame(0x0806, &[0; 28]), false ; "a malformed ARP frame is dropped")]
fn the_arp_an_endpoint_sends_is_its_own(frame: Vec<u8>, passed: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    let out = h
        .run(Direction::Egress, AttachKind::Tcx, &frame)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.passed, passed);
    if !passed {
        assert_eq!(out.reason(), Some(Reason::ArpInvalid));
    }
}

#[test]
fn arp_toward_the_endpoint_passes() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    let out = h
        .run(
            Direction::Ingress,
            AttachKind::Tcx,
            &arp(1, FRAME_MAC, HOST_V4, ENDPOINT_V4),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.passed);
}

fn budget_harness(budget: u32) -> TestHarness {
    TestHarness::from_tables_with(&tables(), &ipcache(), &AttachKind::ALL, |c| {
        c.event_budget_per_peer = budget;
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_denied_peer_cannot_hide_the_drops_of_others() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = budget_harness(4);
    for kind in AttachKind::ALL {
        // world floods denied packets; only the first 4 this second make events.
        let denied = Packet::tcp(ip(WORLD_V4), ip(ENDPOINT_V4), 40000, 22);
        let with_event = (0..20)
            .filter(|_| {
                let out = h
                    .run(Direction::Ingress, kind, &denied.frame())
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(!out.passed);
                out.event.is_some()
            })
            .count();
        assert!(with_event <= 4, "{kind:?}: {with_event} events");
        // Another peer's drop is still reported.
        let stranger = Packet::tcp(ip(STRANGER_V4), ip(ENDPOINT_V4), 40000, 22);
        let out = h
            .run(Direction::Ingress, kind, &stranger.frame())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.event.is_some(), "{kind:?}: the other peer's drop");
    }
    // After the window, world's next event reports how many were left out.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let denied = Packet::tcp(ip(WORLD_V4), ip(ENDPOINT_V4), 40000, 22);
    let out = h
        .run(Direction::Ingress, AttachKind::Tcx, &denied.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    let event = out
        .event
        .unwrap_or_else(|| panic!("an event after the window"));
    assert!(
        event.suppressed >= 16,
        "suppressed events reported: {}",
        event.suppressed
    );
}
