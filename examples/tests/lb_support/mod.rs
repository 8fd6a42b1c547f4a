//! Lab support for vipd's load-balancing tests: a vipd pair (lab_support's [`Cluster`]) holding
//! the VIP on eth0 and a gateway VIP on eth1, real servers on eth1 routing back through the
//! gateway (LVS-NAT), a client on eth0; real MariaDB servers (Debian's mariadbd, a datadir of
//! their own each) or small TCP servers that answer with their name; `vipctl lb` read as JSON.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use vip_core::lab::{LabProcess, Ns, wait_until};
use vip_examples::control::LbService;

use crate::lab_support::{Cluster, NodeConf, VIP, VIPCTL};

/// The real servers' gateway: a VIP of the same instance, on the nodes' eth1.
pub const GATEWAY: &str = "203.0.113.254";

/// The address of real server `j` (0-based) on eth1.
pub fn real_addr(j: usize) -> String {
    format!("203.0.113.{}", 11 + j)
}

/// A director's config: the instance holds [`VIP`] on eth0 and [`GATEWAY`] on eth1, without a
/// fencer; `virtual_servers` is appended.
pub fn director_conf(priority: u8, virtual_servers: &str) -> NodeConf {
    let mut conf = NodeConf::new(priority);
    conf.fencer = false;
    conf.vips = format!("\"{VIP}/32\", {{ address = \"{GATEWAY}/32\", interface = \"eth1\" }}");
    conf.tail = virtual_servers.to_owned();
    conf
}

/// Node `i`'s config in a pair: [`director_conf`] with a fencer that removes both VIPs from the
/// other node.
pub fn node_conf(c: &Cluster, i: usize, priority: u8, virtual_servers: &str) -> NodeConf {
    let other = c.nodes[(i + 1) % c.nodes.len()].ns.name().to_owned();
    let mut conf = director_conf(priority, "");
    conf.tail = format!(
        r#"[instance.fencer]
argv = ["sh", "-c", "ip netns exec {other} ip addr del {VIP}/32 dev eth0; ip netns exec {other} ip addr del {GATEWAY}/32 dev eth1; true"]
timeout = "2s"

{virtual_servers}
"#
    );
    conf
}

/// Runs vipctl against node `i`'s control socket.
fn vipctl(c: &Cluster, i: usize, args: &[&str]) -> std::process::Output {
    Command::new(VIPCTL)
        .arg("--socket")
        .arg(&c.nodes[i].sock)
        .args(args)
        .output()
        .unwrap()
}

/// `vipctl lb --json` of node `i` (empty when vipd does not answer).
pub fn lb(c: &Cluster, i: usize) -> Vec<LbService> {
    serde_json::from_slice(&vipctl(c, i, &["lb", "--json"]).stdout).unwrap_or_default()
}

