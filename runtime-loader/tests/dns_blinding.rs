//! The DNS stage cannot be blinded (issue 17, finding 3), under BPF_PROG_TEST_RUN: a question
//! behind an IPv6 extension chain that the main datapath walks to UDP/53 (a fragment header
//! followed by another extension header) is never passed unjudged; a UDP datagram must end
//! exactly where its IP packet does; TCP/53 with urgent data (which leaves the stream the
//! server reads) is dropped. A UDP_SEGMENT (GSO) skb is covered end to end
//! (`e2e_hostile::a_gso_datagram_cannot_carry_an_unjudged_dns_question`).

use crate::dns_common;

use dns_common::*;
use policyc_backends::dns::DnsConfig;
use policyc_kernel::packet::Packet;
use test_case::test_case;

/// An evil question to the server as an atomic IPv6 fragment (offset 0, no more fragments)
/// whose fragment header is followed by a destination-options header, then UDP/53 — the
/// order the main datapath walks; the packet builder puts extension headers before the
/// fragment header, so the destination options are spliced in behind it here.
fn fragment_then_dest_opts(name: &str) -> Vec<u8> {
    let mut frame = Packet::udp(endpoint(true), server(true), CLIENT_PORT, 53)
        .with_payload(&query_message(0x4242, name, false))
        .fragment(0, false, 9)
        .frame();
    let fragment_header = 14 + 40;
    assert_eq!(
        frame[14 + 6],
        44,
        "the fixed header is followed by the fragment header"
    );
    assert_eq!(
        frame[fragment_header], 17,
        "the fragment header is followed by UDP"
    );
    frame[fragment_header] = 60;
    let dest_opts = [17u8, 0, 1, 4, 0, 0, 0, 0];
    let at = fragment_header + 8;
    frame.splice(at..at, dest_opts);
    let payload_len = u16::from_be_bytes([frame[18], frame[19]]) + 8;
    frame[18..20].copy_from_slice(&payload_len.to_be_bytes());
    frame
}

/// A question whose UDP length stops 8 bytes short of the IP packet (8 trailing bytes).
fn short_udp_length(v6: bool) -> Vec<u8> {
    let mut frame = query_frame(v6, &query_message(0x4343, "evil.example.com", false));
    frame.extend_from_slice(&[0; 8]);
    let ip_len_at = if v6 { 18 } else { 16 };
    let ip_len = u16::from_be_bytes([frame[ip_len_at], frame[ip_len_at + 1]]) + 8;
    frame[ip_len_at..ip_len_at + 2].copy_from_slice(&ip_len.to_be_bytes());
    if !v6 {
        // IPv4 header checksum over the new total length.
        frame[24..26].copy_from_slice(&[0, 0]);
        let sum: u32 = frame[14..34]
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        let folded = (sum & 0xffff) + (sum >> 16);
        frame[24..26].copy_from_slice(&(!(folded as u16)).to_be_bytes());
    }
    frame
}

/// A TCP/53 question with the URG flag set.
fn urgent_tcp(v6: bool) -> Vec<u8> {
    let message = query_message(0x4444, "api.example.com", false);
    let mut payload = (message.len() as u16).to_be_bytes().to_vec();
    payload.extend_from_slice(&message);
    let mut frame = Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 53)
        .with_payload(&payload)
        .frame();
    let tcp_at = if v6 { 14 + 40 } else { 14 + 20 };
    frame[tcp_at + 13] |= 0x20;
    frame
}

#[test_case(fragment_then_dest_opts("evil.example.com") ; "a fragment header then destination options before UDP/53")]
#[test_case(fragment_then_dest_opts("api.example.com") ; "the same chain with an allowed name: a fragment is never judged")]
#[test_case(short_udp_length(false) ; "ipv4 UDP length short of the IP packet")]
#[test_case(short_udp_length(true) ; "ipv6 UDP length short of the IP packet")]
#[test_case(urgent_tcp(false) ; "ipv4 TCP question with urgent data")]
#[test_case(urgent_tcp(true) ; "ipv6 TCP question with urgent data")]
fn questions_the_stage_cannot_judge_are_dropped_not_passed(frame: Vec<u8>) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP);
}

#[test]
fn traffic_behind_an_extension_chain_that_is_not_dns_is_left_to_the_main_datapath() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let frame = Packet::udp(endpoint(true), server(true), CLIENT_PORT, 5353)
        .with_ipv6_ext(&[policyc_kernel::packet::ExtHeader::DestOpts])
        .with_payload(&[0; 16])
        .frame();
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
}
