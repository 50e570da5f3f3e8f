//! Schema walk of a Cilium policy rule (`spec`/`specs[i]` of CNP and CCNP, `pkg/policy/api`):
//! selectors, the four rule lists and their L3 peer fields. Ports and L7 are in `ports`.

use super::{index, join, sub_span, Fields, Walker};
use crate::ast::{PeerField, PeerItem, PeerKind, PeerRule, Rule, Section, SectionKind, Sp};
use crate::runtime_peers::ServiceRef;
use crate::yaml::Node;
use policyc_diagnostics::codes::{
    CIDR_HOST_BITS, CONFLICTING_FIELDS, INVALID_CIDR, INVALID_ENUM_VALUE, INVALID_FQDN,
    REQUIRES_REMOVED, UNKNOWN_ENTITY,
};
use policyc_diagnostics::suggest::suggest;
use policyc_diagnostics::Finding;
use policyc_ir::prefix::PrefixError;
use policyc_ir::rule::AuthMode;
use policyc_ir::{Entity, FqdnPattern, FqdnSelector, LabelSource, Prefix};

pub const RULE_FIELDS: &[&str] = &[
    "endpointSelector",
    "nodeSelector",
    "ingress",
    "ingressDeny",
    "egress",
    "egressDeny",
    "enableDefaultDeny",
    "labels",
    "description",
    "log",
];

const INGRESS_FIELDS: &[&str] = &[
    "fromEndpoints",
    "fromCIDR",
    "fromCIDRSet",
    "fromEntities",
    "fromGroups",
    "fromNodes",
    "fromRequires",
    "toPorts",
    "icmps",
    "authentication",
];
const INGRESS_DENY_FIELDS: &[&str] = &[
    "fromEndpoints",
    "fromCIDR",
    "fromCIDRSet",
    "fromEntities",
    "fromGroups",
    "fromNodes",
    "fromRequires",
    "toPorts",
    "icmps",
];
const EGRESS_FIELDS: &[&str] = &[
    "toEndpoints",
    "toCIDR",
    "toCIDRSet",
    "toEntities",
    "toFQDNs",
    "toServices",
    "toGroups",
    "toNodes",
    "toRequires",
    "toPorts",
    "icmps",
    "authentication",
];
const EGRESS_DENY_FIELDS: &[&str] = &[
    "toEndpoints",
    "toCIDR",
    "toCIDRSet",
    "toEntities",
    "toServices",
    "toGroups",
    "toNodes",
    "toRequires",
    "toPorts",
    "icmps",
];

const CIDR_RULE_FIELDS: &[&str] = &["cidr", "cidrGroupRef", "cidrGroupSelector", "except"];
const FQDN_FIELDS: &[&str] = &["matchName", "matchPattern"];
const SERVICE_FIELDS: &[&str] = &["k8sService", "k8sServiceSelector"];
const GROUP_FIELDS: &[&str] = &["aws"];
const AWS_FIELDS: &[&str] = &[
    "labels",
    "securityGroupsIds",
    "securityGroupsNames",
    "region",
];
/// The entity enum of the pinned CRD (Cilium also maps `world-ipv4`/`world-ipv6`, the CRD does not).
const CRD_ENTITIES: &[&str] = &[
    "all",
    "world",
    "cluster",
    "host",
    "init",
    "ingress",
    "unmanaged",
    "remote-node",
    "health",
    "none",
    "kube-apiserver",
];
const AUTH_MODES: &[&str] = &["disabled", "required", "test-always-fail"];

/// The peer kind of an L3 field name (`fromEndpoints` → Endpoints), if it is one.
fn peer_kind(key: &str) -> Option<PeerKind> {
    let base = key
        .strip_prefix("from")
        .or_else(|| key.strip_prefix("to"))?;
    Some(match base {
        "Endpoints" => PeerKind::Endpoints,
        "CIDR" => PeerKind::Cidr,
        "CIDRSet" => PeerKind::CidrSet,
        "Entities" => PeerKind::Entities,
        "FQDNs" => PeerKind::Fqdns,
        "Services" => PeerKind::Services,
        "Groups" => PeerKind::Groups,
        "Nodes" => PeerKind::Nodes,
        "Requires" => PeerKind::Requires,
        _ => return None,
    })
}

