//! The lab's guard: lab commands act only inside the lab's own namespaces and configure only
//! documentation addresses.
//!
//! The machine a lab runs on has a network of its own (here 192.0.2.0/24, with the gateway at
//! .1). A lab command that slipped into the host namespace, or a lab address taken from the
//! host's range, could announce the gateway's address on the real network. So every command a
//! [`super::Ns`] runs is checked first: it must not address another namespace (`ip -n`,
//! `ip netns exec`) than one of this lab's, and every address it adds must lie in
//! [`LAB_RANGES`]. A namespace is also checked to be a namespace of its own, not the host's,
//! before anything runs or starts in it.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;

use super::LabError;

/// The only address ranges a lab configures: 198.51.100.0/24, 203.0.113.0/24 (TEST-NET-2 and
/// -3) and 2001:db8::/32 (IPv6 documentation).
pub const LAB_RANGES: &str = "198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32";

/// True if `addr` lies in [`LAB_RANGES`].
pub fn is_lab_address(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            matches!((o[0], o[1], o[2]), (198, 51, 100) | (203, 0, 113))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            s[0] == 0x2001 && s[1] == 0x0db8
        }
    }
}

/// The address part of `token` (`A`, `A/len` or `A/len` with a peer), if it is one.
fn address_of(token: &str) -> Option<IpAddr> {
    token.split('/').next().and_then(|a| a.parse().ok())
}

fn refused(argv: &[&str], reason: String) -> LabError {
    LabError::Refused {
        command: argv.join(" "),
        reason,
    }
}

/// Checks a command that is about to run inside namespace `own` of the lab whose namespace
/// names start with `prefix-`.
///
/// # Errors
/// [`LabError::Refused`] if it names a namespace that is not the lab's, or adds an address
/// outside [`LAB_RANGES`].
pub(super) fn check_command(argv: &[&str], prefix: &str) -> Result<(), LabError> {
    let ours = |name: &str| name.starts_with(&format!("{prefix}-"));
    // `env A=B ... CMD`: look at CMD.
    let mut rest = argv;
    while let Some((first, tail)) = rest.split_first() {
        if *first == "env" || first.contains('=') {
            rest = tail;
        } else {
            break;
        }
    }
    let Some((prog, args)) = rest.split_first() else {
        return Ok(());
    };
    if *prog != "ip" && !prog.ends_with("/ip") {
        return Ok(());
    }
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        match *arg {
            "-n" | "-netns" | "--netns" => {
                let name = args.get(i + 1).copied().unwrap_or_default();
                if !ours(name) {
                    return Err(refused(
                        argv,
                        format!("namespace {name:?} is not one this lab created"),
                    ));
                }
                i += 2;
            }
            "-4" | "-6" | "-o" | "-j" | "-br" | "-d" | "-s" | "-ts" | "-t" => i += 1,
            _ => break,
        }
    }
    let object = args.get(i).copied().unwrap_or_default();
    if object == "netns" && args.get(i + 1) == Some(&"exec") {
        let name = args.get(i + 2).copied().unwrap_or_default();
        if !ours(name) {
            return Err(refused(
                argv,
                format!("namespace {name:?} is not one this lab created"),
            ));
        }
        return check_command(args.get(i + 3..).unwrap_or_default(), prefix);
    }
    let is_addr = !object.is_empty() && "address".starts_with(object);
    let verb = args.get(i + 1).copied().unwrap_or_default();
    if is_addr && matches!(verb, "add" | "replace" | "change") {
        for token in args.get(i + 2..).unwrap_or_default() {
            if let Some(addr) = address_of(token)
                && !is_lab_address(addr)
            {
                return Err(refused(
                    argv,
                    format!("address {addr} is outside the lab ranges ({LAB_RANGES})"),
                ));
            }
        }
    }
    Ok(())
}

/// The (device, inode) that identifies a network namespace file.
fn namespace_id(path: &str) -> Result<(u64, u64), LabError> {
    std::fs::metadata(path)
        .map(|m| (m.dev(), m.ino()))
        .map_err(|source| LabError::Io {
            context: format!("reading {path}"),
            source,
        })
}

/// Checks that the named namespace exists and is not the namespace this process runs in (the
/// main thread's, where the test runs: the host's).
///
/// # Errors
/// [`LabError::Refused`] if it is the host's namespace, [`LabError::Io`] if it is gone.
pub(super) fn check_namespace(name: &str) -> Result<(), LabError> {
    let host = namespace_id("/proc/self/ns/net")?;
    // The bind mount `ip netns add` made is the namespace's own nsfs inode.
    if namespace_id(&format!("/var/run/netns/{name}"))? == host {
        return Err(LabError::Refused {
            command: format!("ip netns exec {name} ..."),
            reason: format!("namespace {name:?} is the host's own network namespace"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "t-1-0";

    #[test]
    fn lab_ranges_only() {
        for ok in [
            "198.51.100.1",
            "203.0.113.250",
            "2001:db8::1",
            "2001:db8:77::100",
        ] {
            assert!(is_lab_address(ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "192.0.2.1",
            "192.0.2.2",
            "10.77.0.100",
            "198.51.101.1",
            "fd00:77::100",
        ] {
            assert!(!is_lab_address(bad.parse().unwrap()), "{bad}");
        }
    }

    #[test]
    fn adding_a_host_network_address_is_refused_with_the_reason() {
        let err = check_command(&["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"], P)
            .unwrap_err()
            .to_string();
        assert!(err.contains("192.0.2.1"), "{err}");
        assert!(err.contains("outside the lab ranges"), "{err}");
        for argv in [
            &[
                "ip",
                "-6",
                "addr",
                "add",
                "fd00::1/64",
                "dev",
                "eth0",
                "nodad",
            ][..],
            &["ip", "a", "add", "10.0.0.1/8", "dev", "eth0"],
            &["ip", "address", "replace", "192.0.2.9/32", "dev", "eth0"],
            &[
                "env",
                "X=1",
                "ip",
                "addr",
                "add",
                "192.0.2.9/32",
                "dev",
                "eth0",
            ],
        ] {
            assert!(check_command(argv, P).is_err(), "{argv:?}");
        }
        for argv in [
            &["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"][..],
            &[
                "ip",
                "-6",
                "addr",
                "add",
                "2001:db8::1/64",
                "dev",
                "eth0",
                "nodad",
            ],
            &["ip", "addr", "del", "192.0.2.1/24", "dev", "eth0"],
            &["ip", "link", "set", "eth0", "up"],
            &["keepalived", "-n"],
        ] {
            check_command(argv, P).unwrap();
        }
    }

    #[test]
    fn another_namespace_is_refused() {
        for argv in [
            &[
                "ip",
                "-n",
                "other",
                "addr",
                "add",
                "198.51.100.1/24",
                "dev",
                "eth0",
            ][..],
            &[
                "ip",
                "netns",
                "exec",
                "other",
                "ping",
                "-c1",
                "198.51.100.1",
            ],
            &["ip", "netns", "exec", "t-1-0x-a", "true"],
        ] {
            let err = check_command(argv, P).unwrap_err().to_string();
            assert!(err.contains("not one this lab created"), "{err}");
        }
        check_command(&["ip", "-n", "t-1-0-b", "link", "show"], P).unwrap();
        assert!(
            check_command(
                &[
                    "ip",
                    "netns",
                    "exec",
                    "t-1-0-b",
                    "ip",
                    "addr",
                    "add",
                    "192.0.2.5/32",
                    "dev",
                    "lo"
                ],
                P
            )
            .is_err()
        );
    }
}
