//! DNS over TCP, fragments and DNS over TLS under BPF_PROG_TEST_RUN: a TCP/53 segment carrying
//! exactly one length-prefixed message is judged like UDP (allowed: pending entry, unchanged;
//! denied: answered in-stream, the segment turned into the server's PSH|ACK reply carrying a
//! length-prefixed REFUSED with valid checksums) and its answer is learned; payload-less segments pass;
//! split messages and bad length prefixes are dropped and counted, questions and answers alike;
//! first fragments of UDP/53 questions and answers are dropped and counted (later fragments are
//! the main datapath's business); port 853 from the endpoint is dropped and counted.

use crate::dns_common;

use dns_common::*;
use policyc_backends::dns::{DnsConfig, DnsCounter};
use policyc_kernel::packet::Packet;
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

fn counter(dns: &policyc_kernel::dns::DnsInstance, which: DnsCounter) -> u64 {
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
            &prefixed(&query_message(0x0101, "api.example.com", false)),
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
    let answer = answer_message_with_ttls(0x0101, "api.example.com", &[(learned_addr, 60)]);
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

/// A TCP/53 question frame with the given sequence and acknowledgement numbers and
/// `options` bytes of TCP options (a timestamp option, padded with NOPs).
fn tcp_query_frame_at(v6: bool, payload: &[u8], seq: u32, ack: u32, options: usize) -> Vec<u8> {
    let mut frame = tcp_query_frame(v6, payload);
    let tcp = 14 + if v6 { 40 } else { 20 };
    frame[tcp + 4..tcp + 8].copy_from_slice(&seq.to_be_bytes());
    frame[tcp + 8..tcp + 12].copy_from_slice(&ack.to_be_bytes());
    frame[tcp + 13] = 0x18; // PSH|ACK, as a client sends its question
    let mut option_bytes = vec![1u8; options];
    if options >= 12 {
        option_bytes[2..12].copy_from_slice(&[8, 10, 0, 0, 0, 42, 0, 0, 0, 7]);
    }
    frame.splice(tcp + 20..tcp + 20, option_bytes);
    frame[tcp + 12] = u8::try_from((20 + options) / 4 * 16).unwrap_or(0x50);
    let grow = u16::try_from(options).unwrap_or(0);
    let length_at = if v6 { 14 + 4 } else { 14 + 2 };
    let length = u16::from_be_bytes([frame[length_at], frame[length_at + 1]]) + grow;
    frame[length_at..length_at + 2].copy_from_slice(&length.to_be_bytes());
    frame
}

/// The client's SYN (sequence number `isn`, no payload): the DNS stage follows the stream from
/// the handshake on (dns/tcp_stream.h), so data at `isn + 1` is the stream's first byte.
fn open_stream(dns: &policyc_kernel::dns::DnsInstance, v6: bool, isn: u32) {
    let mut frame = Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 53).frame();
    let tcp = 14 + if v6 { 40 } else { 20 };
    frame[tcp + 4..tcp + 8].copy_from_slice(&isn.to_be_bytes());
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT, "the SYN passes");
}

/// The one's-complement sum of `bytes` (odd length padded with a zero byte).
fn ones_complement_sum(bytes: &[u8]) -> u32 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// A TCP segment parsed from a frame, its checksums verified.
#[derive(Debug)]
struct TcpSegment {
    macs: ([u8; 6], [u8; 6]),
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    options: Vec<u8>,
    payload: Vec<u8>,
}