/// Hints for fields written in the wrong kind of rule (`toEndpoints` in `ingress`, ...).
fn misplaced_hint(kind: SectionKind, key: &str) -> Option<String> {
    let ingress = kind.direction() == policyc_ir::Direction::Ingress;
    match key {
        "toFQDNs" if !kind.is_deny() => {
            Some("`toFQDNs` is only allowed in egress rules".to_string())
        }
        "toFQDNs" => {
            Some("`toFQDNs` is not allowed in deny rules (Cilium has no FQDN deny)".to_string())
        }
        "toServices" if ingress => Some("`toServices` is only allowed in egress rules".to_string()),
        "authentication" => Some("`authentication` is only allowed in allow rules".to_string()),
        "matchLabels" | "matchExpressions" => Some(format!(
            "a selector goes inside a peer list, e.g. `{}: [{{{key}: ...}}]`",
            if ingress {
                "fromEndpoints"
            } else {
                "toEndpoints"
            }
        )),
        "ports" => Some(
            "ports go inside `toPorts`, e.g. `toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]`"
                .to_string(),
        ),
        "rules" => Some("L7 `rules` go inside a `toPorts` entry, next to its `ports`".to_string()),
        _ => {
            if ingress {
                let base = key.strip_prefix("to")?;
                let from = format!("from{base}");
                INGRESS_FIELDS
                    .contains(&from.as_str())
                    .then(|| format!("ingress rules use `{from}` (peers are sources)"))
            } else {
                let base = key.strip_prefix("from")?;
                let to = format!("to{base}");
                EGRESS_FIELDS
                    .contains(&to.as_str())
                    .then(|| format!("egress rules use `{to}` (peers are destinations)"))
            }
        }
    }
}

/// Hints for rule-item fields written directly under `spec`, and KNP habits.
fn rule_level_hint(key: &str) -> Option<String> {
    match key {
        "podSelector" => Some("Cilium policies select their subjects with `endpointSelector`".to_string()),
        "policyTypes" => Some(
            "Cilium policies have no `policyTypes`; a direction is enforced when the rule has rules for it (see `enableDefaultDeny`)"
                .to_string(),
        ),
        _ if INGRESS_FIELDS.contains(&key) && EGRESS_FIELDS.contains(&key) => Some(format!(
            "`{key}` belongs inside an `ingress` or `egress` rule, e.g. `ingress: [{{{key}: ...}}]`"
        )),
        _ if INGRESS_FIELDS.contains(&key) => {
            Some(format!("`{key}` belongs inside an `ingress` rule, e.g. `ingress: [{{{key}: ...}}]`"))
        }
        _ if EGRESS_FIELDS.contains(&key) => {
            Some(format!("`{key}` belongs inside an `egress` rule, e.g. `egress: [{{{key}: ...}}]`"))
        }
        _ => None,
    }
}

