//! `status` and `dump`: what is installed, read back from bpffs pins (links → dispatcher →
//! active-generation word → programs in the active slots → generation) and generation records,
//! never from the loader's memory.

use std::path::Path;

use libbpf_rs::{MapCore, MapHandle};
use policyc_backends::layout::{
    map_names, ClassKey, ClassValue, Direction, PortfnKey, PortfnKind, Verdict,
};
use policyc_backends::{decode_overflow, decode_port_function};
use serde::Serialize;

use super::admit::{map_records, MapRecord};
use super::error::NodeError;
use super::live::{live_record, live_state, LiveState};
use super::pins::{
    direction_name, GenerationRecord, NodePaths, DIRECTIONS, GENERATION_MAPS, SHARED_MAPS,
};

/// Fill level of one pinned map.
#[derive(Debug, Clone, Serialize)]
pub struct MapFill {
    /// Map name.
    pub map: String,
    /// Entries present (arrays: their size).
    pub entries: usize,
    /// `max_entries`.
    pub capacity: u32,
}

/// One installed endpoint, as `status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointStatus {
    /// `namespace/name`.
    pub endpoint: String,
    /// `ok`, or what is wrong (interrupted first install, detached).
    pub health: String,
    /// The generation the endpoint runs (both active slots hold its programs).
    pub generation: Option<u64>,
    /// The active-generation word as read (even when the slots do not match it).
    pub active_generation: Option<u64>,
    /// Attach point.
    pub attach: Option<String>,
    /// Datapath program id per direction, from the active slot of its program array.
    pub program_ids: std::collections::BTreeMap<String, Option<u32>>,
    /// Dispatcher program id per direction, from the links.
    pub dispatcher_ids: std::collections::BTreeMap<String, Option<u32>>,
    /// DNS stage program id per direction, from the active slot of its DNS program array
    /// (the DNS program, or the pass-through of a generation without `rules.dns`); empty for
    /// an endpoint without a DNS stage (cgroup_skb).
    pub dns_program_ids: std::collections::BTreeMap<String, Option<u32>>,
    /// sha256 of the artifact's manifest.json.
    pub artifact_digest: Option<String>,
    /// The build's input digest.
    pub input_digest: Option<String>,
    /// Artifact directory.
    pub artifact_dir: Option<String>,
    /// Map fill levels.
    pub maps: Vec<MapFill>,
}

/// Entries and capacity of a pinned map.
pub fn fill_level(path: &Path) -> Option<(usize, u32)> {
    let handle = MapHandle::from_pinned_path(path).ok()?;
    let capacity = handle.max_entries();
    let entries = match handle.map_type() {
        libbpf_rs::MapType::Array | libbpf_rs::MapType::PercpuArray => capacity as usize,
        libbpf_rs::MapType::RingBuf => 0,
        _ => handle.keys().count(),
    };
    Some((entries, capacity))
}

/// The health line of an endpoint: `ok` when both dispatchers are attached and both active
/// slots hold exactly the programs recorded for the active generation (one artifact digest).
fn health(live: &LiveState, record: Option<&GenerationRecord>) -> String {
    let links = live
        .link_program_ids
        .iter()
        .filter(|(_, id)| id.is_some())
        .count();
    if links == 0 {
        return "not attached (no pinned links; an interrupted first install or unload?): re-run apply, or unload".into();
    }
    if links < DIRECTIONS.len() {
        return "partially attached (an interrupted first install or unload): re-run apply, or unload".into();
    }
    let Some(active) = live.active_generation else {
        return "no dispatcher pinned (installed by an older loader?): unload it and apply".into();
    };
    let Some(record) = record else {
        return format!("record missing for the active generation {active}");
    };
    if !live.links_on(&record.attach) {
        return format!(
            "DETACHED: the dispatcher links are no longer on {} (interface or cgroup gone or recreated?); re-run apply",
            record.attach
        );
    }
    for (direction, slot) in &live.slot_program_ids {
        let recorded = record.program_ids.get(direction_name(*direction)).copied();
        if slot.is_none() || *slot != recorded {
            return format!(
                "INCONSISTENT: the {} slot of generation {active} holds {} but its record says {}",
                direction_name(*direction),
                slot.map_or("nothing".into(), |id| format!("program {id}")),
                recorded.map_or("nothing".into(), |id| format!("program {id}")),
            );
        }
    }
    "ok".into()
}

