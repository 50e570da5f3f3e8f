//! Schema walk of `toPorts` (ports, L7 rules, TLS/listener fields), `icmps`, and the port /
//! protocol scalars shared with NetworkPolicy.

use super::{index, join, Walker};
use crate::ast::{PortProtocol, PortRule, PortValue, SectionKind, Sp, L7};
use crate::grammar::{is_server_name, parse_port};
use crate::yaml::{Node, NodeKind};
use policyc_diagnostics::codes::{
    INVALID_GENERIC_L7, INVALID_KAFKA_RULE, INVALID_PORT, INVALID_REGEX, INVALID_SERVER_NAME,
    VALUE_OUT_OF_RANGE,
};
use policyc_diagnostics::Finding;
use policyc_ir::l7::{FullMatchRegex, HeaderMatch, HttpRule, KafkaRule};
use policyc_ir::ports::icmp_type_by_name;
use policyc_ir::{IcmpMatch, IpFamily, Protocol};
use std::collections::BTreeMap;

/// What one `headerMatches` entry asks of a request.
enum HeaderOutcome {
    /// The header must be present (and equal the value, when there is one).
    Require(HeaderMatch),
    /// A `mismatch` action: the proxy logs or edits the header, the request passes.
    Pass,
    /// The secret (`namespace/name`) is unknown and there is no `value`: the rule never matches.
    Never(String),
}

const PORT_RULE_FIELDS: &[&str] = &[
    "ports",
    "rules",
    "serverNames",
    "terminatingTLS",
    "originatingTLS",
    "listener",
];
const PORT_FIELDS: &[&str] = &["port", "endPort", "protocol"];
const L7_FIELDS: &[&str] = &["http", "kafka", "dns", "l7proto", "l7"];
const HTTP_FIELDS: &[&str] = &["method", "path", "host", "headers", "headerMatches"];
const HEADER_MATCH_FIELDS: &[&str] = &["name", "value", "secret", "mismatch"];
const KAFKA_FIELDS: &[&str] = &["role", "apiKey", "apiVersion", "clientID", "topic"];
const TLS_FIELDS: &[&str] = &["secret", "trustedCA", "certificate", "privateKey"];
const SECRET_FIELDS: &[&str] = &["name", "namespace"];
const LISTENER_FIELDS: &[&str] = &["envoyConfig", "name", "priority"];
const ENVOY_CONFIG_FIELDS: &[&str] = &["kind", "name"];
/// CRD enum of `protocol` in Cilium policies (case-sensitive).
pub const CILIUM_PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"];
/// `protocol` values of a NetworkPolicy port.
pub const KNP_PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const MISMATCH_ACTIONS: &[&str] = &["LOG", "ADD", "DELETE", "REPLACE"];
const KAFKA_ROLES: &[&str] = &["produce", "consume"];

