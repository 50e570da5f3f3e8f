//! The `policy-loader` command line (clap): in the library so that the documentation test
//! walks it (every flag has help, every command examples and its exit status) and `main.rs`
//! only runs it.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The exit status every command shares (clap's usage errors exit 2).
macro_rules! exit_status {
    ($one:literal) => {
        concat!("\n\nExit status: 0 success, 1 ", $one, ", 2 usage error.")
    };
}

const APPLY_HELP: &str = concat!(
    "Examples:
  sudo policy-loader apply out/                        every endpoint of the artifact (tcx)
  sudo policy-loader apply out/ --endpoint shop/api    one endpoint
  sudo policy-loader apply out/ --cgroup shop/api=/sys/fs/cgroup/api   cgroup_skb instead
  sudo policy-loader apply out/ --l7-fallback allow-l4 L7 rules enforced at L4 only (warned)
  sudo policy-loader apply out/ --dry-run              every check and verifier load, nothing changed

An endpoint that cannot be installed keeps its previous policy; the others are installed.",
    exit_status!(
        "an endpoint could not be installed, or the artifact was refused (nothing changed)"
    )
);
const STATUS_HELP: &str = concat!(
    "Examples:
  sudo policy-loader status
  sudo policy-loader status --format json | jq '.[] | select(.health != \"ok\")'",
    exit_status!("an installed endpoint is not healthy, or the state cannot be read")
);
const DUMP_HELP: &str = concat!(
    "Examples:
  sudo policy-loader dump --endpoint shop/api
  sudo policy-loader dump --endpoint shop/api --format json",
    exit_status!("the endpoint is not installed or its maps cannot be read")
);
const EVENTS_HELP: &str = concat!(
    "Examples:
  sudo policy-loader events --follow
  sudo policy-loader events --count 10 --timeout 30 --format json
  sudo policy-loader events --follow --endpoint shop/api --verdict drop --port 8080
  sudo policy-loader events --identity 4242 --verdict default-deny",
    exit_status!("nothing is installed, or the event rings cannot be read")
);
const ENDPOINT_ADD_HELP: &str = concat!(
    "Examples:
  sudo policy-loader endpoint add --name shop/api-2 --labels app=api,tier=backend \\
      --service-account api --ip 198.18.1.21 --ip fd00::1:21",
    exit_status!("the endpoint cannot be admitted (nothing changed)")
);
const ENDPOINT_REMOVE_HELP: &str = concat!(
    "Examples:
  sudo policy-loader endpoint remove --name shop/api-2",
    exit_status!("the endpoint was not admitted or cannot be removed")
);
const DNS_STATUS_HELP: &str = concat!(
    "Examples:
  sudo policy-loader dns status
  sudo policy-loader dns status --format json",
    exit_status!("the DNS state cannot be read")
);
const DNS_DUMP_HELP: &str = concat!(
    "Examples:
  sudo policy-loader dns dump
  sudo policy-loader dns dump --format json",
    exit_status!("the learned map cannot be read")
);
const DNS_SWEEP_HELP: &str = concat!(
    "Examples:
  sudo policy-loader dns sweep                 once
  sudo policy-loader dns sweep --interval 30   every 30 seconds until killed",
    exit_status!("the learned map cannot be swept")
);
const UNLOAD_HELP: &str = concat!(
    "Examples:
  sudo policy-loader unload                        everything policyc installed
  sudo policy-loader unload --endpoint shop/api    one endpoint",
    exit_status!("an endpoint cannot be unloaded")
);
const METRICS_HELP: &str = concat!(
    "Examples:
  sudo policy-loader metrics                                  print once
  sudo policy-loader metrics --listen 127.0.0.1:9962          serve /metrics for Prometheus
  sudo policy-loader metrics --textfile /var/lib/node_exporter/textfile/policyc.prom

Metrics: policyc_endpoint_generation, policyc_endpoint_healthy,
policyc_apply_duration_seconds, policyc_rule_packets_total and policyc_rule_bytes_total (per
rule of the live generation), policyc_drops_total and policyc_drop_bytes_total (per direction
and reason: policy, policy_default, malformed, source_invalid, ct_revoked, ...), policyc_dns_total
(per DNS counter). Single drops with their peer and rule are in `events`.",
    exit_status!("the state cannot be read, the file written or the address bound")
);
const COMPLETIONS_HELP: &str = concat!(
    "Examples:
  policy-loader completions bash > /etc/bash_completion.d/policy-loader
  policy-loader completions zsh > \"${fpath[1]}/_policy-loader\"",
    exit_status!("the script cannot be written")
);

