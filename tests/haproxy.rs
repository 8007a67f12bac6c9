//! The load-balancer configurations against the real tools: every generated
//! `haproxy.cfg` passes `haproxy -c`, every `keepalived-<i>.conf` passes
//! `keepalived -t`, and the `loopback` example carries live traffic: HAProxy runs
//! with its generated configuration, small servers listen on the node addresses at
//! the NodePorts, requests through each VIP arrive and are spread over all nodes,
//! and when one node stops, traffic still flows through the others.
//!
//! Everything binds to 127.0.0.0/8 only; every wait is bounded; HAProxy and the
//! servers are stopped when the test ends, whatever happens.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use trellis::alloc::AllocKey;
use trellis::diag::Diagnostics;
use trellis::{compile, load, Compilation, Options};

mod common;

use common::{example_names as examples, require_tool, ROOT};

fn build_example(name: &str) -> Compilation {
    let project = load::load(Path::new(&format!("{ROOT}/examples/{name}")), &[]).expect("load");
    let compilation = compile(&project.sources, Diagnostics::new(), &Options::default());
    assert!(
        !compilation.has_errors(),
        "{name}: {:#?}",
        compilation.diagnostics
    );
    compilation
}

#[test]
fn every_generated_config_passes_the_real_checkers() {
    let (Some(haproxy), Some(keepalived)) = (require_tool("haproxy"), require_tool("keepalived"))
    else {
        return;
    };
    let (mut n_haproxy, mut n_keepalived) = (0, 0);
    for name in examples() {
        let compilation = build_example(&name);
        let dir = tempfile::tempdir().expect("tempdir");
        for artifact in &compilation.artifacts {
            let file = artifact.path.rsplit('/').next().unwrap_or("");
            let path = dir.path().join(artifact.path.replace('/', "__"));
            if file == "haproxy.cfg" {
                std::fs::write(&path, &artifact.content).expect("write");
                let out = Command::new(&haproxy)
                    .arg("-c")
                    .arg("-f")
                    .arg(&path)
                    .output()
                    .expect("haproxy -c");
                assert!(
                    out.status.success(),
                    "{name}/{}: haproxy -c failed:\n{}{}",
                    artifact.path,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                n_haproxy += 1;
            } else if file.starts_with("keepalived-") {
                std::fs::write(&path, &artifact.content).expect("write");
                let out = Command::new(&keepalived)
                    .arg("-t")
                    .arg("-f")
                    .arg(&path)
                    .output()
                    .expect("keepalived -t");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    out.status.success(),
                    "{name}/{}: keepalived -t failed:\n{stderr}",
                    artifact.path
                );
                n_keepalived += 1;
            }
        }
    }
    assert!(n_haproxy >= 8, "only {n_haproxy} haproxy.cfg checked");
    assert!(
        n_keepalived >= 2,
        "only {n_keepalived} keepalived.conf checked"
    );
}

#[test]
fn every_frontend_binds_a_distinct_address_and_port() {
    // Clusters that share a network must never bind one VIP:port twice (the AksHci
    // duplicate-address hazard): checked over every example's configurations.
    for name in examples() {
        let compilation = build_example(&name);
        let mut binds = std::collections::BTreeMap::new();
        for artifact in compilation
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("haproxy.cfg"))
        {
            for line in artifact.content.lines() {
                if let Some(bind) = line.trim().strip_prefix("bind ") {
                    if let Some(previous) = binds.insert(bind.to_string(), artifact.path.clone()) {
                        panic!("{name}: {bind} bound by {previous} and {}", artifact.path);
                    }
                }
            }
        }
    }
}