/// The DNS part of the health line: a tcx endpoint runs its DNS stage right after the main
/// dispatchers, on the same interface, with the active generation's DNS programs (or the
/// pass-through) in the active DNS slots.
fn dns_stage_health(
    paths: &NodePaths,
    endpoint: &str,
    record: Option<&GenerationRecord>,
    stage: Option<&super::dns::dispatch::StageState>,
) -> String {
    let Some(super::pins::AttachPoint::Tcx { ifindex, .. }) = record.map(|r| &r.attach) else {
        return "ok".into();
    };
    let Some(stage) = stage else {
        return "no DNS stage pinned (installed by an older loader?): re-run apply".into();
    };
    stage
        .problem(paths, endpoint, *ifindex)
        .unwrap_or_else(|| "ok".into())
}

/// Status of every installed endpoint.
pub fn status(paths: &NodePaths) -> Result<Vec<EndpointStatus>, NodeError> {
    let mut out = Vec::new();
    // An apply killed between two endpoints' flips: the endpoints it left behind are not ok,
    // whatever their own state (they run one whole generation, just not the one the others
    // already run).
    let journal = super::journal::read(paths)?;
    for endpoint in paths.installed_endpoints()? {
        let live = live_state(paths, &endpoint);
        let record = live
            .active_generation
            .filter(|g| *g > 0)
            .and_then(|g| paths.read_record(&endpoint, g).ok());
        let stage = live
            .active_generation
            .and_then(|g| super::dns::dispatch::stage_state(paths, &endpoint, g));
        let mut health = health(&live, record.as_ref());
        if health == "ok" {
            health = dns_stage_health(paths, &endpoint, record.as_ref(), stage.as_ref());
        }
        if let Some(problem) = journal
            .as_ref()
            .and_then(|j| j.problem(&endpoint, live.generation()))
        {
            health = problem;
        }
        let generation = live.generation();
        let mut maps = Vec::new();
        if let Some(g) = generation {
            for map in GENERATION_MAPS.iter().chain(SHARED_MAPS.iter()) {
                if let Some((entries, capacity)) = fill_level(&paths.map(&endpoint, g, map)) {
                    maps.push(MapFill {
                        map: (*map).to_owned(),
                        entries,
                        capacity,
                    });
                }
            }
        }
        let by_direction = |ids: &[(Direction, Option<u32>)]| {
            ids.iter()
                .map(|(d, id)| (direction_name(*d).to_owned(), *id))
                .collect()
        };
        out.push(EndpointStatus {
            program_ids: by_direction(&live.slot_program_ids),
            dispatcher_ids: by_direction(&live.link_program_ids),
            dns_program_ids: stage
                .as_ref()
                .map_or_else(Default::default, |st| by_direction(&st.slots)),
            active_generation: live.active_generation,
            attach: record.as_ref().map(|r| r.attach.to_string()),
            artifact_digest: record.as_ref().map(|r| r.artifact_digest.clone()),
            input_digest: record.as_ref().map(|r| r.manifest.input_digest.clone()),
            artifact_dir: record
                .as_ref()
                .map(|r| r.artifact_dir.display().to_string()),
            endpoint,
            health,
            generation,
            maps,
        });
    }
    Ok(out)
}

/// One port interval of a class's port function, decoded from the live maps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpInterval {
    /// First port (ICMP type for ICMP).
    pub lo: u16,
    /// Last port.
    pub hi: u16,
    /// Verdict name.
    pub verdict: String,
    /// Datapath rule id (0 = none).
    pub rule_id: u32,
    /// The rule with provenance, when there is one.
    pub rule: Option<String>,
}

/// A class's port function for one protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpFunction {
    /// IP protocol (0 = any other).
    pub protocol: u8,
    /// Intervals covering 0..=65535.
    pub intervals: Vec<DumpInterval>,
}

