//! Every signal whose default action ends the process is handled (see `vip_examples::signals`):
//! a lone vipd holding its VIP in a lab namespace logs a status dump on SIGUSR1 and the counters
//! on SIGUSR2, ignores the stray ones (VIP kept, process alive), and stops with release on the
//! stop signals (VIP removed, exit 0). Also: systemd hears `STATUS=` with the state on each
//! transition.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use vip_core::lab::{Lab, LabProcess, Ns, wait_until};

const VIPD: &str = env!("CARGO_BIN_EXE_vipd");
const VIP: &str = "198.51.100.100";
const SOON: Duration = Duration::from_secs(10);

/// One node alone on a segment, running vipd with one instance `sig` that becomes master.
struct Node {
    ns: Ns,
    dir: PathBuf,
    log: PathBuf,
    vipd: Option<LabProcess>,
    _lab: Lab,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut p) = self.vipd.take() {
            p.stop(Duration::from_secs(2));
        }
        if std::thread::panicking() {
            eprintln!("==== vipd log ====\n{}", self.log_text());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Node {
    fn new(tag: &str) -> Option<Node> {
        let mut lab = Lab::new_or_skip(tag).unwrap()?;
        let dir = std::env::temp_dir().join(lab.prefix());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ns = lab.namespace("n1").unwrap();
        lab.segment(&[&ns]).unwrap();
        ns.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
            .unwrap();
        let config = format!(
            r#"[global]
control_socket = "{sock}"

[[instance]]
name = "sig"
interface = "eth0"
vrid = 61
advert_interval = "10cs"
vips = ["{VIP}/32"]
on_stop = "release"
"#,
            sock = dir.join("vipd.sock").display()
        );
        std::fs::write(dir.join("vipd.toml"), config).unwrap();
        Some(Node {
            ns,
            log: dir.join("vipd.log"),
            dir,
            vipd: None,
            _lab: lab,
        })
    }

    fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Starts vipd with extra `KEY=VALUE` environment entries; waits until it holds the VIP.
    fn start_with(&mut self, env: &[&str]) {
        let config = self.dir.join("vipd.toml").display().to_string();
        let mut argv = vec!["env", "NO_COLOR=1", "RUST_LOG="];
        argv.extend_from_slice(env);
        argv.extend_from_slice(&[VIPD, "--config", &config]);
        let p = self.ns.spawn(&argv, Some(&self.log)).unwrap();
        self.vipd = Some(p);
        assert!(
            wait_until(SOON, || self.holds()),
            "the lone vipd never took the VIP"
        );
    }

    fn holds(&self) -> bool {
        self.ns
            .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
            .unwrap()
            .contains(&format!(" {VIP}/32 "))
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str) {
        assert!(
            wait_until(SOON, || self.log_text().contains(needle)),
            "no {needle:?} in vipd's log"
        );
    }

    /// `kill -NUMBER pid`, the way an operator would send it.
    fn kill(&self, sig: libc::c_int) {
        let pid = self.vipd.as_ref().unwrap().pid().to_string();
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(&pid)
            .status()
            .unwrap();
        assert!(st.success(), "kill -{sig} {pid}");
    }

    fn alive(&mut self) -> bool {
        !self.vipd.as_mut().unwrap().has_exited()
    }
}

#[test]
fn usr1_logs_a_status_dump_and_keeps_the_vip() {
    let Some(mut n) = Node::new("vipex-sig-usr1") else {
        return;
    };
    n.start();
    n.kill(libc::SIGUSR1);
    n.wait_log("status dump (SIGUSR1)");
    n.wait_log(r#"status dump: {"name":"sig","#);
    let log = n.log_text();
    let line = log
        .lines()
        .find(|l| l.contains(r#"status dump: {"name":"sig""#))
        .unwrap();
    assert!(line.contains(r#""state":"master""#), "{line}");
    assert!(n.alive() && n.holds(), "SIGUSR1 must not stop vipd");
}

#[test]
fn usr2_logs_the_counters_and_keeps_the_vip() {
    let Some(mut n) = Node::new("vipex-sig-usr2") else {
        return;
    };
    n.start();
    n.kill(libc::SIGUSR2);
    n.wait_log("counters dump (SIGUSR2)");
    n.wait_log(
        r#"counter: vip_transitions_total{vrrp_instance="sig",from="claiming",to="master"} 1"#,
    );
    n.wait_log(r#"counter: vip_adverts_sent_total{vrrp_instance="sig"}"#);
    assert!(n.alive() && n.holds(), "SIGUSR2 must not stop vipd");
}

#[test]
fn stray_signals_are_ignored_and_the_vip_stays() {
    let Some(mut n) = Node::new("vipex-sig-ign") else {
        return;
    };
    n.start();
    let rt = libc::SIGRTMIN();
    let span = libc::SIGRTMAX() - rt;
    for (sig, name) in [
        (libc::SIGALRM, "SIGALRM".to_owned()),
        (libc::SIGVTALRM, "SIGVTALRM".to_owned()),
        (libc::SIGPROF, "SIGPROF".to_owned()),
        (libc::SIGIO, "SIGIO".to_owned()),
        (libc::SIGSTKFLT, "SIGSTKFLT".to_owned()),
        (libc::SIGXFSZ, "SIGXFSZ".to_owned()),
        (rt, "SIGRTMIN+0".to_owned()),
        (rt + 7, "SIGRTMIN+7".to_owned()),
        (rt + span, format!("SIGRTMIN+{span}")),
    ] {
        n.kill(sig);
        n.wait_log(&format!("{name}: ignored"));
        assert!(n.alive() && n.holds(), "{name} must not stop vipd");
    }
    // SIGPIPE is SIG_IGN: nothing to log, nothing happens.
    n.kill(libc::SIGPIPE);
    std::thread::sleep(Duration::from_millis(300));
    assert!(n.alive() && n.holds(), "SIGPIPE must not stop vipd");
}

#[test]
fn stop_signals_release_the_vip_and_exit_cleanly() {
    let Some(mut n) = Node::new("vipex-sig-stop") else {
        return;
    };
    for (sig, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGINT, "INT"),
        (libc::SIGQUIT, "QUIT"),
        (libc::SIGPWR, "PWR"),
        (libc::SIGXCPU, "XCPU"),
    ] {
        n.start();
        n.kill(sig);
        let p = n.vipd.as_mut().unwrap();
        assert!(p.wait_timeout(SOON), "SIG{name}: vipd did not exit");
        n.vipd = None;
        assert!(!n.holds(), "SIG{name}: the VIP must be released");
        n.wait_log(&format!("SIG{name}: stopping"));
    }
    assert_eq!(n.log_text().matches("vipd stopped").count(), 5);
}

#[test]
fn sd_notify_status_follows_each_transition() {
    let Some(mut n) = Node::new("vipex-sig-status") else {
        return;
    };
    let path = n.dir.join("notify");
    let notify = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    n.start_with(&[&format!("NOTIFY_SOCKET={}", path.display())]);
    let start = std::time::Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < SOON {
        if let Ok(len) = notify.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..len]).into_owned();
            let done = m.lines().any(|l| l == "STATUS=sig: master");
            seen.push(m);
            if done {
                break;
            }
        }
    }
    assert!(
        seen.iter()
            .any(|m| m.lines().any(|l| l == "STATUS=sig: master")),
        "{seen:?}"
    );
    // READY=1 came first, with the state at that moment.
    assert!(seen[0].contains("READY=1\nSTATUS=sig: "), "{seen:?}");
}
