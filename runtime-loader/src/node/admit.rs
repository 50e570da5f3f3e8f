//! `policy-loader endpoint add|remove`: admits a new endpoint (labels + IPs) into the live maps
//! of every installed endpoint without recompiling, using the artifact's `classifier.json`.
//!
//! The new endpoint's identity is numbered with the compiler's own function
//! (`policyc_ir::endpoint_identity`) over the build's label sets plus the ones admitted so far;
//! per installed endpoint and direction its *match signature* (the selected rules whose peers
//! match it, `policyc_ir::oracle::peer_matches`) is looked up in the classifier's
//! signature → class table. A signature the build never saw would need new port functions:
//! the command refuses ("needs a rebuild: <endpoint> <direction>") before writing anything.
//!
//! How a class reaches the new identity is the build's layout choice, recorded in the
//! classifier: nothing for the unknown class, a `pc_class` entry for a class-keyed class, and
//! for an identity-keyed class copies of the class's template identity's `pc_portfn` entries
//! (kind identity; the copies share the template's `pc_intervals` overflow ranges, so no array
//! grows). A rebuild with the endpoint in the inventory may choose differently (one identity
//! more can tip a class from identity- to class-keyed); the verdicts are the same, which is
//! what `testsuite/tests/e2e_loader_endpoint_add.rs` compares.
//!
//! Write order (each map update is one atomic entry): `identity → class` entries and function
//! copies in every endpoint first, then `IP → identity` in every endpoint's ipcache, so no packet from the new
//! IP is ever judged by the new identity before its class is in place (before, it is judged as
//! the prefix that covered the IP at build time, as the build would have). Removal runs in the
//! opposite order. Every kernel error stops the command ([`super::map_ops`]: a lookup that fails
//! is never taken for an absent key, so neither the IP-conflict check nor the copy of a
//! template's functions nor a removal's delete is skipped); a failed admission rolls back the
//! entries written so far, and a rollback that cannot restore an entry names it, says the maps
//! may be mixed and gives the `apply` that rewrites them. A removal stopped part-way keeps its
//! record, so running it again finishes it.
//!
//! An admitted endpoint is a PEER only: nothing is attached to its own interface and no
//! `.rodata` config is built for it, so it has no `fqdn_mask` (the mask of toFQDNs classes an
//! endpoint's own egress may use) — there is no program of its own that could read one. Its
//! toFQDNs rules as a policy subject, like the rest of its own policy, take effect once it is in
//! the inventory and the artifact is rebuilt and applied (`apply` installs its programs with the
//! compiler's mask). What admission changes for FQDN policy is only its identity in the other
//! endpoints' ipcache: an address that is now a cluster identity is judged by its identity's
//! class (the learned map only serves addresses that are not cluster identities).
//!
//! Admissions are recorded under `<state-dir>/admitted/<ns>_<name>.json` together with the
//! digest of the artifact they were computed against; an `apply` replaces the maps with the
//! artifact's images, so after a re-apply of another artifact the record is reported stale
//! (put the endpoint into the inventory and rebuild).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use libbpf_rs::{MapCore, MapHandle};
use policyc_backends::artifact::{file_digest, MANIFEST_FILE};
use policyc_backends::layout::{
    map_names, ClassKey, ClassValue, IpcacheValue, PortfnKey, PortfnKind,
};
use policyc_ir::endpoint_identity::{allocate_endpoint_identities, identity_labels};
use policyc_ir::identity::IdentityKind;
use policyc_ir::oracle::{peer_matches, Party, PeerMatch};
use policyc_ir::{Direction, Identity, Label, LabelSet, NumericIdentity, RuleId};
use serde::{Deserialize, Serialize};

use super::endpoint_input::{self, LabelKind};
use super::error::NodeError;
use super::live::live_record;
use super::map_ops::{delete_if_present, lookup, open_pinned, Journal};
use super::pins::{GenerationRecord, NodePaths};
use super::reapply::reapply_command;

