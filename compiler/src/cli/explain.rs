//! `policyc explain`: evaluate one flow and print the walkthrough (egress side, ingress side,
//! verdict, deciding rules with their source locations) as text or JSON.

use super::test::{print_findings, EvalArgs};
use crate::config::Config;
use policyc_analysis::explain::{explain, render_text, Session};
use policyc_diagnostics::{codes, Finding};
use policyc_ir::l7::HttpRequest;
use policyc_ir::oracle::{Flow, L7Request, Transport};
use policyc_ir::ports::{icmp_type_by_name, IpFamily};
use policyc_ir::Protocol;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Peers (--from/--to): an endpoint `namespace/name`, an IP address, or an entity (world, host,
remote-node, kube-apiserver, health, init, ingress, unmanaged, world-ipv4, world-ipv6).

Examples:
  policyc explain --inventory inventory.yaml --from shop/frontend --to shop/api --port 8080 policies/
  policyc explain --inventory inv.yaml --from shop/api --to 198.51.100.7 --port 443 \\
      --resolved-from api.example.com policies/
  policyc explain --inventory inv.yaml --from a/b --to c/d --port 80 --http-method POST --http-path /x p/

Exit status: 0 when the flow was evaluated (whether allowed or denied: read the verdict),
2 on usage or load errors (unknown endpoint, bad address, unknown entity, invalid files).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// The walkthrough for people.
    Text,
    /// The explanation as JSON.
    Json,
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ExplainArgs {
    /// Inventory file or directory (policyc/v1 Inventory or Kubernetes Pod/Namespace/Node
    /// objects; default: the configuration's `inventory`).
    #[arg(long, value_name = "INV")]
    pub inventory: Option<PathBuf>,
    /// Source: namespace/name, IP address or entity.
    #[arg(long, value_name = "SRC")]
    pub from: String,
    /// Destination: namespace/name, IP address or entity.
    #[arg(long, value_name = "DST")]
    pub to: String,
    /// TCP, UDP, SCTP, ICMP or ICMPv6.
    #[arg(long, default_value = "TCP")]
    pub protocol: String,
    /// Destination port (TCP, UDP, SCTP).
    #[arg(long)]
    pub port: Option<u16>,
    /// ICMP type, number or name (default: echo request).
    #[arg(long, value_name = "T")]
    pub icmp_type: Option<String>,
    /// HTTP request method (an HTTP request is evaluated against L7 rules; default GET when
    /// another --http-* flag is given).
    #[arg(long, value_name = "M")]
    pub http_method: Option<String>,
    /// HTTP request path (default `/`).
    #[arg(long, value_name = "P")]
    pub http_path: Option<String>,
    /// HTTP Host header.
    #[arg(long, value_name = "HOST")]
    pub http_host: Option<String>,
    /// `Name: value`, repeatable.
    #[arg(long, value_name = "HEADER")]
    pub http_header: Vec<String>,
    /// DNS question name.
    #[arg(long, value_name = "Q")]
    pub dns_query: Option<String>,
    /// The destination address came from a DNS answer for this name (toFQDNs).
    #[arg(long, value_name = "NAME")]
    pub resolved_from: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ExplainFormat,
    #[command(flatten)]
    pub eval: EvalArgs,
    /// Policy files or directories (default: the configuration's `policies`).
    #[arg(value_name = "POLICY_PATHS")]
    pub policies: Vec<PathBuf>,
}

fn usage(message: String) -> Box<Finding> {
    Box::new(Finding::error(&codes::INVALID_FLOW_TEST, message))
}

