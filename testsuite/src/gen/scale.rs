//! Kubernetes-shaped inputs at scale, as YAML files (inventory + policies), for the scale
//! benchmark (`policyc-bench scale`) and the artifact-growth tests: `tenants` namespaces of
//! `apps` deployments with `replicas` pods each (pods of one deployment share their labels, so
//! one identity and one *endpoint shape*), plus DNS in `kube-system` and Prometheus in
//! `monitoring`. Each app has its own CNP (ingress from the previous app and from Prometheus,
//! egress to the next app, to DNS and to one external CIDR); each tenant's `tier: db` pods take
//! Postgres from its `tier: api` pods; one CCNP denies a CIDR to every pod.
//!
//! Distinct endpoint shapes: `tenants × apps + 3`; endpoints: `tenants × apps × replicas + 3`.
//! Policy bytes grow with `tenants × apps` (≈ 1.1 KB per app).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How big a generated cluster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleShape {
    pub tenants: usize,
    pub apps: usize,
    pub replicas: usize,
}

impl ScaleShape {
    /// Pods in the inventory.
    pub fn endpoints(&self) -> usize {
        self.tenants * self.apps * self.replicas + INFRA_PODS
    }

    /// Distinct label sets (one per deployment, plus the infra pods).
    pub fn distinct_shapes(&self) -> usize {
        self.tenants * self.apps + INFRA_PODS
    }
}

/// kube-dns ×2 (one deployment, one shape) is counted as 2 pods; Prometheus 1.
const INFRA_PODS: usize = 3;

const TIERS: [&str; 3] = ["web", "api", "db"];

/// The inventory and policy files of a shape: (relative path, contents).
#[derive(Debug, Clone)]
pub struct ScaleInputs {
    pub inventory: String,
    /// `policies/<file>.yaml` → contents, one file per tenant plus the cluster-wide one.
    pub policies: Vec<(String, String)>,
}

/// The `n`-th pod address inside 198.18.0.0/16, after 198.18.0.0/24 (infra) and before
/// 198.18.255.0/24 (nodes): at most 65,024 pods. External CIDRs are in 198.19.0.0/16.
fn pod_ip(n: usize) -> String {
    let n = (n + 256).min(0xfeff);
    format!("198.18.{}.{}", n >> 8, n & 0xff)
}

fn endpoint(out: &mut String, ns: &str, name: &str, labels: &str, ip: &str, n: usize) {
    // Interface names are at most 15 bytes: `pc` + hex position.
    let _ = write!(
        out,
        "  - name: {name}\n    namespace: {ns}\n    labels: {{{labels}}}\n    ips: [{ip}]\n    interface: pc{n:x}\n"
    );
}

fn inventory(shape: ScaleShape) -> String {
    let mut out = String::from(
        "apiVersion: policyc/v1\nkind: Inventory\ncluster: default\nnamespaces:\n  - name: kube-system\n  - name: monitoring\n",
    );
    for t in 0..shape.tenants {
        let _ = writeln!(
            out,
            "  - name: t-{t}\n    labels: {{team: t-{t}, plan: {}}}",
            if t % 2 == 0 { "gold" } else { "silver" }
        );
    }
    out.push_str(
        "nodes:\n  - name: node-1\n    ips: [198.18.255.254]\n    local: true\nendpoints:\n",
    );
    endpoint(
        &mut out,
        "kube-system",
        "coredns-0",
        "k8s-app: kube-dns",
        "198.18.0.10",
        0,
    );
    endpoint(
        &mut out,
        "kube-system",
        "coredns-1",
        "k8s-app: kube-dns",
        "198.18.0.11",
        1,
    );
    endpoint(
        &mut out,
        "monitoring",
        "prometheus-0",
        "app: prometheus",
        "198.18.0.20",
        2,
    );
    let mut n = 0;
    for t in 0..shape.tenants {
        for a in 0..shape.apps {
            for r in 0..shape.replicas {
                endpoint(
                    &mut out,
                    &format!("t-{t}"),
                    &format!("app-{a}-{r}"),
                    &format!("app: app-{a}, tier: {}", TIERS[a % TIERS.len()]),
                    &pod_ip(n),
                    n + INFRA_PODS,
                );
                n += 1;
            }
        }
    }
    out
}

fn app_policy(out: &mut String, t: usize, a: usize, apps: usize) {
    let previous = (a + apps - 1) % apps;
    let next = (a + 1) % apps;
    let _ = write!(
        out,
        "---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: app-{a}
  namespace: t-{t}
spec:
  endpointSelector:
    matchLabels:
      app: app-{a}
  ingress:
    - fromEndpoints:
        - matchLabels:
            app: app-{previous}
      toPorts:
        - ports:
            - port: \"8080\"
              protocol: TCP
    - fromEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: monitoring
            app: prometheus
      toPorts:
        - ports:
            - port: \"9090\"
              protocol: TCP
  egress:
    - toEndpoints:
        - matchLabels:
            app: app-{next}
      toPorts:
        - ports:
            - port: \"8080\"
              protocol: TCP
            - port: \"9000\"
              endPort: 9100
              protocol: TCP
    - toEndpoints:
        - matchLabels:
            k8s:io.kubernetes.pod.namespace: kube-system
            k8s-app: kube-dns
      toPorts:
        - ports:
            - port: \"53\"
              protocol: UDP
    - toCIDR:
        - 198.19.{}.0/24
      toPorts:
        - ports:
            - port: \"443\"
              protocol: TCP
",
        t % 256
    );
}

fn tenant_policies(t: usize, apps: usize) -> String {
    let mut out = String::new();
    for a in 0..apps {
        app_policy(&mut out, t, a, apps);
    }
    let _ = write!(
        out,
        "---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: db-from-api
  namespace: t-{t}
spec:
  endpointSelector:
    matchLabels:
      tier: db
  ingress:
    - fromEndpoints:
        - matchLabels:
            tier: api
      toPorts:
        - ports:
            - port: \"5432\"
              protocol: TCP
"
    );
    out
}

const CLUSTER_POLICY: &str = "apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata:
  name: deny-quarantine
spec:
  endpointSelector: {}
  ingressDeny:
    - fromCIDR:
        - 198.19.255.0/24
";

/// The inputs of `shape`.
pub fn scale_inputs(shape: ScaleShape) -> ScaleInputs {
    let mut policies = vec![("cluster.yaml".to_string(), CLUSTER_POLICY.to_string())];
    for t in 0..shape.tenants {
        policies.push((format!("t-{t}.yaml"), tenant_policies(t, shape.apps)));
    }
    ScaleInputs {
        inventory: inventory(shape),
        policies,
    }
}

/// Writes `inventory.yaml` and `policies/` of `shape` under `dir`; returns their paths.
pub fn write_scale_inputs(shape: ScaleShape, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let inputs = scale_inputs(shape);
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies)?;
    let inventory = dir.join("inventory.yaml");
    std::fs::write(&inventory, inputs.inventory)?;
    for (name, text) in &inputs.policies {
        std::fs::write(policies.join(name), text)?;
    }
    Ok((inventory, policies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_addresses_are_distinct_and_inside_the_test_range() {
        let ips: std::collections::BTreeSet<String> = (0..65_024).map(pod_ip).collect();
        assert_eq!(ips.len(), 65_024);
        assert!(ips.iter().all(|ip| ip.starts_with("198.18.")));
        assert!(!ips.contains("198.18.0.10") && !ips.contains("198.18.255.254"));
    }
}