/// An identity class of one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpClass {
    /// Class id.
    pub class_id: u32,
    /// Identities mapped to it, with labels.
    pub identities: Vec<(u32, String)>,
    /// Port functions.
    pub functions: Vec<DumpFunction>,
}

/// A peer identity carrying its own port functions (no `pc_class` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpPeer {
    /// Peer identity.
    pub identity: u32,
    /// Its labels.
    pub labels: String,
    /// Port functions.
    pub functions: Vec<DumpFunction>,
}

/// Decoded live policy of one endpoint and direction. Peers with neither a class entry nor
/// functions of their own get the unknown class's functions (a class without identities).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpDirection {
    /// `ingress` / `egress`.
    pub direction: String,
    /// Classes, by id.
    pub classes: Vec<DumpClass>,
    /// Identity-keyed peers, by identity.
    pub identity_keyed: Vec<DumpPeer>,
}

/// `dump --endpoint X`.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointDump {
    /// `namespace/name`.
    pub endpoint: String,
    /// Live generation (the active-generation word; both slots hold its programs).
    pub generation: u64,
    /// sha256 of the artifact's manifest.json.
    pub artifact_digest: String,
    /// Datapath program id per direction in the live generation's slots.
    pub program_ids: std::collections::BTreeMap<String, u32>,
    /// The live generation's DNS programs (`query`, `answer`) pinned for its DNS slots; empty
    /// when it has no `rules.dns` (its DNS slots hold the pass-through programs).
    pub dns_program_ids: std::collections::BTreeMap<String, u32>,
    /// Where the port functions come from. Classes are always the live `pc_class`.
    pub functions_from: FunctionsFrom,
    /// Per direction.
    pub directions: Vec<DumpDirection>,
}

/// Source of the port functions `dump` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionsFrom {
    /// The live `pc_portfn` / `pc_intervals` maps.
    Maps,
    /// A `--specialize` endpoint, whose decision is code: the decision images of the applied
    /// artifact (same digest as the live generation).
    Artifact,
}

fn open_map(
    paths: &NodePaths,
    endpoint: &str,
    generation: u64,
    map: &str,
) -> Result<MapHandle, NodeError> {
    MapHandle::from_pinned_path(paths.map(endpoint, generation, map))
        .map_err(NodeError::kernel(endpoint, format!("opening pinned {map}")))
}

fn verdict_name(code: u8) -> String {
    match Verdict::from_code(code) {
        Some(Verdict::Allow) => "allow".into(),
        Some(Verdict::Deny) => "deny".into(),
        Some(Verdict::DefaultDeny) => "default-deny".into(),
        Some(Verdict::RedirectL7) => "redirect-l7".into(),
        Some(Verdict::AuthRequired) => "auth-required".into(),
        None => format!("verdict#{code}"),
    }
}

