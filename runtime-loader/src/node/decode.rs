//! Decoding map records read back from the kernel (the inverse of the `encode` methods of
//! `policyc_backends::layout`; native byte order).

use policyc_backends::layout::{ClassKey, Interval, IpcacheKey, PortfnKey, PortfnValue};

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// `struct policyc_class_key`.
pub fn decode_class_key(b: &[u8]) -> Option<ClassKey> {
    Some(ClassKey {
        identity: u32_at(b, 0)?,
        direction: *b.get(4)?,
        pad: [0; 3],
    })
}

/// `struct policyc_class_value` → class id.
pub fn decode_class_value(b: &[u8]) -> Option<u32> {
    u32_at(b, 0)
}

/// `struct policyc_portfn_key`.
pub fn decode_portfn_key(b: &[u8]) -> Option<PortfnKey> {
    PortfnKey::decode(b)
}

/// `struct policyc_portfn_value`.
pub fn decode_portfn_value(b: &[u8]) -> Option<PortfnValue> {
    PortfnValue::decode(b)
}

/// `struct policyc_interval`.
pub fn decode_interval(b: &[u8]) -> Option<Interval> {
    Interval::decode(b)
}

/// `struct policyc_ipcache_key` → (prefix text).
pub fn decode_ipcache_key(b: &[u8]) -> Option<IpcacheKey> {
    Some(IpcacheKey {
        prefixlen: u32_at(b, 0)?,
        family: *b.get(4)?,
        pad: [0; 3],
        addr: b.get(8..24)?.try_into().ok()?,
    })
}

/// An address of `family` (4 or 6) from 16 key bytes.
pub fn address(family: u8, addr: &[u8; 16]) -> std::net::IpAddr {
    if family == 4 {
        std::net::IpAddr::from([addr[0], addr[1], addr[2], addr[3]])
    } else {
        std::net::IpAddr::from(*addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_backends::layout::ClassValue;

    #[test]
    fn records_decode_to_what_was_encoded() {
        let key = ClassKey {
            identity: 4242,
            direction: 1,
            pad: [0; 3],
        };
        assert_eq!(decode_class_key(&key.encode()), Some(key));
        assert_eq!(
            decode_class_value(&ClassValue { class_id: 7 }.encode()),
            Some(7)
        );
        let pkey = PortfnKey {
            id: 3,
            direction: 0,
            protocol: 17,
            kind: 1,
            pad: 0,
        };
        assert_eq!(decode_portfn_key(&pkey.encode()), Some(pkey));
        let iv = Interval {
            lo: 8080,
            hi: 8081,
            verdict: 4,
            pad: [0; 3],
            rule_id: 12,
        };
        assert_eq!(decode_interval(&iv.encode()), Some(iv));
        let value = PortfnValue {
            default_verdict: 3,
            inline_count: 1,
            pad: [0; 2],
            default_rule_id: 0,
            first: 9,
            count: 2,
            ranges: [
                iv,
                Interval::default(),
                Interval::default(),
                Interval::default(),
            ],
        };
        assert_eq!(decode_portfn_value(&value.encode()), Some(value));
        let ik = IpcacheKey {
            prefixlen: 56,
            family: 4,
            pad: [0; 3],
            addr: [198, 18, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        };
        assert_eq!(decode_ipcache_key(&ik.encode()), Some(ik));
    }
}
