//! What `policy-loader apply` will refuse about an endpoint, known when the artifact is built:
//! `policyc build` warns about it, so the surprise is not on the node. The loader's own checks
//! (runtime-loader `install::attach_point` and `dns::install::check_endpoint_dns`) stay the
//! authority; these are their build-time half.

use super::manifest::ManifestEndpoint;

/// The port the in-kernel DNS policy judges (the loader refuses DNS rules on other ports).
const DNS_PORT: &str = "53";

/// One warning per reason the loader will refuse `endpoint`, or need an option for it.
#[must_use]
pub fn loader_refusals(endpoint: &ManifestEndpoint) -> Vec<String> {
    let name = &endpoint.name;
    let mut out = Vec::new();
    match (&endpoint.attach.interface, &endpoint.dns) {
        (None, Some(_)) => out.push(format!(
            "{name} has no interface in the inventory and has rules.dns: policy-loader apply refuses it \
             (rules.dns need tcx on the endpoint's interface, not a --cgroup attach); give it `interface:`"
        )),
        (None, None) => out.push(format!(
            "{name} has no interface in the inventory: policy-loader apply refuses it unless run with \
             --cgroup {name}=PATH (cgroup_skb); give it `interface:` for tcx"
        )),
        // With an interface the loader attaches with tcx unless told otherwise (`--cgroup` on an
        // endpoint with rules.dns is refused, and says so, at apply).
        (Some(_), _) => {}
    }
    if let Some(dns) = &endpoint.dns {
        for port in dns.dns_ports.iter().filter(|p| p.as_str() != DNS_PORT) {
            out.push(format!(
                "{name}: a rules.dns rule names port {port}; policy-loader apply refuses it (the in-kernel DNS \
                 policy judges port 53 only)"
            ));
        }
    }
    out
}