/// `vipctl reload` on node `i`; its report (panics if vipd refuses).
pub fn reload(c: &Cluster, i: usize) -> String {
    let out = vipctl(c, i, &["reload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `vipctl lb` (the table) of node `i`.
pub fn lb_table(c: &Cluster, i: usize) -> String {
    String::from_utf8_lossy(&vipctl(c, i, &["lb"]).stdout).into_owned()
}

/// Whether node `i` reports service `name` active (or not) with exactly the backends `healthy`
/// (by address) healthy, and its kernel agrees: vip's table (`nft list table inet vip_lb`)
/// steers to exactly the healthy ones while active, and has no rule for [`VIP`] while not. (The
/// status may run ahead of the rule writer by a moment; a test that then opens connections
/// must wait for the kernel.)
pub fn lb_is(c: &Cluster, i: usize, name: &str, active: bool, healthy: &[&str]) -> bool {
    let is_healthy = |addr: &str| healthy.iter().any(|h| addr.starts_with(&format!("{h}:")));
    let Some(s) = lb(c, i).into_iter().find(|s| s.name == name) else {
        return false;
    };
    if s.active != active || s.backends.iter().any(|b| b.healthy != is_healthy(&b.addr)) {
        return false;
    }
    // `ip daddr 198.51.100.100 tcp dport 80 ...`, `dnat ip to 203.0.113.11:80`.
    let table = kernel_rules(c, i);
    let vip_rule = table.contains(&format!("daddr {VIP} "));
    if !active {
        return !vip_rule;
    }
    vip_rule
        && s.backends
            .iter()
            .all(|b| table.contains(&format!("to {}\n", b.addr)) == is_healthy(&b.addr))
}

/// vip's table in node `i`'s kernel, as `nft` lists it ("" when there is none).
pub fn kernel_rules(c: &Cluster, i: usize) -> String {
    c.nodes[i]
        .ns
        .output(&["nft", "list", "table", "inet", "vip_lb"])
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// A MariaDB server in a namespace, with a datadir of its own under `dir`, listening on
/// `addr:3306`, with a password-less user `vip`@`%` (the check's and the client's).
pub struct MariaDb {
    pub addr: String,
    pub datadir: PathBuf,
    ns_name: String,
    process: Option<LabProcess>,
    server_id: u32,
}

/// True when Debian's mariadb-server is installed.
pub fn mariadb_available() -> bool {
    Path::new("/usr/sbin/mariadbd").exists() && Path::new("/usr/bin/mariadb-install-db").exists()
}

impl MariaDb {
    /// Initialises the datadir and starts the server.
    pub fn start(ns: &Ns, dir: &Path, addr: &str, server_id: u32) -> MariaDb {
        let datadir = dir.join(format!("maria{server_id}"));
        std::fs::create_dir_all(&datadir).unwrap();
        let d = datadir.display().to_string();
        ns.run(&["chown", "-R", "mysql:mysql", &d]).unwrap();
        ns.run(&[
            "mariadb-install-db",
            "--no-defaults",
            "--user=mysql",
            &format!("--datadir={d}"),
            "--skip-test-db",
        ])
        .unwrap();
        let mut m = MariaDb {
            addr: addr.to_owned(),
            datadir,
            ns_name: ns.name().to_owned(),
            process: None,
            server_id,
        };
        m.run(ns);
        let sock = format!("{d}/sock");
        ns.run(&[
            "mariadb",
            "--no-defaults",
            "-S",
            &sock,
            "-u",
            "root",
            "-e",
            "CREATE USER IF NOT EXISTS 'vip'@'%'",
        ])
        .unwrap();
        m
    }

    /// Starts mariadbd on the datadir and waits until it answers on its socket.
    pub fn run(&mut self, ns: &Ns) {
        let d = self.datadir.display().to_string();
        let log = self.datadir.join("out.log");
        let p = ns
            .spawn(
                &[
                    "/usr/sbin/mariadbd",
                    "--no-defaults",
                    "--user=mysql",
                    &format!("--datadir={d}"),
                    &format!("--socket={d}/sock"),
                    &format!("--pid-file={d}/pid"),
                    &format!("--log-error={d}/err.log"),
                    &format!("--bind-address={}", self.addr),
                    "--port=3306",
                    &format!("--server-id={}", self.server_id),
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=8M",
                    "--performance-schema=OFF",
                ],
                Some(&log),
            )
            .unwrap();
        self.process = Some(p);
        let sock = format!("{d}/sock");
        let up = wait_until(Duration::from_secs(60), || {
            ns.output(&[
                "mariadb",
                "--no-defaults",
                "-S",
                &sock,
                "-u",
                "root",
                "-e",
                "select 1",
            ])
            .is_ok_and(|o| o.status.success())
        });
        assert!(
            up,
            "mariadbd on {} did not start: {}",
            self.addr,
            std::fs::read_to_string(self.datadir.join("err.log")).unwrap_or_default()
        );
    }

    /// Stops the server (SIGTERM, waits for it to exit).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.signal(Signal::SIGTERM).unwrap();
            assert!(
                p.wait_timeout(Duration::from_secs(60)),
                "mariadbd did not stop"
            );
        }
    }

    /// The seed setup's check (`mysql -e 'select now()'` with a 3 s bound), as a misc_check.
    pub fn misc_check(&self) -> String {
        format!(
            "misc_check = {{ misc_path = [\"mariadb\", \"--no-defaults\", \"-h\", \"{}\", \"-u\", \"vip\", \"--connect-timeout=2\", \"-e\", \"select now()\"], misc_timeout = \"3s\" }}",
            self.addr
        )
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop(Duration::from_secs(30));
        }
        let _ = &self.ns_name;
    }
}

/// `select @@server_id` through host:port from namespace `ns` (None when it fails).
pub fn server_id_via(ns: &Ns, host: &str) -> Option<u32> {
    let out = ns
        .output(&[
            "mariadb",
            "--no-defaults",
            "-h",
            host,
            "-u",
            "vip",
            "--connect-timeout=3",
            "-N",
            "-B",
            "-e",
            "select @@server_id",
        ])
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The real-server segment with `n` real servers (see [`Cluster::real_server_segment`]), each
/// answering on port 80 with its name (`r1`, `r2`, ...).
pub fn answering_real_servers(c: &mut Cluster, n: usize) -> Vec<Ns> {
    let reals = c.real_server_segment(n, GATEWAY);
    for (j, r) in reals.iter().enumerate() {
        let addr: SocketAddr = format!("{}:80", real_addr(j)).parse().unwrap();
        serve_name(r, addr, &format!("r{}", j + 1));
    }
    reals
}

/// A TCP server in `ns` at `addr` that writes `name\n` to each connection and closes it. It
/// lives until the test process ends (its namespace goes with the lab).
pub fn serve_name(ns: &Ns, addr: SocketAddr, name: &str) {
    let listener = ns.enter(move || TcpListener::bind(addr)).unwrap().unwrap();
    let name = format!("{name}\n");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.write_all(name.as_bytes());
        }
    });
}

/// Connects to `addr` from `ns` and reads the answer ("" on failure), within `timeout`.
pub fn ask(ns: &Ns, addr: SocketAddr, timeout: Duration) -> String {
    ns.enter(move || {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, timeout) else {
            return String::new();
        };
        let _ = s.set_read_timeout(Some(timeout));
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.trim().to_owned()
    })
    .unwrap()
}