impl Walker {
    pub fn to_ports(
        &mut self,
        node: &Node,
        path: &str,
        kind: SectionKind,
    ) -> Option<Sp<Vec<PortRule>>> {
        let items = self.list(node, path)?;
        let rules = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.port_rule(item, &index(path, i), kind))
            .collect();
        Some(Sp::new(rules, node.span))
    }

    fn port_rule(&mut self, node: &Node, path: &str, kind: SectionKind) -> Option<PortRule> {
        let known: &[&str] = if kind.is_deny() {
            &["ports"]
        } else {
            PORT_RULE_FIELDS
        };
        let hint = |key: &str| {
            (kind.is_deny() && PORT_RULE_FIELDS.contains(&key)).then(|| {
                format!("deny rules match ports only; `{key}` is only allowed in allow rules")
            })
        };
        let fields = self.fields(node, path, known, &hint)?;
        let ports = fields
            .get("ports")
            .and_then(|n| self.port_list(n, &join(path, "ports"), CILIUM_PROTOCOLS));
        let rules = fields
            .get("rules")
            .and_then(|n| self.l7(n, &join(path, "rules")).map(|l| Sp::new(l, n.span)));
        let server_names = fields.get("serverNames").and_then(|n| {
            let names_path = join(path, "serverNames");
            let list = self.string_list(n, &names_path)?;
            for (i, name) in list.value.iter().enumerate() {
                if !is_server_name(&name.value) {
                    let message = if name.value.is_empty() {
                        "server name is empty".to_string()
                    } else {
                        format!("`{}` is not a valid server name", name.value)
                    };
                    self.report(
                        &index(&names_path, i),
                        Finding::error(&INVALID_SERVER_NAME, message)
                            .at(name.span, "invalid server name")
                            .help("server names are DNS names, optionally starting with `*.` or `**.`"),
                    );
                }
            }
            Some(list)
        });
        let terminating_tls = fields
            .get("terminatingTLS")
            .and_then(|n| self.tls_context(n, &join(path, "terminatingTLS")));
        let originating_tls = fields
            .get("originatingTLS")
            .and_then(|n| self.tls_context(n, &join(path, "originatingTLS")));
        let listener = fields
            .get("listener")
            .and_then(|n| self.listener(n, &join(path, "listener")));
        Some(PortRule {
            span: node.span,
            ports,
            rules,
            server_names,
            terminating_tls,
            originating_tls,
            listener,
        })
    }

    fn tls_context(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Option<policyc_diagnostics::source::Span> {
        let fields = self.object(node, path, TLS_FIELDS)?;
        match fields.get("secret") {
            Some(secret) => {
                let secret_path = join(path, "secret");
                if let Some(sf) = self.object(secret, &secret_path, SECRET_FIELDS) {
                    for key in SECRET_FIELDS {
                        if let Some(v) = sf.get(key) {
                            let _ = self.string(v, &join(&secret_path, key));
                        }
                    }
                    if !sf.has("name") {
                        self.missing(&secret_path, "name", secret.span);
                    }
                }
            }
            None => self.missing(path, "secret", node.span),
        }
        for key in ["trustedCA", "certificate", "privateKey"] {
            if let Some(v) = fields.get(key) {
                let _ = self.string(v, &join(path, key));
            }
        }
        Some(node.span)
    }

    fn listener(&mut self, node: &Node, path: &str) -> Option<policyc_diagnostics::source::Span> {
        let fields = self.object(node, path, LISTENER_FIELDS)?;
        match fields.get("envoyConfig") {
            Some(ec) => {
                let ec_path = join(path, "envoyConfig");
                if let Some(ecf) = self.object(ec, &ec_path, ENVOY_CONFIG_FIELDS) {
                    for key in ENVOY_CONFIG_FIELDS {
                        if let Some(v) = ecf.get(key) {
                            let _ = self.string(v, &join(&ec_path, key));
                        }
                    }
                    if !ecf.has("name") {
                        self.missing(&ec_path, "name", ec.span);
                    }
                }
            }
            None => self.missing(path, "envoyConfig", node.span),
        }
        match fields.get("name") {
            Some(n) => {
                let _ = self.string(n, &join(path, "name"));
            }
            None => self.missing(path, "name", node.span),
        }
        if let Some(p) = fields.get("priority") {
            let _ = self.ranged_integer(p, &join(path, "priority"), "listener priority", 1..=100);
        }
        Some(node.span)
    }

    /// `ports: [{port, endPort, protocol}]` with `protocols` as the allowed enum.
    pub fn port_list(
        &mut self,
        node: &Node,
        path: &str,
        protocols: &[&str],
    ) -> Option<Sp<Vec<PortProtocol>>> {
        let items = self.list(node, path)?;
        let ports = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.port_protocol(item, &index(path, i), protocols))
            .collect();
        Some(Sp::new(ports, node.span))
    }

    fn port_protocol(
        &mut self,
        node: &Node,
        path: &str,
        protocols: &[&str],
    ) -> Option<PortProtocol> {
        let fields = self.object(node, path, PORT_FIELDS)?;
        let errors_before = self.findings.len();
        let port = fields
            .get("port")
            .and_then(|n| self.port_value(n, &join(path, "port")));
        let end_port = fields.get("endPort").and_then(|n| {
            let value = self.ranged_integer(n, &join(path, "endPort"), "endPort", 0..=65535)?;
            u16::try_from(value.value)
                .ok()
                .map(|v| Sp::new(v, value.span))
        });
        let protocol = fields.get("protocol").and_then(|n| {
            let proto_path = join(path, "protocol");
            let text = self.string(n, &proto_path)?;
            match Protocol::parse(&text.value).filter(|_| protocols.contains(&text.value.as_str())) {
                Some(p) => Some(Sp::new(p, n.span)),
                None => {
                    self.bad_enum(&proto_path, n, &text.value, protocols, "protocol");
                    if text.value.to_ascii_uppercase().starts_with("ICMP") {
                        if let Some(last) = self.findings.pop() {
                            self.findings.push(last.help("ICMP is matched with `icmps: [{fields: [{type: ..., family: ...}]}]`, not with `protocol`"));
                        }
                    }
                    None
                }
            }
        });
        let invalid = self.findings.len() > errors_before;
        Some(PortProtocol {
            span: node.span,
            port,
            end_port,
            protocol,
            invalid,
        })
    }

    /// A `port`: a string (Cilium's type) or an integer (`port: 80` is common YAML).
    pub fn port_value(&mut self, node: &Node, path: &str) -> Option<Sp<PortValue>> {
        let parsed = match &node.kind {
            NodeKind::Str(text) => parse_port(text).map_err(|e| e.message(text)),
            NodeKind::Int(n) => u16::try_from(*n)
                .map(PortValue::Number)
                .map_err(|_| format!("port {} is out of range (0..65535)", self.written(node))),
            NodeKind::Float(_) => Err(format!(
                "port {} is out of range (0..65535)",
                self.written(node)
            )),
            _ => {
                self.wrong_type(path, node, "a port number or name");
                return None;
            }
        };
        match parsed {
            Ok(v) => Some(Sp::new(v, node.span)),
            Err(message) => {
                self.report(
                    path,
                    Finding::error(&INVALID_PORT, message).at(node.span, "invalid port"),
                );
                None
            }
        }
    }

    /// The flattened ICMP fields of an `icmps` list, and how many entries the list has.
    pub fn icmps(&mut self, node: &Node, path: &str) -> Option<(Sp<Vec<Sp<IcmpMatch>>>, usize)> {
        let items = self.list(node, path)?;
        let entries = items.len();
        let mut out = Vec::new();
        let mut max_fields = 0;
        for (i, item) in items.iter().enumerate() {
            let item_path = index(path, i);
            let Some(fields) = self.object(item, &item_path, &["fields"]) else {
                continue;
            };
            let Some(list_node) = fields.get("fields") else {
                continue;
            };
            let fields_path = join(&item_path, "fields");
            let Some(entries) = self.list(list_node, &fields_path) else {
                continue;
            };
            max_fields = max_fields.max(entries.len());
            if entries.len() > 40 {
                self.report(
                    &fields_path,
                    Finding::error(
                        &policyc_diagnostics::codes::TOO_MANY_ICMP_FIELDS,
                        format!(
                            "{} ICMP fields given; Cilium allows at most 40 per entry",
                            entries.len()
                        ),
                    )
                    .at(list_node.span, "too many fields")
                    .help("split them over several `icmps` entries"),
                );
            }
            for (j, entry) in entries.iter().enumerate() {
                if let Some(m) = self.icmp_field(entry, &index(&fields_path, j)) {
                    out.push(Sp::new(m, entry.span));
                }
            }
        }
        Some((Sp::new(out, node.span), entries))
    }

    fn icmp_field(&mut self, node: &Node, path: &str) -> Option<IcmpMatch> {
        let fields = self.object(node, path, &["family", "type"])?;
        let family = match fields.get("family") {
            None => IpFamily::IPv4,
            Some(f) => {
                let text = self.string(f, &join(path, "family"))?;
                match text.value.as_str() {
                    "IPv4" => IpFamily::IPv4,
                    "IPv6" => IpFamily::IPv6,
                    other => {
                        self.bad_enum(
                            &join(path, "family"),
                            f,
                            other,
                            &["IPv4", "IPv6"],
                            "ICMP family",
                        );
                        return None;
                    }
                }
            }
        };
        let Some(type_node) = fields.get("type") else {
            self.missing(path, "type", node.span);
            return None;
        };
        let type_path = join(path, "type");
        let number = match &type_node.kind {
            NodeKind::Int(n) => Some(*n),
            NodeKind::Str(s) => s.parse::<i64>().ok(),
            _ => {
                self.wrong_type(&type_path, type_node, "an ICMP type number or name");
                return None;
            }
        };
        let icmp_type = match (number, type_node.as_str()) {
            (Some(n), _) => match u8::try_from(n) {
                Ok(t) => t,
                Err(_) => {
                    self.report(
                        &type_path,
                        Finding::error(
                            &VALUE_OUT_OF_RANGE,
                            format!(
                                "ICMP type {} is out of range (0..255)",
                                self.written(type_node)
                            ),
                        )
                        .at(type_node.span, "out of range"),
                    );
                    return None;
                }
            },
            (None, Some(name)) => match icmp_type_by_name(family, name) {
                Some(t) => t,
                None => {
                    let family_name = if family == IpFamily::IPv4 {
                        "IPv4"
                    } else {
                        "IPv6"
                    };
                    let names = icmp_names(family);
                    self.bad_enum(
                        &type_path,
                        type_node,
                        name,
                        &names,
                        &format!("{family_name} ICMP type name"),
                    );
                    return None;
                }
            },
            (None, None) => return None,
        };
        Some(IcmpMatch { family, icmp_type })
    }

    fn l7(&mut self, node: &Node, path: &str) -> Option<L7> {
        let fields = self.object(node, path, L7_FIELDS)?;
        let mut l7 = L7::default();
        if let Some((key, list)) = fields.entry("http") {
            let http_path = join(path, "http");
            let items = self.list(list, &http_path)?;
            let rules = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.http_rule(item, &index(&http_path, i)))
                .collect();
            l7.http = Some(Sp::new(rules, key.span));
        }
        if let Some((key, list)) = fields.entry("dns") {
            let dns_path = join(path, "dns");
            let items = self.list(list, &dns_path)?;
            let rules = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.fqdn_selector(item, &index(&dns_path, i)))
                .collect();
            l7.dns = Some(Sp::new(rules, key.span));
        }
        if let Some((key, list)) = fields.entry("kafka") {
            let kafka_path = join(path, "kafka");
            let items = self.list(list, &kafka_path)?;
            let rules = items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.kafka_rule(item, &index(&kafka_path, i)))
                .collect();
            l7.kafka = Some(Sp::new(rules, key.span));
        }
        if let Some((key, value)) = fields.entry("l7proto") {
            l7.l7proto = self
                .string(value, &join(path, "l7proto"))
                .map(|s| Sp::new(s.value, key.span));
        }
        if let Some((key, list)) = fields.entry("l7") {
            let l7_path = join(path, "l7");
            let items = self.list(list, &l7_path)?;
            let mut rules = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let item_path = index(&l7_path, i);
                let Some(entries) = self.string_map(item, &item_path) else {
                    continue;
                };
                let mut rule = BTreeMap::new();
                for (k, v) in entries {
                    let name = k.as_str().unwrap_or_default();
                    if name.is_empty() {
                        self.report(
                            &item_path,
                            Finding::error(&INVALID_GENERIC_L7, "an `l7` rule has an empty key")
                                .at(k.span, "empty key"),
                        );
                    }
                    rule.insert(name.to_string(), v.value);
                }
                rules.push(rule);
            }
            l7.l7 = Some(Sp::new(rules, key.span));
            if l7.l7proto.is_none() {
                self.report(
                    &l7_path,
                    Finding::error(
                        &INVALID_GENERIC_L7,
                        "`l7` rules need `l7proto` naming the L7 parser",
                    )
                    .at(key.span, "no `l7proto` next to this"),
                );
            }
        }
        Some(l7)
    }

    fn regex(&mut self, node: &Node, path: &str, what: &str) -> Option<FullMatchRegex> {
        let text = self.string(node, path)?;
        match FullMatchRegex::new(&text.value) {
            Ok(re) => Some(re),
            Err(err) => {
                let first_line = err
                    .lines()
                    .last()
                    .unwrap_or("invalid regex")
                    .trim()
                    .to_string();
                self.report(
                    path,
                    Finding::error(
                        &INVALID_REGEX,
                        format!(
                            "HTTP {what} `{}` is not a valid RE2 regex: {first_line}",
                            text.value
                        ),
                    )
                    .at(node.span, "does not compile"),
                );
                None
            }
        }
    }

    fn http_rule(&mut self, node: &Node, path: &str) -> Option<HttpRule> {
        let fields = self.object(node, path, HTTP_FIELDS)?;
        let mut rule = HttpRule::default();
        let mut ok = true;
        for (key, slot) in [
            ("method", &mut rule.method),
            ("path", &mut rule.path),
            ("host", &mut rule.host),
        ] {
            if let Some(n) = fields.get(key) {
                *slot = self.regex(n, &join(path, key), key);
                ok &= slot.is_some();
            }
        }
        if let Some(headers) = fields.get("headers") {
            for h in self.string_list(headers, &join(path, "headers"))?.value {
                // Cilium (`pkg/envoy/policy/envoy_l7_rules_translator.go` `getHTTPRule`) splits
                // an entry on its first space (`strings.SplitN(hdr, " ", 2)`): with two parts
                // the name is the first without trailing colons (`strings.TrimRight(.., ":")`)
                // and the rest, untrimmed, must equal the header's value; with one part the
                // whole entry is a header name that must be present (`X-Key:value` without a
                // space is the name `X-Key:value`, which no request carries).
                let header = match h.value.split_once(' ') {
                    Some((name, value)) => HeaderMatch {
                        name: name.trim_end_matches(':').to_string(),
                        value: Some(value.to_string()),
                    },
                    None => HeaderMatch {
                        name: h.value.clone(),
                        value: None,
                    },
                };
                rule.headers.push(header);
            }
        }
        if let Some(matches) = fields.get("headerMatches") {
            let hm_path = join(path, "headerMatches");
            for (i, item) in self.list(matches, &hm_path)?.iter().enumerate() {
                match self.header_match(item, &index(&hm_path, i)) {
                    Some(HeaderOutcome::Require(h)) => rule.headers.push(h),
                    Some(HeaderOutcome::Pass) => {}
                    Some(HeaderOutcome::Never(secret)) => {
                        rule.never_matches.get_or_insert(secret);
                    }
                    None => ok = false,
                }
            }
        }
        ok.then_some(rule)
    }

    /// One `headerMatches` entry, as Cilium turns it into Envoy matchers
    /// (`pkg/envoy/policy/envoy_l7_rules_translator.go` `getHTTPRule` and `getSecretString`):
    /// the value is the secret's (its namespace defaults to the policy's), else `value`; a
    /// secret that is unknown with no `value` fails the match whatever `mismatch` says; with a
    /// `mismatch` action (LOG, ADD, DELETE, REPLACE) the proxy only logs or edits the header
    /// and the request passes; without one the header must be present and, when there is a
    /// value, equal it.
    fn header_match(&mut self, node: &Node, path: &str) -> Option<HeaderOutcome> {
        let fields = self.object(node, path, HEADER_MATCH_FIELDS)?;
        let name = match fields.get("name") {
            Some(n) => self.string(n, &join(path, "name"))?,
            None => {
                self.missing(path, "name", node.span);
                return None;
            }
        };
        if name.value.is_empty() {
            self.missing(path, "name", name.span);
            return None;
        }
        let value = fields
            .get("value")
            .and_then(|n| self.string(n, &join(path, "value")))
            .map(|v| v.value)
            .unwrap_or_default();
        let mut fail_on_mismatch = true;
        if let Some(m) = fields.get("mismatch") {
            let text = self.string(m, &join(path, "mismatch"))?;
            if !MISMATCH_ACTIONS.contains(&text.value.as_str()) {
                self.bad_enum(
                    &join(path, "mismatch"),
                    m,
                    &text.value,
                    MISMATCH_ACTIONS,
                    "mismatch action",
                );
                return None;
            }
            fail_on_mismatch = false;
        }
        let mut secret_missing = None;
        let mut secret_value = String::new();
        if let Some(secret) = fields.get("secret") {
            let secret_path = join(path, "secret");
            let sf = self.object(secret, &secret_path, SECRET_FIELDS)?;
            let Some(secret_name) = sf
                .get("name")
                .and_then(|n| self.string(n, &join(&secret_path, "name")))
            else {
                self.missing(&secret_path, "name", secret.span);
                return None;
            };
            let namespace = sf
                .get("namespace")
                .and_then(|n| self.string(n, &join(&secret_path, "namespace")))
                .map(|n| n.value)
                .or_else(|| self.context.namespace.clone())
                .unwrap_or_default();
            let key = (namespace, secret_name.value);
            match self.secrets.get(&key) {
                Some(v) => secret_value = v.clone(),
                None => secret_missing = Some(format!("{}/{}", key.0, key.1)),
            }
        }
        // getSecretString: the inline value stands in when the secret gave none.
        let value = if secret_value.is_empty() && !value.is_empty() {
            secret_missing = None;
            value
        } else {
            secret_value
        };
        if let Some(secret) = secret_missing {
            return Some(HeaderOutcome::Never(secret));
        }
        if !fail_on_mismatch {
            return Some(HeaderOutcome::Pass);
        }
        Some(HeaderOutcome::Require(HeaderMatch {
            name: name.value,
            value: (!value.is_empty()).then_some(value),
        }))
    }

    fn kafka_rule(&mut self, node: &Node, path: &str) -> Option<KafkaRule> {
        let fields = self.object(node, path, KAFKA_FIELDS)?;
        let mut rule = KafkaRule::default();
        for (key, slot) in [
            ("role", &mut rule.role),
            ("apiKey", &mut rule.api_key),
            ("apiVersion", &mut rule.api_version),
            ("clientID", &mut rule.client_id),
            ("topic", &mut rule.topic),
        ] {
            *slot = fields
                .get(key)
                .and_then(|n| self.string(n, &join(path, key)))
                .map(|s| s.value);
        }
        let mut ok = true;
        if let (Some((_, role_node)), Some((api_key, _))) =
            (fields.entry("role"), fields.entry("apiKey"))
        {
            self.report(
                path,
                Finding::error(
                    &INVALID_KAFKA_RULE,
                    "a Kafka rule takes `role` or `apiKey`, not both",
                )
                .at(api_key.span, "`apiKey` given here")
                .secondary(role_node.span, "`role` given here"),
            );
            ok = false;
        }
        if let (Some(role), Some(role_node)) = (&rule.role, fields.get("role")) {
            if !KAFKA_ROLES.contains(&role.to_ascii_lowercase().as_str()) {
                self.bad_enum(
                    &join(path, "role"),
                    role_node,
                    role,
                    KAFKA_ROLES,
                    "Kafka role",
                );
                ok = false;
            }
        }
        if let (Some(topic), Some(topic_node)) = (&rule.topic, fields.get("topic")) {
            let valid = topic.len() <= 255
                && topic
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid {
                self.report(
                    &join(path, "topic"),
                    Finding::error(
                        &INVALID_KAFKA_RULE,
                        format!("`{topic}` is not a valid Kafka topic"),
                    )
                    .at(topic_node.span, "invalid topic")
                    .help("topics are at most 255 letters, digits, `.`, `_` and `-`"),
                );
                ok = false;
            }
        }
        ok.then_some(rule)
    }
}

fn icmp_names(family: IpFamily) -> Vec<&'static str> {
    const V4: &[&str] = &[
        "EchoReply",
        "DestinationUnreachable",
        "Redirect",
        "Echo",
        "EchoRequest",
        "RouterAdvertisement",
        "RouterSelection",
        "TimeExceeded",
        "ParameterProblem",
        "Timestamp",
        "TimestampReply",
        "Photuris",
        "ExtendedEchoRequest",
        "ExtendedEchoReply",
    ];
    const V6: &[&str] = &[
        "DestinationUnreachable",
        "PacketTooBig",
        "TimeExceeded",
        "ParameterProblem",
        "EchoRequest",
        "EchoReply",
        "MulticastListenerQuery",
        "MulticastListenerReport",
        "MulticastListenerDone",
        "RouterSolicitation",
        "RouterAdvertisement",
        "NeighborSolicitation",
        "NeighborAdvertisement",
        "RedirectMessage",
        "RouterRenumbering",
    ];
    match family {
        IpFamily::IPv4 => V4.to_vec(),
        IpFamily::IPv6 => V6.to_vec(),
    }
}
