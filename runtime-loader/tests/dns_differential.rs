//! Differential test of the BPF DNS parser against hickory-proto over generated and mutated
//! messages: the same question name (by its hash in the pending entry) and the same answer
//! addresses, or both reject.
//!
//! Scope, by design of the BPF parser: it does not parse the authority/additional sections
//! nor the RDATA of types other than A/AAAA, so mutations leave NSCOUNT/ARCOUNT, types,
//! classes and opaque RDATA alone; everything else (names, pointers, counts, lengths,
//! truncation) is mutated.

use crate::dns_common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use dns_common::*;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RData};
use policyc_backends::dns::{name_hash, DnsConfig, DnsCounter, DnsLimits, DnsTables};
use policyc_kernel::dns::DnsInstance;

/// xorshift64*: deterministic cases without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const LABEL_BYTES: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";

fn gen_name(rng: &mut Rng) -> String {
    let long = rng.chance(10);
    let labels = if long {
        3 + rng.below(3)
    } else {
        1 + rng.below(4)
    };
    (0..labels)
        .map(|_| {
            let len = if long {
                40 + rng.below(24)
            } else {
                1 + rng.below(12)
            };
            (0..len)
                .map(|_| char::from(LABEL_BYTES[rng.below(LABEL_BYTES.len())]))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A generated name whose wire form fits in 255 octets (the query must be allowed).
fn gen_valid_name(rng: &mut Rng) -> String {
    let mut name = gen_name(rng);
    while name.len() + 2 > 255 {
        name.truncate(name.rfind('.').unwrap_or(200));
    }
    name
}

/// A message plus the offsets a structured mutation may touch.
struct Built {
    bytes: Vec<u8>,
    /// Offsets of label-length bytes and pointer starts.
    name_bytes: Vec<usize>,
    /// Offsets of owner-name pointers (2 bytes each).
    pointers: Vec<usize>,
    /// Offsets of RDLENGTH fields.
    rdlengths: Vec<usize>,
}

fn push_name(out: &mut Built, name: &str) {
    for label in name.split('.') {
        out.name_bytes.push(out.bytes.len());
        out.bytes.push(label.len() as u8);
        out.bytes.extend_from_slice(label.as_bytes());
    }
    out.name_bytes.push(out.bytes.len());
    out.bytes.push(0);
}

fn build_query(rng: &mut Rng, name: &str) -> Built {
    let mut b = Built {
        bytes: Vec::new(),
        name_bytes: Vec::new(),
        pointers: Vec::new(),
        rdlengths: Vec::new(),
    };
    b.bytes
        .extend_from_slice(&(rng.next() as u16).to_be_bytes());
    b.bytes
        .extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    push_name(&mut b, name);
    b.bytes
        .extend_from_slice(&[0, if rng.chance(50) { 1 } else { 28 }, 0, 1]);
    b
}

fn build_answer(rng: &mut Rng, id: u16, name: &str) -> Built {
    let mut b = Built {
        bytes: Vec::new(),
        name_bytes: Vec::new(),
        pointers: Vec::new(),
        rdlengths: Vec::new(),
    };
    let count = rng.below(20);
    b.bytes.extend_from_slice(&id.to_be_bytes());
    b.bytes.extend_from_slice(&[0x81, 0x80, 0, 1]);
    b.bytes.extend_from_slice(&(count as u16).to_be_bytes());
    b.bytes.extend_from_slice(&[0, 0, 0, 0]);
    push_name(&mut b, name);
    b.bytes.extend_from_slice(&[0, 1, 0, 1]);
    for _ in 0..count {
        match rng.below(3) {
            0 => {
                b.pointers.push(b.bytes.len());
                b.name_bytes.push(b.bytes.len());
                b.bytes.extend_from_slice(&[0xc0, 12]);
            }
            1 => {
                b.name_bytes.push(b.bytes.len());
                b.bytes.extend_from_slice(b"\x03cdn");
                b.pointers.push(b.bytes.len());
                b.bytes.extend_from_slice(&[0xc0, 12]);
            }
            _ => {
                let owner = gen_name(rng);
                push_name(&mut b, &owner);
            }
        }
        let (rtype, rdata): (u16, Vec<u8>) = match rng.below(5) {
            0 | 1 => (1, (0..4).map(|_| rng.next() as u8).collect()),
            2 | 3 => (28, (0..16).map(|_| rng.next() as u8).collect()),
            _ => (
                0xff00,
                (0..rng.below(9)).map(|_| rng.next() as u8).collect(),
            ),
        };
        b.bytes.extend_from_slice(&rtype.to_be_bytes());
        b.bytes.extend_from_slice(&[0, 1]);
        b.bytes
            .extend_from_slice(&(rng.next() as u32).to_be_bytes());
        b.rdlengths.push(b.bytes.len());
        b.bytes
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        b.bytes.extend_from_slice(&rdata);
    }
    b
}

fn mutate(rng: &mut Rng, b: &mut Built, answer: bool) {
    let m = &mut b.bytes;
    match rng.below(9) {
        0 => {}
        8 => {
            // Any byte of a question name (content or length), e.g. upper case, '.', 0xff.
            let end = if answer {
                12
            } else {
                m.len().saturating_sub(4)
            };
            if end > 12 {
                let at = 12 + rng.below(end - 12);
                m[at] = match rng.below(4) {
                    0 => b'A' + rng.below(26) as u8,
                    1 => b'.',
                    _ => rng.next() as u8,
                };
            }
        }
        1 => {
            let len = rng.below(m.len());
            m.truncate(len);
        }
        2 | 3 => {
            if let Some(&at) = b.name_bytes.get(rng.below(b.name_bytes.len())) {
                m[at] = match rng.below(4) {
                    0 => 0x40 | rng.next() as u8 & 0x3f,
                    1 => 0x80 | rng.next() as u8 & 0x3f,
                    2 => rng.next() as u8 & 0x3f,
                    _ => 0,
                };
            }
        }
        4 => {
            if let Some(&at) = b.pointers.get(rng.below(b.pointers.len())) {
                let target = match rng.below(4) {
                    0 => at,                   // itself: a loop
                    1 => at + 2,               // forward
                    2 => rng.below(12),        // into the header
                    _ => rng.below(at.max(1)), // somewhere backwards
                };
                m[at] = 0xc0 | ((target >> 8) as u8 & 0x3f);
                m[at + 1] = target as u8;
            }
        }
        5 => {
            if let Some(&at) = b.rdlengths.get(rng.below(b.rdlengths.len())) {
                m[at + 1] = m[at + 1].wrapping_add(1 + rng.below(3) as u8);
            }
        }
        6 => {
            // QDCOUNT (queries) or ANCOUNT (answers), kept within what the BPF walk covers.
            let at = if answer { 7 } else { 5 };
            m[at] = rng.below(if answer { 24 } else { 3 }) as u8;
        }
        _ => {
            let first = b.name_bytes.first().copied().unwrap_or(12);
            m[first] = 0xc0;
            if let Some(next) = m.get_mut(first + 1) {
                *next = 12;
            }
        }
    }
}

/// The dotted name if every byte can match `*` (letters, digits, `-`, `_`), else None.
fn matchable_name(message: &Message) -> Option<String> {
    let name = message.queries().first()?.name();
    let mut out = String::new();
    for label in name.iter() {
        for byte in label {
            if !(byte.is_ascii_alphanumeric() || *byte == b'-' || *byte == b'_') {
                return None;
            }
            out.push(char::from(byte.to_ascii_lowercase()));
        }
        out.push('.');
    }
    if out.is_empty() {
        out.push('.');
    }
    Some(out)
}

fn counter(dns: &DnsInstance, which: DnsCounter) -> u64 {
    dns.counter(which).unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Debug, PartialEq, Eq)]
enum QueryVerdict {
    Pending(u64),
    Refused,
    Dropped,
}

#[test]
fn query_parser_agrees_with_hickory() {
    if !kernel_tests_enabled() {
        return;
    }
    let tables = DnsTables::compile(&[(0, glob("*"))], &DnsLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let dns = load(&tables, &DnsConfig::default());
    let mut rng = Rng(0x5eed_0001);
    let mut seen = [0usize; 3];
    for case in 0..1500 {
        let name = gen_name(&mut rng);
        let mut built = build_query(&mut rng, &name);
        mutate(&mut rng, &mut built, false);
        let message = built.bytes;
        let id = u16::from_be_bytes([
            message.first().copied().unwrap_or(0),
            message.get(1).copied().unwrap_or(0),
        ]);
        dns.clear_state().unwrap_or_else(|e| panic!("{e}"));
        let v6 = case % 2 == 1;
        let run = dns
            .run_query(&query_frame(v6, &message))
            .unwrap_or_else(|e| panic!("{e}"));
        let got = match run.return_value {
            TCX_NEXT => {
                let pending = dns
                    .pending(endpoint(v6), CLIENT_PORT, id)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .unwrap_or_else(|| panic!("case {case}: passed without a pending entry"));
                QueryVerdict::Pending(pending.name_hash)
            }
            TC_ACT_REDIRECT => QueryVerdict::Refused,
            TCX_DROP => QueryVerdict::Dropped,
            other => panic!("case {case}: unexpected return value {other}"),
        };
        let expected = match Message::from_vec(&message) {
            Err(_) => QueryVerdict::Dropped,
            Ok(m)
                if m.message_type() != MessageType::Query
                    || m.op_code() != OpCode::Query
                    || m.queries().len() != 1 =>
            {
                QueryVerdict::Dropped
            }
            Ok(m) => match matchable_name(&m) {
                Some(dotted) => QueryVerdict::Pending(name_hash(&dotted)),
                None => QueryVerdict::Refused,
            },
        };
        assert_eq!(got, expected, "case {case}: message {message:02x?}");
        seen[match got {
            QueryVerdict::Pending(_) => 0,
            QueryVerdict::Refused => 1,
            QueryVerdict::Dropped => 2,
        }] += 1;
    }
    eprintln!("pending/refused/dropped: {seen:?}");
    assert!(
        seen.iter().all(|n| *n > 10),
        "every outcome is exercised: {seen:?}"
    );
}

#[test]
fn answer_parser_agrees_with_hickory() {
    if !kernel_tests_enabled() {
        return;
    }
    let tables = DnsTables::compile(&[(0, glob("*"))], &DnsLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let dns = load(&tables, &DnsConfig::default());
    let mut rng = Rng(0x5eed_0002);
    let (mut learned_cases, mut rejected_cases) = (0usize, 0usize);
    for case in 0..1500 {
        let v6 = case % 2 == 1;
        let name = gen_valid_name(&mut rng);
        let id = rng.next() as u16;
        dns.clear_state().unwrap_or_else(|e| panic!("{e}"));
        let run = dns
            .run_query(&query_frame(v6, &query_message(id, &name)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(run.return_value, TCX_NEXT, "case {case}: query allowed");
        let mut built = build_answer(&mut rng, id, &name);
        mutate(&mut rng, &mut built, true);
        let message = built.bytes;
        let unparseable_before = counter(&dns, DnsCounter::Unparseable);
        let run = dns
            .run_answer(&answer_frame(v6, &message))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            run.return_value, TCX_NEXT,
            "case {case}: answers always pass"
        );
        let got: BTreeSet<IpAddr> = dns
            .learned()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|(addr, _)| addr)
            .collect();
        let expected: BTreeSet<IpAddr> = match Message::from_vec(&message) {
            Err(_) => BTreeSet::new(),
            Ok(m) => {
                let same_question = m.queries().len() == 1
                    && matchable_name(&m).as_deref() == Some(format!("{name}.").as_str());
                if m.message_type() != MessageType::Response
                    || !same_question
                    || m.response_code() != ResponseCode::NoError
                {
                    BTreeSet::new()
                } else {
                    m.answers()
                        .iter()
                        .filter(|r| r.dns_class() == DNSClass::IN)
                        .filter_map(|r| match r.data() {
                            RData::A(a) => Some(IpAddr::V4(a.0)),
                            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                            _ => None,
                        })
                        .collect()
                }
            }
        };
        assert_eq!(got, expected, "case {case}: message {message:02x?}");
        if got.is_empty() {
            if counter(&dns, DnsCounter::Unparseable) > unparseable_before {
                rejected_cases += 1;
            }
        } else {
            learned_cases += 1;
        }
    }
    eprintln!("learned in {learned_cases} cases, rejected as unparseable in {rejected_cases}");
    assert!(learned_cases > 100 && rejected_cases > 100);
}
