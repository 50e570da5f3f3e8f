//! Inventory loading: what exists in the cluster — namespaces (with labels), nodes, endpoints
//! (pods) — from the native `policyc/v1 Inventory` format or Kubernetes `Pod`/`Namespace`/
//! `Node`/`List` objects, validated with spanned findings (duplicate endpoints or addresses, bad
//! addresses, unknown namespaces, bad named ports), and the workloads that own the pods.

pub mod cidr_groups;
mod fields;
mod kubernetes;
mod native;
pub mod secrets;
pub mod services;
mod validate;
pub mod workloads;

pub use workloads::{WorkloadRef, Workloads};

use crate::input_files::{collect_input_files, is_yaml_or_json};
use crate::yaml::{parse_documents, Document, Node};
use policyc_diagnostics::source::{SourceId, SourceMap, Span};
use policyc_diagnostics::{codes, Finding};
use policyc_ir::universe::NamedPort;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A namespace and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryNamespace {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryNode {
    pub name: String,
    pub ips: Vec<IpAddr>,
    pub labels: BTreeMap<String, String>,
    pub local: bool,
    pub span: Option<Span>,
    pub ip_spans: Vec<Option<Span>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryEndpoint {
    pub namespace: String,
    pub name: String,
    /// Raw labels; plain keys are `k8s:` labels.
    pub labels: BTreeMap<String, String>,
    pub service_account: Option<String>,
    pub ips: Vec<IpAddr>,
    pub named_ports: BTreeMap<String, NamedPort>,
    pub interface: Option<String>,
    /// The endpoint's `name` value.
    pub span: Option<Span>,
    pub namespace_span: Option<Span>,
    pub ip_spans: Vec<Option<Span>>,
}

/// Everything an inventory path describes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub cluster: String,
    /// Namespaces listed explicitly (native `namespaces:` or `Namespace` objects).
    pub namespaces: BTreeMap<String, InventoryNamespace>,
    pub nodes: Vec<InventoryNode>,
    pub endpoints: Vec<InventoryEndpoint>,
    /// Kubernetes Secrets by (namespace, name): the value of their single item (`None` when
    /// they have zero or several items, which Cilium cannot use either).
    pub secrets: BTreeMap<(String, String), Option<String>>,
    /// Kubernetes Services (for `toServices`), in reading order.
    pub services: Vec<services::InventoryService>,
    /// EndpointSlices: the backends of the services they name.
    pub endpoint_slices: Vec<services::InventoryEndpointSlice>,
    /// CiliumCIDRGroups (for `cidrGroupRef`/`cidrGroupSelector`), in reading order.
    pub cidr_groups: Vec<cidr_groups::InventoryCidrGroup>,
    /// Cilium's `enable-node-selector-labels` (default false, as in v1.19): remote nodes get
    /// identities from their labels, and `fromNodes`/`toNodes` are accepted.
    pub node_selector_labels: bool,
}

/// Secret values by (namespace, name), for `headerMatches[].secret`.
pub type Secrets = BTreeMap<(String, String), String>;

impl Inventory {
    /// Labels of a namespace, with Kubernetes' automatic `kubernetes.io/metadata.name`.
    pub fn namespace_labels(&self, namespace: &str) -> BTreeMap<String, String> {
        let mut labels = self
            .namespaces
            .get(namespace)
            .map(|n| n.labels.clone())
            .unwrap_or_default();
        labels
            .entry("kubernetes.io/metadata.name".to_string())
            .or_insert_with(|| namespace.to_string());
        labels
    }

    /// `namespace/name` of every endpoint (for "did you mean").
    pub fn endpoint_names(&self) -> Vec<String> {
        self.endpoints
            .iter()
            .map(|e| format!("{}/{}", e.namespace, e.name))
            .collect()
    }
}

/// How to read an inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryOptions {
    /// The node that is `host`; default: the one marked `local: true`, else the first node.
    pub local_node: Option<String>,
}

/// Reads an inventory file, or every `*.yaml|*.yml|*.json` file under a directory (sorted).
/// Returns the inventory, or the error findings (warnings never block).
pub fn load_inventory(
    path: &Path,
    options: &InventoryOptions,
    sources: &mut SourceMap,
) -> Result<Inventory, Vec<Finding>> {
    load_inventory_with_workloads(path, options, sources).map(|(inventory, _)| inventory)
}

/// [`load_inventory`], with the workloads that own its pods (from Kubernetes
/// `ownerReferences`; empty for native inventories).
pub fn load_inventory_with_workloads(
    path: &Path,
    options: &InventoryOptions,
    sources: &mut SourceMap,
) -> Result<(Inventory, Workloads), Vec<Finding>> {
    let mut findings = Vec::new();
    let files = inventory_files(path, &mut findings);
    let mut builder = native::Builder::default();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                findings.push(Finding::error(
                    &codes::INVALID_INVENTORY,
                    format!("cannot read inventory {}: {e}", file.display()),
                ));
                continue;
            }
        };
        let id = sources.add(file.display().to_string(), text);
        let (documents, syntax) = parse_documents(sources, id);
        findings.extend(syntax);
        read_documents(documents, sources, id, &mut builder, &mut findings);
    }
    finish(builder, options, sources, findings)
}

