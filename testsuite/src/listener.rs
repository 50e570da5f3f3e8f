//! A TCP listener on port 80 of every address of a network namespace, with an accept queue
//! deep enough that a slow accept loop never drops a SYN (a lost SYN must be the datapath's or
//! nobody's). It accepts and closes; killed on drop. Used by the DNS e2e test and bench T6.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use crate::netns::run;

const LISTENER_PY: &str = r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(65535)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"#;

pub struct Listener(Child);

impl Listener {
    /// Starts it in `netns` and waits until it listens.
    pub fn start(netns: &str) -> Result<Listener, String> {
        run(
            "ip",
            &[
                "netns",
                "exec",
                netns,
                "sysctl",
                "-qw",
                "net.core.somaxconn=65535",
            ],
        )?;
        let mut child = Command::new("ip")
            .args(["netns", "exec", netns, "python3", "-c", LISTENER_PY])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("listener: {e}"))?;
        let mut line = String::new();
        let read = child
            .stdout
            .take()
            .map(|stdout| std::io::BufReader::new(stdout).read_line(&mut line));
        let listener = Listener(child);
        match read {
            Some(Ok(_)) if line.trim() == "ready" => Ok(listener),
            read => Err(format!(
                "the port-80 listener did not start (read {read:?}: {line:?})"
            )),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Best effort, also while unwinding from a failed assertion: a failure here has nobody to
        // report to, and a panic in drop would abort the test run.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
