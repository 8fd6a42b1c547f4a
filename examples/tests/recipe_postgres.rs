//! docs/recipes/postgres-repmgr.md, run as written: two namespaces with a real PostgreSQL 15
//! primary and standby under repmgr, sshd in each namespace (its own host keys and authorized
//! keys, in the lab's temporary directory), vipd as the `vipd` system user with only
//! CAP_NET_ADMIN and CAP_NET_RAW, configured by the recipe's files (only paths replaced).
//! `repmgr standby switchover` runs for real over SSH; the shipped fencer
//! (packaging/vip-fence-ssh) removes the VIP from a node whose vipd was killed. The lab's overlap
//! checker fails the test if both nodes ever hold the VIP at once. Needs root, PostgreSQL 15,
//! repmgr, sshd and a `vipd` user; skipped otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pg_support;
mod recipe_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use pg_support::{PgLab, SOON, client_query, vipd_bin, wait_until};
use recipe_support::{block, replace_all, repo};

const DOC: &str = include_str!("../../docs/recipes/postgres-repmgr.md");
const SSHD: &str = "/usr/sbin/sshd";
const PUBKEY_PLACEHOLDER: &str = "ssh-ed25519 AAAAC3...the-public-key vipd@node2";

fn skip_reason() -> Option<String> {
    if !Path::new(SSHD).exists() {
        return Some(format!(
            "{SSHD} missing (openssh-server; run scripts/setup)"
        ));
    }
    if Command::new("id")
        .arg("vipd")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        return Some("no vipd system user (install the package, or systemd-sysusers packaging/debian/vipd.sysusers)".into());
    }
    None
}

fn sh(argv: &[&str]) -> String {
    let out = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keygen(path: &Path, owner: &str) -> String {
    sh(&[
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        owner,
        "-f",
        path.to_str().unwrap(),
    ]);
    sh(&["chown", &format!("{owner}:"), path.to_str().unwrap()]);
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_owned()
}

fn mkdir(path: &Path, owner: &str, mode: u32) {
    std::fs::create_dir_all(path).unwrap();
    sh(&["chown", &format!("{owner}:"), path.to_str().unwrap()]);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn prepend(path: &Path, text: &str) {
    let old = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, format!("{text}{old}")).unwrap();
}

fn append(path: &Path, text: &str) {
    let old = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, format!("{old}\n{text}")).unwrap();
}

/// psql as OS user `os_user` inside namespace `ns` over node's Unix socket.
fn psql_as(
    ns: &str,
    os_user: &str,
    socket: &Path,
    role: &str,
    sql: &str,
) -> Result<String, String> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "runuser", "-u", os_user, "--"])
        .arg(vip_pg::harness::pg_bin("psql"))
        .args(["-X", "-A", "-t", "-q", "-w"])
        .arg(format!(
            "host={} port=5432 dbname=repmgr user={role}",
            socket.display()
        ))
        .args(["-c", sql])
        .current_dir("/")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// A client reaches a primary through the VIP, and node `old` (the old primary) streams as a
/// standby.
fn assert_switched_over(lab: &PgLab, old: usize) {
    assert!(
        wait_until(SOON, || client_query(
            lab.client.name(),
            "SELECT pg_is_in_recovery()"
        )
        .is_ok_and(|s| s == "f")),
        "no primary through the VIP"
    );
    assert!(
        wait_until(Duration::from_secs(30), || lab
            .db()
            .psql(old, "postgres", "SELECT status FROM pg_stat_wal_receiver")
            .is_ok_and(|s| s == "streaming")),
        "the old primary does not stream"
    );
}

