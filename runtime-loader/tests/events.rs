//! Ring-buffer events: a drop produces one decoded record with endpoint, direction, identity,
//! protocol, port, verdict, reason, rule id and peer address; passes are silent unless enabled.

use crate::common;

use common::*;
use policyc_backends::layout::{Action, Direction, Reason, Verdict};
use policyc_backends::{endpoint_images, ipcache_image};
use policyc_kernel::datapath::{DatapathInstance, LoadRequest};
use policyc_kernel::packet::Packet;
use policyc_kernel::AttachKind;

#[test]
fn drop_event_is_decoded() {
    if !kernel_tests_enabled() {
        return;
    }
    let h = harness(&tables(), &ipcache());
    let packet = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40000, 8008);
    let o = h
        .run(Direction::Ingress, AttachKind::Tcx, &packet.frame())
        .unwrap_or_else(|e| panic!("{e}"));
    let e = o.event.unwrap_or_else(|| panic!("no event for a drop"));
    assert_eq!(e.endpoint_id, 77);
    assert_eq!(e.direction(), Some(Direction::Ingress));
    assert_eq!(e.identity, 1000);
    assert_eq!(e.protocol, 6);
    assert_eq!(e.port, 8008);
    assert_eq!(e.verdict(), Some(Verdict::Deny));
    assert_eq!(e.reason(), Some(Reason::Policy));
    assert_eq!(e.action(), Some(Action::Drop));
    assert_eq!(e.rule_id, 3);
    assert_eq!(e.family, 4);
    assert_eq!(&e.peer_addr[..4], &[10, 0, 1, 5]);
    assert_eq!(e.pkt_len as usize, packet.frame().len());
}

#[test]
fn passes_are_silent_unless_allow_events_are_enabled() {
    if !kernel_tests_enabled() {
        return;
    }
    // Load without the harness (which enables allow events) and count ring-buffer records.
    let images = endpoint_images(&tables()).unwrap_or_else(|e| panic!("{e}"));
    let ipcache = ipcache_image(&ipcache()).unwrap_or_else(|e| panic!("{e}"));
    let mut maps: Vec<_> = images.maps.iter().collect();
    maps.push(&ipcache);
    let request = LoadRequest {
        config: images.config,
        maps,
        kinds: vec![AttachKind::Tcx],
    };
    let instance = DatapathInstance::load(&request).unwrap_or_else(|e| panic!("{e}"));
    let records = std::rc::Rc::new(std::cell::Cell::new(0));
    let sink = records.clone();
    let events = instance.map("pc_events").unwrap_or_else(|e| panic!("{e}"));
    let mut builder = libbpf_rs::RingBufferBuilder::new();
    builder
        .add(&events, move |_| {
            sink.set(sink.get() + 1);
            0
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let ring = builder.build().unwrap_or_else(|e| panic!("{e}"));
    let program = instance
        .program(Direction::Ingress, AttachKind::Tcx)
        .unwrap_or_else(|e| panic!("{e}"));
    for port in [80, 81] {
        let frame = Packet::tcp(ip(WEB_V4), ip(ENDPOINT_V4), 40000, port).frame();
        let input = libbpf_rs::ProgramInput {
            data_in: Some(&frame),
            ..Default::default()
        };
        program.test_run(input).unwrap_or_else(|e| panic!("{e}"));
    }
    ring.consume().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records.get(), 1, "only the drop (port 81) emits an event");
}