fn parse_tcp_segment(frame: &[u8]) -> TcpSegment {
    let mut dst_mac = [0u8; 6];
    let mut src_mac = [0u8; 6];
    dst_mac.copy_from_slice(&frame[0..6]);
    src_mac.copy_from_slice(&frame[6..12]);
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = &frame[14..];
    let (src, dst, l4, mut pseudo) = if ethertype == 0x0800 {
        assert_eq!(ip[0], 0x45, "IPv4 without options");
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        assert_eq!(total, ip.len(), "IPv4 total length covers the frame");
        assert_eq!(
            ones_complement_sum(&ip[..20]),
            0xffff,
            "IPv4 header checksum"
        );
        assert_eq!(ip[9], 6, "protocol TCP");
        let src: [u8; 4] = ip[12..16].try_into().unwrap_or_default();
        let dst: [u8; 4] = ip[16..20].try_into().unwrap_or_default();
        let l4 = &ip[20..];
        (src.into(), dst.into(), l4, ip[12..20].to_vec())
    } else {
        assert_eq!(ethertype, 0x86dd, "IPv6");
        let len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
        assert_eq!(len + 40, ip.len(), "IPv6 payload length covers the frame");
        assert_eq!(ip[6], 6, "next header TCP");
        let src: [u8; 16] = ip[8..24].try_into().unwrap_or_default();
        let dst: [u8; 16] = ip[24..40].try_into().unwrap_or_default();
        (src.into(), dst.into(), &ip[40..], ip[8..40].to_vec())
    };
    let l4_len = u16::try_from(l4.len()).unwrap_or(u16::MAX);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&l4_len.to_be_bytes());
    let mut checked = pseudo;
    checked.extend_from_slice(l4);
    assert_eq!(ones_complement_sum(&checked), 0xffff, "TCP checksum");
    let doff = usize::from(l4[12] >> 4) * 4;
    assert!((20..=l4.len()).contains(&doff), "TCP data offset {doff}");
    let word = |at: usize| u32::from_be_bytes([l4[at], l4[at + 1], l4[at + 2], l4[at + 3]]);
    TcpSegment {
        macs: (dst_mac, src_mac),
        src,
        dst,
        sport: u16::from_be_bytes([l4[0], l4[1]]),
        dport: u16::from_be_bytes([l4[2], l4[3]]),
        seq: word(4),
        ack: word(8),
        flags: l4[13],
        options: l4[20..doff].to_vec(),
        payload: l4[doff..].to_vec(),
    }
}

#[test_case(false, "evil.example.com", 0; "ipv4")]
#[test_case(true, "evil.example.com", 0; "ipv6")]
#[test_case(false, "a.b.cilium.io", 0; "ipv4 star does not cross a dot")]
#[test_case(true, "x", 0; "ipv6 short name")]
#[test_case(false, "evil.example.com", 12; "ipv4 with timestamp option")]
#[test_case(true, "evil.example.com", 40; "ipv6 with 40 option bytes")]
fn a_denied_tcp_question_is_answered_refused_in_stream(v6: bool, qname: &str, options: usize) {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let query = query_message(0x0202, qname, false);
    let payload = prefixed(&query);
    let (seq, ack) = (0xffff_fff0_u32, 0x1234_5678_u32); // the ack wraps around 2^32
    let frame = tcp_query_frame_at(v6, &payload, seq, ack, options);
    open_stream(&dns, v6, seq.wrapping_sub(1));
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TC_ACT_REDIRECT);
    let out = parse_tcp_segment(&run.packet);
    assert_eq!(
        (&out.macs.0[..], &out.macs.1[..]),
        (&frame[6..12], &frame[0..6]),
        "MACs swapped"
    );
    assert_eq!(
        (out.src, out.dst),
        (server(v6), endpoint(v6)),
        "addresses swapped"
    );
    assert_eq!((out.sport, out.dport), (53, CLIENT_PORT), "ports swapped");
    assert_eq!(out.seq, ack, "seq = the question's ack_seq");
    let expected_ack = seq.wrapping_add(u32::try_from(payload.len()).unwrap_or(0));
    assert_eq!(out.ack, expected_ack, "ack_seq = seq + payload length");
    assert_eq!(out.flags, 0x18, "PSH|ACK");
    assert_eq!(
        out.options,
        vec![1u8; options],
        "options kept in length, as NOPs"
    );
    let prefix = usize::from(u16::from_be_bytes([out.payload[0], out.payload[1]]));
    assert_eq!(
        prefix,
        out.payload.len() - 2,
        "length prefix covers the message"
    );
    let answer = Message::from_vec(&out.payload[2..]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.id(), 0x0202);
    assert_eq!(answer.message_type(), MessageType::Response);
    assert_eq!(answer.response_code(), ResponseCode::Refused);
    assert!(answer.recursion_desired(), "RD kept");
    let question = Message::from_vec(&query).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        answer.queries(),
        question.queries(),
        "the question is echoed"
    );
    assert!(answer.answers().is_empty() && answer.additionals().is_empty());
    assert!(dns
        .pending(endpoint(v6), CLIENT_PORT, 0x0202)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_none());
    assert_eq!(counter(&dns, DnsCounter::TcpRefused), 1);
    assert_eq!(
        counter(&dns, DnsCounter::Refused),
        0,
        "UDP REFUSED counted apart"
    );
}

