//! Lab support for vip-lb's kernel tests: a client, a balancer holding the VIP, backends
//! answering with their name, and the balancer run inside its namespace.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use vip_core::lab::{Lab, Ns};
use vip_lb::{
    Balancer, CheckPolicy, LbError, MiscCheck, Protocol, RealServer, Scheduler, ServiceStatus,
    VirtualService,
};

pub const VIP: &str = "198.51.100.10";
pub const PORT: u16 = 80;
pub const SORRY: &str = "203.0.113.9:8080";

/// The network: client `c` and balancer `lb` on 198.51.100.0/24 (eth0); `lb` and the backends
/// on 203.0.113.0/24 (eth1), the backends routing back through `lb` (LVS-NAT).
pub struct Topo {
    pub lab: Lab,
    pub client: Ns,
    pub lb: Ns,
    pub backends: Vec<Ns>,
    /// Addresses of the backends' listeners (port 80), and of the sorry server (on the last
    /// backend, port 8080).
    pub addrs: Vec<SocketAddr>,
    /// A directory for the check flag files.
    pub dir: PathBuf,
}

/// Builds the topology with `n` backends, or None when not root.
pub fn topo(tag: &str, n: usize) -> Option<Topo> {
    let mut lab = Lab::new_or_skip(tag).unwrap()?;
    let client = lab.namespace("c").unwrap();
    let lb = lab.namespace("lb").unwrap();
    let backends: Vec<Ns> = (0..n)
        .map(|i| lab.namespace(&format!("b{i}")).unwrap())
        .collect();
    lab.segment_named(&[&client, &lb], "eth0").unwrap();
    let mut back: Vec<&Ns> = vec![&lb];
    back.extend(backends.iter());
    lab.segment_named(&back, "eth1").unwrap();
    client
        .run(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
        .unwrap();
    lb.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    lb.run(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "eth0"])
        .unwrap();
    lb.run(&["ip", "addr", "add", "203.0.113.1/24", "dev", "eth1"])
        .unwrap();
    lb.run(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]).unwrap();
    let mut addrs = Vec::new();
    for (i, b) in backends.iter().enumerate() {
        let a = format!("203.0.113.{}", i + 2);
        b.run(&["ip", "addr", "add", &format!("{a}/24"), "dev", "eth1"])
            .unwrap();
        b.run(&["ip", "route", "add", "default", "via", "203.0.113.1"])
            .unwrap();
        let addr: SocketAddr = format!("{a}:{PORT}").parse().unwrap();
        serve(b, addr, &format!("b{i}"));
        addrs.push(addr);
    }
    if let Some(last) = backends.last() {
        last.run(&["ip", "addr", "add", "203.0.113.9/24", "dev", "eth1"])
            .unwrap();
        serve(last, SORRY.parse().unwrap(), "sorry");
    }
    let dir = std::env::temp_dir().join(lab.prefix());
    std::fs::create_dir_all(&dir).unwrap();
    Some(Topo {
        lab,
        client,
        lb,
        backends,
        addrs,
        dir,
    })
}

