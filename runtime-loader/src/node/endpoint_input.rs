//! What `endpoint add` accepts, checked before the node is looked at: the pod's name, service
//! account, labels and namespace labels in Kubernetes syntax, with Cilium's source prefixes
//! parsed by the compiler's own `policyc_ir::endpoint_identity::parse_label` (plain keys and
//! `k8s:`/`any:` keys are Kubernetes labels; every other source — `reserved:` above all — is
//! Cilium's own and cannot be given), each key once, none of the labels Cilium derives itself;
//! and pod addresses (not unspecified, loopback, multicast or broadcast, each once).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use policyc_ir::endpoint_identity::parse_label;
use policyc_ir::labels::{
    CLUSTER_KEY, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, SERVICE_ACCOUNT_KEY,
};
use policyc_ir::LabelSource;
use thiserror::Error;

/// A refused input: the option, the input (quoted, shortened) and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{option} {input}: {rule}")]
pub struct InputError {
    /// `--labels`, `--ip`, ...
    pub option: &'static str,
    /// The offending input as shown (quoted, at most 40 characters of it).
    pub input: String,
    /// What is wrong.
    pub rule: String,
}

/// `--labels` or `--namespace-labels`: namespace labels are plain Kubernetes keys (Cilium
/// prefixes them with `io.cilium.k8s.namespace.labels.` itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// The pod's own labels.
    Pod,
    /// The labels of its namespace.
    Namespace,
}

impl LabelKind {
    fn option(self) -> &'static str {
        match self {
            LabelKind::Pod => "--labels",
            LabelKind::Namespace => "--namespace-labels",
        }
    }
}

const NAME_CHARS: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_CHARS: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS_LABEL_CHARS: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";

