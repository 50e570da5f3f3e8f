//! The Rust mirrors in `policyc_backends::layout` match the compiled object's BTF: struct sizes,
//! field names and offsets, enum values, map key/value sizes, and the header's #defines.

use std::collections::BTreeMap;

use libbpf_rs::btf::types::Enum;
use libbpf_rs::btf::Btf;
use policyc_backends::layout::*;
use policyc_backends::DATAPATH_OBJECT;

fn btf() -> Btf<'static> {
    Btf::from_raw("policyc", DATAPATH_OBJECT)
        .unwrap_or_else(|e| panic!("parsing BTF: {e}"))
        .unwrap_or_else(|| panic!("the datapath object has no BTF"))
}

macro_rules! check_struct {
    ($object:expr, $c:literal, $rust:ty, [$($field:ident),+ $(,)?]) => {{
        let (size, fields) = crate::common::btf_struct($object, $c);
        assert_eq!(size, size_of::<$rust>(), "size of {}", $c);
        let rust: BTreeMap<String, usize> =
            [$((stringify!($field).to_owned(), std::mem::offset_of!($rust, $field))),+]
                .into_iter()
                .collect();
        assert_eq!(fields, rust, "fields and offsets of {}", $c);
    }};
}

#[test]
fn structs_match_btf() {
    let b = DATAPATH_OBJECT;
    check_struct!(
        b,
        "policyc_config",
        PolicycConfig,
        [
            endpoint_id,
            world_identity_ipv4,
            world_identity_ipv6,
            unknown_class,
            enforced,
            default_verdict,
            l7_fallback_allow_l4,
            allow_localhost,
            emit_allow_events,
            allow_neighbor_discovery,
            pad1,
            ct_lifetime_tcp_ns,
            ct_lifetime_other_ns,
            frag_lifetime_ns,
            fqdn_mask,
            source_addrs,
            source_families,
            pad2,
        ]
    );
    check_struct!(
        b,
        "policyc_ipcache_key",
        IpcacheKey,
        [prefixlen, family, pad, addr]
    );
    check_struct!(b, "policyc_ipcache_value", IpcacheValue, [identity, flags]);
    check_struct!(b, "policyc_class_key", ClassKey, [identity, direction, pad]);
    check_struct!(b, "policyc_class_value", ClassValue, [class_id]);
    check_struct!(
        b,
        "policyc_portfn_key",
        PortfnKey,
        [id, direction, protocol, kind, pad]
    );
    check_struct!(
        b,
        "policyc_portfn_value",
        PortfnValue,
        [
            default_verdict,
            inline_count,
            pad,
            default_rule_id,
            first,
            count,
            ranges
        ]
    );
    check_struct!(
        b,
        "policyc_interval",
        Interval,
        [lo, hi, verdict, pad, rule_id]
    );
    check_struct!(
        b,
        "policyc_ct_key",
        CtKey,
        [src, dst, sport, dport, protocol, family, direction, pad]
    );
    check_struct!(
        b,
        "policyc_ct_value",
        CtValue,
        [expires_ns, packets, bytes, rule_id, reason, pad]
    );
    check_struct!(
        b,
        "policyc_frag_key",
        FragKey,
        [src, dst, id, protocol, family, direction, pad]
    );
    check_struct!(
        b,
        "policyc_frag_value",
        FragValue,
        [expires_ns, rule_id, pad]
    );
    check_struct!(b, "policyc_rule_counter", RuleCounter, [packets, bytes]);
    check_struct!(
        b,
        "policyc_event",
        Event,
        [
            timestamp_ns,
            endpoint_id,
            identity,
            rule_id,
            pkt_len,
            port,
            direction,
            protocol,
            verdict,
            reason,
            action,
            family,
            peer_addr,
        ]
    );
}

fn btf_enum(btf: &Btf<'_>, name: &str) -> BTreeMap<String, i64> {
    let e: Enum<'_> = btf
        .type_by_name(name)
        .unwrap_or_else(|| panic!("enum {name} is not in the object's BTF"));
    e.iter()
        .map(|m| {
            (
                m.name
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                m.value,
            )
        })
        .collect()
}

macro_rules! check_enum {
    ($btf:expr, $c:literal, $rust:ty, $extra:expr) => {{
        let mut rust: BTreeMap<String, i64> = <$rust>::ALL
            .iter()
            .map(|v| (v.c_name().to_owned(), i64::from(v.code())))
            .collect();
        for (name, value) in $extra {
            rust.insert(String::from(name), value);
        }
        assert_eq!(btf_enum($btf, $c), rust, "enum {}", $c);
    }};
}

