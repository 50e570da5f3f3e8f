//! `policy-loader metrics`: the node's policy state in the Prometheus text format (0.0.4), read
//! from the pins at each scrape: per endpoint its generation, health and last apply latency,
//! per rule the packets and bytes it decided (`pc_counters` of the live generation), the
//! dropped packets and bytes by direction and reason (`pc_drops`, shared by the generations,
//! so it counts since the endpoint's first install), and the DNS object's counters. Served on
//! a local address or written as a node_exporter textfile.

use std::fmt::Write;

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use super::inspect;
use super::live::live_record;
use super::pins::NodePaths;
use super::NodeError;
use policyc_backends::layout::{drop_slot, map_names, Reason};

use super::pins::{direction_name, DIRECTIONS};

/// One rule's counters on one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCounter {
    pub endpoint: String,
    pub rule_id: u32,
    /// `kind ns/name action (file:line:col path)`, from the manifest.
    pub rule: String,
    pub packets: u64,
    pub bytes: u64,
}

/// The packets one endpoint dropped in one direction for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropCounter {
    pub endpoint: String,
    pub direction: &'static str,
    /// [`Reason::word`].
    pub reason: String,
    pub packets: u64,
    pub bytes: u64,
}

/// One endpoint's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointMetrics {
    pub endpoint: String,
    pub generation: Option<u64>,
    pub healthy: bool,
    pub apply_micros: Option<u64>,
}

/// Everything a scrape reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    pub endpoints: Vec<EndpointMetrics>,
    pub rules: Vec<RuleCounter>,
    /// Drops by reason (reasons that dropped nothing are left out).
    pub drops: Vec<DropCounter>,
    /// (endpoint, counter name, value).
    pub dns: Vec<(String, String, u64)>,
}

/// Packets and bytes of a per-CPU `policyc_rule_counter` value, summed over CPUs.
fn rule_counter_sum(values: &[Vec<u8>]) -> (u64, u64) {
    let field = |v: &[u8], at: usize| -> u64 {
        v.get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    };
    values.iter().fold((0, 0), |(p, b), v| {
        (p.saturating_add(field(v, 0)), b.saturating_add(field(v, 8)))
    })
}

/// The non-zero drop counters of one endpoint's `pc_drops`.
fn drops(map: &MapHandle, endpoint: &str) -> Vec<DropCounter> {
    let mut out = Vec::new();
    for direction in DIRECTIONS {
        for reason in Reason::ALL {
            let slot = drop_slot(direction, *reason);
            let Ok(Some(values)) = map.lookup_percpu(&slot.to_ne_bytes(), MapFlags::ANY) else {
                continue;
            };
            let (packets, bytes) = rule_counter_sum(&values);
            if packets > 0 {
                out.push(DropCounter {
                    endpoint: endpoint.to_owned(),
                    direction: direction_name(direction),
                    reason: reason.word(),
                    packets,
                    bytes,
                });
            }
        }
    }
    out
}

/// Reads the node's metrics from its pins and records.
pub fn collect(paths: &NodePaths) -> Result<Metrics, NodeError> {
    let mut metrics = Metrics::default();
    for status in inspect::status(paths)? {
        let record = live_record(paths, &status.endpoint).ok();
        metrics.endpoints.push(EndpointMetrics {
            endpoint: status.endpoint.clone(),
            generation: status.generation,
            healthy: status.health == "ok",
            apply_micros: record.as_ref().and_then(|r| r.apply_micros),
        });
        let (Some(generation), Some(record)) = (status.generation, record) else {
            continue;
        };
        let pin = paths.map(&status.endpoint, generation, map_names::DROPS);
        if let Ok(map) = MapHandle::from_pinned_path(&pin) {
            metrics.drops.extend(drops(&map, &status.endpoint));
        }
        let pin = paths.map(&status.endpoint, generation, map_names::COUNTERS);
        let Ok(map) = MapHandle::from_pinned_path(&pin) else {
            continue;
        };
        for rule in &record.manifest.rules {
            let id = rule.datapath_rule_id;
            let Ok(Some(values)) = map.lookup_percpu(&id.to_ne_bytes(), MapFlags::ANY) else {
                continue;
            };
            let (packets, bytes) = rule_counter_sum(&values);
            metrics.rules.push(RuleCounter {
                endpoint: status.endpoint.clone(),
                rule_id: id,
                rule: rule.describe(),
                packets,
                bytes,
            });
        }
    }
    if let Ok(dns) = super::dns::status::status(paths) {
        for endpoint in dns.endpoints {
            for (name, value) in endpoint.counters {
                metrics.dns.push((endpoint.endpoint.clone(), name, value));
            }
        }
    }
    Ok(metrics)
}