fn transport(args: &ExplainArgs) -> Result<Transport, Box<Finding>> {
    let protocol = Protocol::parse(&args.protocol).ok_or_else(|| {
        usage(format!(
            "--protocol {}: expected TCP, UDP, SCTP, ICMP or ICMPv6",
            args.protocol
        ))
    })?;
    match protocol {
        Protocol::Icmp | Protocol::Icmpv6 => {
            let family = if protocol == Protocol::Icmp {
                IpFamily::IPv4
            } else {
                IpFamily::IPv6
            };
            let icmp_type = match &args.icmp_type {
                None => Some(if family == IpFamily::IPv4 { 8 } else { 128 }),
                Some(t) => t
                    .parse::<u8>()
                    .ok()
                    .or_else(|| icmp_type_by_name(family, t)),
            };
            icmp_type
                .map(|icmp_type| Transport::Icmp { family, icmp_type })
                .ok_or_else(|| {
                    usage(
                        "--icmp-type: expected 0-255 or an ICMP type name such as EchoRequest"
                            .into(),
                    )
                })
        }
        Protocol::Tcp | Protocol::Udp | Protocol::Sctp => {
            let port = args
                .port
                .ok_or_else(|| usage(format!("--port is required for {protocol}")))?;
            Transport::ported(protocol, port)
                .ok_or_else(|| usage(format!("{protocol} has no ports")))
        }
        other => Err(usage(format!(
            "--protocol {other}: flows are TCP, UDP, SCTP, ICMP or ICMPv6"
        ))),
    }
}

fn l7(args: &ExplainArgs) -> Result<Option<L7Request>, Box<Finding>> {
    if args.http_method.is_some()
        || args.http_path.is_some()
        || args.http_host.is_some()
        || !args.http_header.is_empty()
    {
        let mut headers = BTreeMap::new();
        for h in &args.http_header {
            let (k, v) = h
                .split_once(':')
                .ok_or_else(|| usage(format!("--http-header `{h}`: expected `Name: value`")))?;
            headers.insert(k.trim().to_string(), v.trim().to_string());
        }
        return Ok(Some(L7Request::Http(HttpRequest {
            method: args.http_method.clone().unwrap_or_else(|| "GET".into()),
            path: args.http_path.clone().unwrap_or_else(|| "/".into()),
            host: args.http_host.clone(),
            headers,
        })));
    }
    Ok(args.dns_query.clone().map(|query| L7Request::Dns { query }))
}

pub fn run(args: ExplainArgs, config: &Config) -> ExitCode {
    let Some(inventory) = args.inventory.as_ref().or(config.inventory.as_ref()) else {
        eprintln!("policyc explain: no inventory: pass --inventory INV or set `inventory` in .policyc.yaml");
        return ExitCode::from(2);
    };
    let policies = config.policy_paths(&args.policies, &[]);
    if policies.is_empty() {
        eprintln!(
            "policyc explain: no policies: pass POLICY_PATHS or set `policies` in .policyc.yaml"
        );
        return ExitCode::from(2);
    }
    let mut session = match Session::load(inventory, &policies, &args.eval.run_options()) {
        Ok(s) => s,
        Err(failure) => {
            print_findings(&failure.findings, &failure.sources);
            return ExitCode::from(2);
        }
    };
    let mut errors: Vec<Finding> = Vec::new();
    let from = session
        .peer("--from", &args.from)
        .map_err(|f| errors.push(*f))
        .ok();
    let to = session
        .peer("--to", &args.to)
        .map_err(|f| errors.push(*f))
        .ok();
    let transport = transport(&args).map_err(|f| errors.push(*f)).ok();
    let l7 = l7(&args).map_err(|f| errors.push(*f)).ok().flatten();
    let (Some(source), Some(destination), Some(transport)) = (from, to, transport) else {
        print_findings(&errors, &session.sources);
        return ExitCode::from(2);
    };
    if !errors.is_empty() {
        print_findings(&errors, &session.sources);
        return ExitCode::from(2);
    }
    let flow = Flow {
        source,
        destination,
        transport,
        l7,
        resolved_from: args.resolved_from.clone(),
    };
    let verdict = match session.evaluate(&flow) {
        Ok(v) => v,
        Err(f) => {
            print_findings(&[*f], &session.sources);
            return ExitCode::from(2);
        }
    };
    let explanation = explain(&session.rules, &flow, &verdict);
    match args.format {
        ExplainFormat::Text => print!("{}", render_text(&explanation)),
        ExplainFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&explanation).unwrap_or_default()
        ),
    }
    ExitCode::SUCCESS
}
