//! Test support (feature `harness`): a real three-member etcd on loopback, started from
//! Debian's `etcd` binary, with its data in a temporary directory. Dropping the cluster kills
//! the members by pid and removes the directory, also when a test panics.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The etcd server binary (Debian package etcd-server).
pub const ETCD_BIN: &str = "/usr/bin/etcd";
/// The etcd command-line client (Debian package etcd-client).
pub const ETCDCTL_BIN: &str = "/usr/bin/etcdctl";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// One member of the cluster.
#[derive(Debug)]
pub struct Member {
    /// Its name (`m0`, `m1`, `m2`).
    pub name: String,
    /// Its client URL.
    pub client_url: String,
    peer_url: String,
    netns: Option<String>,
    child: Option<Child>,
}

/// A running three-member etcd.
#[derive(Debug)]
pub struct EtcdCluster {
    dir: PathBuf,
    members: Vec<Member>,
    initial_cluster: String,
    token: String,
    /// With TLS on the client URLs: the files the members and etcdctl use.
    tls: Option<TlsFiles>,
}

/// PEM files made for a TLS cluster by [`EtcdCluster::start_tls`] (`openssl` CLI): a CA, a
/// server certificate for 127.0.0.1 signed by it (the members' client side requires client
/// certificates signed by the same CA), a client certificate and key, and a second CA that
/// signed none of them.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// The server certificate (SAN IP 127.0.0.1).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate the members accept.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A CA that signed nothing here: a client trusting it rejects the members.
    pub other_ca: PathBuf,
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> std::io::Result<()> {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

impl TlsFiles {
    /// Makes the files in `dir` (P-256 keys, valid for a day).
    fn make(dir: &Path) -> std::io::Result<TlsFiles> {
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for ca in ["ca", "other-ca"] {
            let (k, c, s) = (
                format!("{ca}.key"),
                format!("{ca}.pem"),
                format!("/CN=vip test {ca}"),
            );
            let mut args = vec![
                "req", "-x509", "-days", "1", "-subj", &s, "-keyout", &k, "-out", &c,
            ];
            args.extend(key);
            openssl(dir, &args)?;
        }
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
        )?;
        std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n")?;
        for who in ["server", "client"] {
            let (k, csr, c, ext) = (
                format!("{who}.key"),
                format!("{who}.csr"),
                format!("{who}.pem"),
                format!("{who}.ext"),
            );
            let s = format!("/CN=vip test {who}");
            let mut args = vec!["req", "-subj", &s, "-keyout", &k, "-out", &csr];
            args.extend(key);
            openssl(dir, &args)?;
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "1",
                    "-extfile",
                    &ext,
                    "-out",
                    &c,
                ],
            )?;
        }
        Ok(TlsFiles {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            other_ca: dir.join("other-ca.pem"),
        })
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl EtcdCluster {
    /// Starts three members on loopback (free ports, so tests run in parallel) and waits until
    /// they have a leader. Returns `None` after a one-line skip message when etcd is not
    /// installed.
    pub fn start(tag: &str) -> std::io::Result<Option<EtcdCluster>> {
        let mut places = Vec::new();
        for _ in 0..3 {
            places.push((None, "127.0.0.1".to_string(), free_port()?, free_port()?));
        }
        EtcdCluster::start_at(tag, places, false)
    }

    /// Like [`EtcdCluster::start`], with TLS on the client URLs (`https://127.0.0.1:PORT`) and
    /// client certificates required; the certificates are made with the `openssl` CLI for the
    /// test (see [`TlsFiles`]). `None` after a one-line skip message when etcd or openssl is
    /// missing.
    pub fn start_tls(tag: &str) -> std::io::Result<Option<EtcdCluster>> {
        if Command::new("openssl").arg("version").output().is_err() {
            println!("skipping {tag}: openssl is not installed");
            return Ok(None);
        }
        let mut places = Vec::new();
        for _ in 0..3 {
            places.push((None, "127.0.0.1".to_string(), free_port()?, free_port()?));
        }
        EtcdCluster::start_at(tag, places, true)
    }

    /// The TLS files of a cluster started with [`EtcdCluster::start_tls`].
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// Starts one member in each network namespace `netns[i]`, listening on `addrs[i]` (ports
    /// 2379 and 2380), for partition tests. The namespaces must already reach each other.
    pub fn start_in(
        tag: &str,
        netns: &[&str],
        addrs: &[&str],
    ) -> std::io::Result<Option<EtcdCluster>> {
        let places = netns
            .iter()
            .zip(addrs)
            .map(|(n, a)| (Some(n.to_string()), a.to_string(), 2379, 2380))
            .collect();
        EtcdCluster::start_at(tag, places, false)
    }

    fn start_at(
        tag: &str,
        places: Vec<(Option<String>, String, u16, u16)>,
        tls: bool,
    ) -> std::io::Result<Option<EtcdCluster>> {
        if !Path::new(ETCD_BIN).exists() || !Path::new(ETCDCTL_BIN).exists() {
            println!(
                "skipping {tag}: etcd-server and etcd-client are not installed (scripts/setup)"
            );
            return Ok(None);
        }
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vip-etcd-{tag}-{}-{seq}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let tls = if tls {
            Some(TlsFiles::make(&dir)?)
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let members: Vec<Member> = places
            .into_iter()
            .enumerate()
            .map(|(i, (netns, addr, client, peer))| Member {
                name: format!("m{i}"),
                client_url: format!("{scheme}://{addr}:{client}"),
                peer_url: format!("http://{addr}:{peer}"),
                netns,
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            token: format!("{tag}-{}-{seq}", std::process::id()),
            dir,
            members,
            initial_cluster,
            tls,
        };
        for i in 0..cluster.members.len() {
            cluster.spawn(i)?;
        }
        cluster.wait_ready(Duration::from_secs(30))?;
        Ok(Some(cluster))
    }

    /// A command run in member `i`'s namespace (or here on loopback).
    fn command(&self, i: usize, bin: &str) -> Command {
        match &self.members[i].netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, bin]);
                c
            }
            None => Command::new(bin),
        }
    }

    fn spawn(&mut self, i: usize) -> std::io::Result<()> {
        let m = &self.members[i];
        let data = self.dir.join(&m.name);
        // Appended: a restarted member's log follows its first life's.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.log", m.name)))?;
        let child = self
            .command(i, ETCD_BIN)
            .args([
                "--name",
                &m.name,
                "--data-dir",
                &data.to_string_lossy(),
                "--listen-client-urls",
                &m.client_url,
                "--advertise-client-urls",
                &m.client_url,
                "--listen-peer-urls",
                &m.peer_url,
                "--initial-advertise-peer-urls",
                &m.peer_url,
                "--initial-cluster",
                &self.initial_cluster,
                "--initial-cluster-token",
                &self.token,
                "--initial-cluster-state",
                "new",
                "--heartbeat-interval",
                "100",
                "--election-timeout",
                "1000",
            ])
            .args(self.tls.iter().flat_map(|t| {
                [
                    "--cert-file".into(),
                    t.server_cert.clone().into_os_string(),
                    "--key-file".into(),
                    t.server_key.clone().into_os_string(),
                    "--trusted-ca-file".into(),
                    t.ca.clone().into_os_string(),
                    "--client-cert-auth".into(),
                ]
            }))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.members[i].child = Some(child);
        Ok(())
    }

    /// Waits until every running member answers and the cluster has a leader.
    pub fn wait_ready(&self, limit: Duration) -> std::io::Result<()> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.leader().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(std::io::Error::other(format!(
            "etcd in {} did not get ready in {limit:?}",
            self.dir.display()
        )))
    }

    /// The client URLs of all members.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// The members.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Runs etcdctl (v3 API) against the running members; returns stdout.
    pub fn etcdctl(&self, args: &[&str]) -> std::io::Result<String> {
        let endpoints = self
            .members
            .iter()
            .filter(|m| m.child.is_some())
            .map(|m| m.client_url.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let first = self
            .members
            .iter()
            .position(|m| m.child.is_some())
            .unwrap_or(0);
        let out = self
            .command(first, ETCDCTL_BIN)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .arg("--command-timeout=3s")
            .args(self.tls.iter().flat_map(|t| {
                [
                    format!("--cacert={}", t.ca.display()),
                    format!("--cert={}", t.client_cert.display()),
                    format!("--key={}", t.client_key.display()),
                ]
            }))
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "etcdctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The index of the current leader, if the members agree on one.
    pub fn leader(&self) -> Option<usize> {
        let out = self.etcdctl(&["endpoint", "status", "-w", "json"]).ok()?;
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        let list = v.as_array()?;
        if list.len() != self.members.iter().filter(|m| m.child.is_some()).count() {
            return None;
        }
        let leader = list.first()?.pointer("/Status/leader")?.as_u64()?;
        let entry = list.iter().find(|e| {
            e.pointer("/Status/header/member_id")
                .and_then(|x| x.as_u64())
                == Some(leader)
        })?;
        let url = entry.get("Endpoint")?.as_str()?;
        self.members.iter().position(|m| m.client_url == url)
    }

    /// The member id (hex, as etcdctl move-leader wants it) of member `i`.
    pub fn member_id(&self, i: usize) -> Option<String> {
        let out = self.etcdctl(&["endpoint", "status", "-w", "json"]).ok()?;
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        let e = v.as_array()?.iter().find(|e| {
            e.get("Endpoint").and_then(|x| x.as_str()) == Some(&self.members[i].client_url)
        })?;
        Some(format!(
            "{:x}",
            e.pointer("/Status/header/member_id")?.as_u64()?
        ))
    }

    /// Moves the leadership to member `to` (etcdctl move-leader, sent to the current leader).
    pub fn move_leader(&self, to: usize) -> std::io::Result<()> {
        let leader = self
            .leader()
            .ok_or_else(|| std::io::Error::other("no leader"))?;
        let id = self
            .member_id(to)
            .ok_or_else(|| std::io::Error::other("no member id"))?;
        let out = self
            .command(leader, ETCDCTL_BIN)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.members[leader].client_url))
            .args(["move-leader", &id])
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(())
    }

    /// Sends `signal` (e.g. "STOP", "CONT") to member `i`.
    pub fn signal(&self, i: usize, signal: &str) -> std::io::Result<()> {
        let Some(child) = &self.members[i].child else {
            return Ok(());
        };
        let st = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()?;
        if !st.success() {
            return Err(std::io::Error::other(format!("kill -{signal} failed")));
        }
        Ok(())
    }

    /// Kills member `i` (SIGKILL) and waits for it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts killed member `i` again: the same name, URLs and data directory, so it rejoins
    /// the cluster as itself (etcd reads its membership from the data directory and ignores the
    /// initial-cluster flags). Does nothing if it runs. Does not wait for it to catch up.
    pub fn restart(&mut self, i: usize) -> std::io::Result<()> {
        if self.members[i].child.is_some() {
            return Ok(());
        }
        self.spawn(i)
    }

    /// Turns on authentication with a `root` user of `password`.
    pub fn enable_auth(&self, password: &str) -> std::io::Result<()> {
        self.etcdctl(&["user", "add", &format!("root:{password}")])?;
        self.etcdctl(&["auth", "enable"])?;
        Ok(())
    }

    /// Member `i`'s log so far.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.log", self.members[i].name)))
            .unwrap_or_default()
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
