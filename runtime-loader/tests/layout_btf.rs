//! One definition per fact between `bpf-templates/` and Rust: for each shared header
//! (`policyc_layout.h`, `dns_layout.h`, `fqdn_learned.h`) its Rust mirror, a
//! `policyc_backends::c_layout::CHeader` whose struct fields come from the `#[repr(C)]` types
//! themselves (`offset_of!`/`size_of`) and whose constants come from their declarations, must
//! match the BTF of every object compiled from the header: struct sizes, field names, offsets,
//! sizes and order; every enumerator and its value (the headers' numeric constants are
//! enumerators so that the BTF carries them). The header's text must define no struct, enum or
//! #define that the mirror does not cover, and every map's key and value sizes are those of the
//! Rust types. Changing a field order, a size or a value on one side only fails here.

use std::collections::BTreeMap;

use libbpf_rs::btf::types::{Array, Composite, Enum, MemberAttr};
use libbpf_rs::btf::{Btf, BtfKind, BtfType, HasSize, TypeId};
use libbpf_rs::MapType;
use policyc_backends::c_layout::{size_u32, CField, CHeader};
use policyc_backends::dns::map_names as dns_maps;
use policyc_backends::dns_layout::{
    DfaRow, DnsClasses, DnsConfigValue, DnsName, NameIpsValue, OwnedValue, PendingKey,
    PendingValue, COUNTER_COUNT, NAMES_MAX_ENTRIES, NAME_IPS_MAX_ENTRIES, OWNERS_MAX_ENTRIES,
};
use policyc_backends::fqdn::{LearnedKey, LearnedValue, LEARNED_MAP, LEARNED_MAX_ENTRIES};
use policyc_backends::layout::{
    map_names, ArrayIndex, ClassKey, ClassValue, CtKey, CtValue, FragKey, FragValue, Interval,
    IpcacheKey, IpcacheValue, L7RedirectKey, L7RedirectValue, PortfnKey, PortfnValue, RuleCounter,
    EVENTS_RING_BYTES, REASON_SLOTS,
};
use policyc_backends::{dns_layout, fqdn, layout, DATAPATH_OBJECT, DNS_OBJECT};
use test_case::test_case;

/// Each shared header, and the objects compiled from it.
fn header(file: &str) -> (CHeader, Vec<(&'static str, &'static [u8])>) {
    match file {
        "policyc_layout.h" => (layout::HEADER, vec![("datapath", DATAPATH_OBJECT)]),
        "dns_layout.h" => (dns_layout::HEADER, vec![("dns", DNS_OBJECT)]),
        "fqdn_learned.h" => (
            fqdn::HEADER,
            vec![("datapath", DATAPATH_OBJECT), ("dns", DNS_OBJECT)],
        ),
        other => panic!("no mirror of {other}"),
    }
}