/// Decodes the live class, port-function and interval maps of an endpoint.
pub fn dump(paths: &NodePaths, endpoint: &str) -> Result<EndpointDump, NodeError> {
    if !paths.endpoint_dir(endpoint).exists() {
        return Err(NodeError::UnknownEndpoint(format!(
            "{endpoint} (not installed)"
        )));
    }
    let record = live_record(paths, endpoint)?;
    let g = record.generation;
    let classes = open_map(paths, endpoint, g, map_names::CLASS)?;
    let manifest = &record.manifest;
    let specialized = manifest.endpoint(endpoint).is_some_and(|e| e.specialized);
    let (portfn_records, interval_records) = if specialized {
        decision_records(&record, endpoint)?
    } else {
        (
            map_records(
                &open_map(paths, endpoint, g, map_names::PORTFN)?,
                endpoint,
                map_names::PORTFN,
            )?,
            map_records(
                &open_map(paths, endpoint, g, map_names::INTERVALS)?,
                endpoint,
                map_names::INTERVALS,
            )?,
        )
    };

    let mut directions = Vec::new();
    for direction in [Direction::Ingress, Direction::Egress] {
        let mut by_class: std::collections::BTreeMap<u32, DumpClass> = Default::default();
        for key in classes.keys() {
            let Some(k) = ClassKey::decode(&key) else {
                continue;
            };
            if k.direction != direction.code() {
                continue;
            }
            let value = super::map_ops::lookup(&classes, endpoint, map_names::CLASS, &key)?;
            let Some(class_id) = value
                .as_deref()
                .and_then(ClassValue::decode)
                .map(|v| v.class_id)
            else {
                continue;
            };
            by_class
                .entry(class_id)
                .or_insert_with(|| DumpClass {
                    class_id,
                    identities: Vec::new(),
                    functions: Vec::new(),
                })
                .identities
                .push((k.identity, manifest.identity_labels(k.identity)));
        }
        let overflow = decode_overflow(&interval_records).unwrap_or_default();
        let mut by_identity: std::collections::BTreeMap<u32, DumpPeer> = Default::default();
        for (key, value) in &portfn_records {
            let Some(k) = PortfnKey::decode(key) else {
                continue;
            };
            if k.direction != direction.code() {
                continue;
            }
            let Some(function) = decode_port_function(value, &overflow) else {
                continue;
            };
            let out: Vec<DumpInterval> = function
                .intervals()
                .iter()
                .map(|iv| DumpInterval {
                    lo: iv.lo,
                    hi: iv.hi,
                    verdict: verdict_name(iv.verdict.code()),
                    rule_id: iv.rule_id,
                    rule: manifest.rule(iv.rule_id).map(|r| r.describe()),
                })
                .collect();
            let function = DumpFunction {
                protocol: k.protocol,
                intervals: out,
            };
            if k.kind == PortfnKind::Identity.code() {
                by_identity
                    .entry(k.id)
                    .or_insert_with(|| DumpPeer {
                        identity: k.id,
                        labels: manifest.identity_labels(k.id),
                        functions: Vec::new(),
                    })
                    .functions
                    .push(function);
            } else {
                by_class
                    .entry(k.id)
                    .or_insert_with(|| DumpClass {
                        class_id: k.id,
                        identities: Vec::new(),
                        functions: Vec::new(),
                    })
                    .functions
                    .push(function);
            }
        }
        let mut peers: Vec<DumpPeer> = by_identity.into_values().collect();
        for peer in &mut peers {
            peer.functions.sort_by_key(|f| f.protocol);
        }
        let mut classes: Vec<DumpClass> = by_class.into_values().collect();
        for class in &mut classes {
            class.identities.sort();
            class.functions.sort_by_key(|f| f.protocol);
        }
        directions.push(DumpDirection {
            direction: direction_name(direction).to_owned(),
            classes,
            identity_keyed: peers,
        });
    }
    Ok(EndpointDump {
        endpoint: endpoint.to_owned(),
        generation: g,
        program_ids: record.program_ids.clone(),
        dns_program_ids: super::dns::paths::DNS_HOOKS
            .iter()
            .filter_map(|(hook, _)| {
                super::pins::pinned_program_id(&super::dns::paths::program(
                    paths, endpoint, g, hook,
                ))
                .map(|id| ((*hook).to_owned(), id))
            })
            .collect(),
        artifact_digest: record.artifact_digest,
        functions_from: if specialized {
            FunctionsFrom::Artifact
        } else {
            FunctionsFrom::Maps
        },
        directions,
    })
}

/// The port-function and interval records of a specialized endpoint's decision, from the
/// artifact its live generation was applied from (which must still be that artifact).
fn decision_records(
    record: &GenerationRecord,
    endpoint: &str,
) -> Result<(Vec<MapRecord>, Vec<MapRecord>), NodeError> {
    let artifact = super::artifact::Artifact::open(&record.artifact_dir)?;
    if artifact.digest != record.artifact_digest {
        return Err(NodeError::State {
            endpoint: endpoint.to_owned(),
            problem: format!(
                "its decision is compiled into the program and {} no longer holds the artifact it was applied from; dump needs that artifact",
                record.artifact_dir.display()
            ),
        });
    }
    let images = artifact.decision_images(endpoint)?;
    let entries = |name: &str| {
        images
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.entries.clone())
            .unwrap_or_default()
    };
    Ok((entries(map_names::PORTFN), entries(map_names::INTERVALS)))
}

