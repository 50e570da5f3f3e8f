//! DNS drop events under BPF_PROG_TEST_RUN: a refused question, a denied TCP question and every
//! unjudgeable DNS packet (TCP split, first fragment, DNS over TLS) put exactly one record in
//! the object's `pc_events` ring (the endpoint's, once the loader reuses it), with the DNS
//! server as the peer and a DNS reason, and — for a judged question — the question's name;
//! allowed questions and plain answers put none.

use crate::dns_common;

use std::cell::RefCell;
use std::rc::Rc;

use dns_common::*;
use policyc_backends::dns::{event_name, DnsConfig, EVENT_RECORD_SIZE, NAME_MAX};
use policyc_backends::layout::{map_names, Action, Direction, Event, Reason, VERDICT_NONE};
use policyc_backends::DNS_OBJECT;
use policyc_kernel::dns::DnsInstance;
use policyc_kernel::packet::Packet;
use test_case::test_case;

/// Runs `frame` through the query (`query`) or answer program and returns the records the
/// run put in the ring, each with the question name it carries.
fn events_of(dns: &DnsInstance, query: bool, frame: &[u8]) -> Vec<(Event, Option<String>)> {
    let received: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let sink = Rc::clone(&received);
    let map = dns.map(map_names::EVENTS).unwrap_or_else(|e| panic!("{e}"));
    let mut builder = libbpf_rs::RingBufferBuilder::new();
    builder
        .add(&map, move |data: &[u8]| {
            sink.borrow_mut().push(data.to_vec());
            0
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let ring = builder.build().unwrap_or_else(|e| panic!("{e}"));
    let run = if query {
        dns.run_query(frame)
    } else {
        dns.run_answer(frame)
    };
    run.unwrap_or_else(|e| panic!("{e}"));
    ring.consume().unwrap_or_else(|e| panic!("{e}"));
    let records = received.borrow();
    records
        .iter()
        .map(|bytes| {
            assert_eq!(
                bytes.len(),
                EVENT_RECORD_SIZE,
                "a DNS record carries the name"
            );
            let event = Event::decode(bytes).unwrap_or_else(|| panic!("short event record"));
            (event, event_name(bytes))
        })
        .collect()
}

fn peer_bytes(v6: bool) -> [u8; 16] {
    match server(v6) {
        std::net::IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        std::net::IpAddr::V6(v6) => v6.octets(),
    }
}

fn tcp_prefixed(message: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(message.len())
        .unwrap_or_else(|e| panic!("{e}"))
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(message);
    out
}

fn refused_udp(v6: bool) -> Vec<u8> {
    query_frame(v6, &query_message(0xbeef, "evil.example.com", false))
}

fn denied_tcp(v6: bool) -> Vec<u8> {
    Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(&tcp_prefixed(&query_message(7, "evil.example.com", false)))
        .frame()
}

fn split_tcp(v6: bool) -> Vec<u8> {
    let whole = tcp_prefixed(&query_message(7, "api.example.com", false));
    Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(&whole[..whole.len() - 3])
        .frame()
}

fn fragment(v6: bool) -> Vec<u8> {
    Packet::udp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(&query_message(0x0505, "api.example.com", false))
        .fragment(0, true, 77)
        .frame()
}

fn dot(v6: bool) -> Vec<u8> {
    Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 853)
        .with_payload(b"\x16\x03\x01")
        .frame()
}

const EVIL: Option<&str> = Some("evil.example.com.");

#[test_case(refused_udp, Reason::DnsRefused, 53, 17, EVIL; "refused udp question")]
#[test_case(denied_tcp, Reason::DnsRefused, 53, 6, EVIL; "denied tcp question")]
#[test_case(split_tcp, Reason::DnsUnjudgeable, 53, 6, None; "tcp question not in one segment")]
#[test_case(fragment, Reason::DnsUnjudgeable, 53, 17, None; "first fragment of a question")]
#[test_case(dot, Reason::DnsUnjudgeable, 853, 6, None; "dns over tls")]
fn a_dns_drop_emits_exactly_one_event(
    frame: fn(bool) -> Vec<u8>,
    reason: Reason,
    port: u16,
    protocol: u8,
    name: Option<&str>,
) {
    if !kernel_tests_enabled() {
        return;
    }
    for v6 in [false, true] {
        let dns = load(&sample_tables(), &DnsConfig::default());
        let events = events_of(&dns, true, &frame(v6));
        assert_eq!(events.len(), 1, "one record (v6 {v6})");
        let (e, qname) = &events[0];
        assert_eq!(qname.as_deref(), name, "the question name (v6 {v6})");
        assert_eq!(e.reason(), Some(reason));
        assert_eq!(e.action(), Some(Action::Drop));
        assert_eq!(e.direction(), Some(Direction::Egress));
        assert_eq!(e.verdict, VERDICT_NONE);
        assert_eq!(e.rule_id, 0, "rules.dns as a whole decided");
        assert_eq!((e.port, e.protocol), (port, protocol));
        assert_eq!(e.family, if v6 { 6 } else { 4 });
        assert_eq!(e.peer_addr, peer_bytes(v6), "the peer is the DNS server");
    }
}

#[test]
fn an_unjudgeable_answer_emits_one_ingress_event() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let answer = Packet::udp(server(false), endpoint(false), 53, CLIENT_PORT)
        .with_payload(&answer_message_with_ttls(
            0x0505,
            "api.example.com",
            &[(ip("198.19.9.9"), 60)],
        ))
        .fragment(0, true, 78)
        .frame();
    let events = events_of(&dns, false, &answer);
    assert_eq!(events.len(), 1);
    let (event, name) = &events[0];
    assert_eq!(event.reason(), Some(Reason::DnsUnjudgeable));
    assert_eq!(event.direction(), Some(Direction::Ingress));
    assert_eq!(event.peer_addr, peer_bytes(false));
    assert_eq!(name, &None, "an unjudgeable message's name is never read");
}

#[test]
fn allowed_questions_and_their_answers_emit_no_event() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let query = events_of(
        &dns,
        true,
        &query_frame(false, &query_message(0x1234, "api.example.com", false)),
    );
    assert!(query.is_empty(), "allowed question: {query:?}");
    let answer = events_of(
        &dns,
        false,
        &answer_frame(
            false,
            &answer_message_with_ttls(0x1234, "api.example.com", &[(ip("198.19.9.9"), 60)]),
        ),
    );
    assert!(answer.is_empty(), "learned answer: {answer:?}");
    assert_eq!(dns.learned().unwrap_or_else(|e| panic!("{e}")).len(), 1);
}

#[test]
fn the_dns_record_is_the_datapath_event_followed_by_the_name() {
    let (size, fields) = crate::common::btf_struct(DNS_OBJECT, "pc_dns_event");
    assert_eq!(size, EVENT_RECORD_SIZE);
    let expected: std::collections::BTreeMap<String, usize> = [
        ("event".to_owned(), 0),
        ("qname".to_owned(), size_of::<Event>()),
    ]
    .into();
    assert_eq!(fields, expected);
    assert_eq!(
        crate::common::btf_struct(DNS_OBJECT, "policyc_event").0,
        size_of::<Event>()
    );
    assert_eq!(
        crate::common::btf_struct(DNS_OBJECT, "pc_dns_name").0,
        NAME_MAX
    );
}
