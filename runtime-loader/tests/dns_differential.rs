//! Differential test of the BPF DNS parser against hickory-proto over generated and mutated
//! messages: the same question name (by its hash in the pending entry) and the same answer
//! addresses, or both reject.
//!
//! Scope, by design of the BPF parser: it does not parse the authority/additional sections
//! nor the RDATA of types other than A/AAAA, so mutations leave NSCOUNT/ARCOUNT, types,
//! classes and opaque RDATA alone; everything else (names, pointers, counts, lengths,
//! truncation) is mutated. Cases and mutations are proptest strategies: a disagreement is
//! reported as the smallest case that still shows it.

use crate::dns_common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::net::IpAddr;

use dns_common::*;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RData};
use policyc_backends::dns::{name_hash, DnsConfig, DnsCounter, DnsLimits, DnsTables};
use policyc_kernel::dns::DnsInstance;
use proptest::arbitrary::any;
use proptest::sample::{select, Index};
use proptest::strategy::{Just, Strategy};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use proptest::{collection, prop_assert, prop_assert_eq, prop_oneof};

const LABEL_BYTES: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";

/// Cases per test, each one message through the kernel.
const CASES: u32 = 1500;

/// A proptest runner for `CASES` kernel runs: no regression file (the failing case is printed
/// minimised; `PROPTEST_RNG_SEED` replays a run).
fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn label(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    collection::vec(select(LABEL_BYTES), len).prop_map(|b| b.into_iter().map(char::from).collect())
}

/// One to four short labels, or (one name in ten) three to five long ones.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => collection::vec(label(1..=12), 1..=4),
        1 => collection::vec(label(40..=63), 3..=5),
    ]
    .prop_map(|labels| labels.join("."))
}