/// `text` quoted, cut to 40 characters (with its length when cut).
fn shown(text: &str) -> String {
    let count = text.chars().count();
    if count <= 40 {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(32).collect();
    format!("\"{}…\" ({count} characters)", head.escape_debug())
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`
fn is_qualified_part(s: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    edge_ok(s.chars().next())
        && edge_ok(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_dns_label(s: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    edge_ok(s.chars().next())
        && edge_ok(s.chars().last())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Kubernetes' `IsDNS1123Subdomain`: the rule broken, if any.
fn subdomain_problem(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    (!s.split('.').all(is_dns_label)).then(|| SUBDOMAIN_CHARS.to_owned())
}

/// Kubernetes' `IsQualifiedName` (a label key): `[prefix/]name`.
fn key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Some("prefix part must be non-empty".into());
        }
        if let Some(problem) = subdomain_problem(prefix) {
            return Some(format!("prefix part {problem}"));
        }
    }
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Some("name part must be no more than 63 characters".into());
    }
    (!is_qualified_part(name)).then(|| format!("name part {NAME_CHARS}"))
}

/// Kubernetes' `IsValidLabelValue`.
fn value_problem(value: &str) -> Option<String> {
    if value.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    (!value.is_empty() && !is_qualified_part(value)).then(|| {
        format!(
            "must be empty or {}",
            NAME_CHARS.trim_start_matches("must ")
        )
    })
}

/// Why Cilium, not the user, sets the label with Kubernetes key `key`, if it does.
fn derived_by_cilium(key: &str) -> Option<&'static str> {
    match key {
        POD_NAMESPACE_KEY => Some("Cilium derives it from the namespace of --name"),
        SERVICE_ACCOUNT_KEY => Some("Cilium derives it from --service-account"),
        CLUSTER_KEY => Some("Cilium derives it from the cluster of the build"),
        _ if key.starts_with(NAMESPACE_LABELS_PREFIX) => {
            Some("Cilium derives it from the namespace labels (--namespace-labels)")
        }
        _ => None,
    }
}

/// Checks one `key=value` label of `kind`; returns its key as Cilium sees it (source and key).
fn check_label(
    kind: LabelKind,
    key: &str,
    value: &str,
) -> Result<(LabelSource, String), InputError> {
    let refuse = |rule: String| InputError {
        option: kind.option(),
        input: shown(&format!("{key}={value}")),
        rule,
    };
    let key_refusal = |rule: String| refuse(format!("key {}: {rule}", shown(key)));
    let label = parse_label(key, value);
    if kind == LabelKind::Namespace && label.key != key {
        return Err(key_refusal(
            "namespace labels are plain Kubernetes keys, without a source prefix".into(),
        ));
    }
    match label.source {
        LabelSource::K8s => {}
        LabelSource::Reserved => {
            return Err(key_refusal(
                "reserved labels are Cilium's own (reserved identities); an endpoint cannot be given one".into(),
            ))
        }
        other => {
            return Err(key_refusal(format!(
                "only Kubernetes labels (a plain key, or k8s:) can be given; {}: labels are Cilium's own",
                other.as_str()
            )))
        }
    }
    if let Some(problem) = key_problem(&label.key) {
        return Err(key_refusal(problem));
    }
    if kind == LabelKind::Pod {
        if let Some(reason) = derived_by_cilium(&label.key) {
            return Err(key_refusal(reason.into()));
        }
    }
    if let Some(problem) = value_problem(value) {
        return Err(refuse(format!("value: {problem}")));
    }
    Ok((label.source, label.key))
}

/// Checks labels of `kind` already split into a map: each valid, no two naming the same key
/// (`app` and `k8s:app` are one key).
pub fn check_labels(kind: LabelKind, labels: &BTreeMap<String, String>) -> Result<(), InputError> {
    let mut seen: BTreeMap<(LabelSource, String), &str> = BTreeMap::new();
    for (key, value) in labels {
        let parsed = check_label(kind, key, value)?;
        if let Some(first) = seen.insert(parsed, key) {
            return Err(twice(kind, first, key));
        }
    }
    Ok(())
}

fn twice(kind: LabelKind, first: &str, again: &str) -> InputError {
    let spelled = if first == again {
        String::new()
    } else {
        format!(" (as {})", shown(again))
    };
    InputError {
        option: kind.option(),
        input: format!("key {}", shown(first)),
        rule: format!("is given twice{spelled}: a Kubernetes object has one value per label key"),
    }
}

/// Parses `k=v[,k=v]` specs (repeatable option) of `kind` and checks them ([`check_labels`]).
pub fn parse_labels(
    kind: LabelKind,
    specs: &[String],
) -> Result<BTreeMap<String, String>, InputError> {
    let mut out = BTreeMap::new();
    for pair in specs
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').ok_or_else(|| InputError {
            option: kind.option(),
            input: shown(pair),
            rule: "a label is KEY=VALUE (the value may be empty: KEY=)".into(),
        })?;
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(twice(kind, key, key));
        }
    }
    check_labels(kind, &out)?;
    Ok(out)
}

/// Why `ip` cannot be a pod's address, if it cannot.
fn address_problem(ip: &IpAddr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("the unspecified address is no pod's address");
    }
    if ip.is_loopback() {
        return Some("a loopback address is no pod's address");
    }
    if ip.is_multicast() {
        return Some("a multicast address is no pod's address");
    }
    match ip {
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address is no pod's address"),
        _ => None,
    }
}

/// Checks the pod's addresses: at least one, each usable and given once.
pub fn check_ips(ips: &[IpAddr]) -> Result<(), InputError> {
    let refuse = |ip: &IpAddr, rule: &str| InputError {
        option: "--ip",
        input: ip.to_string(),
        rule: rule.to_owned(),
    };
    if ips.is_empty() {
        return Err(InputError {
            option: "--ip",
            input: "(none)".into(),
            rule: "endpoint add needs at least one pod address".into(),
        });
    }
    let mut seen = BTreeSet::new();
    for ip in ips {
        if let Some(problem) = address_problem(ip) {
            return Err(refuse(ip, problem));
        }
        if !seen.insert(ip) {
            return Err(refuse(ip, "is given twice"));
        }
    }
    Ok(())
}

/// Checks `--name NAMESPACE/NAME` (namespace: an RFC 1123 label; name: an RFC 1123
/// subdomain) and returns the namespace.
pub fn check_name(name: &str) -> Result<&str, InputError> {
    let refuse = |rule: String| InputError {
        option: "--name",
        input: shown(name),
        rule,
    };
    let (namespace, pod) = name
        .split_once('/')
        .ok_or_else(|| refuse("expects NAMESPACE/NAME".into()))?;
    if namespace.len() > 63 || !is_dns_label(namespace) {
        return Err(refuse(format!(
            "the namespace must be at most 63 characters; {DNS_LABEL_CHARS}"
        )));
    }
    if let Some(problem) = subdomain_problem(pod) {
        return Err(refuse(format!("the pod name: {problem}")));
    }
    Ok(namespace)
}

/// Checks `--service-account` (an RFC 1123 subdomain).
pub fn check_service_account(account: &str) -> Result<(), InputError> {
    match subdomain_problem(account) {
        Some(rule) => Err(InputError {
            option: "--service-account",
            input: shown(account),
            rule,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn labels(spec: &str) -> Result<BTreeMap<String, String>, String> {
        parse_labels(LabelKind::Pod, &[spec.to_owned()]).map_err(|e| e.to_string())
    }

    #[test_case("app=web" ; "a plain key")]
    #[test_case("app=" ; "an empty value")]
    #[test_case("k8s:app=web" ; "the k8s source")]
    #[test_case("any:app=web" ; "the any source is a k8s label")]
    #[test_case("app.kubernetes.io/name=web" ; "a prefixed key")]
    #[test_case("a-b_c.d=A-b_c.9" ; "every allowed character")]
    #[test_case("app=web,tier=backend,," ; "several labels and empty pieces")]
    fn valid_labels_are_accepted(spec: &str) {
        assert!(labels(spec).is_ok(), "{:?}", labels(spec));
    }

    #[test_case("=x", "name part must be non-empty" ; "an empty key")]
    #[test_case("a b=c", "name part must consist of alphanumeric" ; "a space in the key")]
    #[test_case("-app=x", "name part must consist of alphanumeric" ; "a key starting with a dash")]
    #[test_case("app.=x", "name part must consist of alphanumeric" ; "a key ending with a dot")]
    #[test_case("foo:bar=x", "name part must consist of alphanumeric" ; "an unknown source prefix")]
    #[test_case("Example.com/app=x", "prefix part a lowercase RFC 1123 subdomain" ; "an upper-case prefix")]
    #[test_case("/app=x", "prefix part must be non-empty" ; "an empty prefix")]
    #[test_case("a/b/c=x", "name part must consist of alphanumeric" ; "two slashes")]
    #[test_case("app", "a label is KEY=VALUE" ; "no equals sign")]
    #[test_case("app=a b", "value: must be empty or consist of" ; "a space in the value")]
    #[test_case("app=-x", "value: must be empty or consist of" ; "a value starting with a dash")]
    #[test_case("reserved:host=", "reserved labels are Cilium's own" ; "a reserved label")]
    #[test_case("cidr:10.0.0.0/8=", "cidr: labels are Cilium's own" ; "a cidr label")]
    #[test_case("container:x=y", "container: labels are Cilium's own" ; "a container label")]
    #[test_case("app=a,app=b", "is given twice" ; "a duplicate key")]
    #[test_case("app=a,k8s:app=b", "is given twice" ; "a duplicate key with its source")]
    #[test_case("io.kubernetes.pod.namespace=x", "from the namespace of --name" ; "the namespace label")]
    #[test_case("io.cilium.k8s.policy.serviceaccount=x", "from --service-account" ; "the service account label")]
    #[test_case("io.cilium.k8s.policy.cluster=x", "cluster of the build" ; "the cluster label")]
    #[test_case("io.cilium.k8s.namespace.labels.team=x", "from the namespace labels" ; "a namespace label copy")]
    fn bad_labels_are_refused_with_the_rule(spec: &str, rule: &str) {
        match labels(spec) {
            Err(e) => assert!(e.contains(rule), "{e}"),
            Ok(l) => panic!("{spec:?} accepted as {l:?}"),
        }
    }

    #[test_case(&"x".repeat(63), true ; "a name part of 63 characters")]
    #[test_case(&"x".repeat(64), false ; "a name part of 64 characters")]
    #[test_case(&format!("{}/app", "a".repeat(253)), true ; "a prefix of 253 characters")]
    #[test_case(&format!("{}/app", "a".repeat(254)), false ; "a prefix of 254 characters")]
    fn key_lengths_are_limited(key: &str, ok: bool) {
        assert_eq!(labels(&format!("{key}=v")).is_ok(), ok);
    }

    #[test]
    fn a_long_value_is_refused_without_echoing_it() {
        assert!(labels(&format!("app={}", "v".repeat(63))).is_ok());
        let Err(e) = labels(&format!("app={}", "v".repeat(10_000))) else {
            panic!("a value of 10,000 characters was accepted")
        };
        assert!(e.contains("must be no more than 63 characters"), "{e}");
        assert!(e.contains("(10004 characters)") && e.len() < 200, "{e}");
    }

    #[test_case("team=a", true ; "a plain key")]
    #[test_case("k8s:team=a", false ; "a source prefix")]
    #[test_case("team=a b", false ; "a bad value")]
    fn namespace_labels_are_plain_kubernetes_labels(spec: &str, ok: bool) {
        assert_eq!(
            parse_labels(LabelKind::Namespace, &[spec.to_owned()]).is_ok(),
            ok
        );
    }

    #[test_case("10.0.0.1", None ; "a private address")]
    #[test_case("fd00::1", None ; "a unique local address")]
    #[test_case("0.0.0.0", Some("unspecified") ; "unspecified v4")]
    #[test_case("::", Some("unspecified") ; "unspecified v6")]
    #[test_case("127.0.0.1", Some("loopback") ; "loopback v4")]
    #[test_case("::1", Some("loopback") ; "loopback v6")]
    #[test_case("224.0.0.1", Some("multicast") ; "multicast v4")]
    #[test_case("ff02::1", Some("multicast") ; "multicast v6")]
    #[test_case("255.255.255.255", Some("broadcast") ; "broadcast")]
    fn pod_addresses_are_checked(ip: &str, problem: Option<&str>) {
        let ip: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{e}"));
        match (check_ips(&[ip]), problem) {
            (Ok(()), None) => {}
            (Err(e), Some(problem)) => assert!(e.to_string().contains(problem), "{e}"),
            (outcome, _) => panic!("{ip}: {outcome:?}"),
        }
    }

    #[test]
    fn an_address_given_twice_or_none_is_refused() {
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert!(check_ips(&[ip, ip]).is_err());
        assert!(check_ips(&[]).is_err());
    }

    #[test_case("shop/api-2", true ; "a pod name")]
    #[test_case("shop/api.v2", true ; "a dotted pod name")]
    #[test_case("api", false ; "no namespace")]
    #[test_case("Shop/api", false ; "an upper-case namespace")]
    #[test_case("shop/", false ; "an empty pod name")]
    #[test_case("shop/a b", false ; "a space in the pod name")]
    fn names_are_namespace_slash_name(name: &str, ok: bool) {
        assert_eq!(check_name(name).is_ok(), ok, "{:?}", check_name(name));
    }
}