/// A label value with `\`, `"` and new lines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The Prometheus text exposition of `metrics`.
#[must_use]
pub fn render(metrics: &Metrics) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "policyc_endpoint_generation",
        "gauge",
        "The policy generation the endpoint runs.",
    );
    for e in &metrics.endpoints {
        if let Some(g) = e.generation {
            let _ = writeln!(
                out,
                "policyc_endpoint_generation{{endpoint=\"{}\"}} {g}",
                label(&e.endpoint)
            );
        }
    }
    header(
        &mut out,
        "policyc_endpoint_healthy",
        "gauge",
        "1 when the endpoint's installation is complete and consistent (policy-loader status).",
    );
    for e in &metrics.endpoints {
        let _ = writeln!(
            out,
            "policyc_endpoint_healthy{{endpoint=\"{}\"}} {}",
            label(&e.endpoint),
            u8::from(e.healthy)
        );
    }
    header(
        &mut out,
        "policyc_apply_duration_seconds",
        "gauge",
        "Time the last apply of the endpoint took to load, verify, fill and pin its generation.",
    );
    for e in &metrics.endpoints {
        if let Some(us) = e.apply_micros {
            let _ = writeln!(
                out,
                "policyc_apply_duration_seconds{{endpoint=\"{}\"}} {}",
                label(&e.endpoint),
                us as f64 / 1e6
            );
        }
    }
    for (name, help, value) in [
        (
            "policyc_rule_packets_total",
            "Packets whose verdict this rule decided, since its generation was installed.",
            (|r: &RuleCounter| r.packets) as fn(&RuleCounter) -> u64,
        ),
        (
            "policyc_rule_bytes_total",
            "Bytes of the packets whose verdict this rule decided, since its generation was installed.",
            |r: &RuleCounter| r.bytes,
        ),
    ] {
        header(&mut out, name, "counter", help);
        for r in &metrics.rules {
            let _ = writeln!(
                out,
                "{name}{{endpoint=\"{}\",rule_id=\"{}\",rule=\"{}\"}} {}",
                label(&r.endpoint),
                r.rule_id,
                label(&r.rule),
                value(r)
            );
        }
    }
    for (name, help, value) in [
        (
            "policyc_drops_total",
            "Packets the endpoint dropped, by direction and reason, since its first install.",
            (|d: &DropCounter| d.packets) as fn(&DropCounter) -> u64,
        ),
        (
            "policyc_drop_bytes_total",
            "Bytes of the packets the endpoint dropped, by direction and reason, since its first install.",
            |d: &DropCounter| d.bytes,
        ),
    ] {
        header(&mut out, name, "counter", help);
        for d in &metrics.drops {
            let _ = writeln!(
                out,
                "{name}{{endpoint=\"{}\",direction=\"{}\",reason=\"{}\"}} {}",
                label(&d.endpoint),
                d.direction,
                label(&d.reason),
                value(d)
            );
        }
    }
    header(
        &mut out,
        "policyc_dns_total",
        "counter",
        "The in-kernel DNS policy's counters per endpoint (refused, allowed, learned, ...).",
    );
    for (endpoint, counter, value) in &metrics.dns {
        let _ = writeln!(
            out,
            "policyc_dns_total{{endpoint=\"{}\",counter=\"{}\"}} {value}",
            label(endpoint),
            label(counter)
        );
    }
    out
}

/// Writes `text` to `path` as node_exporter's textfile collector wants it: whole or not at
/// all (a temporary file in the same directory, renamed over it).
pub fn write_textfile(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_prometheus_text_format() {
        let metrics = Metrics {
            endpoints: vec![EndpointMetrics {
                endpoint: "shop/api".into(),
                generation: Some(2),
                healthy: true,
                apply_micros: Some(1_500_000),
            }],
            rules: vec![RuleCounter {
                endpoint: "shop/api".into(),
                rule_id: 3,
                rule: "CiliumNetworkPolicy shop/\"x\" allow".into(),
                packets: 10,
                bytes: 840,
            }],
            drops: vec![DropCounter {
                endpoint: "shop/api".into(),
                direction: "egress",
                reason: Reason::SourceInvalid.word(),
                packets: 5,
                bytes: 420,
            }],
            dns: vec![("shop/api".into(), "refused".into(), 4)],
        };
        let text = render(&metrics);
        for line in [
            "# TYPE policyc_endpoint_generation gauge",
            "policyc_endpoint_generation{endpoint=\"shop/api\"} 2",
            "policyc_endpoint_healthy{endpoint=\"shop/api\"} 1",
            "policyc_apply_duration_seconds{endpoint=\"shop/api\"} 1.5",
            "# TYPE policyc_rule_packets_total counter",
            "policyc_rule_packets_total{endpoint=\"shop/api\",rule_id=\"3\",rule=\"CiliumNetworkPolicy shop/\\\"x\\\" allow\"} 10",
            "policyc_rule_bytes_total{endpoint=\"shop/api\",rule_id=\"3\",rule=\"CiliumNetworkPolicy shop/\\\"x\\\" allow\"} 840",
            "policyc_dns_total{endpoint=\"shop/api\",counter=\"refused\"} 4",
            "# TYPE policyc_drops_total counter",
            "policyc_drops_total{endpoint=\"shop/api\",direction=\"egress\",reason=\"source_invalid\"} 5",
            "policyc_drop_bytes_total{endpoint=\"shop/api\",direction=\"egress\",reason=\"source_invalid\"} 420",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn per_cpu_values_are_summed() {
        let cpu = |p: u64, b: u64| [p.to_ne_bytes(), b.to_ne_bytes()].concat();
        assert_eq!(rule_counter_sum(&[cpu(1, 60), cpu(2, 100)]), (3, 160));
        assert_eq!(rule_counter_sum(&[vec![0; 3]]), (0, 0));
    }
}