/// A name whose wire form fits in 255 octets (the query must be allowed).
fn valid_name() -> impl Strategy<Value = String> {
    name().prop_map(|mut name| {
        while name.len() + 2 > 255 {
            name.truncate(name.rfind('.').unwrap_or(200));
        }
        name
    })
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

impl Built {
    fn new() -> Built {
        Built {
            bytes: Vec::new(),
            name_bytes: Vec::new(),
            pointers: Vec::new(),
            rdlengths: Vec::new(),
        }
    }

    fn push_name(&mut self, name: &str) {
        for label in name.split('.') {
            self.name_bytes.push(self.bytes.len());
            self.bytes.push(label.len() as u8);
            self.bytes.extend_from_slice(label.as_bytes());
        }
        self.name_bytes.push(self.bytes.len());
        self.bytes.push(0);
    }
}

/// A standard query, laid out by hand to know where its name bytes are.
fn build_query(id: u16, name: &str, aaaa: bool) -> Built {
    let mut b = Built::new();
    b.bytes.extend_from_slice(&id.to_be_bytes());
    b.bytes
        .extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    b.push_name(name);
    b.bytes
        .extend_from_slice(&[0, if aaaa { 28 } else { 1 }, 0, 1]);
    b
}

/// The owner name of an answer record.
#[derive(Debug, Clone)]
enum Owner {
    /// A pointer to the question name.
    Question,
    /// `cdn` then a pointer to the question name.
    UnderQuestion,
    /// A name of its own, uncompressed.
    Other(String),
}

/// The type and RDATA of an answer record (class IN).
#[derive(Debug, Clone)]
enum Data {
    A([u8; 4]),
    Aaaa([u8; 16]),
    /// A type the parser skips (0xff00), with opaque RDATA.
    Opaque(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Record {
    owner: Owner,
    data: Data,
    ttl: u32,
}

fn record() -> impl Strategy<Value = Record> {
    let owner = prop_oneof![
        Just(Owner::Question),
        Just(Owner::UnderQuestion),
        name().prop_map(Owner::Other),
    ];
    let data = prop_oneof![
        2 => any::<[u8; 4]>().prop_map(Data::A),
        2 => any::<[u8; 16]>().prop_map(Data::Aaaa),
        1 => collection::vec(any::<u8>(), 0..9).prop_map(Data::Opaque),
    ];
    (owner, data, any::<u32>()).prop_map(|(owner, data, ttl)| Record { owner, data, ttl })
}

/// A NOERROR answer to the question `name`, laid out by hand to know where its names,
/// pointers and lengths are.
fn build_answer(id: u16, name: &str, records: &[Record]) -> Built {
    let mut b = Built::new();
    b.bytes.extend_from_slice(&id.to_be_bytes());
    b.bytes.extend_from_slice(&[0x81, 0x80, 0, 1]);
    b.bytes
        .extend_from_slice(&(records.len() as u16).to_be_bytes());
    b.bytes.extend_from_slice(&[0, 0, 0, 0]);
    b.push_name(name);
    b.bytes.extend_from_slice(&[0, 1, 0, 1]);
    for record in records {
        match &record.owner {
            Owner::Question => {
                b.pointers.push(b.bytes.len());
                b.name_bytes.push(b.bytes.len());
                b.bytes.extend_from_slice(&[0xc0, 12]);
            }
            Owner::UnderQuestion => {
                b.name_bytes.push(b.bytes.len());
                b.bytes.extend_from_slice(b"\x03cdn");
                b.pointers.push(b.bytes.len());
                b.bytes.extend_from_slice(&[0xc0, 12]);
            }
            Owner::Other(owner) => b.push_name(owner),
        }
        let (rtype, rdata): (u16, &[u8]) = match &record.data {
            Data::A(a) => (1, a),
            Data::Aaaa(aaaa) => (28, aaaa),
            Data::Opaque(bytes) => (0xff00, bytes),
        };
        b.bytes.extend_from_slice(&rtype.to_be_bytes());
        b.bytes.extend_from_slice(&[0, 1]);
        b.bytes.extend_from_slice(&record.ttl.to_be_bytes());
        b.rdlengths.push(b.bytes.len());
        b.bytes
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        b.bytes.extend_from_slice(rdata);
    }
    b
}

/// Where a mutated compression pointer points.
#[derive(Debug, Clone)]
enum PointerTarget {
    /// At itself: a loop.
    Itself,
    /// Just after itself: forward.
    Forward,
    /// Into the header.
    Header(Index),
    /// Somewhere before itself.
    Backwards(Index),
}

/// One structured mutation of a built message.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    /// Any byte of a question name (content or length), e.g. upper case, '.', 0xff.
    QuestionNameByte {
        at: Index,
        value: u8,
    },
    /// Cut the message short.
    Truncate(Index),
    /// A label-length byte or pointer start becomes a pointer, a reserved form, another
    /// length or the root.
    NameByte {
        which: Index,
        value: u8,
    },
    Pointer {
        which: Index,
        target: PointerTarget,
    },
    /// An RDLENGTH grown by 1 to 3.
    RdLength {
        which: Index,
        add: u8,
    },
    /// QDCOUNT (queries) or ANCOUNT (answers), kept within what the BPF walk covers.
    Count(Index),
    /// The first name replaced by a pointer to the question.
    CompressFirstName,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let question_byte = prop_oneof![1 => b'A'..=b'Z', 1 => Just(b'.'), 2 => any::<u8>()];
    let name_byte = prop_oneof![
        (0u8..0x40).prop_map(|r| 0x40 | r),
        (0u8..0x40).prop_map(|r| 0x80 | r),
        0u8..0x40,
        Just(0u8),
    ];
    let target = prop_oneof![
        Just(PointerTarget::Itself),
        Just(PointerTarget::Forward),
        any::<Index>().prop_map(PointerTarget::Header),
        any::<Index>().prop_map(PointerTarget::Backwards),
    ];
    prop_oneof![
        1 => Just(Mutation::None),
        1 => (any::<Index>(), question_byte)
            .prop_map(|(at, value)| Mutation::QuestionNameByte { at, value }),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), name_byte).prop_map(|(which, value)| Mutation::NameByte { which, value }),
        1 => (any::<Index>(), target).prop_map(|(which, target)| Mutation::Pointer { which, target }),
        1 => (any::<Index>(), 1u8..=3).prop_map(|(which, add)| Mutation::RdLength { which, add }),
        1 => any::<Index>().prop_map(Mutation::Count),
        1 => Just(Mutation::CompressFirstName),
    ]
}