#[test]
fn enums_match_btf() {
    let btf = btf();
    let none: [(&str, i64); 0] = [];
    check_enum!(&btf, "policyc_direction", Direction, none);
    check_enum!(&btf, "policyc_family", Family, none);
    check_enum!(
        &btf,
        "policyc_verdict",
        Verdict,
        [("POLICYC_VERDICT_NONE", i64::from(VERDICT_NONE))]
    );
    check_enum!(&btf, "policyc_reason", Reason, none);
    check_enum!(&btf, "policyc_action", Action, none);
    check_enum!(&btf, "policyc_portfn_kind", PortfnKind, none);
    let identities = btf_enum(&btf, "policyc_identity");
    assert_eq!(
        identities.get("POLICYC_IDENTITY_HOST"),
        Some(&i64::from(IDENTITY_HOST))
    );
    assert_eq!(
        identities.get("POLICYC_IDENTITY_WORLD"),
        Some(&i64::from(IDENTITY_WORLD))
    );
}

#[test]
fn maps_have_the_mirrored_key_and_value_sizes() {
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let open = builder
        .open_memory(DATAPATH_OBJECT)
        .unwrap_or_else(|e| panic!("{e}"));
    let sizes: BTreeMap<String, (u32, u32)> = open
        .maps()
        .map(|m| {
            (
                m.name().to_string_lossy().into_owned(),
                (m.key_size(), m.value_size()),
            )
        })
        .collect();
    let size = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let expected = [
        (
            map_names::IPCACHE,
            size(size_of::<IpcacheKey>()),
            size(size_of::<IpcacheValue>()),
        ),
        (
            map_names::CLASS,
            size(size_of::<ClassKey>()),
            size(size_of::<ClassValue>()),
        ),
        (
            map_names::PORTFN,
            size(size_of::<PortfnKey>()),
            size(size_of::<PortfnValue>()),
        ),
        (map_names::INTERVALS, 4, size(size_of::<Interval>())),
        (
            map_names::CT,
            size(size_of::<CtKey>()),
            size(size_of::<CtValue>()),
        ),
        (
            map_names::FRAG,
            size(size_of::<FragKey>()),
            size(size_of::<FragValue>()),
        ),
        (map_names::COUNTERS, 4, size(size_of::<RuleCounter>())),
    ];
    for (name, key, value) in expected {
        assert_eq!(sizes.get(name), Some(&(key, value)), "map {name}");
    }
    assert!(
        sizes.contains_key(map_names::EVENTS),
        "ring buffer {}",
        map_names::EVENTS
    );
}

/// `#define NAME value` lines of the layout header.
fn header_defines() -> BTreeMap<String, String> {
    let header = include_str!("../../bpf-templates/policyc_layout.h");
    header
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| {
            let (name, value) = l.split_once(char::is_whitespace)?;
            Some((name.to_owned(), value.trim().trim_matches('"').to_owned()))
        })
        .collect()
}

#[test]
fn header_defines_match_rust_constants() {
    let d = header_defines();
    let get = |name: &str| {
        d.get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no #define {name}"))
    };
    assert_eq!(get("POLICYC_LAYOUT_VERSION"), LAYOUT_VERSION.to_string());
    assert_eq!(get("POLICYC_SEARCH_STEPS"), SEARCH_STEPS.to_string());
    assert_eq!(get("POLICYC_INLINE_RANGES"), INLINE_RANGES.to_string());
    assert_eq!(
        get("POLICYC_MAX_INTERVALS_PER_FUNCTION"),
        MAX_INTERVALS_PER_FUNCTION.to_string()
    );
    assert_eq!(
        get("POLICYC_MAX_IPV6_EXT_HEADERS"),
        MAX_IPV6_EXT_HEADERS.to_string()
    );
    assert_eq!(
        get("POLICYC_MAX_SOURCE_ADDRS"),
        MAX_SOURCE_ADDRS.to_string()
    );
    assert_eq!(
        1u64 << SEARCH_STEPS,
        2 * u64::from(MAX_INTERVALS_PER_FUNCTION),
        "search bound"
    );
    for (define, rust) in [
        ("POLICYC_MAP_IPCACHE", map_names::IPCACHE),
        ("POLICYC_MAP_CLASS", map_names::CLASS),
        ("POLICYC_MAP_PORTFN", map_names::PORTFN),
        ("POLICYC_MAP_INTERVALS", map_names::INTERVALS),
        ("POLICYC_MAP_CT", map_names::CT),
        ("POLICYC_MAP_FRAG", map_names::FRAG),
        ("POLICYC_MAP_EVENTS", map_names::EVENTS),
        ("POLICYC_MAP_COUNTERS", map_names::COUNTERS),
    ] {
        assert_eq!(get(define), rust, "{define}");
    }
}