#[test]
fn switchover_over_ssh_and_the_fencer() {
    if let Some(reason) = skip_reason() {
        println!("skipping recipe_postgres: {reason}");
        return;
    }
    let Some(mut lab) = PgLab::new("rcp-pg") else {
        return;
    };
    let dir = lab.dir.clone();
    let db: Vec<(PathBuf, PathBuf, PathBuf)> = lab
        .db()
        .nodes()
        .iter()
        .map(|n| {
            (
                n.data_dir.clone(),
                n.socket_dir.clone(),
                n.repmgr_conf.clone(),
            )
        })
        .collect();
    // vipd (an unprivileged user) must reach the servers' socket directories.
    for (_, socket_dir, _) in &db {
        let mut p = socket_dir.clone();
        while p.pop() && p.starts_with(std::env::temp_dir()) && p != std::env::temp_dir() {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode | 0o011)).unwrap();
        }
    }

    // ---- PostgreSQL access for the vipd user: pg_hba.conf, pg_ident.conf, the role -----------
    for (data, _, _) in &db {
        // The recipe's line, then Debian's default for other local connections (the harness's
        // own lines, trust for everything, follow and are never reached over the socket).
        let hba = format!("{}local all all peer\n", block(DOC, "pg_hba.conf"));
        prepend(&data.join("pg_hba.conf"), &hba);
        append(&data.join("pg_ident.conf"), &block(DOC, "pg_ident.conf"));
    }
    lab.db()
        .psql(0, "repmgr", &block(DOC, "vipd-role.sql"))
        .unwrap();
    for i in 0..2 {
        lab.db()
            .psql(i, "postgres", "SELECT pg_reload_conf()")
            .unwrap();
    }
    assert!(wait_until(SOON, || {
        lab.db()
            .psql(
                1,
                "postgres",
                "SELECT count(*) FROM pg_roles WHERE rolname = 'vipd'",
            )
            .map(|s| s == "1")
            .unwrap_or(false)
    }));
    assert_eq!(
        lab.db()
            .psql(0, "postgres", "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = 'vipd'")
            .unwrap(),
        "f"
    );
    let n1 = lab.nodes[0].ns.name().to_owned();
    // The vipd OS user gets the vipd role, and only that role, through the map.
    assert_eq!(
        psql_as(
            &n1,
            "vipd",
            &db[0].1,
            "vipd",
            "SELECT pg_is_in_recovery(), count(*) FROM repmgr.nodes"
        )
        .unwrap(),
        "f|2"
    );
    // The probe's timeline functions, on the primary and on the standby, with these grants.
    let n2 = lab.nodes[1].ns.name().to_owned();
    let timeline = "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() \
         THEN (SELECT timeline_id FROM pg_control_checkpoint()) \
         ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int4 END";
    assert_eq!(
        psql_as(&n1, "vipd", &db[0].1, "vipd", timeline).unwrap(),
        "f|1"
    );
    assert_eq!(
        psql_as(&n2, "vipd", &db[1].1, "vipd", timeline).unwrap(),
        "t|1"
    );
    for role in ["repmgr", "postgres"] {
        let err = psql_as(&n1, "vipd", &db[0].1, role, "SELECT 1").unwrap_err();
        assert!(
            err.contains("authentication failed"),
            "vipd as {role}: {err}"
        );
    }
    // Least privilege: no write access to repmgr's metadata.
    let err = psql_as(
        &n1,
        "vipd",
        &db[0].1,
        "vipd",
        "UPDATE repmgr.nodes SET priority = 0",
    )
    .unwrap_err();
    assert!(err.contains("permission denied"), "{err}");

    // ---- SSH: host keys, the postgres user's keys (repmgr), vipd's fence keys ---------------
    if !Path::new("/run/sshd").exists() {
        // sshd's privilege-separation directory (Debian's ssh.service creates it at boot).
        mkdir(Path::new("/run/sshd"), "root", 0o755);
    }
    let ssh = dir.join("ssh");
    mkdir(&ssh, "root", 0o755);
    let pg_key = ssh.join("pg_id_ed25519");
    let pg_pub = keygen(&pg_key, "postgres");
    let mut host_pubs = Vec::new();
    let mut sshds = Vec::new();
    for i in 0..2 {
        let sshd_dir = ssh.join(format!("sshd-n{}", i + 1));
        mkdir(&sshd_dir, "root", 0o755);
        let host_key = sshd_dir.join("host_ed25519");
        let host_pub = keygen(&host_key, "root");
        host_pubs.push(
            host_pub
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let pg_known = ssh.join("pg_known_hosts");
    std::fs::write(
        &pg_known,
        format!(
            "198.51.100.1 {}\n198.51.100.2 {}\n",
            host_pubs[0], host_pubs[1]
        ),
    )
    .unwrap();
    let fencer = repo().join("packaging/vip-fence-ssh");
    let fencer = fencer.to_str().unwrap();
    let mut fence_pubs = Vec::new();
    for i in 0..2 {
        let etc = dir.join(format!("etc-n{}", i + 1));
        mkdir(&etc, "root", 0o755);
        fence_pubs.push(keygen(&etc.join("fence_key"), "vipd"));
        let other = 1 - i;
        std::fs::write(
            etc.join("fence_known_hosts"),
            format!("198.51.100.{} {}\n", other + 1, host_pubs[other]),
        )
        .unwrap();
    }
    for i in 0..2 {
        let sshd_dir = ssh.join(format!("sshd-n{}", i + 1));
        let keys = sshd_dir.join("keys");
        mkdir(&keys, "root", 0o755);
        std::fs::write(keys.join("postgres"), format!("{pg_pub}\n")).unwrap();
        // root's line: the recipe's, for the other node's vipd key.
        let pg_ctl = format!(
            "runuser -u postgres -- {} -D {} -m fast -w stop",
            vip_pg::harness::pg_bin("pg_ctl").display(),
            db[i].0.display()
        );
        let root_line = replace_all(
            &block(DOC, "authorized_keys"),
            &[
                ("/usr/libexec/vipd/vip-fence-ssh", fencer),
                ("/run/postgresql", db[i].1.to_str().unwrap()),
                ("pg_ctlcluster 15 main stop -m fast", &pg_ctl),
                (PUBKEY_PLACEHOLDER, &fence_pubs[1 - i]),
            ],
        );
        std::fs::write(keys.join("root"), root_line).unwrap();
        let config = sshd_dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 198.51.100.{n}:22\nHostKey {key}\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {dir}/keys/%u\nStrictModes no\nUsePAM yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
                n = i + 1,
                key = sshd_dir.join("host_ed25519").display(),
                dir = sshd_dir.display(),
            ),
        )
        .unwrap();
        let log = sshd_dir.join("sshd.log");
        let sshd = lab.nodes[i]
            .ns
            .spawn(
                &[SSHD, "-D", "-e", "-f", config.to_str().unwrap()],
                Some(&log),
            )
            .unwrap();
        sshds.push(sshd);
    }
    // repmgr's ssh_options, from the recipe.
    let ssh_options = replace_all(
        &block(DOC, "repmgr.conf"),
        &[
            (
                "/var/lib/postgresql/.ssh/id_ed25519",
                pg_key.to_str().unwrap(),
            ),
            (
                "/var/lib/postgresql/.ssh/known_hosts",
                pg_known.to_str().unwrap(),
            ),
        ],
    );
    for (_, _, conf) in &db {
        // The lab's event notifications point at vipctl with the lab's socket; the recipe runs
        // without them (its probe polls every 200 ms).
        let kept: String = std::fs::read_to_string(conf)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("event_notification"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(conf, kept).unwrap();
        append(conf, &ssh_options);
    }

    // ---- vipd, as the recipe configures it, as user vipd ------------------------------------
    for (i, (_, socket_dir, _)) in db.iter().enumerate() {
        let run = dir.join(format!("run-n{}", i + 1));
        mkdir(&run, "vipd", 0o755);
        let etc = dir.join(format!("etc-n{}", i + 1));
        lab.nodes[i].sock = run.join("vipd.sock");
        let text = replace_all(
            &block(DOC, &format!("node{}.toml", i + 1)),
            &[
                ("/run/vipd/", &format!("{}/", run.display())),
                ("/etc/vipd/", &format!("{}/", etc.display())),
                ("/run/postgresql", socket_dir.to_str().unwrap()),
                ("/usr/libexec/vipd/vip-fence-ssh", fencer),
            ],
        );
        std::fs::write(&lab.nodes[i].config, text).unwrap();
        let config = lab.nodes[i].config.display().to_string();
        let vipd = vipd_bin();
        let p = lab.nodes[i]
            .ns
            .spawn(
                &[
                    "setpriv",
                    "--reuid=vipd",
                    "--regid=vipd",
                    "--init-groups",
                    "--inh-caps=+net_admin,+net_raw",
                    "--ambient-caps=+net_admin,+net_raw",
                    "--",
                    "env",
                    "NO_COLOR=1",
                    "RUST_LOG=",
                    &vipd,
                    "--config",
                    &config,
                ],
                Some(&lab.nodes[i].log),
            )
            .unwrap();
        lab.nodes[i].vipd = Some(p);
    }
    lab.wait_sole_holder(0, SOON);
    assert_eq!(lab.client_query("SELECT pg_is_in_recovery()").unwrap(), "f");

    // ---- 1. repmgr standby switchover on node2, over SSH: the VIP follows ------------------
    let out = lab
        .db()
        .repmgr(1, &["standby", "switchover"])
        .unwrap_or_else(|e| panic!("switchover to node2: {e}"));
    println!("{}", String::from_utf8_lossy(&out.stderr));
    lab.wait_sole_holder(1, SOON);
    assert_switched_over(&lab, 0);
    assert!(!lab.holds(0));

    // ---- 2. node2's vipd killed (the VIP stays on node2), switchover back to node1 ---------
    let mut killed = lab.nodes[1].vipd.take().unwrap();
    killed.signal(Signal::SIGKILL).unwrap();
    assert!(killed.wait_timeout(SOON));
    assert!(lab.holds(1), "SIGKILL leaves the VIP on node2");
    lab.db()
        .repmgr(0, &["standby", "switchover"])
        .unwrap_or_else(|e| panic!("switchover back to node1: {e}"));
    lab.wait_sole_holder(0, SOON);
    let log = lab.log(0);
    assert!(
        log.contains("fenced instance=pg")
            && log.contains("transition from=claiming to=master reason=holder fenced, VIP free"),
        "node1 did not fence node2:\n{log}"
    );
    for line in log
        .lines()
        .filter(|l| l.contains("fence") || l.contains("in-use"))
    {
        println!("node1: {line}");
    }
    assert_switched_over(&lab, 1);
}