fn pick(which: &Index, offsets: &[usize]) -> Option<usize> {
    (!offsets.is_empty()).then(|| offsets[which.index(offsets.len())])
}

fn mutate(b: &mut Built, mutation: &Mutation, answer: bool) {
    let m = &mut b.bytes;
    match mutation {
        Mutation::None => {}
        Mutation::QuestionNameByte { at, value } => {
            // Answers: the question name is not mutated (their learning is keyed by it).
            let end = if answer {
                12
            } else {
                m.len().saturating_sub(4)
            };
            if end > 12 {
                m[12 + at.index(end - 12)] = *value;
            }
        }
        Mutation::Truncate(len) => {
            let len = len.index(m.len());
            m.truncate(len);
        }
        Mutation::NameByte { which, value } => {
            if let Some(at) = pick(which, &b.name_bytes) {
                m[at] = *value;
            }
        }
        Mutation::Pointer { which, target } => {
            if let Some(at) = pick(which, &b.pointers) {
                let target = match target {
                    PointerTarget::Itself => at,
                    PointerTarget::Forward => at + 2,
                    PointerTarget::Header(i) => i.index(12),
                    PointerTarget::Backwards(i) => i.index(at.max(1)),
                };
                m[at] = 0xc0 | ((target >> 8) as u8 & 0x3f);
                m[at + 1] = target as u8;
            }
        }
        Mutation::RdLength { which, add } => {
            if let Some(at) = pick(which, &b.rdlengths) {
                m[at + 1] = m[at + 1].wrapping_add(*add);
            }
        }
        Mutation::Count(count) => {
            let at = if answer { 7 } else { 5 };
            m[at] = count.index(if answer { 24 } else { 3 }) as u8;
        }
        Mutation::CompressFirstName => {
            let first = b.name_bytes.first().copied().unwrap_or(12);
            m[first] = 0xc0;
            if let Some(next) = m.get_mut(first + 1) {
                *next = 12;
            }
        }
    }
}

/// The dotted name if every byte can match `*` (letters, digits, `-`, `_`), else None.
/// The addresses the DNS object may learn (issue 17): no this-network, loopback, link-local,
/// multicast, reserved or broadcast IPv4 address; no IPv6 address in ::/96 or ::ffff:0:0/96,
/// no link-local or multicast one.
fn learnable(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            o[0] != 0 && !a.is_loopback() && !a.is_link_local() && o[0] < 224
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            let low96_zero_or_mapped =
                s[..5].iter().all(|x| *x == 0) && (s[5] == 0 || s[5] == 0xffff);
            !low96_zero_or_mapped && !a.is_multicast() && (s[0] & 0xffc0) != 0xfe80
        }
    }
}

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

#[derive(Debug, Clone)]
struct QueryCase {
    v6: bool,
    id: u16,
    name: String,
    aaaa: bool,
    mutation: Mutation,
}

