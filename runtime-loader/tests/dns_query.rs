//! The DNS query program under BPF_PROG_TEST_RUN: allowed questions record a pending entry and
//! pass; denied questions come back as REFUSED answers with valid checksums; malformed DNS to
//! port 53 is dropped; other traffic is not touched.

use crate::dns_common;

use dns_common::*;
use policyc_backends::dns::{name_hash, DnsConfig, DnsCounter};
use policyc_kernel::packet::Packet;
use test_case::test_case;

#[test_case(false, "api.example.com", 0b001; "ipv4 exact name")]
#[test_case(true, "api.example.com", 0b001; "ipv6 exact name")]
#[test_case(false, "API.Example.COM", 0b001; "exact name is case insensitive")]
#[test_case(false, "www.cilium.io", 0b010; "ipv4 glob")]
#[test_case(true, "a.b.c.svc.local", 0b100; "ipv6 double star glob")]
fn allowed_query_passes_and_records_a_pending_entry(v6: bool, qname: &str, bits: u64) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let frame = query_frame(v6, &query_message(0x1234, qname, false));
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    assert_eq!(run.packet, frame, "an allowed query is not modified");
    let pending = dns
        .pending(endpoint(v6), CLIENT_PORT, 0x1234)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no pending entry"));
    assert_eq!(pending.selectors, bits);
    assert_eq!(pending.name_hash, name_hash(qname));
    let server_bytes = match server(v6) {
        std::net::IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        std::net::IpAddr::V6(v6) => v6.octets(),
    };
    assert_eq!(pending.server, server_bytes);
    assert_eq!(
        dns.counter(DnsCounter::Allowed)
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
}

#[test_case(false, "evil.example.com"; "ipv4 unknown name")]
#[test_case(true, "evil.example.com"; "ipv6 unknown name")]
#[test_case(false, "a.b.cilium.io"; "star does not cross a dot")]
#[test_case(true, "svc.local"; "double star needs a label")]
fn denied_query_becomes_a_refused_answer(v6: bool, qname: &str) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let query = query_message(0xbeef, qname, false);
    let frame = query_frame(v6, &query);
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TC_ACT_REDIRECT);
    let out = decode(&run.packet);
    let sent = decode(&frame);
    assert_eq!(
        (out.src, out.dst),
        (server(v6), endpoint(v6)),
        "addresses swapped"
    );
    assert_eq!((out.sport, out.dport), (53, CLIENT_PORT), "ports swapped");
    assert_eq!(out.macs, (sent.macs.1, sent.macs.0), "MACs swapped");
    assert!(out.ip_header_ok, "IP header length/checksum");
    assert!(out.udp_len_ok, "UDP length");
    assert!(out.udp_checksum_ok, "UDP checksum");
    let m = &out.payload;
    assert_eq!(&m[0..2], &[0xbe, 0xef], "same id");
    assert_eq!(m[2] & 0x80, 0x80, "QR=1");
    assert_eq!(m[2] & 0x01, 0x01, "RD kept");
    assert_eq!(m[3] & 0x0f, 5, "RCODE=REFUSED");
    assert_eq!(
        &m[4..12],
        &[0, 1, 0, 0, 0, 0, 0, 0],
        "one question, no records"
    );
    assert_eq!(&m[12..], &query[12..], "the question is echoed");
    assert!(dns
        .pending(endpoint(v6), CLIENT_PORT, 0xbeef)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_none());
    assert_eq!(
        dns.counter(DnsCounter::Refused)
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
}

#[test]
fn a_dot_inside_a_label_matches_nothing() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    // One label "api.example" then "com": dotted it would read api.example.com.
    let mut query = query_message(7, "x", false);
    query.truncate(12);
    query.extend_from_slice(b"\x0bapi.example\x03com\x00\x00\x01\x00\x01");
    let run = dns
        .run_query(&query_frame(false, &query))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TC_ACT_REDIRECT);
}

fn with_header(mut message: Vec<u8>, at: usize, value: u8) -> Vec<u8> {
    message[at] = value;
    message
}