fn protocol_name(protocol: u8) -> String {
    match protocol {
        0 => "any".into(),
        1 => "icmp".into(),
        6 => "tcp".into(),
        17 => "udp".into(),
        58 => "icmpv6".into(),
        132 => "sctp".into(),
        p => format!("proto{p}"),
    }
}

fn render_functions(out: &mut String, owner: &str, functions: &[DumpFunction]) {
    use std::fmt::Write;
    for function in functions {
        for iv in &function.intervals {
            let ports = if iv.lo == iv.hi {
                iv.lo.to_string()
            } else {
                format!("{}-{}", iv.lo, iv.hi)
            };
            let _ = writeln!(
                out,
                "  {:<6} {:<8} {:<13} {:<14} {}",
                owner,
                protocol_name(function.protocol),
                ports,
                iv.verdict,
                iv.rule.as_deref().unwrap_or("-")
            );
        }
    }
}

/// `dump -o table`.
pub fn render_dump_table(dump: &EndpointDump) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let programs: Vec<String> = dump
        .program_ids
        .iter()
        .map(|(d, id)| format!("{d}={id}"))
        .collect();
    let _ = writeln!(
        out,
        "endpoint {} (generation {}, programs {}, dns {}, artifact {})",
        dump.endpoint,
        dump.generation,
        programs.join(" "),
        if dump.dns_program_ids.is_empty() {
            "pass-through".to_owned()
        } else {
            dump.dns_program_ids
                .iter()
                .map(|(hook, id)| format!("{hook}={id}"))
                .collect::<Vec<String>>()
                .join(" ")
        },
        dump.artifact_digest
    );
    if dump.functions_from == FunctionsFrom::Artifact {
        let _ = writeln!(
            out,
            "generated program (--specialize): classes from the live pc_class map, port functions from the artifact's decision images"
        );
    }
    for direction in &dump.directions {
        let _ = writeln!(out, "\n{}:", direction.direction.to_uppercase());
        let _ = writeln!(
            out,
            "  {:<6} {:<8} {:<13} {:<14} RULE",
            "CLASS", "PROTO", "PORTS", "VERDICT"
        );
        for class in &direction.classes {
            let ids: Vec<String> = class
                .identities
                .iter()
                .map(|(id, labels)| format!("{id} [{labels}]"))
                .collect();
            let _ = writeln!(out, "  class {} ← {}", class.class_id, ids.join(", "));
            render_functions(&mut out, &class.class_id.to_string(), &class.functions);
        }
        for peer in &direction.identity_keyed {
            let _ = writeln!(
                out,
                "  identity {} [{}] (own functions)",
                peer.identity, peer.labels
            );
            render_functions(&mut out, &format!("id{}", peer.identity), &peer.functions);
        }
    }
    out
}

/// `status -o table`.
pub fn render_status_table(statuses: &[EndpointStatus]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if statuses.is_empty() {
        out.push_str("no endpoints installed\n");
    }
    for s in statuses {
        let ids = |ids: &std::collections::BTreeMap<String, Option<u32>>| {
            ids.iter()
                .map(|(d, id)| format!("{d}={}", id.map_or("-".into(), |i| i.to_string())))
                .collect::<Vec<String>>()
                .join(" ")
        };
        let _ = writeln!(
            out,
            "{}  [{}]\n  generation {} (active word {})  attach {}\n  programs {}  dispatchers {}  dns {}\n  artifact {}  inputs {}",
            s.endpoint,
            s.health,
            s.generation.map_or("-".into(), |g| g.to_string()),
            s.active_generation.map_or("-".into(), |g| g.to_string()),
            s.attach.as_deref().unwrap_or("-"),
            ids(&s.program_ids),
            ids(&s.dispatcher_ids),
            ids(&s.dns_program_ids),
            s.artifact_digest.as_deref().unwrap_or("-"),
            s.input_digest.as_deref().unwrap_or("-"),
        );
        let maps: Vec<String> = s
            .maps
            .iter()
            .map(|m| format!("{} {}/{}", m.map, m.entries, m.capacity))
            .collect();
        let _ = writeln!(out, "  maps {}", maps.join(", "));
    }
    out
}
