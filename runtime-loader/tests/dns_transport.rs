//! DNS over TCP, fragments and DNS over TLS under BPF_PROG_TEST_RUN: a TCP/53 segment carrying
//! exactly one length-prefixed message is judged like UDP (allowed: pending entry; denied:
//! dropped, there is no REFUSED over TCP) and its answer is learned; payload-less segments pass;
//! split messages and bad length prefixes are dropped and counted, questions and answers alike;
//! first fragments of UDP/53 questions and answers are dropped and counted (later fragments are
//! the main datapath's business); port 853 from the endpoint is dropped and counted.

mod dns_common;

use dns_common::*;
use policyc_backends::dns::{DnsConfig, DnsCounter};
use policyc_loader::packet::Packet;
use test_case::test_case;

fn tcp_query_frame(v6: bool, payload: &[u8]) -> Vec<u8> {
    Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(payload)
        .frame()
}

fn tcp_answer_frame(v6: bool, payload: &[u8]) -> Vec<u8> {
    Packet::tcp(server(v6), endpoint(v6), 53, CLIENT_PORT)
        .with_payload(payload)
        .frame()
}

/// `message` with its 2-byte TCP length prefix.
fn prefixed(message: &[u8]) -> Vec<u8> {
    let mut out = (message.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

fn counter(dns: &policyc_loader::dns::DnsInstance, which: DnsCounter) -> u64 {
    dns.counter(which).unwrap_or_else(|e| panic!("{e}"))
}

#[test_case(false; "ipv4")]
#[test_case(true; "ipv6")]
fn an_allowed_tcp_question_passes_and_its_answer_is_learned(v6: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let run = dns
        .run_query(&tcp_query_frame(
            v6,
            &prefixed(&query_message(0x0101, "api.example.com")),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    assert!(dns
        .pending(endpoint(v6), CLIENT_PORT, 0x0101)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_some());
    let learned_addr = if v6 {
        ip("fd00:99::1")
    } else {
        ip("198.19.9.9")
    };
    let answer = answer_message(0x0101, "api.example.com", &[(learned_addr, 60)]);
    let run = dns
        .run_answer(&tcp_answer_frame(v6, &prefixed(&answer)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    let learned = dns.learned().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(learned.len(), 1, "{learned:?}");
    assert_eq!(learned[0].0, learned_addr);
    assert_eq!(learned[0].1.selectors, 0b001);
    assert_eq!(counter(&dns, DnsCounter::LearnedNew), 1);
}

#[test_case(false; "ipv4")]
#[test_case(true; "ipv6")]
fn a_denied_tcp_question_is_dropped_and_counted(v6: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let run = dns
        .run_query(&tcp_query_frame(
            v6,
            &prefixed(&query_message(0x0202, "evil.example.com")),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP);
    assert_eq!(counter(&dns, DnsCounter::TcpDenied), 1);
    assert_eq!(counter(&dns, DnsCounter::Refused), 0);
}

#[test]
fn tcp_segments_without_payload_pass() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    for frame in [tcp_query_frame(false, &[]), tcp_answer_frame(true, &[])] {
        let query = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
        let answer = dns.run_answer(&frame).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (query.return_value, answer.return_value),
            (TCX_NEXT, TCX_NEXT)
        );
    }
    assert_eq!(counter(&dns, DnsCounter::TcpUnjudgeable), 0);
}

/// Payloads that are not exactly one length-prefixed message.
fn split_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let message = query_message(0x0303, "api.example.com");
    let whole = prefixed(&message);
    let mut long_prefix = whole.clone();
    long_prefix[1] = long_prefix[1].wrapping_add(40); // the rest follows in a later segment
    let mut short_prefix = whole.clone();
    short_prefix[1] = short_prefix[1].wrapping_sub(3);
    let mut two = whole.clone();
    two.extend_from_slice(&whole); // two messages in one segment
    vec![
        (
            "first half of a split message",
            whole[..whole.len() / 2].to_vec(),
        ),
        (
            "second half of a split message",
            whole[whole.len() / 2..].to_vec(),
        ),
        ("length prefix longer than the segment", long_prefix),
        ("length prefix shorter than the segment", short_prefix),
        ("two messages in one segment", two),
        ("one byte", vec![0]),
    ]
}

#[test_case(false; "ipv4")]
#[test_case(true; "ipv6")]
fn tcp_questions_not_in_one_segment_are_dropped_and_counted(v6: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let cases = split_payloads();
    for (what, payload) in &cases {
        let run = dns
            .run_query(&tcp_query_frame(v6, payload))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.return_value, TCX_DROP, "{what}");
    }
    assert_eq!(
        counter(&dns, DnsCounter::TcpUnjudgeable),
        cases.len() as u64
    );
    assert_eq!(counter(&dns, DnsCounter::Allowed), 0);
}

#[test]
fn tcp_answers_not_in_one_segment_are_dropped_and_teach_nothing() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let query = prefixed(&query_message(0x0404, "api.example.com"));
    let run = dns
        .run_query(&tcp_query_frame(false, &query))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    let answer = prefixed(&answer_message(
        0x0404,
        "api.example.com",
        &[(ip("198.19.9.9"), 60)],
    ));
    let run = dns
        .run_answer(&tcp_answer_frame(false, &answer[..answer.len() - 5]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP);
    assert_eq!(counter(&dns, DnsCounter::TcpUnjudgeable), 1);
    assert!(dns.learned().unwrap_or_else(|e| panic!("{e}")).is_empty());
}

#[test_case(false; "ipv4")]
#[test_case(true; "ipv6")]
fn first_fragments_of_dns_are_dropped_and_counted(v6: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let question = Packet::udp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(&query_message(0x0505, "api.example.com"))
        .fragment(0, true, 77)
        .frame();
    let run = dns.run_query(&question).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP, "fragmented question");
    let answer = Packet::udp(server(v6), endpoint(v6), 53, CLIENT_PORT)
        .with_payload(&answer_message(
            0x0505,
            "api.example.com",
            &[(ip("198.19.9.9"), 60)],
        ))
        .fragment(0, true, 78)
        .frame();
    let run = dns.run_answer(&answer).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP, "fragmented answer");
    assert_eq!(counter(&dns, DnsCounter::Fragmented), 2);
    assert!(dns.learned().unwrap_or_else(|e| panic!("{e}")).is_empty());
    // A later fragment has no ports: the DNS object leaves it to the main datapath.
    let later = Packet::udp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(&[0u8; 64])
        .fragment(8, false, 77)
        .frame();
    let run = dns.run_query(&later).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
}

#[test_case(false, true; "ipv4 tcp")]
#[test_case(true, true; "ipv6 tcp")]
#[test_case(false, false; "ipv4 udp")]
fn dns_over_tls_from_the_endpoint_is_dropped_and_counted(v6: bool, tcp: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let packet = if tcp {
        Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 853)
    } else {
        Packet::udp(endpoint(v6), server(v6), CLIENT_PORT, 853)
    };
    let run = dns
        .run_query(&packet.with_payload(b"\x16\x03\x01").frame())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP);
    assert_eq!(counter(&dns, DnsCounter::DnsOverTls), 1);
    // Other ports are not the DNS object's business.
    let https = Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 443)
        .with_payload(b"\x16\x03\x01")
        .frame();
    let run = dns.run_query(&https).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
}