fn bad_label_type() -> Vec<u8> {
    let mut m = query_message(1, "api.example.com", false);
    m[12] = 0x43;
    m
}

fn pointer_in_question() -> Vec<u8> {
    let mut m = query_message(1, "api.example.com", false);
    m[12] = 0xc0;
    m[13] = 0x00;
    m
}

fn long_name() -> Vec<u8> {
    let label = "a".repeat(63);
    query_message(1, &[label.as_str(); 5].join("."), false)
}

fn truncated_name() -> Vec<u8> {
    let mut m = query_message(1, "api.example.com", false);
    m.truncate(20);
    m
}

fn missing_type_and_class() -> Vec<u8> {
    let mut m = query_message(1, "api.example.com", false);
    m.truncate(m.len() - 2);
    m
}

#[test_case(with_header(query_message(1, "api.example.com", false), 5, 2); "qdcount 2")]
#[test_case(with_header(query_message(1, "api.example.com", false), 5, 0); "qdcount 0")]
#[test_case(with_header(query_message(1, "api.example.com", false), 2, 0x81); "QR set")]
#[test_case(with_header(query_message(1, "api.example.com", false), 2, 0x29); "opcode UPDATE")]
#[test_case(bad_label_type(); "label type 0x40")]
#[test_case(pointer_in_question(); "pointer in the question")]
#[test_case(long_name(); "name longer than 255 octets")]
#[test_case(truncated_name(); "truncated name")]
#[test_case(missing_type_and_class(); "missing type and class")]
#[test_case(vec![0, 1, 2]; "shorter than a header")]
fn malformed_query_is_dropped(message: Vec<u8>) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    for v6 in [false, true] {
        let run = dns
            .run_query(&query_frame(v6, &message))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.return_value, TCX_DROP, "v6={v6}");
    }
    assert_eq!(
        dns.counter(DnsCounter::MalformedQuery)
            .unwrap_or_else(|e| panic!("{e}")),
        2
    );
    assert_eq!(
        dns.counter(DnsCounter::Allowed)
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
}

#[test]
fn dns_with_ip_options_is_dropped_not_passed_unjudged() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let frame = Packet::udp(endpoint(false), server(false), CLIENT_PORT, 53)
        .with_payload(&query_message(1, "api.example.com", false))
        .with_ipv4_options(&[1, 1, 1, 1])
        .frame();
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP);
}

#[test_case(Packet::udp(ip(ENDPOINT_V4), ip(SERVER_V4), CLIENT_PORT, 5353); "udp to another port")]
#[test_case(Packet::tcp(ip(ENDPOINT_V4), ip(SERVER_V4), CLIENT_PORT, 80); "tcp to another port")]
#[test_case(Packet::udp(ip(ENDPOINT_V6), ip(SERVER_V6), 53, CLIENT_PORT); "udp from 53")]
fn other_traffic_goes_on_untouched(packet: Packet) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let frame = packet
        .with_payload(&query_message(1, "evil.com", false))
        .frame();
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    assert_eq!(run.packet, frame);
}

#[test]
fn only_the_allow_mask_allows_a_question() {
    if !kernel_tests_enabled() {
        return;
    }
    // As the compiler builds them: bit 63 = allowed by rules.dns, bit 0 = a toFQDNs class.
    let mut tables = policyc_backends::dns::DnsTables::compile(
        &[(63, glob("*.example.com")), (0, glob("**.example.com"))],
        &policyc_backends::dns::DnsLimits::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    tables.allow_mask = 1 << 63;
    let dns = load(&tables, &DnsConfig::default());
    let allowed = dns
        .run_query(&query_frame(
            false,
            &query_message(1, "www.example.com", false),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(allowed.return_value, TCX_NEXT);
    let pending = dns
        .pending(endpoint(false), CLIENT_PORT, 1)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no pending entry"));
    assert_eq!(pending.selectors, 1 << 63 | 1);
    // Matched by the toFQDNs class only: not allowed by any DNS rule.
    let refused = dns
        .run_query(&query_frame(
            false,
            &query_message(2, "a.b.example.com", false),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.return_value, TC_ACT_REDIRECT);
}
