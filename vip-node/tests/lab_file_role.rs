//! The embedding example (`examples/file_role.rs`) in two network namespaces joined by a
//! bridge: the node whose file says `primary` holds the VIP, and changing the files moves it.
//! Needs root; skips with a one-line message otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use vip_core::lab::{Lab, Ns, wait_until};

const VIP: &str = "198.51.100.10";
/// Long enough for a loaded machine; the example advertises every 100 ms.
const SOON: Duration = Duration::from_secs(15);

/// The example binary, built by cargo next to the test binaries (`target/<profile>/examples`).
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile.join("examples").join("file_role");
    assert!(
        bin.exists(),
        "{} missing: build it with `cargo build -p vip-node --examples` (cargo test does)",
        bin.display()
    );
    bin
}

fn holds(ns: &Ns) -> bool {
    ns.run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap()
        .contains(&format!(" {VIP}/24 "))
}

#[test]
fn the_node_whose_file_says_primary_holds_the_vip() {
    let Some(mut lab) = Lab::new_or_skip("vipnode-file").unwrap() else {
        return;
    };
    let bin = example();
    let dir = std::env::temp_dir().join(lab.prefix());
    std::fs::create_dir_all(&dir).unwrap();
    let a = lab.namespace("a").unwrap();
    let b = lab.namespace("b").unwrap();
    lab.segment(&[&a, &b]).unwrap();
    a.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    b.run(&["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
        .unwrap();
    let (role_a, role_b) = (dir.join("role-a"), dir.join("role-b"));
    std::fs::write(&role_a, "primary\n").unwrap();
    std::fs::write(&role_b, "standby\n").unwrap();
    let start = |ns: &Ns, role: &Path, log: &str| {
        let argv = [
            bin.to_str().unwrap(),
            "eth0",
            "198.51.100.10/24",
            role.to_str().unwrap(),
        ];
        ns.spawn(&argv, Some(&dir.join(log))).unwrap()
    };
    let mut pa = start(&a, &role_a, "a.log");
    let mut pb = start(&b, &role_b, "b.log");
    let logs = || {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        format!("a:\n{}\nb:\n{}", read("a.log"), read("b.log"))
    };

    assert!(
        wait_until(SOON, || holds(&a)),
        "a never took the VIP\n{}",
        logs()
    );
    assert!(!holds(&b), "b holds the VIP while its file says standby");

    // The files change: a gives the VIP up, b takes it.
    std::fs::write(&role_a, "standby\n").unwrap();
    std::fs::write(&role_b, "primary\n").unwrap();
    assert!(
        wait_until(SOON, || holds(&b) && !holds(&a)),
        "the VIP did not move to b\n{}",
        logs()
    );

    // SIGTERM: b releases the VIP and both exit.
    for p in [&pa, &pb] {
        p.signal(Signal::SIGTERM).unwrap();
    }
    assert!(pa.wait_timeout(SOON) && pb.wait_timeout(SOON), "{}", logs());
    assert!(!holds(&a) && !holds(&b), "the VIP stayed after SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}