#[derive(Parser)]
#[command(
    name = "policy-loader",
    version,
    about = "Install, replace, inspect and remove compiled policyc policy on this node"
)]
pub struct Cli {
    /// Mounted bpffs; policyc pins under <bpffs>/policyc.
    #[arg(long, global = true, default_value = "/sys/fs/bpf")]
    pub bpffs: PathBuf,
    /// Directory of generation records (JSON).
    #[arg(long, global = true, default_value = "/run/policyc")]
    pub state_dir: PathBuf,
    /// Commands that change the node (apply, unload, endpoint add|remove, dns sweep) run one
    /// at a time: wait this long for another loader to finish, then refuse without changing
    /// anything (0: refuse at once).
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 300.0,
        value_parser = parse_seconds
    )]
    pub lock_timeout: f64,
    /// Print only errors, warnings and requested data: no per-endpoint success lines.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum L7Fallback {
    /// Allow L7-redirected traffic at L4; the L7 rules are NOT checked.
    AllowL4,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for scripts (`events`: one object per line).
    Json,
}

/// `--format`, as in `policyc`: `-o` means an output file or directory in both binaries.
/// `-o`/`--output` with a format (this command's spelling before 0.2) still work, hidden.
#[derive(Clone, Copy, clap::Args)]
pub struct FormatOpt {
    /// Output format.
    #[arg(
        long = "format",
        short_alias = 'o',
        alias = "output",
        value_enum,
        default_value = "table"
    )]
    pub format: Format,
}