pub use policyc_backends::classifier::{
    Classifier, ClassifierDirection, ClassifierEndpoint, ClassifierIdentity, ClassifierShape,
    ClassifierSignature, ClassifierTemplate,
};

/// What `endpoint add` is given.
#[derive(Debug, Clone, Default)]
pub struct AdmitRequest {
    /// `namespace/name`.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub ips: Vec<IpAddr>,
    /// Labels of the namespace; taken from the build when omitted (empty for a new namespace).
    pub namespace_labels: Option<BTreeMap<String, String>>,
    pub service_account: Option<String>,
}

/// An admitted endpoint, as recorded in the state directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmittedEndpoint {
    pub name: String,
    pub identity: u32,
    pub labels: Vec<Label>,
    pub ips: Vec<IpAddr>,
    /// sha256 of the manifest of the artifact the classes were taken from.
    pub artifact_digest: String,
}

/// What one direction of an installed endpoint needs for the new identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassWrite {
    /// An `identity → class` entry (class-keyed class).
    Class { direction: Direction, class: u32 },
    /// Copies of the template identity's `pc_portfn` entries (identity-keyed class).
    CopyFunctions { direction: Direction, template: u32 },
}

/// Protocols a `pc_portfn` key can carry (0 = fallback).
const FUNCTION_PROTOCOLS: [u8; 6] = [0, 1, 6, 17, 58, 132];

/// Everything an admission writes into one installed endpoint.
struct EndpointPlan {
    endpoint: String,
    generation: u64,
    classes: Vec<ClassWrite>,
}

fn refuse(message: impl Into<String>) -> NodeError {
    NodeError::Admission(message.into())
}

fn admitted_dir(paths: &NodePaths) -> PathBuf {
    paths.state_dir.join("admitted")
}

fn admitted_path(paths: &NodePaths, name: &str) -> PathBuf {
    admitted_dir(paths).join(format!("{}.json", NodePaths::endpoint_key(name)))
}

/// Every recorded admission, sorted by name.
pub fn admitted(paths: &NodePaths) -> Result<Vec<AdmittedEndpoint>, NodeError> {
    let dir = admitted_dir(paths);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NodeError::io(&dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(NodeError::io(&dir))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(NodeError::io(&path))?;
        out.push(
            serde_json::from_slice(&bytes).map_err(|source| NodeError::Json { path, source })?,
        );
    }
    out.sort_by(|a: &AdmittedEndpoint, b| a.name.cmp(&b.name));
    Ok(out)
}

