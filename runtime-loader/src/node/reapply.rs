//! The `policy-loader apply` that installs again what the generation records say was applied
//! (artifact, endpoints, cgroups, L7 fallback), printed by errors that may leave live maps
//! mixed: it rewrites every map from the artifact's images.

use std::collections::BTreeSet;

use super::pins::{AttachPoint, GenerationRecord, NodePaths};

/// The command line re-applying `records` on the node of `paths`.
pub fn reapply_command(paths: &NodePaths, records: &[GenerationRecord]) -> String {
    let bpffs = paths.pin_root.parent().unwrap_or(&paths.pin_root);
    let dirs: BTreeSet<String> = records
        .iter()
        .map(|r| r.artifact_dir.display().to_string())
        .collect();
    let mut command = format!(
        "policy-loader --bpffs {} --state-dir {} apply {}",
        bpffs.display(),
        paths.state_dir.display(),
        dirs.into_iter().collect::<Vec<_>>().join(" ")
    );
    for record in records {
        command.push_str(&format!(" --endpoint {}", record.endpoint));
        if let AttachPoint::CgroupSkb { cgroup } = &record.attach {
            command.push_str(&format!(
                " --cgroup {}={}",
                record.endpoint,
                cgroup.display()
            ));
        }
    }
    // Set on an endpoint either by the option or because its only L7 rules are DNS rules the
    // kernel enforces; either way the option changes nothing beyond what is installed.
    if records.iter().any(|r| r.l7_fallback_allow_l4) {
        command.push_str(" --l7-fallback=allow-l4");
    }
    command.push_str(" [and the --dns-min-ttl/--dns-learned-max/--dns-max-ips-per-name of the original apply, if any]");
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn record(endpoint: &str, attach: serde_json::Value, l7: bool) -> GenerationRecord {
        let manifest = serde_json::json!({
            "format_version": 2, "layout_version": 2, "input_digest": "", "cluster": "default",
            "object": "o", "ipcache": "i", "identities": [], "rules": [], "endpoints": []
        });
        serde_json::from_value(serde_json::json!({
            "endpoint": endpoint, "generation": 3, "artifact_digest": "sha256:00",
            "artifact_dir": "/srv/art", "attach": attach, "program_ids": {},
            "l7_fallback_allow_l4": l7, "manifest": manifest
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_command_applies_the_recorded_artifact_as_it_was_applied() {
        let paths = NodePaths::new(Path::new("/mnt/bpf"), Path::new("/run/pc"));
        let records = [
            record(
                "shop/api",
                serde_json::json!({"kind": "tcx", "interface": "veth1", "ifindex": 4}),
                false,
            ),
            record(
                "shop/db",
                serde_json::json!({"kind": "cgroup_skb", "cgroup": "/sys/fs/cgroup/db"}),
                true,
            ),
        ];
        let command = reapply_command(&paths, &records);
        assert!(
            command.starts_with(
                "policy-loader --bpffs /mnt/bpf --state-dir /run/pc apply /srv/art \
                 --endpoint shop/api --endpoint shop/db --cgroup shop/db=/sys/fs/cgroup/db \
                 --l7-fallback=allow-l4"
            ),
            "{command}"
        );
    }

    #[test]
    fn no_l7_fallback_unless_a_record_has_it() {
        let paths = NodePaths::new(Path::new("/sys/fs/bpf"), Path::new("/run/policyc"));
        let tcx = serde_json::json!({"kind": "tcx", "interface": "veth1", "ifindex": 4});
        let command = reapply_command(&paths, &[record("shop/api", tcx, false)]);
        assert!(!command.contains("--l7-fallback"), "{command}");
    }
}