#[derive(Subcommand)]
pub enum Command {
    /// Verify an artifact and install (or atomically replace) its endpoints' policy.
    #[command(after_help = APPLY_HELP)]
    Apply {
        /// `policyc build` output directory.
        artifact: PathBuf,
        /// Install only these endpoints (namespace/name); all when omitted.
        #[arg(long = "endpoint", value_name = "NS/NAME")]
        endpoints: Vec<String>,
        /// Accept L7 rules by enforcing only their L4 part.
        #[arg(long = "l7-fallback", value_enum)]
        l7_fallback: Option<L7Fallback>,
        /// The port of the node's L7 filter (HTTP rules), where the datapath hands it connections.
        #[arg(long = "l7-port", value_name = "PORT", default_value_t = crate::node::l7::DEFAULT_L7_PORT)]
        l7_port: u16,
        /// The L7 filter binary (default: policyc-l7 next to policy-loader).
        #[arg(long = "l7-filter", value_name = "PATH")]
        l7_filter: Option<PathBuf>,
        /// Attach an endpoint with cgroup_skb to a cgroup v2 directory instead of tcx.
        #[arg(long = "cgroup", value_name = "NS/NAME=PATH")]
        cgroups: Vec<String>,
        /// Learned DNS addresses live max(TTL, this many seconds) (Cilium's tofqdns-min-ttl), at
        /// most one day: no learned address lives longer, whatever the answer or this setting.
        #[arg(long = "dns-min-ttl", value_name = "SECONDS", default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=86_400))]
        dns_min_ttl: u32,
        /// Entries of the node-wide learned-address map when it is created (a hash: nothing is
        /// evicted; each endpoint may own a quarter of it).
        #[arg(long = "dns-learned-max", value_name = "ENTRIES", default_value_t = crate::node::dns::learned::DEFAULT_LEARNED_MAX)]
        dns_learned_max: u32,
        /// Addresses the answers for one question name may open for an endpoint (Cilium's
        /// tofqdns-endpoint-max-ip-per-hostname); further ones are not learned until they expire.
        #[arg(long = "dns-max-ips-per-name", value_name = "ADDRESSES", default_value_t = policyc_backends::dns::DEFAULT_NAME_IP_MAX)]
        dns_max_ips_per_name: u32,
        /// Run every check (digests, endpoints, L7, attach points, kernel features,
        /// capabilities, each object through the verifier) and change nothing: no pin, no
        /// attach, no record.
        #[arg(long)]
        dry_run: bool,
    },
    /// Installed endpoints, attach points, program ids, map fill levels, artifact digests.
    #[command(after_help = STATUS_HELP)]
    Status {
        #[command(flatten)]
        output: FormatOpt,
    },
    /// Decoded policy maps of an endpoint with rule provenance.
    #[command(after_help = DUMP_HELP)]
    Dump {
        /// The endpoint (namespace/name) whose maps to decode.
        #[arg(long, value_name = "NS/NAME")]
        endpoint: String,
        #[command(flatten)]
        output: FormatOpt,
    },
    /// Decoded verdict events (drops; passes when enabled at build time).
    ///
    /// Reads the event rings of the endpoints installed when it starts; with no endpoint
    /// installed it says so and exits 1, also with --follow (start it again after `apply`).
    #[command(after_help = EVENTS_HELP)]
    Events {
        /// Stop after this many events (waits for them).
        #[arg(long)]
        count: Option<usize>,
        /// Keep waiting for new events.
        #[arg(long)]
        follow: bool,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<f64>,
        /// Only events of this endpoint (namespace/name; repeatable).
        #[arg(long = "endpoint", value_name = "NS/NAME")]
        endpoints: Vec<String>,
        /// Only events with this verdict or action: drop, pass, allow, deny, default-deny,
        /// redirect-l7, auth-required (repeatable).
        #[arg(long = "verdict", value_name = "VERDICT", value_parser = crate::node::events_filter::VERDICT_WORDS)]
        verdicts: Vec<String>,
        /// Only events whose peer has this identity (repeatable).
        #[arg(long = "identity", value_name = "ID")]
        identities: Vec<u32>,
        /// Only events on this port (ICMP type for ICMP; repeatable).
        #[arg(long = "port", value_name = "PORT")]
        ports: Vec<u16>,
        #[command(flatten)]
        output: FormatOpt,
    },
    /// Admit or remove an endpoint (labels + IPs) without recompiling.
    Endpoint {
        #[command(subcommand)]
        action: EndpointAction,
    },
    /// In-kernel DNS policy: counters, learned addresses, sweeping expired entries.
    Dns {
        #[command(subcommand)]
        action: DnsAction,
    },
    /// Detach and remove endpoints (everything policyc installed when none is named).
    #[command(after_help = UNLOAD_HELP)]
    Unload {
        /// Unload only these endpoints (namespace/name; repeatable); everything when omitted.
        #[arg(long = "endpoint", value_name = "NS/NAME")]
        endpoints: Vec<String>,
    },
    /// Prometheus metrics: generations, per-rule packets and bytes, DNS counters, apply latency.
    #[command(after_help = METRICS_HELP)]
    Metrics {
        /// Serve the metrics over HTTP on this address (each request reads them afresh).
        #[arg(long, value_name = "ADDR", conflicts_with = "textfile")]
        listen: Option<std::net::SocketAddr>,
        /// Write them to this file (atomically) for node_exporter's textfile collector.
        #[arg(long, value_name = "PATH")]
        textfile: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to generate the script for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages (policy-loader.1 and one per subcommand) into a directory.
    #[command(hide = true)]
    Manpages {
        /// Directory to write the pages into (created if missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum DnsAction {
    /// Per-endpoint DNS counters and the learned map's fill.
    #[command(after_help = DNS_STATUS_HELP)]
    Status {
        #[command(flatten)]
        output: FormatOpt,
    },
    /// Learned addresses → selectors, with the TTL left.
    #[command(after_help = DNS_DUMP_HELP)]
    Dump {
        #[command(flatten)]
        output: FormatOpt,
    },
    /// Delete expired learned entries (once, or every --interval seconds until killed).
    #[command(after_help = DNS_SWEEP_HELP)]
    Sweep {
        /// Sweep again every SECONDS until killed (default: once).
        #[arg(long, value_name = "SECONDS")]
        interval: Option<f64>,
    },
}

#[derive(Subcommand)]
pub enum EndpointAction {
    /// Classify a new endpoint with the installed artifact's classifier and write its identity
    /// into every installed endpoint's class map and its IPs into the ipcache.
    #[command(after_help = ENDPOINT_ADD_HELP)]
    Add {
        /// The new endpoint's namespace/name.
        #[arg(long, value_name = "NS/NAME")]
        name: String,
        /// Pod labels, `k=v[,k=v]` (repeatable): Kubernetes label syntax, a key optionally
        /// prefixed `k8s:`; each key once; reserved: and other Cilium sources are refused.
        #[arg(long = "labels", value_name = "K=V[,K=V]")]
        labels: Vec<String>,
        /// Pod address (repeatable, at least one; not unspecified, loopback, multicast or
        /// broadcast).
        #[arg(long = "ip", value_name = "IP", required = true)]
        ips: Vec<std::net::IpAddr>,
        /// Labels of the namespace (default: as in the build).
        #[arg(long = "namespace-labels", value_name = "K=V[,K=V]")]
        namespace_labels: Vec<String>,
        /// The pod's service account (default: none).
        #[arg(long = "service-account", value_name = "SA")]
        service_account: Option<String>,
    },
    /// Remove an endpoint admitted with `endpoint add`.
    #[command(after_help = ENDPOINT_REMOVE_HELP)]
    Remove {
        /// The endpoint's namespace/name, as given to `endpoint add`.
        #[arg(long, value_name = "NS/NAME")]
        name: String,
    },
}

pub fn parse_seconds(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "expected seconds between 0 and 86400, got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};
    use policyc_diagnostics::cli_docs::undocumented;

    #[test]
    fn every_command_has_examples_and_exit_status_and_every_flag_help() {
        let problems = undocumented(&Cli::command());
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn minus_o_is_the_format_only_as_a_hidden_alias() {
        let cli = Cli::try_parse_from(["policy-loader", "status", "-o", "json"]);
        assert!(cli.is_ok(), "old spelling still parses");
        let help = Cli::command()
            .find_subcommand_mut("status")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        assert!(help.contains("--format"), "{help}");
        assert!(
            !help.contains("-o,") && !help.contains("--output"),
            "{help}"
        );
    }
}