fn btf(object: &'static [u8]) -> Btf<'static> {
    Btf::from_raw("policyc", object)
        .unwrap_or_else(|e| panic!("parsing BTF: {e}"))
        .unwrap_or_else(|| panic!("the object has no BTF"))
}

/// Size in bytes of a BTF type (typedefs and qualifiers skipped).
fn type_size(btf: &Btf<'_>, id: TypeId) -> usize {
    let ty: BtfType<'_> = btf
        .type_by_id(id)
        .unwrap_or_else(|| panic!("type {id:?} is not in the BTF"));
    let ty = ty.skip_mods_and_typedefs();
    match ty.kind() {
        BtfKind::Array => {
            let array = Array::try_from(ty).unwrap_or_else(|_| panic!("array"));
            array.capacity() * type_size(btf, array.ty())
        }
        BtfKind::Struct | BtfKind::Union => Composite::try_from(ty)
            .unwrap_or_else(|_| panic!("composite"))
            .size(),
        BtfKind::Enum => Enum::try_from(ty).unwrap_or_else(|_| panic!("enum")).size(),
        BtfKind::Int => libbpf_rs::btf::types::Int::try_from(ty)
            .unwrap_or_else(|_| panic!("int"))
            .size(),
        other => panic!("no size for a {other:?} member"),
    }
}

/// A field as (name, offset, size).
type Field = (String, usize, usize);

fn rust_fields(fields: &[CField]) -> Vec<Field> {
    fields
        .iter()
        .map(|f| (f.name.to_owned(), f.offset, f.size))
        .collect()
}

/// (size, fields in declaration order) of `struct name` in an object's BTF.
fn btf_struct(btf: &Btf<'_>, name: &str) -> (usize, Vec<Field>) {
    let s: Composite<'_> = btf
        .type_by_name(name)
        .unwrap_or_else(|| panic!("struct {name} is not in the object's BTF"));
    let fields = s
        .iter()
        .map(|member| {
            let field = member
                .name
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let MemberAttr::Normal { offset } = member.attr else {
                panic!("{name}.{field} is a bitfield");
            };
            let size = type_size(btf, member.ty);
            (field, offset as usize / 8, size)
        })
        .collect();
    (s.size(), fields)
}

fn btf_enum(btf: &Btf<'_>, name: &str) -> BTreeMap<String, u64> {
    let e: Enum<'_> = btf
        .type_by_name(name)
        .unwrap_or_else(|| panic!("enum {name} is not in the object's BTF"));
    e.iter()
        .map(|m| {
            let name = m
                .name
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let value = u64::try_from(m.value)
                .unwrap_or_else(|_| panic!("{name} is negative ({})", m.value));
            (name, value)
        })
        .collect()
}

#[test_case("policyc_layout.h" ; "policyc_layout")]
#[test_case("dns_layout.h" ; "dns_layout")]
#[test_case("fqdn_learned.h" ; "fqdn_learned")]
fn structs_match_btf_field_by_field(file: &str) {
    let (header, objects) = header(file);
    for (object_name, object) in objects {
        let btf = btf(object);
        for layout in header.structs {
            let (size, fields) = btf_struct(&btf, layout.c_name);
            assert_eq!(
                (size, fields),
                (layout.size, rust_fields(layout.fields)),
                "struct {} in the {object_name} object (C) vs the Rust type",
                layout.c_name
            );
        }
        for (name, _) in header.bpf_only {
            btf_struct(&btf, name);
        }
    }
}

#[test_case("policyc_layout.h" ; "policyc_layout")]
#[test_case("dns_layout.h" ; "dns_layout")]
#[test_case("fqdn_learned.h" ; "fqdn_learned")]
fn enums_and_constants_match_btf(file: &str) {
    let (header, objects) = header(file);
    for (object_name, object) in objects {
        let btf = btf(object);
        for e in header.enums {
            let rust: BTreeMap<String, u64> = e
                .values
                .iter()
                .map(|(name, value)| ((*name).to_owned(), *value))
                .collect();
            assert_eq!(
                btf_enum(&btf, e.c_name),
                rust,
                "enum {} in the {object_name} object (C) vs Rust",
                e.c_name
            );
        }
    }
}

/// What a header defines at the top level: struct and enum tags, and `#define`s.
#[derive(Debug, Default)]
struct HeaderText {
    structs: Vec<String>,
    enums: Vec<String>,
    defines: BTreeMap<String, String>,
}

fn header_text(file: &str) -> HeaderText {
    let path = format!("{}/../bpf-templates/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = HeaderText::default();
    for line in text.lines() {
        let tag = |prefix: &str| {
            let rest = line.strip_prefix(prefix)?.strip_suffix('{')?.trim();
            (!rest.is_empty()).then(|| rest.to_owned())
        };
        if let Some(name) = tag("struct ") {
            out.structs.push(name);
        } else if let Some(name) = tag("enum ") {
            out.enums.push(name);
        } else if let Some(define) = line.strip_prefix("#define ") {
            let (name, value) = define
                .split_once(char::is_whitespace)
                .unwrap_or((define, ""));
            out.defines.insert(name.to_owned(), value.trim().to_owned());
        }
    }
    out
}

#[test_case("policyc_layout.h" ; "policyc_layout")]
#[test_case("dns_layout.h" ; "dns_layout")]
#[test_case("fqdn_learned.h" ; "fqdn_learned")]
fn every_struct_enum_and_define_of_the_header_is_mirrored(file: &str) {
    let (header, _) = header(file);
    let text = header_text(file);
    let mut c_structs = text.structs.clone();
    c_structs.sort();
    let mut rust_structs: Vec<String> = header
        .structs
        .iter()
        .map(|s| s.c_name.to_owned())
        .chain(header.bpf_only.iter().map(|(name, _)| (*name).to_owned()))
        .collect();
    rust_structs.sort();
    assert_eq!(c_structs, rust_structs, "structs of {file}");
    let mut c_enums = text.enums.clone();
    c_enums.sort();
    let mut rust_enums: Vec<String> = header.enums.iter().map(|e| e.c_name.to_owned()).collect();
    rust_enums.sort();
    assert_eq!(c_enums, rust_enums, "enums of {file}");
    // #defines: the include guard, and the string names Rust mirrors. A numeric constant must
    // be an enumerator (above), or the object's BTF would not carry it.
    let strings: BTreeMap<String, String> = text
        .defines
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| {
            let unquoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
            let unquoted = unquoted.unwrap_or_else(|| {
                panic!("{file}: #define {name} {value} is not a string: make it an enumerator")
            });
            (name.clone(), unquoted.to_owned())
        })
        .collect();
    let rust: BTreeMap<String, String> = header
        .strings
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    assert_eq!(strings, rust, "string #defines of {file}");
}

/// One map of an object: its name, type (when it matters) and the key/value sizes of the Rust
/// types that fill or read it.
struct MapSpec {
    object: &'static [u8],
    name: &'static str,
    key: u32,
    value: u32,
    max_entries: Option<u32>,
    map_type: Option<MapType>,
}

fn spec(object: &'static [u8], name: &'static str, key: u32, value: u32) -> MapSpec {
    MapSpec {
        object,
        name,
        key,
        value,
        max_entries: None,
        map_type: None,
    }
}

fn map_specs() -> Vec<MapSpec> {
    let index = size_u32::<ArrayIndex>();
    let mut specs = vec![
        spec(
            DATAPATH_OBJECT,
            map_names::IPCACHE,
            size_u32::<IpcacheKey>(),
            size_u32::<IpcacheValue>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::CLASS,
            size_u32::<ClassKey>(),
            size_u32::<ClassValue>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::PORTFN,
            size_u32::<PortfnKey>(),
            size_u32::<PortfnValue>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::INTERVALS,
            index,
            size_u32::<Interval>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::CT,
            size_u32::<CtKey>(),
            size_u32::<CtValue>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::CT_IN,
            size_u32::<CtKey>(),
            size_u32::<CtValue>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::L7_REDIRECT,
            size_u32::<L7RedirectKey>(),
            size_u32::<L7RedirectValue>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::FRAG,
            size_u32::<FragKey>(),
            size_u32::<FragValue>(),
        ),
        spec(
            DATAPATH_OBJECT,
            map_names::COUNTERS,
            index,
            size_u32::<RuleCounter>(),
        ),
        MapSpec {
            max_entries: Some(2 * REASON_SLOTS),
            ..spec(
                DATAPATH_OBJECT,
                map_names::DROPS,
                index,
                size_u32::<RuleCounter>(),
            )
        },
        spec(
            DNS_OBJECT,
            dns_maps::CONFIG,
            index,
            size_u32::<DnsConfigValue>(),
        ),
        spec(
            DNS_OBJECT,
            dns_maps::CLASSES,
            index,
            size_u32::<DnsClasses>(),
        ),
        spec(DNS_OBJECT, dns_maps::DFA, index, size_u32::<DfaRow>()),
        spec(
            DNS_OBJECT,
            dns_maps::EXACT,
            size_u32::<DnsName>(),
            size_u32::<u64>(),
        ),
        spec(
            DNS_OBJECT,
            dns_maps::PENDING,
            size_u32::<PendingKey>(),
            size_u32::<PendingValue>(),
        ),
        MapSpec {
            max_entries: Some(NAMES_MAX_ENTRIES),
            ..spec(
                DNS_OBJECT,
                dns_maps::NAMES,
                size_u32::<LearnedKey>(),
                size_u32::<DnsName>(),
            )
        },
        MapSpec {
            max_entries: Some(COUNTER_COUNT),
            ..spec(DNS_OBJECT, dns_maps::COUNTERS, index, size_u32::<u64>())
        },
        MapSpec {
            max_entries: Some(OWNERS_MAX_ENTRIES),
            map_type: Some(MapType::Hash),
            ..spec(
                DNS_OBJECT,
                dns_maps::OWNED,
                size_u32::<u32>(),
                size_u32::<OwnedValue>(),
            )
        },
        MapSpec {
            max_entries: Some(NAME_IPS_MAX_ENTRIES),
            map_type: Some(MapType::LruHash),
            ..spec(
                DNS_OBJECT,
                dns_maps::NAME_IPS,
                size_u32::<u64>(),
                size_u32::<NameIpsValue>(),
            )
        },
    ];
    for object in [DATAPATH_OBJECT, DNS_OBJECT] {
        // The DNS stage reuses the datapath's pinned ring and the node-wide learned map: the
        // same definition in both objects.
        specs.push(MapSpec {
            max_entries: Some(EVENTS_RING_BYTES),
            map_type: Some(MapType::RingBuf),
            ..spec(object, map_names::EVENTS, 0, 0)
        });
        specs.push(MapSpec {
            max_entries: Some(LEARNED_MAX_ENTRIES),
            map_type: Some(MapType::Hash),
            ..spec(
                object,
                LEARNED_MAP,
                size_u32::<LearnedKey>(),
                size_u32::<LearnedValue>(),
            )
        });
    }
    specs
}

#[test]
fn maps_have_the_key_and_value_sizes_of_the_rust_types() {
    let specs = map_specs();
    for (object_name, object) in [("datapath", DATAPATH_OBJECT), ("dns", DNS_OBJECT)] {
        let mut builder = libbpf_rs::ObjectBuilder::default();
        let open = builder
            .open_memory(object)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut checked = 0;
        for map in open.maps() {
            let name = map.name().to_string_lossy().into_owned();
            if name.contains('.') {
                continue; // the object's data sections (<name>.rodata)
            }
            let Some(spec) = specs
                .iter()
                .find(|s| std::ptr::eq(s.object, object) && s.name == name)
            else {
                // Maps no Rust type fills: the per-CPU scratch and TCP streams of the DNS object and the
                // datapath's per-peer event budgets and FQDN walk scratch (private to the program).
                assert!(
                    matches!(
                        (object_name, name.as_str()),
                        ("dns", "pc_dns_scratch" | "pc_dns_tcp")
                            | ("datapath", "pc_ev_budget" | "pc_fqdn_best")
                    ),
                    "{object_name}: map {name} has no Rust type"
                );
                continue;
            };
            assert_eq!(
                (map.key_size(), map.value_size()),
                (spec.key, spec.value),
                "key and value sizes of {name} in the {object_name} object"
            );
            if let Some(max) = spec.max_entries {
                assert_eq!(map.max_entries(), max, "max_entries of {name}");
            }
            if let Some(map_type) = spec.map_type {
                assert_eq!(map.map_type(), map_type, "type of {name}");
            }
            checked += 1;
        }
        let expected = specs
            .iter()
            .filter(|s| std::ptr::eq(s.object, object))
            .count();
        assert_eq!(checked, expected, "maps found in the {object_name} object");
    }
}