#[test_case(false; "ipv4")]
#[test_case(true; "ipv6")]
fn an_allowed_tcp_question_with_seq_and_ack_passes_unchanged(v6: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let frame = tcp_query_frame_at(
        v6,
        &prefixed(&query_message(0x0606, "api.example.com", false)),
        7,
        9,
        12,
    );
    open_stream(&dns, v6, 6);
    let run = dns.run_query(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    assert_eq!(run.packet, frame, "an allowed question is not modified");
    assert_eq!(counter(&dns, DnsCounter::TcpRefused), 0);
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
    let message = query_message(0x0303, "api.example.com", false);
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
    let query = prefixed(&query_message(0x0404, "api.example.com", false));
    let run = dns
        .run_query(&tcp_query_frame(false, &query))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    let answer = prefixed(&answer_message_with_ttls(
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
        .with_payload(&query_message(0x0505, "api.example.com", false))
        .fragment(0, true, 77)
        .frame();
    let run = dns.run_query(&question).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_DROP, "fragmented question");
    let answer = Packet::udp(server(v6), endpoint(v6), 53, CLIENT_PORT)
        .with_payload(&answer_message_with_ttls(
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

/// A question segment of the endpoint's connection at sequence number `seq` (PSH|ACK).
fn segment(v6: bool, qname: &str, id: u16, seq: u32) -> (Vec<u8>, u32) {
    let payload = prefixed(&query_message(id, qname, false));
    let len = u32::try_from(payload.len()).unwrap_or(0);
    (tcp_query_frame_at(v6, &payload, seq, 1, 0), len)
}

/// Issue 17, finding 3c: the server's TCP keeps the bytes it has and takes only those beyond,
/// so a segment overlapping a judged one could carry a second message the stage never saw as
/// one. Questions must start exactly where the stream is, or repeat the last judged segment
/// exactly; anything else is dropped as unjudgeable.
#[test_case(false; "ipv4")]
#[test_case(true; "ipv6")]
fn overlapping_tcp_segments_cannot_hide_a_second_question(v6: bool) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let isn = 1000;
    let (first, len) = segment(v6, "api.example.com", 1, isn + 1);
    let pass = |frame: &[u8]| {
        dns.run_query(frame)
            .unwrap_or_else(|e| panic!("{e}"))
            .return_value
    };
    // Before the handshake the stage saw: no stream to judge against.
    assert_eq!(pass(&first), TCX_DROP, "data without a seen SYN");
    open_stream(&dns, v6, isn);
    assert_eq!(pass(&first), TCX_NEXT, "the first question");
    assert_eq!(pass(&first), TCX_NEXT, "its exact retransmission");
    let unjudgeable = counter(&dns, DnsCounter::TcpUnjudgeable);
    for (what, seq) in [
        ("an overlap starting inside the first question", isn + 3),
        ("a gap after it", isn + 1 + len + 5),
        ("a segment before the stream", isn),
    ] {
        let (frame, _) = segment(v6, "api.example.com", 2, seq);
        assert_eq!(pass(&frame), TCX_DROP, "{what}");
    }
    // The same start but longer than the judged segment: its tail would be new data.
    let (longer, _) = segment(v6, "a-longer-name.api.example.com", 3, isn + 1);
    assert_eq!(pass(&longer), TCX_DROP, "a longer retransmission");
    // A SYN after a judged question would realign the stream mid-message.
    let mut syn = Packet::tcp(endpoint(v6), server(v6), CLIENT_PORT, 53).frame();
    let tcp = 14 + if v6 { 40 } else { 20 };
    syn[tcp + 4..tcp + 8].copy_from_slice(&(isn + 2).to_be_bytes());
    assert_eq!(pass(&syn), TCX_DROP, "a SYN realigning the stream");
    assert_eq!(counter(&dns, DnsCounter::TcpUnjudgeable), unjudgeable + 5);
    // The next question, exactly where the stream is, passes.
    let (next, _) = segment(v6, "api.example.com", 4, isn + 1 + len);
    assert_eq!(pass(&next), TCX_NEXT, "the next question in the stream");
}