/// Parses inventory text held in `sources` (for tests and fuzzing): same as [`load_inventory`]
/// for one file.
pub fn parse_inventory(
    sources: &SourceMap,
    id: SourceId,
    options: &InventoryOptions,
) -> Result<Inventory, Vec<Finding>> {
    parse_inventory_with_workloads(sources, id, options).map(|(inventory, _)| inventory)
}

/// [`parse_inventory`], with the workloads that own its pods.
pub fn parse_inventory_with_workloads(
    sources: &SourceMap,
    id: SourceId,
    options: &InventoryOptions,
) -> Result<(Inventory, Workloads), Vec<Finding>> {
    let (documents, mut findings) = parse_documents(sources, id);
    let mut builder = native::Builder::default();
    read_documents(documents, sources, id, &mut builder, &mut findings);
    finish(builder, options, sources, findings)
}

/// The inventory and its workloads from everything read into `builder`, validated: `Err` with
/// every finding when any is an error.
fn finish(
    builder: native::Builder,
    options: &InventoryOptions,
    sources: &SourceMap,
    mut findings: Vec<Finding>,
) -> Result<(Inventory, Workloads), Vec<Finding>> {
    let workloads = builder.owners.resolve();
    let inventory = builder.finish(options, sources, &mut findings);
    validate::validate(&inventory, &mut findings);
    if findings
        .iter()
        .any(|f| f.severity == policyc_diagnostics::Severity::Error)
    {
        Err(findings)
    } else {
        Ok((inventory, workloads))
    }
}

/// Reads the documents of one file into `builder`; numbers too large for an i64 are read as
/// written ([`fields::huge_integers_as_written`]).
fn read_documents(
    documents: Vec<Document>,
    sources: &SourceMap,
    id: SourceId,
    builder: &mut native::Builder,
    findings: &mut Vec<Finding>,
) {
    let text = sources.get(id).map(|f| Arc::clone(&f.text));
    for mut doc in documents {
        if let Some(text) = &text {
            fields::huge_integers_as_written(&mut doc.root, text);
        }
        read_document(&doc.root, builder, findings);
    }
}

fn read_document(root: &Node, builder: &mut native::Builder, findings: &mut Vec<Finding>) {
    let kind = root.get("kind").and_then(Node::as_str);
    let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    match kind {
        Some("Inventory") => native::read(root, builder, findings),
        Some(
            "List"
            | "PodList"
            | "NamespaceList"
            | "NodeList"
            | "ReplicaSetList"
            | "JobList"
            | "SecretList"
            | "ServiceList"
            | "EndpointSliceList"
            | "CiliumCIDRGroupList",
        ) => {
            for item in root.get("items").and_then(Node::as_seq).unwrap_or_default() {
                read_document(item, builder, findings);
            }
        }
        Some("Pod") => kubernetes::read_pod(root, builder, findings),
        Some("Namespace") => kubernetes::read_namespace(root, builder, findings),
        Some("Node") => kubernetes::read_node(root, builder, findings),
        Some("Secret") => secrets::read_secret(root, builder, findings),
        Some("Service") => builder
            .services
            .extend(services::read_service(root, findings)),
        Some("EndpointSlice") => builder
            .endpoint_slices
            .extend(services::read_endpoint_slice(root, findings)),
        Some("CiliumCIDRGroup") => builder
            .cidr_groups
            .extend(cidr_groups::read_cidr_group(root, findings)),
        Some(other) if api_version.starts_with("policyc/") => findings.push(
            Finding::error(
                &codes::INVALID_INVENTORY,
                format!("`{other}` is not an inventory kind"),
            )
            .at(
                root.get("kind").map_or(root.span, |k| k.span),
                "expected `Inventory`",
            ),
        ),
        Some(kind) if workloads::OWNER_KINDS.contains(&kind) => {
            kubernetes::read_owner_object(root, kind, builder);
        }
        // Other Kubernetes objects (ConfigMaps, ...) carry nothing the oracle uses.
        Some(_) => {}
        None => findings.push(
            Finding::error(
                &codes::INVALID_INVENTORY,
                "inventory document without `kind`",
            )
            .at(
                root.span,
                "expected `kind: Inventory` (or Pod, Namespace, Node, List)",
            ),
        ),
    }
}

/// The inventory files under `path` (each once, see [`collect_input_files`]); walk problems and
/// "no inventory files" go to `findings`.
fn inventory_files(path: &Path, findings: &mut Vec<Finding>) -> Vec<PathBuf> {
    let inputs = collect_input_files(&[path.to_path_buf()], &is_yaml_or_json);
    if inputs.files.is_empty() && inputs.findings.is_empty() {
        findings.push(Finding::error(
            &codes::INVALID_INVENTORY,
            format!(
                "no inventory files (*.yaml, *.yml, *.json) under {}",
                path.display()
            ),
        ));
    }
    findings.extend(inputs.findings);
    inputs.files
}