#[test]
fn query_parser_agrees_with_hickory() {
    if !kernel_tests_enabled() {
        return;
    }
    let tables = DnsTables::compile(&[(0, glob("*"))], &DnsLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let dns = load(&tables, &DnsConfig::default());
    let cases = (
        any::<bool>(),
        any::<u16>(),
        name(),
        any::<bool>(),
        mutation(),
    )
        .prop_map(|(v6, id, name, aaaa, mutation)| QueryCase {
            v6,
            id,
            name,
            aaaa,
            mutation,
        });
    let seen = RefCell::new([0usize; 3]);
    runner()
        .run(&cases, |case| {
            let mut built = build_query(case.id, &case.name, case.aaaa);
            mutate(&mut built, &case.mutation, false);
            let message = built.bytes;
            let id = u16::from_be_bytes([
                message.first().copied().unwrap_or(0),
                message.get(1).copied().unwrap_or(0),
            ]);
            dns.clear_state().unwrap_or_else(|e| panic!("{e}"));
            let run = dns
                .run_query(&query_frame(case.v6, &message))
                .unwrap_or_else(|e| panic!("{e}"));
            let got = match run.return_value {
                TCX_NEXT => {
                    let pending = dns
                        .pending(endpoint(case.v6), CLIENT_PORT, id)
                        .unwrap_or_else(|e| panic!("{e}"));
                    prop_assert!(pending.is_some(), "passed without a pending entry");
                    QueryVerdict::Pending(pending.map_or(0, |p| p.name_hash))
                }
                TC_ACT_REDIRECT => QueryVerdict::Refused,
                TCX_DROP => QueryVerdict::Dropped,
                other => return Err(TestCaseError::fail(format!("return value {other}"))),
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
            prop_assert_eq!(&got, &expected, "message {:02x?}", message);
            seen.borrow_mut()[match got {
                QueryVerdict::Pending(_) => 0,
                QueryVerdict::Refused => 1,
                QueryVerdict::Dropped => 2,
            }] += 1;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = seen.into_inner();
    eprintln!("pending/refused/dropped: {seen:?}");
    assert!(
        seen.iter().all(|n| *n > 10),
        "every outcome is exercised: {seen:?}"
    );
}

#[derive(Debug, Clone)]
struct AnswerCase {
    v6: bool,
    id: u16,
    name: String,
    records: Vec<Record>,
    mutation: Mutation,
}

#[test]
fn answer_parser_agrees_with_hickory() {
    if !kernel_tests_enabled() {
        return;
    }
    let tables = DnsTables::compile(&[(0, glob("*"))], &DnsLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let dns = load(&tables, &DnsConfig::default());
    let cases = (
        any::<bool>(),
        any::<u16>(),
        valid_name(),
        collection::vec(record(), 0..20),
        mutation(),
    )
        .prop_map(|(v6, id, name, records, mutation)| AnswerCase {
            v6,
            id,
            name,
            records,
            mutation,
        });
    let (learned_cases, rejected_cases) = (Cell::new(0usize), Cell::new(0usize));
    runner()
        .run(&cases, |case| {
            let (v6, id, name) = (case.v6, case.id, case.name.as_str());
            dns.clear_state().unwrap_or_else(|e| panic!("{e}"));
            let run = dns
                .run_query(&query_frame(v6, &query_message(id, name, false)))
                .unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(run.return_value, TCX_NEXT, "query allowed");
            let mut built = build_answer(id, name, &case.records);
            mutate(&mut built, &case.mutation, true);
            let message = built.bytes;
            let unparseable_before = counter(&dns, DnsCounter::Unparseable);
            let run = dns
                .run_answer(&answer_frame(v6, &message))
                .unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(run.return_value, TCX_NEXT, "answers always pass");
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
                            .filter(|a| learnable(*a))
                            .collect()
                    }
                }
            };
            prop_assert_eq!(&got, &expected, "message {:02x?}", message);
            if got.is_empty() {
                if counter(&dns, DnsCounter::Unparseable) > unparseable_before {
                    rejected_cases.set(rejected_cases.get() + 1);
                }
            } else {
                learned_cases.set(learned_cases.get() + 1);
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (learned_cases, rejected_cases) = (learned_cases.get(), rejected_cases.get());
    eprintln!("learned in {learned_cases} cases, rejected as unparseable in {rejected_cases}");
    assert!(learned_cases > 100 && rejected_cases > 100);
}
