//! Codes PC01xx: the policy schema (fields, types, required values, value formats).

use super::Code;
use crate::Severity::Error;

pub const UNKNOWN_FIELD: Code = Code {
    id: "PC0101",
    name: "unknown-field",
    default_severity: Error,
    summary: "A field is not part of the policy schema",
    explanation: "The Cilium and Kubernetes CRD schemas reject unknown fields (the API server prunes or refuses \
them), so a misspelt field silently disappears and the rule means something else than intended, often something \
broader. Check the spelling; the hint suggests the closest known field at this position.",
};

pub const WRONG_TYPE: Code = Code {
    id: "PC0102",
    name: "wrong-type",
    default_severity: Error,
    summary: "A value has the wrong YAML type",
    explanation: "The schema expects a different kind of value here: for example a list where a mapping was \
written, or a string where a number was given. Remember that YAML resolves unquoted scalars: `80` is a number, \
`\"80\"` is a string, `yes` is a string but `true` is a boolean, and an empty value is null.",
};

pub const MISSING_FIELD: Code = Code {
    id: "PC0103",
    name: "missing-field",
    default_severity: Error,
    summary: "A required field is missing",
    explanation: "The schema requires this field (for example `metadata.name`, or `endpointSelector` / \
`nodeSelector` in a Cilium policy spec, or `podSelector` in a NetworkPolicy). Without it the API server rejects the \
object.",
};

pub const INVALID_ENUM_VALUE: Code = Code {
    id: "PC0104",
    name: "invalid-enum-value",
    default_severity: Error,
    summary: "A value is not one of the allowed values",
    explanation: "This field only accepts a fixed set of values (for example `protocol` accepts TCP, UDP, SCTP, \
ICMP, ICMPv6 and ANY; matchExpressions `operator` accepts In, NotIn, Exists and DoesNotExist). Values are case \
sensitive. The hint suggests the closest allowed value.",
};

pub const VALUE_OUT_OF_RANGE: Code = Code {
    id: "PC0105",
    name: "value-out-of-range",
    default_severity: Error,
    summary: "A number is outside its allowed range",
    explanation: "The value is syntactically a number but outside the range the schema allows, for example a port \
above 65535 or an ICMP type above 255. The API server rejects the object.",
};

pub const NOT_A_POLICY_OBJECT: Code = Code {
    id: "PC0106",
    name: "not-a-kubernetes-object",
    default_severity: Error,
    summary: "A YAML document is not a Kubernetes object",
    explanation: "Every document of a policy file must be a mapping with `apiVersion`, `kind` and `metadata` (or a `kind: List` with `items`). The marked document is a scalar or a list, or lacks `apiVersion`/`kind`, so it cannot be read as a policy; kubectl would refuse it too.",
};

pub const CONFLICTING_FIELDS: Code = Code {
    id: "PC0107",
    name: "conflicting-fields",
    default_severity: Error,
    summary: "Fields that exclude each other are used together, or none of a required set is given",
    explanation: "Some schema objects take exactly one of several fields: an FQDN selector takes `matchName` or `matchPattern`, a CIDR set entry takes `cidr`, `cidrGroupRef` or `cidrGroupSelector`, a `toServices` entry takes `k8sService` or `k8sServiceSelector`. Giving two of them (or none) is rejected by the CRD schema; keep exactly one.",
};

pub const INVALID_LABEL: Code = Code {
    id: "PC0108",
    name: "invalid-label",
    default_severity: Error,
    summary: "A selector label key or value is malformed",
    explanation: "Selector keys are `[source:]key` where source is one of k8s, reserved, any, cidr, fqdn, cidrgroup, container, unspec and key is a Kubernetes qualified name (an optional DNS-subdomain prefix and `/`, then at most 63 letters, digits, `-`, `_`, `.`). Values have at most 63 such characters, starting and ending with a letter or digit. Malformed keys or values are rejected by the API server or by Cilium's selector sanitization.",
};

pub const INVALID_OBJECT_NAME: Code = Code {
    id: "PC0109",
    name: "invalid-object-name",
    default_severity: Error,
    summary: "metadata.name or metadata.namespace is not a valid Kubernetes name",
    explanation: "Policy names must be DNS-1123 subdomains (at most 253 lower-case letters, digits, `-` and `.`, \
starting and ending with a letter or digit) and namespaces DNS-1123 labels (at most 63 lower-case letters, digits and \
`-`). The API server rejects other names.",
};

/// Every code of this range, sorted by id.
pub const ALL: &[&Code] = &[
    &UNKNOWN_FIELD,
    &WRONG_TYPE,
    &MISSING_FIELD,
    &INVALID_ENUM_VALUE,
    &VALUE_OUT_OF_RANGE,
    &NOT_A_POLICY_OBJECT,
    &CONFLICTING_FIELDS,
    &INVALID_LABEL,
    &INVALID_OBJECT_NAME,
];
