//! A real load balancer in front of test instances: HAProxy from Debian's packages, round
//! robin, started by the test on a free port and stopped when dropped.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Balancer {
    pub port: u16,
    child: Child,
    config: std::path::PathBuf,
}

impl Balancer {
    /// Balances round robin over the instances listening on `ports`, request by request.
    pub fn start(ports: &[u16]) -> Self {
        let port = free_port();
        let servers: String = ports
            .iter()
            .enumerate()
            .map(|(n, backend)| format!("    server instance{n} 127.0.0.1:{backend}\n"))
            .collect();
        let config =
            std::env::temp_dir().join(format!("gazette-haproxy-{}-{port}.cfg", std::process::id()));
        std::fs::write(
            &config,
            format!(
                "global\n    maxconn 512\n\
                 defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n\
                 frontend gazette\n    bind 127.0.0.1:{port}\n    default_backend instances\n\
                 backend instances\n    balance roundrobin\n{servers}"
            ),
        )
        .expect("writing the HAProxy configuration");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting haproxy (apt-get install haproxy)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            child,
            config,
        }
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}
