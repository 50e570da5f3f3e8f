//! Codes PC04xx: inventory files and flow tests (`policyc test`, `--inventory`).

use super::Code;
use crate::Severity::Error;

pub const INVALID_INVENTORY: Code = Code {
    id: "PC0401",
    name: "invalid-inventory",
    default_severity: Error,
    summary: "The inventory file does not follow the inventory format",
    explanation: "The inventory (namespaces, pods and their labels, nodes, cluster CIDRs) is read from the file \
given with `--inventory`; see FORMATS.md for its schema. The marked value is missing, misspelt or of the wrong \
type, so flows cannot be resolved against the cluster it describes.",
};

pub const FLOW_TEST_FAILED: Code = Code {
    id: "PC0402",
    name: "flow-test-failed",
    default_severity: Error,
    summary: "A flow test expected a different verdict",
    explanation: "The flow test asserts that a flow is allowed (or denied), but evaluating the policies on the \
inventory gives the other verdict. The related locations show the rules that decided it; `policyc explain` prints \
the full derivation.",
};

pub const UNKNOWN_INVENTORY_REFERENCE: Code = Code {
    id: "PC0403",
    name: "unknown-inventory-reference",
    default_severity: Error,
    summary: "A flow test refers to a pod, namespace or node that is not in the inventory",
    explanation: "Flow endpoints are looked up by name in the inventory. The referenced object does not exist \
there; check the spelling (the hint suggests the closest name) or add it to the inventory.",
};

pub const DUPLICATE_ENDPOINT: Code = Code {
    id: "PC0404",
    name: "duplicate-endpoint",
    default_severity: Error,
    summary: "Two inventory endpoints have the same namespace and name",
    explanation: "Endpoints are named `namespace/name` in flow tests and explain; each name must be unique within \
its namespace. Remove or rename one of the two definitions.",
};

pub const DUPLICATE_ADDRESS: Code = Code {
    id: "PC0405",
    name: "duplicate-address",
    default_severity: Error,
    summary: "An IP address is assigned to more than one endpoint or node",
    explanation: "The ipcache maps every address to exactly one identity; an address shared by two endpoints or \
nodes would make the verdict depend on which one wins. Give each endpoint and node its own addresses.",
};

pub const INVALID_ADDRESS: Code = Code {
    id: "PC0406",
    name: "invalid-address",
    default_severity: Error,
    summary: "A value that must be an IP address is not one",
    explanation: "Endpoint and node addresses (and flow-test peers given as addresses) must be plain IPv4 or IPv6 \
addresses such as `198.18.1.10` or `fd00::10`, without a prefix length.",
};

pub const UNKNOWN_NAMESPACE: Code = Code {
    id: "PC0407",
    name: "unknown-namespace",
    default_severity: Error,
    summary: "An endpoint is in a namespace the inventory does not list",
    explanation: "When the inventory lists its namespaces (the `namespaces:` list or Namespace objects), every \
endpoint must be in one of them: namespace labels feed `namespaceSelector`s and CCNP selectors, so a misspelt \
namespace would silently change verdicts. Add the namespace or fix the spelling.",
};

pub const INVALID_NAMED_PORT: Code = Code {
    id: "PC0408",
    name: "invalid-named-port",
    default_severity: Error,
    summary: "A named port is not written as `port/PROTOCOL`",
    explanation: "Named ports map a container port name to a number and protocol, written `8080/TCP` (protocol \
TCP, UDP or SCTP; a bare number means TCP). Port names are at most 15 characters of letters, digits and `-`.",
};

pub const INVALID_FLOW_TEST: Code = Code {
    id: "PC0409",
    name: "invalid-flow-test",
    default_severity: Error,
    summary: "A FlowTests file does not follow the FlowTests format",
    explanation: "FlowTests files name an inventory, the policies and a list of tests with `from`, `to`, \
`protocol`, `port` or `icmpType`, optional L7 fields and `expect`; see FORMATS.md. The marked value is missing, \
misspelt or of the wrong type.",
};

pub const DUPLICATE_NAMESPACE: Code = Code {
    id: "PC0410",
    name: "duplicate-namespace",
    default_severity: Error,
    summary: "A namespace is listed twice in the inventory",
    explanation: "Each namespace must be listed once (in the `namespaces:` list or as a Namespace object): its \
labels feed `namespaceSelector`s and CCNP selectors, and two definitions would silently merge or override each \
other's labels. Keep one definition with all its labels.",
};

pub const DUPLICATE_INTERFACE: Code = Code {
    id: "PC0411",
    name: "duplicate-interface",
    default_severity: Error,
    summary: "Two inventory endpoints name the same network interface",
    explanation: "An endpoint's `interface` is the device its programs are attached to; two endpoints on one \
device would stack both endpoints' policies on the same traffic. Give each endpoint its own interface.",
};

pub const DUPLICATE_NODE: Code = Code {
    id: "PC0412",
    name: "duplicate-node",
    default_severity: Error,
    summary: "A node is listed twice in the inventory",
    explanation: "Nodes are named once (in `nodes:` or as a Node object): the local node is chosen by name, so two \
nodes with one name would both be local and the other node's addresses would silently become `host` instead of \
`remote-node`. Keep one definition with all its addresses.",
};

pub const AMBIGUOUS_PEER: Code = Code {
    id: "PC0413",
    name: "ambiguous-peer",
    default_severity: Error,
    summary: "A workload name or label selector in a flow names pods of more than one identity",
    explanation: "A flow peer `namespace/name` names a pod or a workload (Deployment, StatefulSet, DaemonSet, Job, \
... through the pods' ownerReferences), and `namespace/key=value[,key=value]` the pods with those labels. Every pod \
it names must have one identity (the same labels, ignoring the ones controllers stamp per pod or per revision such \
as `pod-template-hash`) and the same named ports, so that one verdict holds for all of them. These pods differ; the \
message lists them by identity. Name one pod, or narrow the selector with a label that tells the groups apart.",
};

/// Every code of this range, sorted by id.
pub const ALL: &[&Code] = &[
    &INVALID_INVENTORY,
    &FLOW_TEST_FAILED,
    &UNKNOWN_INVENTORY_REFERENCE,
    &DUPLICATE_ENDPOINT,
    &DUPLICATE_ADDRESS,
    &INVALID_ADDRESS,
    &UNKNOWN_NAMESPACE,
    &INVALID_NAMED_PORT,
    &INVALID_FLOW_TEST,
    &DUPLICATE_NAMESPACE,
    &DUPLICATE_INTERFACE,
    &DUPLICATE_NODE,
    &AMBIGUOUS_PEER,
];