impl Walker {
    /// Walks one `spec`/`specs[i]`.
    pub fn cilium_rule(&mut self, node: &Node, path: &str) -> Option<Rule> {
        let fields = self.fields(node, path, RULE_FIELDS, &rule_level_hint)?;
        let selector = |w: &mut Walker, key: &str| {
            fields
                .get(key)
                .and_then(|n| w.selector(n, &join(path, key), LabelSource::Any))
        };
        let endpoint_selector = selector(self, "endpointSelector");
        let subject_namespace_match_labels = fields
            .get("endpointSelector")
            .and_then(|s| s.get("matchLabels"))
            .and_then(Node::map_entries)
            .unwrap_or_default()
            .iter()
            .filter(|(k, _)| {
                k.as_str().is_some_and(|k| {
                    let bare = k
                        .strip_prefix("k8s:")
                        .or_else(|| k.strip_prefix("any:"))
                        .unwrap_or(k);
                    bare == policyc_ir::labels::POD_NAMESPACE_KEY
                })
            })
            .filter_map(|(_, v)| v.as_str().map(str::to_string))
            .collect();
        let node_selector = selector(self, "nodeSelector");
        let mut sections = Vec::new();
        for kind in SectionKind::ALL {
            let Some((key_node, value)) = fields.entry(kind.key()) else {
                continue;
            };
            let section_path = join(path, kind.key());
            let Some(items) = self.list(value, &section_path) else {
                // Reported as a wrong type; keep the section so no "no direction" error follows.
                sections.push(Section {
                    kind,
                    key_span: key_node.span,
                    items: Vec::new(),
                });
                continue;
            };
            let items = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.peer_rule(item, &index(&section_path, i), kind))
                .collect();
            sections.push(Section {
                kind,
                key_span: key_node.span,
                items,
            });
        }
        let (mut default_deny_ingress, mut default_deny_egress) = (None, None);
        if let Some(dd) = fields.get("enableDefaultDeny") {
            let dd_path = join(path, "enableDefaultDeny");
            if let Some(dd_fields) = self.object(dd, &dd_path, &["ingress", "egress"]) {
                default_deny_ingress = dd_fields
                    .get("ingress")
                    .and_then(|n| self.boolean(n, &join(&dd_path, "ingress")));
                default_deny_egress = dd_fields
                    .get("egress")
                    .and_then(|n| self.boolean(n, &join(&dd_path, "egress")));
            }
        }
        if let Some(labels) = fields.get("labels") {
            self.rule_labels(labels, &join(path, "labels"));
        }
        if let Some(description) = fields.get("description") {
            let _ = self.string(description, &join(path, "description"));
        }
        let log = fields.get("log").and_then(|log| {
            let log_path = join(path, "log");
            let log_fields = self.object(log, &log_path, &["value"])?;
            log_fields
                .get("value")
                .and_then(|v| self.string(v, &join(&log_path, "value")))
        });
        Some(Rule {
            path: path.to_string(),
            span: node.span,
            endpoint_selector,
            subject_namespace_match_labels,
            node_selector,
            sections,
            default_deny_ingress,
            default_deny_egress,
            log,
        })
    }

    /// `labels: [{key, value, source}]` (a LabelArray).
    fn rule_labels(&mut self, node: &Node, path: &str) {
        let Some(items) = self.list(node, path) else {
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let item_path = index(path, i);
            let Some(fields) = self.object(item, &item_path, &["key", "value", "source"]) else {
                continue;
            };
            for key in ["key", "value", "source"] {
                if let Some(v) = fields.get(key) {
                    let _ = self.string(v, &join(&item_path, key));
                }
            }
            if !fields.has("key") {
                self.missing(&item_path, "key", item.span);
            }
        }
    }

    fn peer_rule(&mut self, node: &Node, path: &str, kind: SectionKind) -> Option<PeerRule> {
        let known = match kind {
            SectionKind::Ingress => INGRESS_FIELDS,
            SectionKind::IngressDeny => INGRESS_DENY_FIELDS,
            SectionKind::Egress => EGRESS_FIELDS,
            SectionKind::EgressDeny => EGRESS_DENY_FIELDS,
        };
        let fields = self.fields(node, path, known, &|key| misplaced_hint(kind, key))?;
        let mut peer_fields = Vec::new();
        for (key, key_span) in fields.present().collect::<Vec<_>>() {
            let Some(peer) = peer_kind(key).filter(|_| known.contains(&key)) else {
                continue;
            };
            let field_path = join(path, key);
            if peer == PeerKind::Requires {
                let replacement = if kind.direction() == policyc_ir::Direction::Ingress {
                    "ingressDeny"
                } else {
                    "egressDeny"
                };
                self.report(
                    &field_path,
                    Finding::error(&REQUIRES_REMOVED, format!("`{key}` was removed in Cilium 1.19"))
                        .at(key_span, "no longer supported")
                        .help(format!(
                            "add the required labels to every peer selector of this rule, or express the exclusion with `{replacement}` rules"
                        )),
                );
                continue;
            }
            let Some(value) = fields.get(key) else {
                continue;
            };
            let Some(items) = self.list(value, &field_path) else {
                continue;
            };
            let items = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    self.peer_item(peer, item, &index(&field_path, i))
                        .map(|p| Sp::new(p, item.span))
                })
                .collect();
            peer_fields.push(PeerField {
                kind: peer,
                key: key.to_string(),
                key_span,
                items,
            });
        }
        let to_ports = fields
            .get("toPorts")
            .and_then(|n| self.to_ports(n, &join(path, "toPorts"), kind));
        let (icmps, icmp_entries) = match fields
            .get("icmps")
            .and_then(|n| self.icmps(n, &join(path, "icmps")))
        {
            Some((fields, entries)) => (Some(fields), entries),
            None => (None, 0),
        };
        let authentication = fields
            .get("authentication")
            .and_then(|n| self.authentication(n, &join(path, "authentication")));
        Some(PeerRule {
            path: path.to_string(),
            span: node.span,
            kind,
            peer_fields,
            to_ports,
            icmps,
            icmp_entries,
            authentication,
        })
    }

    fn authentication(&mut self, node: &Node, path: &str) -> Option<Sp<AuthMode>> {
        let fields = self.object(node, path, &["mode"])?;
        let Some(mode_node) = fields.get("mode") else {
            self.missing(path, "mode", node.span);
            return None;
        };
        let mode = self.string(mode_node, &join(path, "mode"))?;
        let parsed = match mode.value.as_str() {
            "disabled" => AuthMode::Disabled,
            "required" => AuthMode::Required,
            "test-always-fail" => AuthMode::TestAlwaysFail,
            other => {
                self.bad_enum(
                    &join(path, "mode"),
                    mode_node,
                    other,
                    AUTH_MODES,
                    "authentication mode",
                );
                return None;
            }
        };
        Some(Sp::new(parsed, node.span))
    }

    /// Reports a value outside an enum, with a did-you-mean among `allowed`.
    pub fn bad_enum(&mut self, path: &str, node: &Node, value: &str, allowed: &[&str], what: &str) {
        let mut finding = Finding::error(
            &INVALID_ENUM_VALUE,
            format!("`{value}` is not a valid {what}"),
        )
        .at(node.span, format!("expected one of {}", allowed.join(", ")));
        if let Some(s) = suggest(value, allowed) {
            finding = finding.help(format!("did you mean `{s}`?"));
        }
        self.report(path, finding);
    }

    fn peer_item(&mut self, kind: PeerKind, node: &Node, path: &str) -> Option<PeerItem> {
        match kind {
            PeerKind::Endpoints => self
                .selector(node, path, LabelSource::Any)
                .map(|s| PeerItem::Endpoints(s.value)),
            PeerKind::Nodes => self
                .selector(node, path, LabelSource::Any)
                .map(|s| PeerItem::Nodes(s.value)),
            PeerKind::Cidr => {
                let text = self.string(node, path)?;
                self.prefix(node, &text.value, path).map(PeerItem::Cidr)
            }
            PeerKind::CidrSet => self.cidr_rule(node, path),
            PeerKind::Entities => {
                let text = self.string(node, path)?;
                match Entity::parse(&text.value) {
                    // Cilium maps these two, but the pinned CRD enum does not list them: the
                    // API server rejects the object.
                    Some(Entity::WorldIpv4 | Entity::WorldIpv6) => {
                        self.report(
                            path,
                            Finding::error(
                                &UNKNOWN_ENTITY,
                                format!(
                                    "entity `{}` is not accepted by the CiliumNetworkPolicy CRD",
                                    text.value
                                ),
                            )
                            .at(node.span, "not in the CRD entity enum")
                            .help(if text.value == "world-ipv4" {
                                "use `world`, or `toCIDR: [0.0.0.0/0]` for IPv4 only"
                            } else {
                                "use `world`, or `toCIDR: [::/0]` for IPv6 only"
                            }),
                        );
                        None
                    }
                    Some(e) => Some(PeerItem::Entity(e)),
                    None => {
                        let mut finding = Finding::error(
                            &UNKNOWN_ENTITY,
                            format!("unknown entity `{}`", text.value),
                        )
                        .at(node.span, "not an entity");
                        finding = match suggest(&text.value, CRD_ENTITIES) {
                            Some(s) => finding.help(format!("did you mean `{s}`?")),
                            None => {
                                finding.help(format!("entities are: {}", Entity::NAMES.join(", ")))
                            }
                        };
                        self.report(path, finding);
                        None
                    }
                }
            }
            PeerKind::Fqdns => self.fqdn_selector(node, path).map(PeerItem::Fqdn),
            PeerKind::Services => self.service(node, path),
            PeerKind::Groups => self.group(node, path),
            PeerKind::Requires => None,
        }
    }

    /// Parses a CIDR or address. Host bits are masked with a warning: Cilium's CIDR parsing
    /// (§1.5, `netip.ParsePrefix` + `Masked()`) accepts `10.0.0.1/8` as `10.0.0.0/8`; only
    /// unparsable text and non-contiguous masks are errors (§1.12 item 3).
    pub fn prefix(&mut self, node: &Node, text: &str, path: &str) -> Option<Prefix> {
        match Prefix::parse(text) {
            Ok(p) => Some(p),
            Err(PrefixError::HostBits { canonical, .. }) => {
                let host = text.find('/').map_or(0..text.len(), |slash| 0..slash);
                self.report(
                    path,
                    Finding::warning(&CIDR_HOST_BITS, format!("`{text}` has host bits set; Cilium reads it as `{canonical}`"))
                        .at(sub_span(node, host), "host bits set")
                        .help(format!("write `{canonical}`, or fix the prefix length if a smaller network was meant")),
                );
                Prefix::parse_lenient(text).ok()
            }
            Err(PrefixError::Syntax(_)) => {
                let at = match text.split_once('/') {
                    Some((addr, len)) if addr.parse::<std::net::IpAddr>().is_ok() => {
                        sub_span(node, addr.len() + 1..addr.len() + 1 + len.len())
                    }
                    _ => node.span,
                };
                let message = match text.split_once('/') {
                    Some((addr, len)) if addr.parse::<std::net::IpAddr>().is_ok() => {
                        let max = if addr.contains(':') { 128 } else { 32 };
                        format!("`{text}` is not a valid CIDR: prefix length `{len}` must be a number from 0 to {max}")
                    }
                    _ => format!("`{text}` is not a valid IP address or CIDR"),
                };
                self.report(
                    path,
                    Finding::error(&INVALID_CIDR, message).at(at, "invalid CIDR"),
                );
                None
            }
        }
    }

    fn cidr_rule(&mut self, node: &Node, path: &str) -> Option<PeerItem> {
        let fields = self.object(node, path, CIDR_RULE_FIELDS)?;
        if !self.exactly_one(
            &fields,
            path,
            &["cidr", "cidrGroupRef", "cidrGroupSelector"],
        ) {
            return None;
        }
        let except_path = join(path, "except");
        let except = match fields.get("except") {
            Some(n) => {
                let list = self.string_list(n, &except_path)?;
                let nodes = n.as_seq().unwrap_or_default();
                let mut out = Vec::new();
                for (i, (text, item)) in list.value.iter().zip(nodes).enumerate() {
                    if let Some(p) = self.prefix(item, &text.value, &index(&except_path, i)) {
                        out.push(Sp::new(p, item.span));
                    }
                }
                out
            }
            None => Vec::new(),
        };
        if let Some(cidr_node) = fields.get("cidr") {
            let text = self.string(cidr_node, &join(path, "cidr"))?;
            if !text.value.contains('/') {
                // `CIDRRule.Validate` only accepts `<address>/<length>` (unlike `toCIDR`).
                self.report(
                    &join(path, "cidr"),
                    Finding::error(
                        &INVALID_CIDR,
                        format!("`{}` needs a prefix length in a CIDR set", text.value),
                    )
                    .at(cidr_node.span, "no `/length`")
                    .help(format!(
                        "write `{}/{}`",
                        text.value,
                        if text.value.contains(':') { 128 } else { 32 }
                    )),
                );
                return None;
            }
            let cidr = self.prefix(cidr_node, &text.value, &join(path, "cidr"))?;
            return Some(PeerItem::CidrRule {
                cidr: Sp::new(cidr, cidr_node.span),
                except,
            });
        }
        // Cilium adds one `DoesNotExist` per `except` whatever the main label is (a CIDR, a
        // group reference or a group selector): `cilium:pkg/policy/api/cidr.go`
        // `CIDRRuleSlice.GetAsEndpointSelectors`.
        let except: Vec<Prefix> = except.iter().map(|e| e.value).collect();
        if let Some(group) = fields.get("cidrGroupRef") {
            return self.string(group, &join(path, "cidrGroupRef")).map(|s| {
                PeerItem::CidrGroupRef {
                    name: s.value,
                    except,
                }
            });
        }
        let sel_node = fields.get("cidrGroupSelector")?;
        self.selector(sel_node, &join(path, "cidrGroupSelector"), LabelSource::Any)
            .map(|s| PeerItem::CidrGroupSelector {
                selector: s.value,
                except,
            })
    }

    /// Reports unless exactly one of `keys` is present.
    pub fn exactly_one(&mut self, fields: &Fields<'_>, path: &str, keys: &[&str]) -> bool {
        let present: Vec<_> = fields.present().filter(|(k, _)| keys.contains(k)).collect();
        match present.as_slice() {
            [_] => true,
            [] => {
                self.report(
                    path,
                    Finding::error(
                        &CONFLICTING_FIELDS,
                        format!("`{path}` needs exactly one of {}", list_keys(keys)),
                    )
                    .at(fields.span(), "none given"),
                );
                false
            }
            [(first, first_span), rest @ ..] => {
                let (second, second_span) = rest[0];
                self.report(
                    path,
                    Finding::error(
                        &CONFLICTING_FIELDS,
                        format!("`{first}` and `{second}` cannot be used together; `{path}` takes exactly one of {}", list_keys(keys)),
                    )
                    .at(second_span, format!("`{second}` given here"))
                    .secondary(*first_span, format!("`{first}` given here")),
                );
                false
            }
        }
    }

    /// `{matchName}` or `{matchPattern}` (toFQDNs and DNS rules).
    pub fn fqdn_selector(&mut self, node: &Node, path: &str) -> Option<FqdnSelector> {
        let fields = self.object(node, path, FQDN_FIELDS)?;
        if !self.exactly_one(&fields, path, FQDN_FIELDS) {
            return None;
        }
        let (key, value_node) = FQDN_FIELDS
            .iter()
            .find_map(|k| fields.get(k).map(|n| (*k, n)))?;
        let text = self.string(value_node, &join(path, key))?;
        let parsed = if key == "matchName" {
            FqdnPattern::name(&text.value)
        } else {
            FqdnPattern::pattern(&text.value)
        };
        match parsed {
            Ok(p) if key == "matchName" => Some(FqdnSelector::MatchName(p)),
            Ok(p) => Some(FqdnSelector::MatchPattern(p)),
            Err(err) => {
                let mut finding = Finding::error(
                    &INVALID_FQDN,
                    format!("invalid {key} `{}`: {err}", text.value),
                )
                .at(value_node.span, "invalid DNS name");
                if matches!(err, policyc_ir::fqdn::FqdnError::StarInName) {
                    finding = finding.help("use `matchPattern` for names with `*`");
                }
                self.report(&join(path, key), finding);
                None
            }
        }
    }

    fn service(&mut self, node: &Node, path: &str) -> Option<PeerItem> {
        let fields = self.object(node, path, SERVICE_FIELDS)?;
        if !self.exactly_one(&fields, path, SERVICE_FIELDS) {
            return None;
        }
        if let Some(svc) = fields.get("k8sService") {
            let svc_path = join(path, "k8sService");
            let svc_fields = self.object(svc, &svc_path, &["serviceName", "namespace"])?;
            let name = svc_fields
                .get("serviceName")
                .and_then(|n| self.string(n, &join(&svc_path, "serviceName")));
            let ns = svc_fields
                .get("namespace")
                .and_then(|n| self.string(n, &join(&svc_path, "namespace")));
            let name = name.map(|n| n.value).unwrap_or_default();
            let detail = match &ns {
                Some(ns) => format!("k8sService {}/{name}", ns.value),
                None => format!("k8sService {name}"),
            };
            return Some(PeerItem::Service {
                target: ServiceRef::Name {
                    name,
                    namespace: ns.map(|n| n.value),
                },
                detail,
            });
        }
        let sel = fields.get("k8sServiceSelector")?;
        let sel_path = join(path, "k8sServiceSelector");
        let sel_fields = self.object(sel, &sel_path, &["selector", "namespace"])?;
        let ns = sel_fields
            .get("namespace")
            .and_then(|n| self.string(n, &join(&sel_path, "namespace")));
        let Some(selector_node) = sel_fields.get("selector") else {
            self.missing(&sel_path, "selector", sel.span);
            return None;
        };
        let selector = self.selector(
            selector_node,
            &join(&sel_path, "selector"),
            LabelSource::Any,
        )?;
        let detail = match &ns {
            Some(ns) => format!("k8sServiceSelector {} in {}", selector.value, ns.value),
            None => format!("k8sServiceSelector {}", selector.value),
        };
        Some(PeerItem::Service {
            target: ServiceRef::Selector {
                selector: selector.value,
                namespace: ns.map(|n| n.value),
            },
            detail,
        })
    }

    fn group(&mut self, node: &Node, path: &str) -> Option<PeerItem> {
        let fields = self.object(node, path, GROUP_FIELDS)?;
        let Some(aws) = fields.get("aws") else {
            self.missing(path, "aws", node.span);
            return None;
        };
        let aws_path = join(path, "aws");
        let aws_fields = self.object(aws, &aws_path, AWS_FIELDS)?;
        let mut parts = Vec::new();
        if let Some(labels) = aws_fields.get("labels") {
            for (k, v) in self.string_map(labels, &join(&aws_path, "labels"))? {
                parts.push(format!("{}={}", k.as_str().unwrap_or_default(), v.value));
            }
        }
        for key in ["securityGroupsIds", "securityGroupsNames"] {
            if let Some(list) = aws_fields.get(key) {
                parts.extend(
                    self.string_list(list, &join(&aws_path, key))?
                        .value
                        .into_iter()
                        .map(|s| s.value),
                );
            }
        }
        if let Some(region) = aws_fields.get("region") {
            parts.push(format!(
                "region={}",
                self.string(region, &join(&aws_path, "region"))?.value
            ));
        }
        Some(PeerItem::Group(format!("aws {}", parts.join(","))))
    }
}

fn list_keys(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