fn write_admitted(paths: &NodePaths, record: &AdmittedEndpoint) -> Result<(), NodeError> {
    let dir = admitted_dir(paths);
    std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
    let path = admitted_path(paths, &record.name);
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(record).map_err(|source| NodeError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&tmp, text).map_err(NodeError::io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(NodeError::io(&path))
}

/// Reads and verifies the classifier of the artifact a live generation was applied from: the
/// manifest must still be the one applied, and the classifier must match its digest.
pub fn load_classifier(record: &GenerationRecord) -> Result<Classifier, NodeError> {
    let dir = &record.artifact_dir;
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest = std::fs::read(&manifest_path).map_err(NodeError::io(&manifest_path))?;
    if record.artifact_digest != file_digest(&manifest) {
        return Err(refuse(format!(
            "needs a rebuild: the artifact in {} changed since {} was applied from it; re-apply it first",
            dir.display(),
            record.endpoint
        )));
    }
    let relative = record.manifest.classifier.as_deref().ok_or_else(|| {
        refuse(format!(
            "needs a rebuild: the artifact in {} has no classifier (built by an older policyc)",
            dir.display()
        ))
    })?;
    let path = dir.join(relative);
    let bytes = std::fs::read(&path).map_err(NodeError::io(&path))?;
    let expected = record.manifest.file_digests.get(relative);
    let actual = file_digest(&bytes);
    if expected != Some(&actual) {
        return Err(NodeError::Artifact {
            dir: dir.clone(),
            problem: format!("{relative}: digest {actual} does not match the manifest"),
        });
    }
    serde_json::from_slice(&bytes).map_err(|source| NodeError::Json { path, source })
}

/// The identity number of `labels` given the build's and the admitted label sets; refuses if
/// numbering it would move an existing identity (hash collision: a rebuild renumbers).
/// Pure (no kernel access): `add` and the classifier fuzz target call it.
pub fn number_identity(
    labels: &LabelSet,
    classifier: &Classifier,
    others: &[AdmittedEndpoint],
) -> Result<u32, NodeError> {
    let mut existing: BTreeMap<LabelSet, u32> = classifier
        .endpoint_identities
        .iter()
        .map(|i| (i.labels.iter().cloned().collect::<LabelSet>(), i.id))
        .collect();
    for other in others {
        existing.insert(other.labels.iter().cloned().collect(), other.identity);
    }
    if let Some(id) = existing.get(labels) {
        return Ok(*id);
    }
    let mut sets: BTreeSet<LabelSet> = existing.keys().cloned().collect();
    sets.insert(labels.clone());
    let numbers = allocate_endpoint_identities(&sets);
    let moved = existing
        .iter()
        .any(|(set, id)| numbers.get(set).map(|n| n.0) != Some(*id));
    match numbers.get(labels) {
        Some(id) if !moved => Ok(id.0),
        _ => Err(refuse(
            "needs a rebuild: numbering the new label set would renumber an existing identity",
        )),
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// The classes of `identity` in one installed endpoint (refusal when a signature is new).
/// Pure (no kernel access): `add` and the classifier fuzz target call it.
pub fn classify_for(
    endpoint: &ClassifierEndpoint,
    identity: &Identity,
    classifier: &Classifier,
) -> Result<Vec<ClassWrite>, NodeError> {
    let party = Party {
        identity,
        endpoint: None,
        node: None,
    };
    let shape = classifier.shape(endpoint).ok_or_else(|| {
        refuse(format!(
            "needs a rebuild: the classifier names shape {} for {}, which it does not have",
            endpoint.shape, endpoint.name
        ))
    })?;
    let mut writes = Vec::new();
    for table in &shape.directions {
        let direction = &table.direction;
        let mut signature: Vec<RuleId> = table
            .selected_rules
            .iter()
            .filter(|id| {
                classifier.rules.iter().any(|r| {
                    r.id == **id
                        && matches!(peer_matches(r, &party, &classifier.cluster), PeerMatch::Yes)
                })
            })
            .copied()
            .collect();
        signature.sort();
        let class = table
            .signatures
            .iter()
            .find(|s| s.rules == signature)
            .map(|s| s.class)
            .ok_or_else(|| {
                refuse(format!(
                    "needs a rebuild: {} {} (the new identity is matched by a combination of rules no identity of the build had)",
                    endpoint.name,
                    direction_name(*direction)
                ))
            })?;
        if !table.tables_enforced || class == table.unknown_class {
            continue;
        }
        match table.identity_keyed.iter().find(|t| t.class == class) {
            Some(template) => writes.push(ClassWrite::CopyFunctions {
                direction: *direction,
                template: template.identity,
            }),
            None => writes.push(ClassWrite::Class {
                direction: *direction,
                class,
            }),
        }
    }
    Ok(writes)
}

fn dp_direction(direction: Direction) -> policyc_backends::layout::Direction {
    match direction {
        Direction::Ingress => policyc_backends::layout::Direction::Ingress,
        Direction::Egress => policyc_backends::layout::Direction::Egress,
    }
}

fn identity_function_key(identity: u32, direction: Direction, protocol: u8) -> Vec<u8> {
    PortfnKey {
        id: identity,
        direction: dp_direction(direction).code(),
        protocol,
        kind: PortfnKind::Identity.code(),
        pad: 0,
    }
    .encode()
}

fn class_key(identity: u32, direction: Direction) -> Vec<u8> {
    ClassKey {
        identity,
        direction: dp_direction(direction).code(),
        pad: [0; 3],
    }
    .encode()
}

/// The ipcache key of one host address.
pub fn host_key(ip: &IpAddr) -> Vec<u8> {
    policyc_backends::map_image::ipcache_host_key(*ip).encode()
}

fn open(
    paths: &NodePaths,
    endpoint: &str,
    generation: u64,
    map: &str,
) -> Result<MapHandle, NodeError> {
    open_pinned(endpoint, map, &paths.map(endpoint, generation, map))
}

/// The identity an ipcache value maps to.
fn ipcache_identity(value: &[u8]) -> Option<u32> {
    IpcacheValue::decode(value).map(|v| v.identity)
}

/// Live records of every installed endpoint (refuses when one is not cleanly attached).
fn installed(paths: &NodePaths) -> Result<Vec<GenerationRecord>, NodeError> {
    let names = paths.installed_endpoints()?;
    if names.is_empty() {
        return Err(refuse(
            "no endpoint is installed; run `policy-loader apply` first",
        ));
    }
    names.iter().map(|n| live_record(paths, n)).collect()
}

fn classifiers(records: &[GenerationRecord]) -> Result<BTreeMap<PathBuf, Classifier>, NodeError> {
    let mut out = BTreeMap::new();
    for record in records {
        if !out.contains_key(&record.artifact_dir) {
            out.insert(record.artifact_dir.clone(), load_classifier(record)?);
        }
    }
    Ok(out)
}

/// Writes `value` under `key` into `map_name` of an endpoint's generation, journalled.
fn put(
    journal: &mut Journal,
    paths: &NodePaths,
    plan: &EndpointPlan,
    map_name: &str,
    key: Vec<u8>,
    value: &[u8],
) -> Result<(), NodeError> {
    let path = paths.map(&plan.endpoint, plan.generation, map_name);
    journal.put(&plan.endpoint, map_name, &path, key, value)
}

/// Admits an endpoint: checks its input ([`endpoint_input`]) and computes everything first,
/// then writes class entries and ipcache entries into every installed endpoint's live maps.
/// Nothing is changed on refusal.
pub fn add(paths: &NodePaths, request: &AdmitRequest) -> Result<AdmittedEndpoint, NodeError> {
    let namespace = endpoint_input::check_name(&request.name)?;
    endpoint_input::check_labels(LabelKind::Pod, &request.labels)?;
    if let Some(labels) = &request.namespace_labels {
        endpoint_input::check_labels(LabelKind::Namespace, labels)?;
    }
    if let Some(account) = &request.service_account {
        endpoint_input::check_service_account(account)?;
    }
    endpoint_input::check_ips(&request.ips)?;
    let others: Vec<AdmittedEndpoint> = admitted(paths)?
        .into_iter()
        .filter(|a| a.name != request.name)
        .collect();
    if admitted(paths)?.iter().any(|a| a.name == request.name) {
        return Err(refuse(format!(
            "{} is already admitted; remove it first",
            request.name
        )));
    }
    let records = installed(paths)?;
    let classifiers = classifiers(&records)?;
    let digests: BTreeSet<&str> = records.iter().map(|r| r.artifact_digest.as_str()).collect();
    if digests.len() != 1 {
        return Err(refuse(
            "needs a rebuild: the installed endpoints run different artifacts; apply one artifact to all first",
        ));
    }
    let artifact_digest = records[0].artifact_digest.clone();
    let classifier = &classifiers[&records[0].artifact_dir];
    if classifier.endpoints.iter().any(|e| e.name == request.name) {
        return Err(refuse(format!(
            "{} is already part of the build",
            request.name
        )));
    }
    let namespace_labels = request
        .namespace_labels
        .clone()
        .or_else(|| classifier.namespace_labels.get(namespace).cloned())
        .unwrap_or_default();
    let labels = identity_labels(
        &request.labels,
        namespace,
        &namespace_labels,
        request.service_account.as_deref(),
        &classifier.cluster,
    );
    let id = number_identity(&labels, classifier, &others)?;
    let identity = Identity {
        id: NumericIdentity(id),
        kind: IdentityKind::Endpoint,
        labels: labels.clone(),
    };
    let mut plans = Vec::new();
    for record in &records {
        let endpoint = classifier
            .endpoints
            .iter()
            .find(|e| e.name == record.endpoint)
            .ok_or_else(|| {
                refuse(format!(
                    "needs a rebuild: {} is not in the classifier",
                    record.endpoint
                ))
            })?;
        plans.push(EndpointPlan {
            endpoint: record.endpoint.clone(),
            generation: record.generation,
            classes: classify_for(endpoint, &identity, classifier)?,
        });
    }
    // An address already known as a host of another endpoint is a conflict, not an update.
    for plan in &plans {
        let ipcache = open(paths, &plan.endpoint, plan.generation, map_names::IPCACHE)?;
        for ip in &request.ips {
            let key = host_key(ip);
            if let Some(value) = lookup(&ipcache, &plan.endpoint, map_names::IPCACHE, &key)? {
                let owner = ipcache_identity(&value);
                if owner != Some(id) {
                    return Err(refuse(format!(
                        "{ip} already belongs to identity {} in the ipcache of {}",
                        owner.map_or_else(|| "?".to_string(), |o| o.to_string()),
                        plan.endpoint
                    )));
                }
            }
        }
    }

    let mut journal = Journal::default();
    let result = (|| -> Result<(), NodeError> {
        for plan in &plans {
            for w in &plan.classes {
                match *w {
                    ClassWrite::Class { direction, class } => put(
                        &mut journal,
                        paths,
                        plan,
                        map_names::CLASS,
                        class_key(id, direction),
                        &ClassValue { class_id: class }.encode(),
                    )?,
                    ClassWrite::CopyFunctions {
                        direction,
                        template,
                    } => {
                        let portfn =
                            open(paths, &plan.endpoint, plan.generation, map_names::PORTFN)?;
                        for protocol in FUNCTION_PROTOCOLS {
                            let key = identity_function_key(template, direction, protocol);
                            let Some(value) =
                                lookup(&portfn, &plan.endpoint, map_names::PORTFN, &key)?
                            else {
                                continue;
                            };
                            put(
                                &mut journal,
                                paths,
                                plan,
                                map_names::PORTFN,
                                identity_function_key(id, direction, protocol),
                                &value,
                            )?;
                        }
                    }
                }
            }
        }
        let value = IpcacheValue {
            identity: id,
            flags: 0,
        }
        .encode();
        for plan in &plans {
            for ip in &request.ips {
                put(
                    &mut journal,
                    paths,
                    plan,
                    map_names::IPCACHE,
                    host_key(ip),
                    &value,
                )?;
            }
        }
        Ok(())
    })();
    let record = AdmittedEndpoint {
        name: request.name.clone(),
        identity: id,
        labels: labels.iter().collect(),
        ips: request.ips.clone(),
        artifact_digest,
    };
    if let Err(e) = result.and_then(|()| write_admitted(paths, &record)) {
        return Err(journal.roll_back(
            e,
            &format!(
                "{} (admissions then show as stale; add them again)",
                reapply_command(paths, &records)
            ),
        ));
    }
    Ok(record)
}

/// Removes an admitted endpoint: its ipcache entries everywhere, then its identity's class
/// entries and identity-keyed functions unless another admitted endpoint still has the
/// identity or the build has it.
pub fn remove(paths: &NodePaths, name: &str) -> Result<AdmittedEndpoint, NodeError> {
    let all = admitted(paths)?;
    let record = all
        .iter()
        .find(|a| a.name == name)
        .cloned()
        .ok_or_else(|| refuse(format!("{name} was not admitted with `endpoint add`")))?;
    let records = installed(paths)?;
    let classifiers = classifiers(&records)?;
    let build_has_identity = classifiers.values().any(|c| {
        c.endpoint_identities
            .iter()
            .any(|i| i.id == record.identity)
    });
    let shared = all
        .iter()
        .any(|a| a.name != record.name && a.identity == record.identity);
    remove_entries(paths, &records, &record, !build_has_identity && !shared).map_err(|e| {
        NodeError::Incomplete {
            cause: Box::new(e),
            advice: format!(
                "the removal of {name} stopped part-way (some of its entries may still be in the live maps; its record is kept): fix the cause and run `policy-loader endpoint remove --name {name}` again"
            ),
        }
    })?;
    let path = admitted_path(paths, name);
    std::fs::remove_file(&path).map_err(NodeError::io(&path))?;
    Ok(record)
}

/// Deletes the admitted endpoint's ipcache entries from every installed endpoint, then (when
/// `identity_too`) its identity's class entries and identity-keyed functions. Stops at the first
/// kernel error.
fn remove_entries(
    paths: &NodePaths,
    records: &[GenerationRecord],
    record: &AdmittedEndpoint,
    identity_too: bool,
) -> Result<(), NodeError> {
    for live in records {
        let endpoint = live.endpoint.as_str();
        let ipcache = open(paths, endpoint, live.generation, map_names::IPCACHE)?;
        for ip in &record.ips {
            let key = host_key(ip);
            let value = lookup(&ipcache, endpoint, map_names::IPCACHE, &key)?;
            if value.as_deref().and_then(ipcache_identity) == Some(record.identity) {
                delete_if_present(&ipcache, endpoint, map_names::IPCACHE, &key)?;
            }
        }
    }
    if !identity_too {
        return Ok(());
    }
    for live in records {
        let endpoint = live.endpoint.as_str();
        let classes = open(paths, endpoint, live.generation, map_names::CLASS)?;
        let portfn = open(paths, endpoint, live.generation, map_names::PORTFN)?;
        for direction in [Direction::Ingress, Direction::Egress] {
            delete_if_present(
                &classes,
                endpoint,
                map_names::CLASS,
                &class_key(record.identity, direction),
            )?;
            for protocol in FUNCTION_PROTOCOLS {
                let key = identity_function_key(record.identity, direction, protocol);
                delete_if_present(&portfn, endpoint, map_names::PORTFN, &key)?;
            }
        }
    }
    Ok(())
}

/// Whether an admission still matches the installed artifact (an `apply` since replaced the
/// maps it wrote into).
pub fn is_current(paths: &NodePaths, admitted: &AdmittedEndpoint) -> bool {
    paths.installed_endpoints().is_ok_and(|names| {
        !names.is_empty()
            && names.iter().all(|n| {
                live_record(paths, n).is_ok_and(|r| r.artifact_digest == admitted.artifact_digest)
            })
    })
}

/// One (key bytes, value bytes) record of a map.
pub type MapRecord = (Vec<u8>, Vec<u8>);

/// Every (key, value) record of a map of an endpoint's live generation, sorted by key (for
/// comparing the live state with a build's images).
pub fn live_map_entries(
    paths: &NodePaths,
    endpoint: &str,
    map_name: &str,
) -> Result<Vec<MapRecord>, NodeError> {
    let record = live_record(paths, endpoint)?;
    let map = open(paths, endpoint, record.generation, map_name)?;
    let mut out = map_records(&map, endpoint, map_name)?;
    out.sort();
    Ok(out)
}

/// Every (key, value) of the live map `map_name` of `endpoint` (entries deleted between listing
/// and lookup are skipped; any other failed lookup is an error).
pub fn map_records(
    map: &MapHandle,
    endpoint: &str,
    map_name: &str,
) -> Result<Vec<MapRecord>, NodeError> {
    let mut out = Vec::new();
    for key in map.keys() {
        if let Some(value) = lookup(map, endpoint, map_name, &key)? {
            out.push((key, value));
        }
    }
    Ok(out)
}
