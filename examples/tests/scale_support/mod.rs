//! Two vipd nodes with 200 VRRPv3 instances each (VRIDs 1-200, one VIP each in
//! 203.0.113.0/24, node1 at priority 200, node2 at 100, `on_stop = "release"`), settled with
//! every VIP on node1: the lab of `lab_scale` and `lab_scale_stop`.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vip_core::lab::{Lab, LabProcess, Ns, wait_until};

const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
/// Instances per node.
pub const INSTANCES: u8 = 200;

/// The settled pair; removes its namespaces and stops its daemons when dropped.
pub struct ScalePair {
    /// node1 and node2.
    pub nodes: [Ns; 2],
    /// Their vipd processes (node1 first).
    pub vipds: Vec<LabProcess>,
    /// Configs, sockets and logs.
    pub dir: PathBuf,
    _lab: Lab,
}

/// vipd's config: `INSTANCES` instances at `priority`, adverts every `advert`.
fn config(sock: &Path, priority: u8, advert: &str) -> String {
    let mut text = format!(
        "[global]\ncontrol_socket = \"{}\"\nlog_level = \"warn\"\n",
        sock.display()
    );
    for vrid in 1..=INSTANCES {
        write!(
            text,
            "\n[[instance]]\nname = \"vi{vrid}\"\ninterface = \"eth0\"\nvrid = {vrid}\n\
             version = 3\npriority = {priority}\nadvert_interval = \"{advert}\"\n\
             vips = [\"203.0.113.{vrid}/32\"]\non_stop = \"release\"\n"
        )
        .unwrap();
    }
    text
}

/// How many lab VIPs `ns` holds on eth0.
pub fn held(ns: &Ns) -> usize {
    ns.run(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" 203.0.113."))
        .count()
}

impl ScalePair {
    /// Starts the pair in a lab named `prefix` with adverts every `advert` and waits at most
    /// `settle` for every VIP on node1 and none on node2 (then 2 s more for the takeover's
    /// announcements and the backups' first adverts). `None`: not root, skipped.
    pub fn settled(prefix: &str, advert: &str, settle: Duration) -> Option<ScalePair> {
        let mut lab = Lab::new_or_skip(prefix).unwrap()?;
        let dir = std::env::temp_dir().join(lab.prefix());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let nodes = [lab.namespace("n1").unwrap(), lab.namespace("n2").unwrap()];
        lab.segment(&[&nodes[0], &nodes[1]]).unwrap();
        let mut vipds = Vec::new();
        for (i, (ns, priority)) in nodes.iter().zip([200u8, 100]).enumerate() {
            let addr = format!("198.51.100.{}/24", i + 1);
            ns.run(&["ip", "addr", "add", &addr, "dev", "eth0"])
                .unwrap();
            let conf = dir.join(format!("n{}.toml", i + 1));
            let sock = dir.join(format!("n{}.sock", i + 1));
            std::fs::write(&conf, config(&sock, priority, advert)).unwrap();
            let log = dir.join(format!("n{}.log", i + 1));
            let conf = conf.display().to_string();
            vipds.push(
                ns.spawn(
                    &["env", "NO_COLOR=1", "RUST_LOG=", VIPD, "--config", &conf],
                    Some(&log),
                )
                .unwrap(),
            );
        }
        let pair = ScalePair {
            nodes,
            vipds,
            dir,
            _lab: lab,
        };
        let start = Instant::now();
        let settled = wait_until(settle, || {
            held(&pair.nodes[0]) == usize::from(INSTANCES) && held(&pair.nodes[1]) == 0
        });
        assert!(
            settled,
            "after {:?}: node1 holds {} VIPs, node2 {}\n{}",
            start.elapsed(),
            held(&pair.nodes[0]),
            held(&pair.nodes[1]),
            pair.logs()
        );
        eprintln!("200 VIPs on node1 after {:?}", start.elapsed());
        std::thread::sleep(Duration::from_secs(2));
        Some(pair)
    }

    /// Both daemons' logs.
    pub fn logs(&self) -> String {
        (1..=2)
            .map(|i| {
                std::fs::read_to_string(self.dir.join(format!("n{i}.log"))).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n====\n")
    }
}

impl Drop for ScalePair {
    fn drop(&mut self) {
        for vipd in &mut self.vipds {
            vipd.stop(Duration::from_secs(5));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
