//! The node-wide learned-address map (`policyc_backends::fqdn`) as one handle: created on its
//! own (tests) or opened from its pin (node), reused by fd by every DNS object and datapath
//! object before they load, read and written by address; plus the crafted DNS messages tests
//! use to teach it through a DNS object.

use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use libbpf_rs::{MapCore, MapFlags, MapHandle, MapType, OpenObject};
use policyc_backends::fqdn::{
    LearnedKey, LearnedValue, KEY_SIZE, LEARNED_MAP, LEARNED_MAX_ENTRIES, VALUE_SIZE,
};

use crate::error::LoaderError;

/// The node-wide learned map.
#[derive(Debug)]
pub struct LearnedMap {
    handle: MapHandle,
}

fn map_error(source: libbpf_rs::Error) -> LoaderError {
    LoaderError::Map {
        map: LEARNED_MAP.into(),
        source,
    }
}

impl LearnedMap {
    /// A fresh, empty map with the objects' definition (hash, 20-byte key, 24-byte value).
    pub fn create() -> Result<LearnedMap, LoaderError> {
        let opts = libbpf_rs::libbpf_sys::bpf_map_create_opts {
            sz: size_of::<libbpf_rs::libbpf_sys::bpf_map_create_opts>() as _,
            ..Default::default()
        };
        let handle = MapHandle::create(
            MapType::Hash,
            Some(LEARNED_MAP),
            KEY_SIZE,
            VALUE_SIZE,
            LEARNED_MAX_ENTRIES,
            &opts,
        )
        .map_err(map_error)?;
        Ok(LearnedMap { handle })
    }

    /// The map pinned at `path` (the loader pins it as `policyc_backends::fqdn::LEARNED_PIN`).
    pub fn from_pinned(path: &Path) -> Result<LearnedMap, LoaderError> {
        let handle = MapHandle::from_pinned_path(path).map_err(map_error)?;
        Ok(LearnedMap { handle })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.handle.as_fd()
    }

    /// Makes the object's `pc_dns_learned` this map (call on an opened, not yet loaded object).
    pub fn reuse_in(&self, open: &mut OpenObject) -> Result<(), LoaderError> {
        let mut map = open
            .maps_mut()
            .find(|m| m.name().to_string_lossy() == LEARNED_MAP)
            .ok_or_else(|| LoaderError::Layout(format!("the object has no map {LEARNED_MAP}")))?;
        map.reuse_fd(self.fd()).map_err(map_error)
    }

    /// Writes an entry (tests use this for expiry and bitmap cases the DNS object cannot make).
    pub fn insert(&self, ip: IpAddr, value: LearnedValue) -> Result<(), LoaderError> {
        self.handle
            .update(
                &LearnedKey::from_ip(ip).encode(),
                &value.encode(),
                MapFlags::ANY,
            )
            .map_err(map_error)
    }

    /// The entry of an address.
    pub fn get(&self, ip: IpAddr) -> Result<Option<LearnedValue>, LoaderError> {
        let value = self
            .handle
            .lookup(&LearnedKey::from_ip(ip).encode(), MapFlags::ANY)
            .map_err(map_error)?;
        Ok(value.and_then(|v| LearnedValue::decode(&v)))
    }

    /// Every entry, sorted by address.
    pub fn entries(&self) -> Result<Vec<(IpAddr, LearnedValue)>, LoaderError> {
        let mut out = Vec::new();
        for key in self.handle.keys() {
            let Some(value) = self.handle.lookup(&key, MapFlags::ANY).map_err(map_error)? else {
                continue;
            };
            let (Some(ip), Some(value)) = (
                LearnedKey::decode(&key).and_then(|k| k.ip()),
                LearnedValue::decode(&value),
            ) else {
                continue;
            };
            out.push((ip, value));
        }
        out.sort_by_key(|(ip, _)| *ip);
        Ok(out)
    }

    /// Deletes every entry.
    pub fn clear(&self) -> Result<(), LoaderError> {
        let keys: Vec<Vec<u8>> = self.handle.keys().collect();
        for key in keys {
            // An entry may vanish concurrently (a DNS object's reclaim); that is fine.
            let _ = self.handle.delete(&key);
        }
        Ok(())
    }
}

/// The `bpf_ktime_get_ns()` clock (CLOCK_MONOTONIC) now.
pub fn ktime_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// Wire form of a dotted name.
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let bytes = &label.as_bytes()[..label.len().min(63)];
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.push(0);
    out
}

/// A standard query for `name`, type A (IPv4 `want_v6 = false`) or AAAA.
pub fn query_message(id: u16, name: &str, want_v6: bool) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&wire_name(name));
    m.extend_from_slice(&[0, if want_v6 { 28 } else { 1 }, 0, 1]);
    m
}

/// The answer to [`query_message`]: the question, then one A/AAAA record per address (owner
/// compressed to the question name) with `ttl` seconds.
pub fn answer_message(id: u16, name: &str, addresses: &[IpAddr], ttl: u32) -> Vec<u8> {
    let records: Vec<(IpAddr, u32)> = addresses.iter().map(|a| (*a, ttl)).collect();
    answer_message_with_ttls(id, name, &records)
}