impl Drop for Topo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A TCP server in `ns` at `addr` that writes `name\n` to each connection, then waits for the
/// client to close. It lives until the test process ends (its namespace goes with the lab).
pub fn serve(ns: &Ns, addr: SocketAddr, name: &str) {
    let listener = ns.enter(move || TcpListener::bind(addr)).unwrap().unwrap();
    let name = format!("{name}\n");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let name = name.clone();
            std::thread::spawn(move || {
                let _ = conn.write_all(name.as_bytes());
                let mut sink = [0u8; 64];
                while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
}

/// Opens `n` connections to VIP:PORT from the client (from source `src` if given) and returns
/// who answered each ("refused", "timeout" on failure). Each connection is closed after the
/// answer unless `hold` (then they are returned open, for conntrack counts).
pub fn connect(client: &Ns, n: usize, src: Option<IpAddr>) -> Vec<String> {
    connect_held(client, n, src).0
}

pub fn connect_held(client: &Ns, n: usize, src: Option<IpAddr>) -> (Vec<String>, Vec<TcpStream>) {
    client
        .enter(move || {
            let vip: SocketAddr = format!("{VIP}:{PORT}").parse().unwrap();
            let mut names = Vec::new();
            let mut held = Vec::new();
            for _ in 0..n {
                let stream = match src {
                    None => TcpStream::connect_timeout(&vip, Duration::from_secs(2)),
                    Some(ip) => {
                        let s = socket2::Socket::new(
                            socket2::Domain::IPV4,
                            socket2::Type::STREAM,
                            None,
                        )
                        .unwrap();
                        s.bind(&SocketAddr::new(ip, 0).into()).unwrap();
                        s.connect_timeout(&vip.into(), Duration::from_secs(2))
                            .map(|()| TcpStream::from(s))
                    }
                };
                match stream {
                    Ok(s) => {
                        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let mut line = String::new();
                        let mut r = BufReader::new(s.try_clone().unwrap());
                        match r.read_line(&mut line) {
                            Ok(_) => names.push(line.trim().to_string()),
                            Err(e) => names.push(format!("read: {e}")),
                        }
                        held.push(s);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        names.push("refused".into())
                    }
                    Err(e)
                        if e.kind() == std::io::ErrorKind::TimedOut
                            || e.kind() == std::io::ErrorKind::WouldBlock =>
                    {
                        names.push("timeout".into())
                    }
                    Err(e) => names.push(format!("error: {e}")),
                }
            }
            (names, held)
        })
        .unwrap()
}

/// How many answers each name got.
pub fn tally(names: &[String]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for n in names {
        *m.entry(n.clone()).or_insert(0) += 1;
    }
    m
}

/// A service over the topology's backends.
pub fn service(t: &Topo, scheduler: Scheduler, weights: &[u32]) -> VirtualService {
    VirtualService {
        name: "web".into(),
        vip: VIP.parse().unwrap(),
        port: PORT,
        protocol: Protocol::Tcp,
        scheduler,
        real_servers: t
            .addrs
            .iter()
            .zip(weights)
            .map(|(&addr, &weight)| RealServer { addr, weight })
            .collect(),
        sorry_server: None,
        quorum: 1,
        hysteresis: 0,
        policy: CheckPolicy {
            delay_loop: Duration::from_millis(300),
            timeout: Duration::from_secs(2),
            retry: 1,
            delay_before_retry: Duration::from_millis(200),
            inhibit_on_failure: false,
        },
    }
}

/// The flag file that makes backend `i`'s check fail while it exists.
pub fn down_flag(t: &Topo, i: usize) -> PathBuf {
    t.dir.join(format!("down-b{i}"))
}

/// A MISC_CHECK that fails while `down_flag(t, i)` exists.
pub fn flag_check(t: &Topo, i: usize) -> Box<MiscCheck> {
    let flag = down_flag(t, i).display().to_string();
    Box::new(MiscCheck::new(
        vec!["test".into(), "!".into(), "-e".into(), flag],
        Duration::from_secs(2),
        false,
    ))
}

enum Req {
    SetActive(String, bool, std_mpsc::Sender<Result<(), LbError>>),
    Status(std_mpsc::Sender<Vec<ServiceStatus>>),
    Stop(std_mpsc::Sender<Result<(), LbError>>),
}

/// A balancer running inside a namespace on a thread of its own.
pub struct LbNode {
    tx: tokio::sync::mpsc::UnboundedSender<Req>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LbNode {
    /// Starts `build()` in `ns`; panics if start fails.
    pub fn start(ns: &Ns, build: impl FnOnce() -> Balancer + Send + 'static) -> LbNode {
        Self::try_start(ns, build).unwrap()
    }

    pub fn try_start(
        ns: &Ns,
        build: impl FnOnce() -> Balancer + Send + 'static,
    ) -> Result<LbNode, LbError> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Req>();
        let (started_tx, started_rx) = std_mpsc::channel();
        let ns = ns.clone();
        let thread = std::thread::spawn(move || {
            ns.block_on(move || async move {
                let handle = match build().start().await {
                    Ok(h) => {
                        let _ = started_tx.send(Ok(()));
                        h
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                while let Some(req) = rx.recv().await {
                    match req {
                        Req::SetActive(s, a, reply) => {
                            let _ = reply.send(handle.set_active(&s, a).await);
                        }
                        Req::Status(reply) => {
                            let _ = reply.send(handle.status());
                        }
                        Req::Stop(reply) => {
                            let _ = reply.send(handle.stop().await);
                            return;
                        }
                    }
                }
                let _ = handle.stop().await;
            })
            .unwrap();
        });
        started_rx.recv().unwrap()?;
        Ok(LbNode {
            tx,
            thread: Some(thread),
        })
    }

    pub fn set_active(&self, service: &str, active: bool) {
        let (tx, rx) = std_mpsc::channel();
        self.tx
            .send(Req::SetActive(service.into(), active, tx))
            .unwrap();
        rx.recv().unwrap().unwrap();
    }

    pub fn status(&self) -> Vec<ServiceStatus> {
        let (tx, rx) = std_mpsc::channel();
        self.tx.send(Req::Status(tx)).unwrap();
        rx.recv().unwrap()
    }

    pub fn stop(mut self) {
        let (tx, rx) = std_mpsc::channel();
        self.tx.send(Req::Stop(tx)).unwrap();
        rx.recv().unwrap().unwrap();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    /// Waits until `f` holds for the first service's status; panics after `limit`.
    pub fn wait_status(&self, limit: Duration, what: &str, f: impl Fn(&ServiceStatus) -> bool) {
        let ok = vip_core::lab::wait_until(limit, || f(&self.status()[0]));
        assert!(
            ok,
            "{what}: not within {limit:?}; status {:#?}",
            self.status()
        );
    }
}

impl Drop for LbNode {
    fn drop(&mut self) {
        // Dropping the sender ends the loop, which stops the balancer (removes its table).
        let (tx, _) = tokio::sync::mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The tables in `ns`, from `nft list tables`.
pub fn tables(ns: &Ns) -> String {
    ns.run(&["nft", "list", "tables"]).unwrap()
}

/// A UDP server in `ns` at `addr` that answers every datagram with `name`.
pub fn serve_udp(ns: &Ns, addr: SocketAddr, name: &str) {
    let socket = ns
        .enter(move || std::net::UdpSocket::bind(addr))
        .unwrap()
        .unwrap();
    let name = name.to_string();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((_, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(name.as_bytes(), from);
        }
    });
}

/// Sends `n` datagrams to `to` from the client, each from a new socket (a new flow), and
/// returns who answered each ("timeout" when nobody did).
pub fn ask_udp(client: &Ns, to: SocketAddr, n: usize) -> Vec<String> {
    client
        .enter(move || {
            (0..n)
                .map(|_| {
                    let any: SocketAddr = if to.is_ipv4() {
                        "0.0.0.0:0".parse().unwrap()
                    } else {
                        "[::]:0".parse().unwrap()
                    };
                    let s = std::net::UdpSocket::bind(any).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    s.send_to(b"who", to).unwrap();
                    let mut buf = [0u8; 64];
                    match s.recv(&mut buf) {
                        Ok(len) => String::from_utf8_lossy(&buf[..len]).into_owned(),
                        Err(_) => "timeout".into(),
                    }
                })
                .collect()
        })
        .unwrap()
}

/// Opens `n` TCP connections to `to` from the client and returns who answered each.
pub fn connect_to(client: &Ns, to: SocketAddr, n: usize) -> Vec<String> {
    client
        .enter(move || {
            (0..n)
                .map(
                    |_| match TcpStream::connect_timeout(&to, Duration::from_secs(2)) {
                        Ok(s) => {
                            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                            let mut line = String::new();
                            let _ = BufReader::new(s).read_line(&mut line);
                            line.trim().to_string()
                        }
                        Err(e) => format!("error: {e}"),
                    },
                )
                .collect()
        })
        .unwrap()
}