/// A tiny server on one node address and NodePort: answers every connection with
/// an HTTP response naming itself, until stopped.
struct Backend {
    id: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Backend {
    fn start(id: String, addr: SocketAddr) -> Backend {
        assert!(
            addr.ip().is_loopback(),
            "tests bind to loopback only: {addr}"
        );
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let name = id.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !flag.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 1024];
                        let _ = stream.read(&mut buf);
                        let body = format!("{name}\n");
                        let _ = write!(
                            stream,
                            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Backend {
            id,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Kills HAProxy when dropped.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request through `vip`; returns the id of the backend that answered.
fn request(vip: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&vip, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET / HTTP/1.0\r\nHost: test\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .ok_or(format!("no body in {response:?}"))?;
    Ok(body.trim().to_string())
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn live_traffic_through_haproxy_on_loopback() {
    let Some(haproxy) = require_tool("haproxy") else {
        return;
    };
    let compilation = build_example("loopback");
    let alloc = compilation.allocation.as_ref().expect("allocation");
    let config = compilation
        .artifacts
        .iter()
        .find(|a| a.path == "lab/haproxy/haproxy.cfg")
        .expect("haproxy.cfg for cluster lab");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg_path = dir.path().join("haproxy.cfg");
    // The generated configuration, unchanged but for logging (no syslog socket here).
    std::fs::write(
        &cfg_path,
        config
            .content
            .replace("log /dev/log local0", "log stderr local0"),
    )
    .expect("write");

    let workers: Vec<IpAddr> = (0..3)
        .map(|i| {
            alloc
                .address(&AllocKey::Worker("lab".into(), "linux".into(), i))
                .expect("worker address")
        })
        .collect();
    let service_vip = |name: &str| {
        alloc
            .address(&AllocKey::Service("lab".into(), "demo".into(), name.into()))
            .expect("vip")
    };
    let node_port = |name: &str, port: u16| {
        alloc
            .node_port(&AllocKey::NodePort(
                "lab".into(),
                "demo".into(),
                name.into(),
                port,
                trellis::model::Protocol::Tcp,
            ))
            .expect("node port")
    };
    let services = [("echo", 9000u16), ("web", 8080u16)];
    let mut backends: Vec<Backend> = Vec::new();
    for (name, port) in services {
        for (i, worker) in workers.iter().enumerate() {
            backends.push(Backend::start(
                format!("{name}-node{i}"),
                SocketAddr::new(*worker, node_port(name, port)),
            ));
        }
    }
    let proxy = Proxy(
        Command::new(&haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    for (name, port) in services {
        let vip = SocketAddr::new(service_vip(name), port);
        wait_until(&format!("{vip} to answer"), Duration::from_secs(10), || {
            request(vip).is_ok()
        });
    }
    // Let the HTTP health checks mark every node up.
    std::thread::sleep(Duration::from_millis(600));

    for (name, port) in services {
        let vip = SocketAddr::new(service_vip(name), port);
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        for _ in 0..30 {
            let id = request(vip).unwrap_or_else(|e| panic!("request to {vip}: {e}"));
            *seen.entry(id).or_default() += 1;
        }
        assert_eq!(
            seen.len(),
            3,
            "{name}: traffic not spread over all nodes: {seen:?}"
        );
        assert!(
            seen.keys().all(|k| k.starts_with(&format!("{name}-"))),
            "{name}: wrong backend {seen:?}"
        );
    }

    // Stop one node of each service: requests keep succeeding through the others.
    for (name, _) in services {
        let victim = backends
            .iter_mut()
            .find(|b| b.id == format!("{name}-node1"))
            .expect("backend");
        victim.stop();
    }
    std::thread::sleep(Duration::from_millis(700));
    for (name, port) in services {
        let vip = SocketAddr::new(service_vip(name), port);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let id = request(vip).unwrap_or_else(|e| panic!("{name} after a node stopped: {e}"));
            seen.insert(id);
        }
        assert!(
            !seen.contains(&format!("{name}-node1")),
            "{name}: a stopped node answered"
        );
        assert_eq!(
            seen.len(),
            2,
            "{name}: traffic should use the two live nodes: {seen:?}"
        );
    }
    drop(proxy);
}