/// A NOERROR answer to [`query_message`] for `name` (type AAAA when the first address is
/// IPv6): the question, then one A or AAAA record per `(address, ttl seconds)`, owner
/// compressed to the question name.
pub fn answer_message_with_ttls(id: u16, name: &str, records: &[(IpAddr, u32)]) -> Vec<u8> {
    let want_v6 = records.first().is_some_and(|(a, _)| a.is_ipv6());
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1]);
    m.extend_from_slice(&u16::try_from(records.len()).unwrap_or(0).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&wire_name(name));
    m.extend_from_slice(&[0, if want_v6 { 28 } else { 1 }, 0, 1]);
    for (addr, ttl) in records {
        m.extend_from_slice(&[0xc0, 12]);
        let (rtype, rdata): (u16, Vec<u8>) = match addr {
            IpAddr::V4(v4) => (1, v4.octets().to_vec()),
            IpAddr::V6(v6) => (28, v6.octets().to_vec()),
        };
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
        m.extend_from_slice(&rdata);
    }
    m
}

/// The builders above, read back by hickory-proto (a full DNS implementation, a dev-dependency
/// only: the node does not need it).
#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
    use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

    fn read(bytes: &[u8]) -> Message {
        Message::from_vec(bytes).unwrap_or_else(|e| panic!("not a DNS message: {e}"))
    }

    fn question(message: &Message) -> (Name, RecordType, DNSClass) {
        assert_eq!(message.queries().len(), 1);
        let q = &message.queries()[0];
        (q.name().clone(), q.query_type(), q.query_class())
    }

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_query_is_a_standard_recursive_query_with_one_question() {
        for (want_v6, rtype) in [(false, RecordType::A), (true, RecordType::AAAA)] {
            let m = read(&query_message(0xbeef, "api.example.com", want_v6));
            assert_eq!(m.id(), 0xbeef);
            assert_eq!(m.message_type(), MessageType::Query);
            assert_eq!(m.op_code(), OpCode::Query);
            assert!(m.recursion_desired());
            assert!(m.answers().is_empty());
            assert_eq!(
                question(&m),
                (name("api.example.com."), rtype, DNSClass::IN)
            );
        }
    }

    #[test]
    fn a_trailing_dot_and_empty_labels_change_nothing() {
        assert_eq!(
            query_message(1, "a.b.", false),
            query_message(1, "a..b", false)
        );
        assert_eq!(
            question(&read(&query_message(1, "a.b.", false))).0,
            name("a.b.")
        );
    }

    #[test]
    fn an_answer_echoes_the_question_and_carries_every_record_with_its_ttl() {
        let records: Vec<(IpAddr, u32)> = vec![
            ("198.18.0.1".parse().unwrap_or_else(|e| panic!("{e}")), 60),
            ("fd00:aa::1".parse().unwrap_or_else(|e| panic!("{e}")), 3600),
            ("198.18.0.2".parse().unwrap_or_else(|e| panic!("{e}")), 0),
        ];
        let m = read(&answer_message_with_ttls(7, "www.cilium.io", &records));
        assert_eq!(m.id(), 7);
        assert_eq!(m.message_type(), MessageType::Response);
        assert_eq!(m.response_code(), ResponseCode::NoError);
        assert!(m.recursion_desired() && m.recursion_available());
        assert_eq!(
            question(&m),
            (name("www.cilium.io."), RecordType::A, DNSClass::IN)
        );
        let got: Vec<(Name, DNSClass, IpAddr, u32)> = m
            .answers()
            .iter()
            .map(|r| {
                let addr = match r.data() {
                    RData::A(a) => IpAddr::V4(a.0),
                    RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
                    other => panic!("not an address record: {other:?}"),
                };
                (r.name().clone(), r.dns_class(), addr, r.ttl())
            })
            .collect();
        let expected: Vec<(Name, DNSClass, IpAddr, u32)> = records
            .iter()
            .map(|&(addr, ttl)| (name("www.cilium.io."), DNSClass::IN, addr, ttl))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn an_ipv6_answer_answers_an_aaaa_question_and_one_ttl_fits_all() {
        let addrs: Vec<IpAddr> = vec!["fd00::1".parse().unwrap_or_else(|e| panic!("{e}"))];
        let m = read(&answer_message(9, "v6.example", &addrs, 30));
        assert_eq!(question(&m).1, RecordType::AAAA);
        assert_eq!(m.answers().len(), 1);
        assert_eq!(m.answers()[0].ttl(), 30);
        assert_eq!(
            answer_message(9, "v6.example", &addrs, 30),
            answer_message_with_ttls(9, "v6.example", &[(addrs[0], 30)])
        );
    }

    #[test]
    fn an_empty_answer_has_no_records() {
        let m = read(&answer_message_with_ttls(3, "none.example", &[]));
        assert!(m.answers().is_empty());
        assert_eq!(question(&m).1, RecordType::A);
    }
}
