//! Schema walk of a Kubernetes NetworkPolicy `spec` (`networking.k8s.io/v1`), including the
//! API server's own validation of peers and ports.

use super::{index, join, Walker};
use crate::ast::{KnpPeer, KnpRule, KnpSpec, PortValue, Sp};
use crate::schema::ports::KNP_PROTOCOLS;
use crate::yaml::Node;
use policyc_diagnostics::codes::{
    CONFLICTING_FIELDS, EXCEPT_OUTSIDE_CIDR, KNP_END_PORT, VALUE_OUT_OF_RANGE,
};
use policyc_diagnostics::Finding;
use policyc_ir::{Direction, EndpointSelector, LabelSource};

const SPEC_FIELDS: &[&str] = &["podSelector", "policyTypes", "ingress", "egress"];
const PEER_FIELDS: &[&str] = &["podSelector", "namespaceSelector", "ipBlock"];

impl Walker {
    pub fn knp_spec(&mut self, node: &Node, path: &str) -> Option<KnpSpec> {
        let fields = self.object(node, path, SPEC_FIELDS)?;
        let pod_selector = match fields.get("podSelector") {
            Some(n) => self.selector(n, &join(path, "podSelector"), LabelSource::K8s),
            // `spec.podSelector` is a struct, not a pointer, in the Kubernetes API
            // (k8s.io/api/networking/v1 NetworkPolicySpec): `null` decodes to the empty
            // selector, which selects every pod of the namespace (Cilium's
            // pkg/k8s/network_policy_test.go TestNetworkPolicyExamples, example 3).
            None => match fields.null("podSelector") {
                Some(null) => Some(Sp::new(EndpointSelector::wildcard(), null.span)),
                None => {
                    // The API server requires the field (an empty `{}` selects every pod).
                    self.missing(path, "podSelector", node.span);
                    None
                }
            },
        };
        let policy_types = fields.get("policyTypes").and_then(|n| {
            let types_path = join(path, "policyTypes");
            let list = self.string_list(n, &types_path)?;
            let mut out = Vec::new();
            for (i, t) in list.value.iter().enumerate() {
                match t.value.as_str() {
                    "Ingress" => out.push(Direction::Ingress),
                    "Egress" => out.push(Direction::Egress),
                    other => {
                        let item = n.as_seq().and_then(|s| s.get(i)).unwrap_or(n);
                        self.bad_enum(
                            &index(&types_path, i),
                            item,
                            other,
                            &["Ingress", "Egress"],
                            "policy type",
                        );
                    }
                }
            }
            Some(Sp::new(out, n.span))
        });
        let rules = |w: &mut Walker, key: &str, peers_key: &str| {
            let (_, list) = fields.entry(key)?;
            let list_path = join(path, key);
            let items = w.list(list, &list_path)?;
            let parsed = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| w.knp_rule(item, &index(&list_path, i), peers_key))
                .collect();
            Some(Sp::new(parsed, list.span))
        };
        let ingress = rules(self, "ingress", "from");
        let egress = rules(self, "egress", "to");
        Some(KnpSpec {
            span: node.span,
            pod_selector,
            policy_types,
            ingress,
            egress,
        })
    }

    fn knp_rule(&mut self, node: &Node, path: &str, peers_key: &str) -> Option<KnpRule> {
        let known = [peers_key, "ports"];
        let other = if peers_key == "from" { "to" } else { "from" };
        let hint = |key: &str| {
            (key == other).then(|| {
                format!(
                    "{} rules list their peers under `{peers_key}`",
                    if peers_key == "from" {
                        "ingress"
                    } else {
                        "egress"
                    }
                )
            })
        };
        let fields = self.fields(node, path, &known, &hint)?;
        let peers = fields.get(peers_key).and_then(|n| {
            let peers_path = join(path, peers_key);
            let items = self.list(n, &peers_path)?;
            let parsed = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    self.knp_peer(item, &index(&peers_path, i))
                        .map(|p| Sp::new(p, item.span))
                })
                .collect();
            Some(Sp::new(parsed, n.span))
        });
        let ports = fields.get("ports").and_then(|n| {
            let ports_path = join(path, "ports");
            let list = self.port_list(n, &ports_path, KNP_PROTOCOLS)?;
            for (i, port) in list.value.iter().enumerate() {
                self.check_knp_port(port, &index(&ports_path, i));
            }
            Some(list)
        });
        Some(KnpRule {
            path: path.to_string(),
            span: node.span,
            peers,
            ports,
        })
    }

    fn check_knp_port(&mut self, port: &crate::ast::PortProtocol, path: &str) {
        if let Some(Sp {
            value: PortValue::Number(0),
            span,
        }) = &port.port
        {
            self.report(
                &join(path, "port"),
                Finding::error(
                    &VALUE_OUT_OF_RANGE,
                    "NetworkPolicy ports are 1..65535; omit `port` to allow all ports",
                )
                .at(*span, "port 0"),
            );
        }
        let Some(end) = &port.end_port else { return };
        match &port.port {
            None => self.report(
                &join(path, "endPort"),
                Finding::error(&KNP_END_PORT, "`endPort` needs a `port` to start the range")
                    .at(end.span, "no start port"),
            ),
            Some(Sp {
                value: PortValue::Named(name),
                span,
            }) => self.report(
                &join(path, "endPort"),
                Finding::error(
                    &KNP_END_PORT,
                    format!("`endPort` cannot be used with the named port `{name}`"),
                )
                .at(end.span, "range end")
                .secondary(*span, "named port"),
            ),
            Some(Sp {
                value: PortValue::Number(start),
                span,
            }) if end.value < *start => self.report(
                &join(path, "endPort"),
                Finding::error(
                    &KNP_END_PORT,
                    format!("`endPort` {} is smaller than `port` {start}", end.value),
                )
                .at(end.span, "range end")
                .secondary(*span, "range start"),
            ),
            Some(_) => {}
        }
    }

    fn knp_peer(&mut self, node: &Node, path: &str) -> Option<KnpPeer> {
        let fields = self.object(node, path, PEER_FIELDS)?;
        if let Some((ip_key, ip_block)) = fields.entry("ipBlock") {
            if let Some((other, _)) = fields.present().find(|(k, _)| *k != "ipBlock") {
                let other_span = fields.entry(other).map_or(node.span, |(k, _)| k.span);
                self.report(
                    path,
                    Finding::error(
                        &CONFLICTING_FIELDS,
                        format!("`ipBlock` cannot be combined with `{other}` in one peer"),
                    )
                    .at(other_span, format!("`{other}` given here"))
                    .secondary(ip_key.span, "`ipBlock` given here")
                    .help("write them as two separate peers (list items)"),
                );
                return None;
            }
            let block_path = join(path, "ipBlock");
            let block = self.object(ip_block, &block_path, &["cidr", "except"])?;
            let Some(cidr_node) = block.get("cidr") else {
                self.missing(&block_path, "cidr", ip_block.span);
                return None;
            };
            let text = self.string(cidr_node, &join(&block_path, "cidr"))?;
            let cidr = self.prefix(cidr_node, &text.value, &join(&block_path, "cidr"))?;
            let mut except = Vec::new();
            if let Some(except_node) = block.get("except") {
                let except_path = join(&block_path, "except");
                let items = self.list(except_node, &except_path)?;
                for (i, item) in items.iter().enumerate() {
                    let Some(t) = self.string(item, &index(&except_path, i)) else {
                        continue;
                    };
                    if let Some(p) = self.prefix(item, &t.value, &index(&except_path, i)) {
                        if !cidr.contains(&p) || p == cidr {
                            self.report(
                                &index(&except_path, i),
                                Finding::error(
                                    &EXCEPT_OUTSIDE_CIDR,
                                    format!("except `{p}` is not a strict subset of cidr `{cidr}`"),
                                )
                                .at(item.span, "outside the cidr")
                                .secondary(cidr_node.span, "the cidr"),
                            );
                        }
                        except.push(Sp::new(p, item.span));
                    }
                }
            }
            return Some(KnpPeer::IpBlock {
                cidr: Sp::new(cidr, cidr_node.span),
                except,
            });
        }
        let pods = match fields.get("podSelector") {
            Some(n) => Some(
                self.selector(n, &join(path, "podSelector"), LabelSource::K8s)?
                    .value,
            ),
            None => None,
        };
        let namespaces = match fields.get("namespaceSelector") {
            Some(n) => Some(
                self.selector(n, &join(path, "namespaceSelector"), LabelSource::K8s)?
                    .value,
            ),
            None => None,
        };
        if pods.is_none() && namespaces.is_none() {
            self.report(
                path,
                Finding::error(
                    &CONFLICTING_FIELDS,
                    "a NetworkPolicy peer needs `podSelector`, `namespaceSelector` or `ipBlock`",
                )
                .at(node.span, "empty peer"),
            );
            return None;
        }
        Some(KnpPeer::Selectors { pods, namespaces })
    }
}
