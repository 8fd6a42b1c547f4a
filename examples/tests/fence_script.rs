//! packaging/vip-fence-ssh, the reference fencer of docs/recipes/postgres-repmgr.md: its
//! documented exit codes. Usage errors (2) on either side need nothing; an unreachable peer (3)
//! and the remote half removing a VIP from whichever interface holds it (0) run in a lab
//! namespace (root). The whole path, vipd -> ssh -> remote half, runs in
//! `recipe_postgres::switchover_over_ssh_and_the_fencer`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod recipe_support;

use std::process::{Command, Output};

use vip_core::lab::Lab;

fn script() -> String {
    recipe_support::repo()
        .join("packaging/vip-fence-ssh")
        .display()
        .to_string()
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn run(args: &[&str], original_command: Option<&str>) -> Output {
    let mut cmd = Command::new(script());
    cmd.args(args);
    match original_command {
        Some(c) => cmd.env("SSH_ORIGINAL_COMMAND", c),
        None => cmd.env_remove("SSH_ORIGINAL_COMMAND"),
    };
    cmd.output().unwrap()
}

#[test]
fn usage_errors_exit_2_on_both_sides() {
    let fencing: &[&[&str]] = &[
        &[],
        &["--peer"],
        &[
            "--peer",
            "",
            "--vips",
            "198.51.100.100/32",
            "--identity",
            "/k",
        ],
        &["--peer", "198.51.100.2", "--identity", "/k"],
        &[
            "--peer",
            "198.51.100.2",
            "--vips",
            "198.51.100.100/32;reboot",
            "--identity",
            "/k",
        ],
        &[
            "--peer",
            "198.51.100.2;x",
            "--vips",
            "198.51.100.100/32",
            "--identity",
            "/k",
        ],
        &["--peer", "198.51.100.2", "--vips", "198.51.100.100/32"],
        &[
            "--peer",
            "198.51.100.2",
            "--vips",
            "198.51.100.100/32",
            "--identity",
            "/k",
            "--bogus",
        ],
    ];
    for args in fencing {
        let out = run(args, None);
        assert_eq!(code(&out), Some(2), "{args:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("vip-fence-ssh: "));
    }
    // The remote half refuses anything but "fence VIPS", before it touches anything.
    for original in [
        None,
        Some(""),
        Some("reboot"),
        Some("fence"),
        Some("fence 198.51.100.100/32 extra"),
        Some("fence 198.51.100.100/32;reboot"),
        Some("fence $(reboot)"),
        Some("sh -c id"),
    ] {
        let out = run(&["remote"], original);
        assert_eq!(code(&out), Some(2), "{original:?}: {out:?}");
    }
    let out = run(&["remote", "--pg-stop"], Some("fence 198.51.100.100/32"));
    assert_eq!(code(&out), Some(2), "{out:?}");
}

#[test]
fn unreachable_peer_exits_3_and_remote_half_removes_the_vip() {
    let Some(mut lab) = Lab::new_or_skip("rcp-fence").unwrap() else {
        return;
    };
    let ns = lab.namespace("n1").unwrap();
    lab.segment(&[&ns]).unwrap();
    ns.run(&["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"])
        .unwrap();
    let dir = std::env::temp_dir().join(lab.prefix());
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = RemoveOnDrop(dir.clone());
    let key = dir.join("key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(keygen.success());
    let script = script();

    // Nobody at 198.51.100.9: ssh fails (its exit 255), the fencer says 3.
    let out = ns
        .output(&[
            &script,
            "--peer",
            "198.51.100.9",
            "--vips",
            "198.51.100.100/32",
            "--identity",
            key.to_str().unwrap(),
            "--connect-timeout",
            "1",
        ])
        .unwrap();
    assert_eq!(code(&out), Some(3), "{out:?}");

    // The remote half: the VIP is on eth0 with a /24 and asked for as /32; it goes, the node's
    // own address stays.
    ns.run(&["ip", "addr", "add", "198.51.100.100/24", "dev", "eth0"])
        .unwrap();
    let fence_here = || {
        let out = ns
            .output(&[
                "env",
                "SSH_ORIGINAL_COMMAND=fence 198.51.100.100/32",
                &script,
                "remote",
            ])
            .unwrap();
        assert_eq!(code(&out), Some(0), "{out:?}");
    };
    fence_here();
    let addrs = ns
        .run(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .unwrap();
    assert!(!addrs.contains("198.51.100.100/"), "{addrs}");
    assert!(addrs.contains("198.51.100.1/24"), "{addrs}");
    // Fencing again finds nothing to remove: still fenced.
    fence_here();
}

/// Removes the test's directory (the key pair) on success and failure.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
