//! The machine a run happened on: CPU model (lscpu), kernel, UTC date.

use std::process::Command;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cpus: usize,
    pub kernel: String,
    pub date_utc: String,
}

fn output(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

pub fn detect() -> Machine {
    let lscpu = output("lscpu", &[]);
    let cpu_model = lscpu
        .lines()
        .find_map(|l| l.strip_prefix("Model name:"))
        .map_or_else(|| "unknown".to_string(), |m| m.trim().to_string());
    Machine {
        cpu_model,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: output("uname", &["-r"]),
        date_utc: output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
    }
}
